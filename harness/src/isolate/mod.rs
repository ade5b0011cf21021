//! Child-process isolation: backends run in a worker process, so a backend that crashes the process
//! (a bad JIT can segfault) is reported as a divergence with its signal, and the harness carries on.
//!
//! The worker is the running binary itself, started with a hidden subcommand
//! (`bfjit __isolate-worker`, see [`worker_main`]): `bfjit` runs registered backends only, the
//! test-only `bfjit-testing` also the deliberately broken ones. The wire format is in `wire`. It stays alive across cases: the parent writes one
//! JSON request per line to its standard input (the program source, input, configuration and the
//! backend names to run), and the worker answers one JSON line per backend, in order, flushing after
//! each. When the worker dies mid-case, the backend it was running is the culprit: the parent reports
//! it as crashed with the signal, starts a new worker, and continues with the remaining backends.
//! A backend that runs past its time limit is killed the same way and reported as timed out; the
//! worker announces the end of each compile, so compile time is not counted against the run's limit.
//!
//! Each worker leads a process group of its own with a private `TMPDIR`
//! ([`crate::scratch::ScratchDir`]); killing a worker kills its group and every descendant
//! ([`crate::process_group::kill_tree`], a C compiler it started included), and once the worker has
//! ended the parent removes that folder, so a killed compile leaves no `bfjit-c-*` folder behind.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bfjit_backends::{backend_by_name, Backend, Config};

use crate::case::{signal_name, Case, ExitInfo, Observed};
use crate::in_process::run_in_process_reporting;
use crate::process_group;
use crate::scratch::ScratchDir;
use wire::{Request, WireObserved};

mod wire;

/// The hidden subcommand that starts a worker.
pub const WORKER_SUBCOMMAND: &str = "__isolate-worker";
/// The default time one backend may take on one case before it counts as hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The time a compile may take in the worker (the C backends kill their compiler after 60 s).
pub const COMPILE_LIMIT: Duration = Duration::from_secs(120);

/// How to start a worker process: a program (normally the `bfjit` binary) and its arguments.
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments (normally just [`WORKER_SUBCOMMAND`]).
    pub args: Vec<String>,
    /// How long one backend may take on one case.
    pub timeout: Duration,
    /// How long one backend may take to compile a case (not counted in `timeout`).
    pub compile_limit: Duration,
}

impl WorkerCommand {
    /// The worker command for the `bfjit` binary at `program`.
    pub fn bfjit(program: impl Into<PathBuf>) -> WorkerCommand {
        WorkerCommand {
            program: program.into(),
            args: vec![WORKER_SUBCOMMAND.to_string()],
            timeout: DEFAULT_TIMEOUT,
            compile_limit: COMPILE_LIMIT,
        }
    }

    /// The worker command for the running binary (which must be `bfjit`).
    pub fn current_exe() -> std::io::Result<WorkerCommand> {
        Ok(WorkerCommand::bfjit(std::env::current_exe()?))
    }
}

/// A running worker process, restarted whenever it dies.
pub struct Worker {
    command: WorkerCommand,
    process: Option<Running>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Whether the worker has been killed and reaped (its pid may then be reused: never signal it).
    reaped: bool,
    /// The worker's `TMPDIR`; dropped (removed) after the worker has been killed and reaped.
    _scratch: ScratchDir,
}

impl Running {
    /// Kills the worker and everything it started, and waits for it.
    fn kill(&mut self) {
        if self.reaped {
            return;
        }
        process_group::kill_tree(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        process_group::untrack(self.child.id());
        self.reaped = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Worker {
    /// A worker started by `command` (the process starts with the first request).
    pub fn new(command: WorkerCommand) -> Worker {
        Worker {
            command,
            process: None,
        }
    }

    fn start(&self) -> std::io::Result<Running> {
        let scratch = ScratchDir::new("bfjit-worker-")?;
        let mut command = Command::new(&self.command.program);
        process_group::in_own_group(&mut command);
        let mut child = command
            .args(&self.command.args)
            .env("TMPDIR", scratch.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        process_group::track(child.id());
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Running {
            child,
            stdin,
            lines,
            reaped: false,
            _scratch: scratch,
        })
    }

    /// Runs `backends` (by name) on `case` under `config` in the worker; one result and the time it
    /// took per backend, in order. Each run may take the command's timeout.
    pub fn run(
        &mut self,
        case: &Case,
        config: &Config,
        backends: &[&str],
    ) -> Vec<(Observed, Duration)> {
        let limit = self.command.timeout;
        self.run_within(case, config, backends, limit)
    }

    /// [`Worker::run`] with a time limit of `limit` per run. Compiling does not count against it: a
    /// compile may take the command's `compile_limit` (by default [`COMPILE_LIMIT`], longer than the
    /// budget after which the C backends stop their compiler themselves).
    pub fn run_within(
        &mut self,
        case: &Case,
        config: &Config,
        backends: &[&str],
        limit: Duration,
    ) -> Vec<(Observed, Duration)> {
        let mut results = Vec::with_capacity(backends.len());
        while results.len() < backends.len() {
            let remaining = &backends[results.len()..];
            let request = Request::new(case, config, remaining);
            let mut line = serde_json::to_string(&request).expect("requests serialize");
            line.push('\n');
            if self.process.is_none() {
                match self.start() {
                    Ok(p) => self.process = Some(p),
                    Err(e) => {
                        let why = format!("could not start the isolation worker: {e}");
                        results.extend(
                            remaining
                                .iter()
                                .map(|_| (Observed::HarnessFailure(why.clone()), Duration::ZERO)),
                        );
                        break;
                    }
                }
            }
            let process = self.process.as_mut().expect("started above");
            let sent = process
                .stdin
                .write_all(line.as_bytes())
                .and_then(|_| process.stdin.flush());
            // `start` times the whole backend (compile included, for the reports); `phase` the
            // compile, then the run, each against its own limit.
            let mut start = Instant::now();
            let mut phase = (start, self.command.compile_limit);
            let mut failure = sent
                .err()
                .map(|e| Observed::Crashed(format!("worker unreachable: {e}")));
            while failure.is_none() && results.len() < backends.len() {
                let (since, allowed) = phase;
                let wait = allowed.saturating_sub(since.elapsed());
                match process.lines.recv_timeout(wait) {
                    Ok(answer) if answer == wire::COMPILED => phase = (Instant::now(), limit),
                    Ok(answer) => match serde_json::from_str::<WireObserved>(&answer)
                        .map(WireObserved::into_observed)
                    {
                        Ok(observed) => {
                            results.push((observed, start.elapsed()));
                            start = Instant::now();
                            phase = (start, self.command.compile_limit);
                        }
                        Err(e) => {
                            failure = Some(Observed::Crashed(format!("garbled worker answer: {e}")))
                        }
                    },
                    Err(RecvTimeoutError::Timeout) => {
                        process.kill();
                        failure = Some(Observed::TimedOut(allowed));
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        let how = match process.child.wait() {
                            Ok(status) => match ExitInfo::of(status) {
                                ExitInfo::Signal(s) => {
                                    format!("killed by signal {s} ({})", signal_name(s))
                                }
                                other => format!("worker process ended: {other}"),
                            },
                            Err(e) => format!("worker process lost: {e}"),
                        };
                        failure = Some(Observed::Crashed(how));
                    }
                }
            }
            if let Some(observed) = failure {
                // The backend being run when the worker died is the one that crashed (or hung).
                results.push((observed, start.elapsed()));
                self.process = None;
            }
        }
        results
    }
}

/// The worker's main loop: answers requests from standard input until it closes, running backends
/// from the registry and, by name, the given `test_backends` (the `bfjit` binary passes none).
/// Returns the exit code (0 at end of input, 2 on a malformed request).
pub fn worker_main(test_backends: &[&'static dyn Backend]) -> u8 {
    let resolve = |name: &str| {
        backend_by_name(name).or_else(|| test_backends.iter().copied().find(|b| b.name() == name))
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return 2 };
        let Ok(request) = serde_json::from_str::<Request>(&line) else {
            return 2;
        };
        let Ok((program, config, input)) = request.decode() else {
            return 2;
        };
        for name in &request.backends {
            let observed = match resolve(name) {
                Some(backend) => {
                    let mut compiled = || {
                        let _ = writeln!(out, "{}", wire::COMPILED).and_then(|_| out.flush());
                    };
                    run_in_process_reporting(backend, &program, &config, &input, &mut compiled)
                }
                None => Observed::Skipped(format!("unknown backend '{name}'")),
            };
            let answer =
                serde_json::to_string(&WireObserved::new(&observed)).expect("answers serialize");
            if writeln!(out, "{answer}").and_then(|_| out.flush()).is_err() {
                return 0;
            }
        }
    }
    0
}
