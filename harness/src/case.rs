//! The data model every differential stage shares: a [`Case`] (program, input, configuration), what
//! one engine did with it ([`Observed`]), how an external process ended ([`ExitInfo`]), and how these
//! print. A leaf module: it depends on `bfjit_backends` only, so the generators, the oracle, the
//! isolation worker and external engines can all use it without importing each other.

use std::fmt;

use bfjit_backends::{CompileError, Config, Outcome, Program, Status};

/// One test case: a program, its input and its configuration (the fuel is the oracle's business).
#[derive(Clone, Debug)]
pub struct Case {
    /// The program.
    pub program: Program,
    /// Bytes the program reads.
    pub input: Vec<u8>,
    /// Tape length and EOF policy (`fuel` is ignored: the oracle sets it).
    pub config: Config,
}

impl Case {
    /// A case from source text; `None` when it does not parse.
    pub fn from_source(source: impl Into<Vec<u8>>, input: Vec<u8>, config: Config) -> Option<Case> {
        let program = Program::parse(source).ok()?;
        Some(Case {
            program,
            input,
            config: config.with_fuel(None),
        })
    }
}

/// The reference's run on a case: its outcome, how much of its input it read and whether it tried to
/// read past the end, and how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceRun {
    /// The outcome.
    pub outcome: Outcome,
    /// Whether a `,` found no input left (so the EOF policy mattered).
    pub read_past_eof: bool,
    /// How many input bytes the program's `,` commands took (a prefix of the case's input).
    pub input_read: usize,
    /// Wall time of the run.
    pub elapsed: std::time::Duration,
}

/// What one engine did with a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A backend ran to an outcome.
    Outcome(Outcome),
    /// An external engine ran: its standard output and how it exited.
    External {
        /// Everything it wrote to standard output.
        stdout: Vec<u8>,
        /// How it exited.
        exit: ExitInfo,
    },
    /// The engine took the process down or panicked; the text says how (signal, message).
    Crashed(String),
    /// The engine gave no result within its time limit (this long) and was killed.
    TimedOut(std::time::Duration),
    /// The backend refused to compile the program; the error's kind says whose fault that is
    /// (see `oracle::fault`).
    CompileError(CompileError),
    /// The harness could not run the engine (the isolation worker would not start); the text says
    /// why. Nothing was decided.
    HarnessFailure(String),
    /// The harness did not run the engine (sampled out, no fuel to give an external engine, or a
    /// backend name the worker does not know); the text says why.
    Skipped(String),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Outcome(o) => write!(f, "{}", describe_outcome(o)),
            Observed::External { stdout, exit } => write!(
                f,
                "{exit}; {} bytes of output: {}",
                stdout.len(),
                show_bytes(stdout)
            ),
            Observed::Crashed(how) => write!(f, "crashed: {how}"),
            Observed::TimedOut(t) => {
                write!(f, "no result within {:.1} s (killed)", t.as_secs_f64())
            }
            Observed::CompileError(e) => write!(f, "compile error: {e}"),
            Observed::HarnessFailure(why) => write!(f, "not run: {why}"),
            Observed::Skipped(why) => write!(f, "skipped: {why}"),
        }
    }
}

/// How an external process (an external engine, or the isolation worker) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitInfo {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
    /// It did not finish in time and was killed.
    TimedOut(std::time::Duration),
    /// It could not be started.
    SpawnFailed(String),
}

impl ExitInfo {
    /// How a finished process ended.
    pub fn of(status: std::process::ExitStatus) -> ExitInfo {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitInfo::Code(code),
            (None, Some(signal)) => ExitInfo::Signal(signal),
            (None, None) => ExitInfo::Code(-1),
        }
    }
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitInfo::Code(0) => f.write_str("exit code 0 (success)"),
            ExitInfo::Code(c) => write!(f, "exit code {c} (failure)"),
            ExitInfo::Signal(s) => write!(f, "killed by signal {s} ({})", signal_name(*s)),
            ExitInfo::TimedOut(t) => write!(f, "timed out after {:.1} s", t.as_secs_f64()),
            ExitInfo::SpawnFailed(e) => write!(f, "could not be started: {e}"),
        }
    }
}

/// The conventional name of a signal number (`SIGSEGV` for 11), or `signal N`.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// The text of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Shows bytes as text when printable, else as numbers, shortened when long.
pub fn show_bytes(bytes: &[u8]) -> String {
    const LIMIT: usize = 64;
    let shown = &bytes[..bytes.len().min(LIMIT)];
    let printable = shown
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\n');
    let mut text = if printable {
        format!("{:?}", String::from_utf8_lossy(shown))
    } else {
        format!("{shown:?}")
    };
    if bytes.len() > LIMIT {
        text.push_str(&format!(" ... ({} more)", bytes.len() - LIMIT));
    }
    text
}

/// A one-line description of an outcome: status, output, and on ok the pointer and the used tape.
pub fn describe_outcome(o: &Outcome) -> String {
    let mut text = format!(
        "{}; {} bytes of output: {}",
        o.status,
        o.output.len(),
        show_bytes(&o.output)
    );
    if o.status == Status::Ok {
        let used = o.tape.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        text.push_str(&format!(
            "; pointer {}; tape[..{used}] = {:?}",
            o.pointer,
            &o.tape[..used.min(64)]
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_show_as_text_or_numbers_and_are_shortened() {
        assert_eq!(show_bytes(b"hi\n"), "\"hi\\n\"");
        assert_eq!(show_bytes(&[0, 200]), "[0, 200]");
        assert!(show_bytes(&[b'a'; 70]).ends_with("... (6 more)"));
    }

    #[test]
    fn signals_have_their_conventional_names() {
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(64), "signal 64");
        assert_eq!(
            ExitInfo::Signal(6).to_string(),
            "killed by signal 6 (SIGABRT)"
        );
    }
}
