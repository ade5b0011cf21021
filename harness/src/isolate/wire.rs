//! The isolation wire format: one JSON line per request (parent to worker) and per answer (worker
//! to parent). It carries the backends' own serializable types (`Config`, `Outcome`, `CompileError`),
//! so every field travels faithfully: the compile error's variant and message, the I/O failure's kind
//! and message, the out-of-bounds position and side. Program and input bytes travel as lowercase hex.

use bfjit_backends::{CompileError, Config, Outcome, Program};
use serde::{Deserialize, Serialize};

use crate::case::{Case, Observed};

/// The line the worker sends when a backend has compiled and its run starts (compile time does not
/// count against the run's time limit).
pub(super) const COMPILED: &str = "\"compiled\"";

/// One case for the worker: what to run and on which backends.
#[derive(Serialize, Deserialize)]
pub(super) struct Request {
    source: String,
    input: String,
    config: Config,
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
            config: *config,
            backends: backends.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The program, configuration and input of the request; errors when any does not validate
    /// (the configuration was validated when it was deserialized).
    pub(super) fn decode(&self) -> Result<(Program, Config, Vec<u8>), BadRequest> {
        let program = Program::parse(unhex(&self.source)?).map_err(|_| BadRequest)?;
        Ok((program, self.config, unhex(&self.input)?))
    }
}

/// One backend's result, as the worker sends it.
#[derive(Serialize, Deserialize)]
pub(super) enum WireObserved {
    Outcome(Outcome),
    Crashed(String),
    TimedOut(std::time::Duration),
    CompileError(CompileError),
    HarnessFailure(String),
    Skipped(String),
}

impl WireObserved {
    /// The wire form of what a backend did (an external engine never runs in the worker).
    pub(super) fn new(observed: &Observed) -> WireObserved {
        match observed {
            Observed::Outcome(o) => WireObserved::Outcome(o.clone()),
            Observed::Crashed(how) => WireObserved::Crashed(how.clone()),
            Observed::TimedOut(t) => WireObserved::TimedOut(*t),
            Observed::CompileError(e) => WireObserved::CompileError(e.clone()),
            Observed::HarnessFailure(why) => WireObserved::HarnessFailure(why.clone()),
            Observed::Skipped(why) => WireObserved::Skipped(why.clone()),
            Observed::External { .. } => {
                WireObserved::HarnessFailure("an external engine cannot run in the worker".into())
            }
        }
    }

    /// What the backend did.
    pub(super) fn into_observed(self) -> Observed {
        match self {
            WireObserved::Outcome(o) => Observed::Outcome(o),
            WireObserved::Crashed(how) => Observed::Crashed(how),
            WireObserved::TimedOut(t) => Observed::TimedOut(t),
            WireObserved::CompileError(e) => Observed::CompileError(e),
            WireObserved::HarnessFailure(why) => Observed::HarnessFailure(why),
            WireObserved::Skipped(why) => Observed::Skipped(why),
        }
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
    use std::io::ErrorKind;

    use bfjit_backends::{EofPolicy, Fault, IoFailure, Status};

    use super::*;
    use crate::in_process::run_in_process;

    fn round_trip(observed: &Observed) -> Observed {
        let wire = serde_json::to_string(&WireObserved::new(observed)).unwrap();
        serde_json::from_str::<WireObserved>(&wire)
            .unwrap()
            .into_observed()
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
    fn every_compile_error_keeps_its_variant_and_fault() {
        for error in [
            CompileError::Unsupported("no cc".into()),
            CompileError::Environment("cc crashed".into()),
            CompileError::Bug("bad label".into()),
            CompileError::TooLarge("deep".into()),
        ] {
            let fault = error.fault();
            let observed = Observed::CompileError(error);
            let back = round_trip(&observed);
            assert_eq!(back, observed);
            let Observed::CompileError(back) = back else {
                unreachable!()
            };
            assert_eq!(back.fault(), fault);
        }
        assert_eq!(CompileError::Bug(String::new()).fault(), Fault::Bug);
    }

    #[test]
    fn io_failures_keep_their_kind() {
        for kind in [
            ErrorKind::BrokenPipe,
            ErrorKind::StorageFull,
            ErrorKind::PermissionDenied,
            ErrorKind::Other,
        ] {
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

    #[test]
    fn a_request_with_a_zero_tape_is_refused() {
        let line = r#"{"source":"","input":"","config":{"tape_len":0,"eof":"zero","fuel":null},"backends":[]}"#;
        assert!(serde_json::from_str::<Request>(line).is_err());
    }
}
