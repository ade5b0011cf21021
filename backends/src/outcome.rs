//! The observable result of a run, and the one function that decides whether two runs agree.

use std::fmt;
use std::io::ErrorKind;

use serde::{Deserialize, Serialize};

use crate::syntax::Position;

/// An I/O failure during a run, comparable, clonable and serializable (unlike `std::io::Error`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoFailure {
    /// The kind of the underlying error (serialized by name; see [`error_kind_name`]).
    #[serde(with = "error_kind_serde")]
    pub kind: ErrorKind,
    /// The underlying error's message.
    pub message: String,
}

/// Every `io::ErrorKind` that keeps its identity across a serialization round trip, by its name.
/// Kinds not listed (including those newer than this list) travel as `Other`.
const ERROR_KINDS: [(ErrorKind, &str); 39] = [
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

/// The wire name of an I/O error kind (`other` for kinds without one).
pub fn error_kind_name(kind: ErrorKind) -> &'static str {
    ERROR_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("other", |(_, name)| name)
}

/// The I/O error kind a wire name stands for (`Other` for unknown names).
pub fn error_kind_from_name(name: &str) -> ErrorKind {
    ERROR_KINDS
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(ErrorKind::Other, |(kind, _)| *kind)
}

mod error_kind_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::io::ErrorKind;

    pub fn serialize<S: Serializer>(kind: &ErrorKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::error_kind_name(*kind))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorKind, D::Error> {
        let name = String::deserialize(d)?;
        Ok(super::error_kind_from_name(&name))
    }
}

impl From<std::io::Error> for IoFailure {
    fn from(e: std::io::Error) -> Self {
        IoFailure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Which end of the tape the pointer left by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// A `<` at cell 0.
    Left,
    /// A `>` at the last cell.
    Right,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// The program ran to its end.
    Ok,
    /// A `<` or `>` moved the pointer off the tape; `position` is that command's.
    PointerOutOfBounds {
        /// Source position of the command that left the tape.
        position: Position,
        /// Which end it left by.
        side: Side,
    },
    /// The pointer left the tape by `side`, at a command the engine cannot name. Only an engine that
    /// does not check bounds itself reports this (`c-naive`: guard pages stop its process); see
    /// [`crate::Backend::keeps_contract`].
    PointerOutOfBoundsUnlocated {
        /// Which end it left by.
        side: Side,
    },
    /// The fuel budget was spent before the run ended.
    OutOfFuel,
    /// Reading input or writing output failed.
    Io(IoFailure),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            Status::PointerOutOfBounds { position, side } => {
                let side = match side {
                    Side::Left => "left of cell 0",
                    Side::Right => "past the right end of the tape",
                };
                write!(f, "pointer moved {side} at {position}")
            }
            Status::PointerOutOfBoundsUnlocated { side } => {
                let side = match side {
                    Side::Left => "left of cell 0",
                    Side::Right => "past the right end of the tape",
                };
                write!(
                    f,
                    "pointer moved {side} (this engine cannot say at which command)"
                )
            }
            Status::OutOfFuel => f.write_str("out of fuel"),
            Status::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

/// What a backend's run leaves behind apart from the output bytes, which went to the output sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Halt {
    /// How the run ended.
    pub status: Status,
    /// The pointer at the end (meaningful on `Ok`).
    pub pointer: usize,
    /// The tape at the end (meaningful on `Ok`).
    pub tape: Vec<u8>,
    /// Fuel spent, counted when the configuration set a budget (zero otherwise).
    pub fuel_used: u64,
}

/// Everything observable about one run: output, status, and on `Ok` the final pointer and tape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Every byte the program wrote, in order.
    pub output: Vec<u8>,
    /// How the run ended.
    pub status: Status,
    /// The final pointer.
    pub pointer: usize,
    /// The final tape.
    pub tape: Vec<u8>,
    /// Fuel spent (when a budget was set); not part of agreement.
    pub fuel_used: u64,
}

impl Outcome {
    /// Joins a halt with the output the run produced.
    pub fn new(halt: Halt, output: Vec<u8>) -> Outcome {
        Outcome {
            output,
            status: halt.status,
            pointer: halt.pointer,
            tape: halt.tape,
            fuel_used: halt.fuel_used,
        }
    }
}

/// The first way in which two outcomes differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// The outputs differ at byte `index` (a `None` byte means that output had ended).
    Output {
        /// Index of the first differing byte.
        index: usize,
        /// The left outcome's byte there.
        left: Option<u8>,
        /// The right outcome's byte there.
        right: Option<u8>,
    },
    /// The statuses differ (including the position of an out-of-bounds error).
    Status {
        /// The left outcome's status.
        left: Status,
        /// The right outcome's status.
        right: Status,
    },
    /// Both ended `Ok` with different final pointers.
    Pointer {
        /// The left pointer.
        left: usize,
        /// The right pointer.
        right: usize,
    },
    /// Both ended `Ok` with different tapes; `index` is the first differing cell.
    Tape {
        /// Index of the first differing cell.
        index: usize,
        /// The left cell value (`None` past the end of a shorter tape).
        left: Option<u8>,
        /// The right cell value.
        right: Option<u8>,
    },
}

impl Difference {
    /// A short class name: `output`, `status`, `pointer` or `tape`.
    pub fn class(&self) -> &'static str {
        match self {
            Difference::Output { .. } => "output",
            Difference::Status { .. } => "status",
            Difference::Pointer { .. } => "pointer",
            Difference::Tape { .. } => "tape",
        }
    }
}

fn show(b: Option<u8>) -> String {
    b.map_or_else(|| "end".to_string(), |b| format!("{b} ({:?})", b as char))
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Output { index, left, right } => write!(
                f,
                "output differs at byte {index}: {} vs {}",
                show(*left),
                show(*right)
            ),
            Difference::Status { left, right } => write!(f, "status differs: {left} vs {right}"),
            Difference::Pointer { left, right } => {
                write!(f, "final pointer differs: {left} vs {right}")
            }
            Difference::Tape { index, left, right } => write!(
                f,
                "final tape differs at cell {index}: {} vs {}",
                left.map_or("none".into(), |b| b.to_string()),
                right.map_or("none".into(), |b| b.to_string())
            ),
        }
    }
}

/// The index of the first byte where `a` and `b` differ, counting the end of the shorter one as a
/// difference (`None` when they are equal): the one byte-comparison "agree" is built on.
pub fn first_mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    common.or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Decides whether two outcomes agree: equal output, equal status (position included), and when both
/// are `Ok`, equal final pointer and tape. Returns the first difference, or `None` when they agree.
pub fn compare(left: &Outcome, right: &Outcome) -> Option<Difference> {
    if let Some(index) = first_mismatch(&left.output, &right.output) {
        return Some(Difference::Output {
            index,
            left: left.output.get(index).copied(),
            right: right.output.get(index).copied(),
        });
    }
    if left.status != right.status {
        return Some(Difference::Status {
            left: left.status.clone(),
            right: right.status.clone(),
        });
    }
    if left.status == Status::Ok {
        if left.pointer != right.pointer {
            return Some(Difference::Pointer {
                left: left.pointer,
                right: right.pointer,
            });
        }
        if let Some(index) = first_mismatch(&left.tape, &right.tape) {
            return Some(Difference::Tape {
                index,
                left: left.tape.get(index).copied(),
                right: right.tape.get(index).copied(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(output: &[u8], pointer: usize, tape: &[u8]) -> Outcome {
        Outcome {
            output: output.to_vec(),
            status: Status::Ok,
            pointer,
            tape: tape.to_vec(),
            fuel_used: 0,
        }
    }

    #[test]
    fn io_failures_round_trip_with_their_kind() {
        for (kind, _) in ERROR_KINDS {
            let failure = IoFailure {
                kind,
                message: "m".into(),
            };
            let text = serde_json::to_string(&failure).unwrap();
            assert_eq!(serde_json::from_str::<IoFailure>(&text).unwrap(), failure);
        }
        let outcome = Outcome {
            output: b"x".to_vec(),
            status: Status::Io(IoFailure {
                kind: ErrorKind::BrokenPipe,
                message: "pipe".into(),
            }),
            pointer: 1,
            tape: vec![1, 2],
            fuel_used: 3,
        };
        let text = serde_json::to_string(&outcome).unwrap();
        assert_eq!(serde_json::from_str::<Outcome>(&text).unwrap(), outcome);
        assert_eq!(first_mismatch(b"ab", b"ac"), Some(1));
        assert_eq!(first_mismatch(b"ab", b"a"), Some(1));
        assert_eq!(first_mismatch(b"ab", b"ab"), None);
    }

    #[test]
    fn equal_outcomes_agree_whatever_the_fuel() {
        let mut b = ok(b"hi", 1, &[1, 2]);
        b.fuel_used = 99;
        assert_eq!(compare(&ok(b"hi", 1, &[1, 2]), &b), None);
    }

    #[test]
    fn output_is_compared_first_and_names_the_byte() {
        let d = compare(&ok(b"ab", 0, &[0]), &ok(b"a", 0, &[1])).unwrap();
        assert_eq!(
            d,
            Difference::Output {
                index: 1,
                left: Some(b'b'),
                right: None
            }
        );
    }

    #[test]
    fn tape_and_pointer_only_matter_on_ok() {
        let mut a = ok(b"", 0, &[1]);
        let mut b = ok(b"", 3, &[2]);
        assert_eq!(compare(&a, &b).unwrap().class(), "pointer");
        b.pointer = 0;
        assert_eq!(compare(&a, &b).unwrap().class(), "tape");
        a.status = Status::OutOfFuel;
        b.status = Status::OutOfFuel;
        assert_eq!(compare(&a, &b), None);
    }

    #[test]
    fn out_of_bounds_positions_must_match() {
        let pos = |offset| Position {
            offset,
            line: 1,
            column: offset as u32 + 1,
        };
        let mut a = ok(b"", 0, &[]);
        let mut b = a.clone();
        a.status = Status::PointerOutOfBounds {
            position: pos(1),
            side: Side::Left,
        };
        b.status = Status::PointerOutOfBounds {
            position: pos(2),
            side: Side::Left,
        };
        assert_eq!(compare(&a, &b).unwrap().class(), "status");
    }
}
