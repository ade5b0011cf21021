//! Backend `c-naive`: the classic "translate BF to C, `cc -O3`" baseline, exactly as the seed documents
//! mean it. The run-length-folded IR becomes plain C over a pointer (`unsigned char *p`, `*p += n`,
//! `p += n`, `while (*p) { ... }`, `putchar`, `getchar`) with no bounds check of any kind, compiled into
//! a stand-alone executable that runs as a child process.
//!
//! Memory safety comes from the child, not the code: its tape is an `mmap` region with inaccessible
//! (`PROT_NONE`) guard pages on both sides, each at least as wide as the farthest the pointer can move
//! between two cell accesses, so a program that leaves the tape faults; a `SIGSEGV` handler flushes the
//! output and exits with a code naming the side. The harness reports that as
//! [`Status::PointerOutOfBoundsUnlocated`]: the command that left the tape is unknown. Limits, all
//! declared through [`Backend::keeps_contract`] (`false`):
//! - the tape is placed against the right guard; pages are whole, so on the left there are up to a
//!   page of accessible slack cells. A write there is detected after the run (the slack is checked to
//!   be still zero), a read only is not;
//! - a pointer that leaves the tape and comes back without touching a cell off the tape is not seen,
//!   unless it is still off the tape at the end.
//!
//! Around the translated program, `main` only asks to die with the harness (`PR_SET_PDEATHSIG`),
//! maps the tape, installs the fault handler, gives stdout a 64 KiB buffer and, at the end, writes the final pointer, the fuel left and the tape to a state
//! file named by its one argument, so that runs that end ok compare in full with the reference. With a
//! fuel budget, loop-body entries are charged as in every other backend; benchmarks run unmetered, so
//! their code is the plain translation only. Input is read in full before the child starts (it
//! cannot be interactive).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{find_compiler, limits, translate::MAX_NESTING};
use crate::backend::{Availability, Backend, CompileError, Executable};
use crate::config::{Config, EofPolicy};
use crate::ir::{Node, Op};
use crate::optimizer::fold_runs_only;
use crate::outcome::{Halt, IoFailure, Side, Status};
use crate::syntax::Program;

/// The `c-naive` backend.
pub struct CNaive;

/// Cells per piece of the tape in the child's state file (only pieces that are not all zero are
/// written).
const STATE_CHUNK: usize = 4096;

/// The `c-naive` backend, as the registry lists it.
pub static C_NAIVE: CNaive = CNaive;

/// Child exit codes (anything else, or a signal, is a failure of the child itself).
const EXIT_OK: i32 = 0;
const EXIT_SETUP: i32 = 2;
const EXIT_OUT_OF_FUEL: i32 = 3;
const EXIT_LEFT: i32 = 4;
const EXIT_RIGHT: i32 = 5;

impl Backend for CNaive {
    fn name(&self) -> &'static str {
        "c-naive"
    }

    fn summary(&self) -> &'static str {
        "the classic baseline: BF to plain C (pointer, while loops, folded runs, no checks), cc -O3, \
         run as a child process on a guard-paged tape (cannot locate out-of-bounds errors)"
    }

    fn availability(&self) -> Availability {
        super::availability()
    }

    fn keeps_contract(&self) -> bool {
        false
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        let compiler = find_compiler().ok_or_else(|| {
            CompileError::Unsupported("no C compiler found (set CC or put cc on PATH)".into())
        })?;
        let nodes = fold_runs_only(program);
        limits::check_nodes(nodes.len())?;
        let source = translate(&nodes, config)?;
        limits::check_source(source.len())?;
        let dir = tempfile::Builder::new()
            .prefix("bfjit-c-naive-")
            .tempdir()
            .map_err(|e| environment(format!("cannot create a temporary folder: {e}")))?;
        let c_path = dir.path().join("program.c");
        let exe = dir.path().join("program");
        std::fs::write(&c_path, source)
            .map_err(|e| environment(format!("cannot write {}: {e}", c_path.display())))?;
        limits::run_compiler(
            &compiler,
            &c_path,
            limits::Artifact::Executable,
            &exe,
            &dir.path().join("cc.err"),
            limits::COMPILE_BUDGET,
        )?;
        Ok(Box::new(NaiveExecutable {
            exe,
            tape_len: config.tape_len(),
            fuel: config.fuel(),
            _dir: dir,
        }))
    }
}

fn environment(e: impl std::fmt::Display) -> CompileError {
    CompileError::Environment(e.to_string())
}

fn fmt_err(_: std::fmt::Error) -> CompileError {
    CompileError::Bug("C translation: formatting failed".into())
}

/// `p[offset]` as C.
fn cell(offset: i32) -> String {
    if offset == 0 {
        "*p".to_string()
    } else {
        format!("p[{offset}]")
    }
}

/// Translates run-length-folded IR to a complete C program for runs under `config`.
pub fn translate(nodes: &[Node], config: &Config) -> Result<String, CompileError> {
    let metered = config.metered();
    let charge = if metered {
        " if (fuel == 0) goto out_of_fuel; fuel--;"
    } else {
        ""
    };
    let mut body = String::with_capacity(nodes.len() * 16);
    let mut depth = 0usize;
    // The farthest the pointer moves, plus the farthest offset accessed, between two cell accesses.
    let (mut max_move, mut max_offset) = (0u64, 0u64);
    for node in nodes {
        let indent = "    ".repeat(depth.min(8) + 1);
        let written = match &node.op {
            Op::Guard { .. } => continue,
            Op::Add { offset, delta } => {
                max_offset = max_offset.max(offset.unsigned_abs().into());
                writeln!(body, "{indent}{} += {delta};", cell(*offset))
            }
            Op::Set { offset, value } => {
                max_offset = max_offset.max(offset.unsigned_abs().into());
                writeln!(body, "{indent}{} = {value};", cell(*offset))
            }
            Op::Move { by } => {
                max_move = max_move.max(by.unsigned_abs().into());
                writeln!(body, "{indent}p += {by};")
            }
            Op::Output { offset } => {
                max_offset = max_offset.max(offset.unsigned_abs().into());
                writeln!(body, "{indent}putchar({});", cell(*offset))
            }
            Op::Input { offset } => {
                max_offset = max_offset.max(offset.unsigned_abs().into());
                let target = cell(*offset);
                let at_eof = match config.eof() {
                    EofPolicy::Unchanged => String::new(),
                    EofPolicy::Zero => format!(" else {target} = 0;"),
                    EofPolicy::Max => format!(" else {target} = 255;"),
                };
                writeln!(
                    body,
                    "{indent}{{ int c = getchar(); if (c != EOF) {target} = (unsigned char)c;{at_eof} }}"
                )
            }
            Op::LoopStart => {
                if depth == MAX_NESTING {
                    return Err(CompileError::TooLarge(format!(
                        "loops nested deeper than {MAX_NESTING} (the C compiler's time grows \
                         cubically with nesting depth)"
                    )));
                }
                depth += 1;
                writeln!(body, "{indent}while (*p) {{{charge}")
            }
            Op::LoopEnd => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    CompileError::Bug("C translation: unbalanced loop end".into())
                })?;
                writeln!(body, "{}}}", "    ".repeat(depth.min(8) + 1))
            }
            Op::MulLoop { .. } | Op::Scan { .. } => {
                return Err(CompileError::Bug(format!(
                    "c-naive translates run-length-folded IR only, not {:?}",
                    node.op
                )))
            }
        };
        written.map_err(fmt_err)?;
    }
    if depth != 0 {
        return Err(CompileError::Bug(
            "C translation: unbalanced loop start".into(),
        ));
    }
    let reach = max_move + max_offset + 1;
    let mut c = String::with_capacity(body.len() + 2048);
    write!(
        c,
        r#"#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define TAPE_LEN {tape_len}u
#define REACH {reach}ull
#define FUEL {fuel}ull
#define CHUNK {chunk}u

static unsigned char *tape;

/* A cell access off the tape hit a guard page: flush what was written, exit naming the side. */
static void on_fault(int sig, siginfo_t *info, void *context) {{
    (void)sig;
    (void)context;
    fflush(stdout);
    _exit((unsigned char *)info->si_addr < tape ? {EXIT_LEFT} : {EXIT_RIGHT});
}}

/* Writes the final pointer, the fuel left and the tape to `path`: of the tape, only the CHUNK-cell
   pieces that are not all zero, each after its index (a huge tape, mostly zero, stays small on both
   sides); returns the exit code. */
static int finish(const char *path, unsigned char *slack, unsigned char *p, uint64_t fuel, int code) {{
    fflush(stdout);
    for (unsigned char *s = slack; s < tape; s++)
        if (*s) return {EXIT_LEFT};
    if (p < tape) return {EXIT_LEFT};
    if (p >= tape + TAPE_LEN) return {EXIT_RIGHT};
    FILE *f = fopen(path, "wb");
    if (!f) return {EXIT_SETUP};
    uint64_t header[2] = {{ (uint64_t)(p - tape), fuel }};
    if (fwrite(header, sizeof header, 1, f) != 1) return {EXIT_SETUP};
    for (size_t at = 0; at < TAPE_LEN; at += CHUNK) {{
        size_t len = TAPE_LEN - at < CHUNK ? TAPE_LEN - at : CHUNK;
        size_t i = 0;
        while (i < len && !tape[at + i]) i++;
        if (i == len) continue;
        uint64_t index = at / CHUNK;
        if (fwrite(&index, sizeof index, 1, f) != 1 || fwrite(tape + at, 1, len, f) != len)
            return {EXIT_SETUP};
    }}
    if (fclose(f)) return {EXIT_SETUP};
    return code;
}}

int main(int argc, char **argv) {{
    if (argc != 3) return {EXIT_SETUP};
    /* Never outlive the harness: killed when it dies, and gone if it already has. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != (pid_t)strtol(argv[2], NULL, 10))
        return {EXIT_SETUP};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t guard = (REACH + page - 1) / page * page;
    size_t span = (TAPE_LEN + page - 1) / page * page;
    unsigned char *base = mmap(NULL, guard * 2 + span, PROT_NONE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return {EXIT_SETUP};
    if (mprotect(base + guard, span, PROT_READ | PROT_WRITE)) return {EXIT_SETUP};
    tape = base + guard + span - TAPE_LEN;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSEGV, &action, NULL) || sigaction(SIGBUS, &action, NULL)) return {EXIT_SETUP};
    static char out[65536];
    setvbuf(stdout, out, _IOFBF, sizeof out);
    unsigned char *p = tape;
    uint64_t fuel = FUEL;
    (void)fuel;
{body}    return finish(argv[1], base + guard, p, fuel, {EXIT_OK});
"#,
        tape_len = config.tape_len(),
        fuel = config.fuel().unwrap_or(0),
        chunk = STATE_CHUNK,
    )
    .map_err(fmt_err)?;
    if metered {
        writeln!(
            c,
            "out_of_fuel:\n    return finish(argv[1], base + guard, p, fuel, {EXIT_OUT_OF_FUEL});"
        )
        .map_err(fmt_err)?;
    }
    c.push_str("}\n");
    Ok(c)
}

/// A compiled `c-naive` program: the executable in its temporary folder.
struct NaiveExecutable {
    exe: PathBuf,
    tape_len: usize,
    fuel: Option<u64>,
    _dir: tempfile::TempDir,
}

/// A halt with `status` and no meaningful pointer or tape.
fn stopped(status: Status) -> Halt {
    Halt {
        status,
        pointer: 0,
        tape: Vec::new(),
        fuel_used: 0,
    }
}

/// A failure of the child process itself (not of the program it runs).
fn child_failed(message: String) -> Halt {
    stopped(Status::Io(IoFailure {
        kind: std::io::ErrorKind::Other,
        message: format!("the c-naive child process failed: {message}"),
    }))
}

impl NaiveExecutable {
    /// Reads the state file the child wrote: pointer, fuel left, then the tape's nonzero
    /// [`STATE_CHUNK`]-cell pieces, each after its index (the rest of the tape is zero).
    fn read_state(&self, path: &std::path::Path, status: Status) -> Halt {
        let bytes = match std::fs::read(path) {
            Ok(bytes) if bytes.len() >= 16 => bytes,
            Ok(bytes) => return child_failed(format!("state file of {} bytes", bytes.len())),
            Err(e) => return child_failed(format!("cannot read its state file: {e}")),
        };
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_ne_bytes(w)
        };
        // Zeroed lazily by the allocator: only the pieces written below are touched.
        let mut tape = vec![0u8; self.tape_len];
        let mut at = 16;
        while at < bytes.len() {
            let piece = (at + 8 <= bytes.len())
                .then(|| word(at))
                .and_then(|index| usize::try_from(index).ok()?.checked_mul(STATE_CHUNK))
                .filter(|&start| start < self.tape_len)
                .and_then(|start| {
                    let len = STATE_CHUNK.min(self.tape_len - start);
                    Some((start, bytes.get(at + 8..at + 8 + len)?))
                });
            let Some((start, cells)) = piece else {
                return child_failed(format!("state file malformed at byte {at}"));
            };
            tape[start..start + cells.len()].copy_from_slice(cells);
            at += 8 + cells.len();
        }
        let fuel_left = word(8);
        Halt {
            status,
            pointer: word(0) as usize,
            tape,
            fuel_used: self
                .fuel
                .map_or(0, |budget| budget.saturating_sub(fuel_left)),
        }
    }
}

impl Executable for NaiveExecutable {
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt {
        use std::os::unix::process::ExitStatusExt;
        let mut data = Vec::new();
        if let Err(e) = input.read_to_end(&mut data) {
            return stopped(Status::Io(e.into()));
        }
        let state = match tempfile::Builder::new()
            .prefix("state-")
            .tempfile_in(self._dir.path())
        {
            Ok(file) => file.into_temp_path(),
            Err(e) => return child_failed(format!("cannot create its state file: {e}")),
        };
        // The child asks to be killed when this process dies (its `main` checks the pid given).
        let spawned = Command::new(&self.exe)
            .arg(&*state)
            .arg(std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => return child_failed(format!("cannot start it: {e}")),
        };
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // The program may not read all its input: a write error is not a failure.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut buffer = vec![0u8; 1 << 16];
        let mut write_error = None;
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    if let Err(e) = output.write_all(&buffer[..n]) {
                        write_error = Some(e);
                        let _ = child.kill();
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = writer.join();
                    return child_failed(format!("reading its output: {e}"));
                }
            }
        }
        drop(stdout);
        let exit = child.wait();
        let _ = writer.join();
        if let Some(e) = write_error {
            return stopped(Status::Io(e.into()));
        }
        let exit = match exit {
            Ok(exit) => exit,
            Err(e) => return child_failed(format!("waiting for it: {e}")),
        };
        match (exit.code(), exit.signal()) {
            (Some(EXIT_OK), _) => self.read_state(&state, Status::Ok),
            (Some(EXIT_OUT_OF_FUEL), _) => self.read_state(&state, Status::OutOfFuel),
            (Some(EXIT_LEFT), _) => {
                stopped(Status::PointerOutOfBoundsUnlocated { side: Side::Left })
            }
            (Some(EXIT_RIGHT), _) => {
                stopped(Status::PointerOutOfBoundsUnlocated { side: Side::Right })
            }
            (Some(EXIT_SETUP), _) => {
                child_failed("it could not map its tape or write its state".into())
            }
            (Some(code), _) => child_failed(format!("exit code {code}")),
            (None, Some(signal)) => child_failed(format!("killed by signal {signal}")),
            (None, None) => child_failed(format!("{exit}")),
        }
    }
}

#[cfg(test)]
#[path = "naive_tests.rs"]
mod tests;
