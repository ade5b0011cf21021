//! Bring your own engine: any program on this machine, registered with
//! `--engine NAME='CMD ARGS {file}'`, checked against `reference` like a backend.
//!
//! For each case the harness writes the program to a temporary file, substitutes the placeholders in
//! the command, runs it with the case's input on standard input, and waits at most a timeout. It then
//! compares the engine's standard output with the reference's output, byte for byte, and whether it
//! succeeded (exit code 0) with whether the reference ended `Ok`. There is no tape to compare. Each run
//! leads a process group of its own, killed whole at the time limit or when `bfjit` is interrupted.
//!
//! Placeholders: `{file}` (required: the program's path), `{tape_len}` (the case's tape length) and
//! `{eof}` (`unchanged`, `zero` or `max`). What the engine does where BF implementations differ is its
//! [`Dialect`] (see [`crate::dialect`]; specifications are parsed in [`crate::engine_spec`]).

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bfjit_backends::{Config, Program};

use crate::case::{ExitInfo, Observed};
use crate::dialect::Dialect;
pub use crate::engine_spec::{split_words, EngineSpec, EngineSpecError};
use crate::process_group;

/// The default time an external engine gets per case.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An external program registered as an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalEngine {
    /// The name reports use.
    pub name: String,
    /// The command and its arguments, placeholders unsubstituted.
    pub argv: Vec<String>,
    /// What it does where BF implementations differ.
    pub dialect: Dialect,
    /// How long one run may take.
    pub timeout: Duration,
}

impl ExternalEngine {
    /// The engine a specification describes, given `timeout` per run.
    pub fn new(spec: EngineSpec, timeout: Duration) -> ExternalEngine {
        ExternalEngine {
            name: spec.name,
            argv: spec.argv,
            dialect: spec.dialect,
            timeout,
        }
    }

    /// Parses `NAME=COMMAND ARGS` (see [`EngineSpec::parse`]), with the default dialect of its
    /// placeholders.
    pub fn parse(spec: &str, timeout: Duration) -> Result<ExternalEngine, EngineSpecError> {
        Ok(ExternalEngine::new(EngineSpec::parse(spec)?, timeout))
    }

    /// The command line for one run (placeholders substituted).
    pub fn command_line(&self, file: &Path, config: &Config) -> Vec<String> {
        self.argv
            .iter()
            .map(|w| {
                w.replace("{file}", &file.to_string_lossy())
                    .replace("{tape_len}", &config.tape_len().to_string())
                    .replace("{eof}", config.eof().name())
            })
            .collect()
    }

    /// Runs the engine on one program and input, within its timeout.
    pub fn run(&self, program: &Program, input: &[u8], config: &Config) -> Observed {
        self.run_for(program, input, config, self.timeout)
    }

    /// Runs the engine on one program and input, killing it after `limit`.
    pub fn run_for(
        &self,
        program: &Program,
        input: &[u8],
        config: &Config,
        limit: Duration,
    ) -> Observed {
        let file = match tempfile::Builder::new()
            .prefix("bfjit-case-")
            .suffix(".bf")
            .tempfile()
        {
            Ok(mut file) => match file.write_all(program.source()).and_then(|_| file.flush()) {
                Ok(()) => file,
                Err(e) => return spawn_failed(e),
            },
            Err(e) => return spawn_failed(e),
        };
        let argv = self.command_line(file.path(), config);
        let run = process_group::run(&argv, input, limit);
        Observed::External {
            stdout: run.stdout,
            exit: run.exit,
        }
    }
}

impl fmt::Display for ExternalEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}='{}'", self.name, self.argv.join(" "))
    }
}

fn spawn_failed(e: std::io::Error) -> Observed {
    Observed::External {
        stdout: Vec::new(),
        exit: ExitInfo::SpawnFailed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_a_command_with_stdin_and_a_timeout() {
        let program = Program::parse("+.").unwrap();
        let cat = ExternalEngine::parse("cat=sh -c 'cat; exit 3' {file}", DEFAULT_TIMEOUT).unwrap();
        let observed = cat.run(&program, b"hello", &Config::default());
        assert_eq!(
            observed,
            Observed::External {
                stdout: b"hello".to_vec(),
                exit: ExitInfo::Code(3)
            }
        );
        let slow = ExternalEngine::parse("slow=sh -c 'sleep 5' {file}", Duration::from_millis(100))
            .unwrap();
        let Observed::External { exit, .. } = slow.run(&program, b"", &Config::default()) else {
            panic!()
        };
        assert!(matches!(exit, ExitInfo::TimedOut(_)), "{exit}");
    }
}
