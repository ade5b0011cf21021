//! Temporary files that never outlive the run: private scratch folders for processes we start, removed
//! once they end, however they end.
//!
//! Two layers:
//! - [`ScratchDir`]: a private folder a parent gives a child process as its `TMPDIR` (the isolation
//!   worker, whose C backends put their `bfjit-c-*` folders there). The parent removes it after the
//!   child has ended, also when it killed the child: a killed process cannot clean up after itself.
//! - [`install`]: for the `bfjit` command itself. It points `TMPDIR` at a private folder for the whole
//!   run, and a signal thread that, on SIGINT, SIGTERM or SIGHUP, kills the sessions registered with
//!   [`track_session`] (the workers and everything they started), removes that folder and exits with
//!   128 + the signal number. Only SIGKILL of `bfjit` itself can leave a folder behind.
//!
//! A child that must be killed with everything it started is spawned with [`new_session`]: its
//! descendants stay in its session even when they make process groups of their own (the C backends
//! run the compiler in its own group, to kill it on their compile budget), so [`kill_session`] finds
//! them all.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The signal that interrupted the run (0 while none has).
static INTERRUPTED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Whether a signal interrupted the run: then the signal thread is cleaning up and will end the
/// process with 128 + the signal, and no other exit code may be reported instead.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) != 0
}

/// Sessions to kill when the run is interrupted.
static SESSIONS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Registers the session `sid` to be killed if the run is interrupted.
pub fn track_session(sid: u32) {
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions.push(sid);
    }
}

/// Unregisters `sid` (its processes have ended).
pub fn untrack_session(sid: u32) {
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions.retain(|&s| s != sid);
    }
}

/// Makes `command`'s process the leader of a new session (and process group) when it starts.
pub fn new_session(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the hook runs in the child between fork and exec, where only async-signal-safe calls
    // are allowed; `setsid` is one, and the hook touches no memory shared with the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends SIGKILL to `pid` (a negative `pid` names a process group).
fn kill(pid: libc::pid_t) {
    // SAFETY: `kill` has no memory effects; callers pass a process or group of a session we created.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Kills every process of the session led by `sid` (a child started with [`new_session`]), also
/// those in process groups of their own. The session is found in `/proc`; where there is none, only
/// the leader's process group is killed.
pub fn kill_session(sid: u32) {
    let Ok(sid) = libc::pid_t::try_from(sid) else {
        return;
    };
    kill(-sid);
    // Repeat until none is left: a member may have forked while it was being found.
    for _ in 0..50 {
        let members = session_members(sid);
        if members.is_empty() {
            return;
        }
        for pid in members {
            kill(pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The live (not zombie) processes of session `sid`, from `/proc/PID/stat`.
fn session_members(sid: libc::pid_t) -> Vec<libc::pid_t> {
    processes()
        .into_iter()
        .filter(|p| p.session == sid)
        .map(|p| p.pid)
        .collect()
}

/// Kills this process's children, each with its process group when it leads one of its own (the C
/// backends' compiler and its `cc1`); a child in our own group is killed alone.
fn kill_children() {
    let me = std::process::id() as libc::pid_t;
    for child in processes().into_iter().filter(|p| p.ppid == me) {
        if child.pgrp == child.pid {
            kill(-child.pid);
        }
        kill(child.pid);
    }
}

/// A live process as `/proc/PID/stat` describes it.
struct ProcStat {
    pid: libc::pid_t,
    ppid: libc::pid_t,
    pgrp: libc::pid_t,
    session: libc::pid_t,
}

/// Every live (not zombie) process in `/proc` (none where there is no `/proc`).
fn processes() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command name in parentheses: state, ppid, pgrp, session, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let alive = fields
            .first()
            .is_some_and(|&state| state != "Z" && state != "X");
        let number = |i: usize| fields.get(i).and_then(|s| s.parse::<libc::pid_t>().ok());
        if let (true, Some(ppid), Some(pgrp), Some(session)) =
            (alive, number(1), number(2), number(3))
        {
            found.push(ProcStat {
                pid,
                ppid,
                pgrp,
                session,
            });
        }
    }
    found
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
/// thread (see the module docs). Call it first thing in `main`, before any other thread exists:
/// the signals are blocked in the calling thread, and threads started later inherit that.
/// Returns `None` (and changes nothing) when the folder cannot be made.
pub fn install() -> Option<ScratchRoot> {
    let dir = ScratchDir::new("bfjit-run-").ok()?;
    // Set while the process has a single thread, before anything reads the environment.
    std::env::set_var("TMPDIR", dir.path());
    let root = dir.path().to_path_buf();
    // SAFETY: plain libc calls on a local, fully initialized signal set; no memory is shared.
    let blocked = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        (libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) == 0).then_some(set)
    };
    if let Some(set) = blocked {
        std::thread::spawn(move || {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` is an initialized signal set and `signal` a valid out-pointer.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                return;
            }
            INTERRUPTED.store(signal, std::sync::atomic::Ordering::SeqCst);
            let sessions = SESSIONS.lock().map(|s| s.clone()).unwrap_or_default();
            for sid in sessions {
                kill_session(sid);
            }
            kill_children();
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
