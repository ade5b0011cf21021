//! What the C backends refuse, and the system C compiler run under a time budget.
//!
//! `cc -O3` takes time superlinear in the size of one function, and more with many loops. Measured
//! on the development machine (gcc 12, two shared cores; c-guarded / c-opt):
//!
//! | program shape                       | C source | compile         |
//! | ----------------------------------- | -------- | --------------- |
//! | 5 000 straight-line commands        |  65 KB   | 2.2 s / 1.3 s   |
//! | 20 000 straight-line commands       | 262 KB   | 11 s / 8.8 s    |
//! | 40 000 straight-line commands       | 514 KB   | 21 s / 20 s     |
//! | 2 000 commands of small loops (222) |  64 KB   | 3.7 s / 2.3 s   |
//! | 5 000 commands of small loops (556) | 160 KB   | 13 s / 6 s      |
//! | 10 000 commands, 1 110 small loops  | 320 KB   | 46 s / 23 s     |
//!
//! So a program is refused with [`CompileError::TooLarge`] before the compiler runs when its IR
//! has more than [`MAX_NODES`] nodes (checked first, so a huge program is refused without even
//! being translated) or its C source is over [`MAX_C_SOURCE`] bytes (a few seconds of `cc`; every
//! benchmark workload fits). Behind that, the compiler runs under [`COMPILE_BUDGET`]: when it is
//! over, its whole process group (the driver, `cc1`, `as`) is killed and the compile fails with
//! `TooLarge`, so no shape can make a compile hang.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::CCompiler;
use crate::backend::CompileError;

/// The most IR nodes (guards included) a C backend translates.
pub const MAX_NODES: usize = 40_000;
/// The largest C translation unit handed to the compiler, in bytes.
pub const MAX_C_SOURCE: usize = 128 * 1024;
/// The longest the C compiler may run for one program.
pub const COMPILE_BUDGET: Duration = Duration::from_secs(60);

/// Refuses IR with more than [`MAX_NODES`] nodes.
pub fn check_nodes(nodes: usize) -> Result<(), CompileError> {
    if nodes > MAX_NODES {
        return Err(CompileError::TooLarge(format!(
            "{nodes} IR nodes; the C backends translate at most {MAX_NODES} \
             (the C compiler would take minutes)"
        )));
    }
    Ok(())
}

/// Refuses a C translation unit over [`MAX_C_SOURCE`] bytes.
pub fn check_source(len: usize) -> Result<(), CompileError> {
    if len > MAX_C_SOURCE {
        return Err(CompileError::TooLarge(format!(
            "{len} bytes of C; the C backends compile at most {MAX_C_SOURCE} \
             (the C compiler would take minutes)"
        )));
    }
    Ok(())
}

/// What the C compiler makes of a translation unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// A shared object to load in process (`-shared -fPIC`).
    SharedObject,
    /// A stand-alone executable, run as a child process.
    Executable,
}

/// Compiles `c_path` at `-O3` into `out_path` (an [`Artifact`]) with `compiler`, killing it after
/// `budget`. The compiler's messages go to `err_path` (beside the source, so they are removed with it).
pub fn run_compiler(
    compiler: &CCompiler,
    c_path: &Path,
    artifact: Artifact,
    out_path: &Path,
    err_path: &Path,
    budget: Duration,
) -> Result<(), CompileError> {
    use std::os::unix::process::CommandExt;
    let environment = |e: String| CompileError::Environment(e);
    let stderr = std::fs::File::create(err_path)
        .map_err(|e| environment(format!("cannot create {}: {e}", err_path.display())))?;
    let mut child = Command::new(&compiler.program)
        .args(&compiler.args)
        .arg("-O3")
        .args(match artifact {
            Artifact::SharedObject => &["-shared", "-fPIC"][..],
            Artifact::Executable => &[][..],
        })
        .args(["-w", "-o"])
        .arg(out_path)
        .arg(c_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        // Its own process group, so a timeout kills the compiler's own children (cc1, as) too.
        .process_group(0)
        .spawn()
        .map_err(|e| environment(format!("cannot run {}: {e}", compiler.program.display())))?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= budget => {
                kill_group(child.id());
                let _ = child.wait();
                return Err(CompileError::TooLarge(format!(
                    "the C compiler did not finish within {} s (killed)",
                    budget.as_secs_f64()
                )));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => {
                kill_group(child.id());
                let _ = child.wait();
                return Err(environment(format!("waiting for the C compiler: {e}")));
            }
        }
    };
    if !status.success() {
        let stderr = std::fs::read(err_path).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr);
        let excerpt: String = stderr.chars().take(2000).collect();
        return Err(environment(format!(
            "{} failed ({status}): {excerpt}",
            compiler.program.display()
        )));
    }
    Ok(())
}

/// Sends SIGKILL to the process group led by `pid`.
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: `kill` has no memory effects; a negative pid names the group the compiler leads
        // (it was spawned with `process_group(0)`), which holds only the compiler and its children.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_typed_errors_that_say_the_limit() {
        assert!(check_nodes(MAX_NODES).is_ok());
        let err = check_nodes(MAX_NODES + 1).unwrap_err();
        assert!(
            matches!(&err, CompileError::TooLarge(m) if m.contains("40000")),
            "{err}"
        );
        assert!(check_source(MAX_C_SOURCE).is_ok());
        let err = check_source(MAX_C_SOURCE + 1).unwrap_err();
        assert!(
            matches!(&err, CompileError::TooLarge(m) if m.contains("131072")),
            "{err}"
        );
    }

    #[test]
    fn a_compiler_over_its_budget_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        // A "compiler" that starts a long-lived child of its own and waits.
        let script = dir.path().join("slow-cc");
        std::fs::write(
            &script,
            "#!/bin/sh\nsleep 30 &\necho $! > \"$(dirname \"$0\")/child.pid\"\nwait\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let compiler = CCompiler {
            program: script,
            args: Vec::new(),
        };
        let c = dir.path().join("p.c");
        let start = Instant::now();
        let err = run_compiler(
            &compiler,
            &c,
            Artifact::SharedObject,
            &dir.path().join("p.so"),
            &dir.path().join("cc.err"),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(
            matches!(&err, CompileError::TooLarge(m) if m.contains("did not finish")),
            "{err}"
        );
        assert!(start.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(dir.path().join("child.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild is gone too (reaped by init shortly after the kill).
        let deadline = Instant::now() + Duration::from_secs(5);
        // SAFETY: signal 0 only checks whether the process exists.
        while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        assert_ne!(
            unsafe { libc::kill(pid, 0) },
            0,
            "the compiler's child outlived it"
        );
    }
}
