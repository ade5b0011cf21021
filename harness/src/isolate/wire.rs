//! The isolation wire format: one JSON line per request (parent to worker) and per answer (worker
//! to parent). Private mirrors of the backends' types carry every field faithfully: the compile
//! error's variant and message, the I/O failure's kind (by a stable name, [`IO_KINDS`]) and message,
//! the out-of-bounds position and side. Bytes travel as lowercase hex.

use std::io::ErrorKind;

use bfjit_backends::{
    CompileError, Config, EofPolicy, IoFailure, Outcome, Position, Program, Side, Status,
};
use serde::{Deserialize, Serialize};

use crate::case::{Case, Observed};

/// One case for the worker: what to run and on which backends.
#[derive(Serialize, Deserialize)]
pub(super) struct Request {
    source: String,
    input: String,
    tape_len: usize,
    eof: String,
    fuel: Option<u64>,
    pub(super) backends: Vec<String>,
}

/// A request the worker cannot act on.
#[derive(Debug)]
pub(super) struct BadRequest;

impl Request {
    /// The request to run `backends` on `case` under `config`.
    pub(super) fn new(case: &Case, config: &Config, backends: &[&str]) -> Request {
        Request {
            source: hex(case.program.source()),
            input: hex(&case.input),
            tape_len: config.tape_len,
            eof: config.eof.name().to_string(),
            fuel: config.fuel,
            backends: backends.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The program, configuration and input of the request; errors when any does not validate.
    pub(super) fn decode(&self) -> Result<(Program, Config, Vec<u8>), BadRequest> {
        let program = Program::parse(unhex(&self.source)?).map_err(|_| BadRequest)?;
        let eof = self.eof.parse::<EofPolicy>().map_err(|_| BadRequest)?;
        let config = Config::new(self.tape_len, eof, self.fuel).map_err(|_| BadRequest)?;
        Ok((program, config, unhex(&self.input)?))
    }
}

#[derive(Serialize, Deserialize)]
pub(super) enum WireStatus {
    Ok,
    OutOfBounds {
        offset: usize,
        line: u32,
        column: u32,
        left: bool,
    },
    OutOfFuel,
    Io {
        kind: String,
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
pub(super) enum WireCompileError {
    Unsupported(String),
    Codegen(String),
    TooLarge(String),
}

/// One backend's result, as the worker sends it.
#[derive(Serialize, Deserialize)]
pub(super) enum WireObserved {
    Outcome {
        output: String,
        status: WireStatus,
        pointer: usize,
        tape: String,
        fuel_used: u64,
    },
    Crashed(String),
    CompileError(WireCompileError),
    HarnessFailure(String),
    Skipped(String),
}

/// The I/O error kinds a run can report, each with the stable name it travels under. Kinds not
/// listed (newer than this table) travel as `other`; the table is the one mapping in both directions.
pub const IO_KINDS: &[(ErrorKind, &str)] = &[
    (ErrorKind::NotFound, "not_found"),
    (ErrorKind::PermissionDenied, "permission_denied"),
    (ErrorKind::ConnectionRefused, "connection_refused"),
    (ErrorKind::ConnectionReset, "connection_reset"),
    (ErrorKind::HostUnreachable, "host_unreachable"),
    (ErrorKind::NetworkUnreachable, "network_unreachable"),
    (ErrorKind::ConnectionAborted, "connection_aborted"),
    (ErrorKind::NotConnected, "not_connected"),
    (ErrorKind::AddrInUse, "addr_in_use"),
    (ErrorKind::AddrNotAvailable, "addr_not_available"),
    (ErrorKind::NetworkDown, "network_down"),
    (ErrorKind::BrokenPipe, "broken_pipe"),
    (ErrorKind::AlreadyExists, "already_exists"),
    (ErrorKind::WouldBlock, "would_block"),
    (ErrorKind::NotADirectory, "not_a_directory"),
    (ErrorKind::IsADirectory, "is_a_directory"),
    (ErrorKind::DirectoryNotEmpty, "directory_not_empty"),
    (ErrorKind::ReadOnlyFilesystem, "read_only_filesystem"),
    (
        ErrorKind::StaleNetworkFileHandle,
        "stale_network_file_handle",
    ),
    (ErrorKind::InvalidInput, "invalid_input"),
    (ErrorKind::InvalidData, "invalid_data"),
    (ErrorKind::TimedOut, "timed_out"),
    (ErrorKind::WriteZero, "write_zero"),
    (ErrorKind::StorageFull, "storage_full"),
    (ErrorKind::NotSeekable, "not_seekable"),
    (ErrorKind::QuotaExceeded, "quota_exceeded"),
    (ErrorKind::FileTooLarge, "file_too_large"),
    (ErrorKind::ResourceBusy, "resource_busy"),
    (ErrorKind::ExecutableFileBusy, "executable_file_busy"),
    (ErrorKind::Deadlock, "deadlock"),
    (ErrorKind::CrossesDevices, "crosses_devices"),
    (ErrorKind::TooManyLinks, "too_many_links"),
    (ErrorKind::InvalidFilename, "invalid_filename"),
    (ErrorKind::ArgumentListTooLong, "argument_list_too_long"),
    (ErrorKind::Interrupted, "interrupted"),
    (ErrorKind::Unsupported, "unsupported"),
    (ErrorKind::UnexpectedEof, "unexpected_eof"),
    (ErrorKind::OutOfMemory, "out_of_memory"),
    (ErrorKind::Other, "other"),
];

/// The stable name of an I/O error kind (`other` for kinds not in [`IO_KINDS`]).
fn io_kind_name(kind: ErrorKind) -> &'static str {
    IO_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("other", |(_, name)| name)
}

/// The I/O error kind with a stable name (`Other` for names not in [`IO_KINDS`]).
fn io_kind_from_name(name: &str) -> ErrorKind {
    IO_KINDS
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(ErrorKind::Other, |(kind, _)| *kind)
}

impl WireStatus {
    fn new(status: &Status) -> WireStatus {
        match status {
            Status::Ok => WireStatus::Ok,
            Status::PointerOutOfBounds { position, side } => WireStatus::OutOfBounds {
                offset: position.offset,
                line: position.line,
                column: position.column,
                left: *side == Side::Left,
            },
            Status::OutOfFuel => WireStatus::OutOfFuel,
            Status::Io(e) => WireStatus::Io {
                kind: io_kind_name(e.kind).to_string(),
                message: e.message.clone(),
            },
        }
    }

    fn into_status(self) -> Status {
        match self {
            WireStatus::Ok => Status::Ok,
            WireStatus::OutOfBounds {
                offset,
                line,
                column,
                left,
            } => Status::PointerOutOfBounds {
                position: Position {
                    offset,
                    line,
                    column,
                },
                side: if left { Side::Left } else { Side::Right },
            },
            WireStatus::OutOfFuel => Status::OutOfFuel,
            WireStatus::Io { kind, message } => Status::Io(IoFailure {
                kind: io_kind_from_name(&kind),
                message,
            }),
        }
    }
}

impl WireCompileError {
    fn new(error: &CompileError) -> WireCompileError {
        match error {
            CompileError::Unsupported(why) => WireCompileError::Unsupported(why.clone()),
            CompileError::Codegen(why) => WireCompileError::Codegen(why.clone()),
            CompileError::TooLarge(why) => WireCompileError::TooLarge(why.clone()),
        }
    }

    fn into_error(self) -> CompileError {
        match self {
            WireCompileError::Unsupported(why) => CompileError::Unsupported(why),
            WireCompileError::Codegen(why) => CompileError::Codegen(why),
            WireCompileError::TooLarge(why) => CompileError::TooLarge(why),
        }
    }
}

impl WireObserved {
    /// The wire form of what a backend did (an external engine never runs in the worker).
    pub(super) fn new(observed: &Observed) -> WireObserved {
        match observed {
            Observed::Outcome(o) => WireObserved::Outcome {
                output: hex(&o.output),
                status: WireStatus::new(&o.status),
                pointer: o.pointer,
                tape: hex(&o.tape),
                fuel_used: o.fuel_used,
            },
            Observed::Crashed(how) => WireObserved::Crashed(how.clone()),
            Observed::CompileError(e) => WireObserved::CompileError(WireCompileError::new(e)),
            Observed::HarnessFailure(why) => WireObserved::HarnessFailure(why.clone()),
            Observed::Skipped(why) => WireObserved::Skipped(why.clone()),
            Observed::External { .. } => {
                WireObserved::HarnessFailure("an external engine cannot run in the worker".into())
            }
        }
    }

    /// What the backend did; `None` when the answer's bytes are not hex (a garbled answer).
    pub(super) fn into_observed(self) -> Option<Observed> {
        Some(match self {
            WireObserved::Outcome {
                output,
                status,
                pointer,
                tape,
                fuel_used,
            } => Observed::Outcome(Outcome {
                output: unhex(&output).ok()?,
                status: status.into_status(),
                pointer,
                tape: unhex(&tape).ok()?,
                fuel_used,
            }),
            WireObserved::Crashed(how) => Observed::Crashed(how),
            WireObserved::CompileError(e) => Observed::CompileError(e.into_error()),
            WireObserved::HarnessFailure(why) => Observed::HarnessFailure(why),
            WireObserved::Skipped(why) => Observed::Skipped(why),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>, BadRequest> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(BadRequest),
    };
    if !s.len().is_multiple_of(2) {
        return Err(BadRequest);
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_process::run_in_process;

    fn round_trip(observed: &Observed) -> Observed {
        let wire = serde_json::to_string(&WireObserved::new(observed)).unwrap();
        serde_json::from_str::<WireObserved>(&wire)
            .unwrap()
            .into_observed()
            .unwrap()
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("0g").is_err());
        assert!(unhex("abc").is_err());
    }

    #[test]
    fn outcomes_survive_the_wire() {
        let program = Program::parse("+.>><").unwrap();
        let config = Config::new(2, EofPolicy::Zero, Some(5)).unwrap();
        let observed = run_in_process(
            &bfjit_backends::reference::Reference,
            &program,
            &config,
            b"",
        );
        assert_eq!(round_trip(&observed), observed);
    }

    #[test]
    fn every_compile_error_keeps_its_variant() {
        for error in [
            CompileError::Unsupported("no cc".into()),
            CompileError::Codegen("bad label".into()),
            CompileError::TooLarge("deep".into()),
        ] {
            let observed = Observed::CompileError(error);
            assert_eq!(round_trip(&observed), observed);
        }
    }

    #[test]
    fn io_failures_keep_their_kind() {
        for &(kind, name) in IO_KINDS {
            assert_eq!(io_kind_name(kind), name);
            let observed = Observed::Outcome(Outcome {
                output: vec![1],
                status: Status::Io(IoFailure {
                    kind,
                    message: format!("{kind}"),
                }),
                pointer: 0,
                tape: vec![0; 3],
                fuel_used: 2,
            });
            assert_eq!(round_trip(&observed), observed);
        }
        let names: std::collections::HashSet<&str> = IO_KINDS.iter().map(|(_, n)| *n).collect();
        assert_eq!(names.len(), IO_KINDS.len(), "names are unique");
    }

    #[test]
    fn requests_decode_to_what_was_sent() {
        let config = Config::new(7, EofPolicy::Max, Some(9)).unwrap();
        let case = Case::from_source("+[,.]", vec![0, 255], config).unwrap();
        let request = Request::new(&case, &config, &["reference", "bytecode"]);
        let line = serde_json::to_string(&request).unwrap();
        let back: Request = serde_json::from_str(&line).unwrap();
        let (program, decoded, input) = back.decode().unwrap();
        assert_eq!(program.source(), case.program.source());
        assert_eq!(decoded, config);
        assert_eq!(input, case.input);
        assert_eq!(back.backends, ["reference", "bytecode"]);
    }
}
