//! Temporary files that never outlive the run: private scratch folders for processes we start, removed
//! once they end, however they end.
//!
//! Two layers:
//! - [`ScratchDir`]: a private folder a parent gives a child process as its `TMPDIR` (the isolation
//!   worker, whose C backends put their `bfjit-c-*` folders there). The parent removes it after the
//!   child has ended, also when it killed the child: a killed process cannot clean up after itself.
//! - [`install`]: for the `bfjit` command itself. It points `TMPDIR` at a private folder for the whole
//!   run, and a signal thread that, on SIGINT, SIGTERM or SIGHUP, kills the process groups registered
//!   with [`process_group::track`] (the workers and external engines, with everything they started)
//!   and this process's other children with theirs, removes that folder and exits with 128 + the
//!   signal number. Only SIGKILL of `bfjit` itself can leave a folder behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::process_group;

/// The signal that interrupted the run (0 while none has).
static INTERRUPTED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Whether a signal interrupted the run: then the signal thread is cleaning up and will end the
/// process with 128 + the signal, and no other exit code may be reported instead.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) != 0
}

/// Removes a folder tree, retrying a few times: a process killed a moment ago may still finish a
/// last write into it. Returns whether it is gone.
pub fn remove_tree(path: &Path) -> bool {
    for attempt in 0..20 {
        match std::fs::remove_dir_all(path) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) => std::thread::sleep(Duration::from_millis(5 << attempt.min(5))),
        }
    }
    !path.exists()
}

/// A private temporary folder, removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `$TMPDIR/PREFIX-XXXXXX`.
    pub fn new(prefix: &str) -> std::io::Result<ScratchDir> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        Ok(ScratchDir { path: dir.keep() })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// The process-wide scratch root of [`install`]; removes it when dropped (at the end of `main`).
#[derive(Debug)]
pub struct ScratchRoot {
    _dir: ScratchDir,
}

/// Points `TMPDIR` at a private folder for this process and its children and starts the signal
/// thread (see the module docs). Call it first thing in `main`, before any other thread exists.
/// Returns `None` (and changes nothing) when the folder cannot be made.
pub fn install() -> Option<ScratchRoot> {
    let dir = ScratchDir::new("bfjit-run-").ok()?;
    // Set while the process has a single thread, before anything reads the environment.
    std::env::set_var("TMPDIR", dir.path());
    let root = dir.path().to_path_buf();
    if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            INTERRUPTED.store(signal, std::sync::atomic::Ordering::SeqCst);
            process_group::kill_tracked();
            process_group::kill_children();
            remove_tree(&root);
            std::process::exit(128 + signal);
        });
    }
    Some(ScratchRoot { _dir: dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_dirs_go_with_their_contents() {
        let dir = ScratchDir::new("bfjit-test-").unwrap();
        let path = dir.path().to_path_buf();
        std::fs::create_dir_all(path.join("a/b")).unwrap();
        std::fs::write(path.join("a/b/f"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
        assert!(remove_tree(&path));
    }
}
