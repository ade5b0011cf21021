//! The reference interpreter: the oracle every other backend is checked against.
//!
//! It executes the parsed commands one at a time, exactly as `docs/semantics.md` states them, with no
//! optimization at all: its run is [`crate::runtime::exact::execute_exact`] over the whole program, the
//! same executor optimized backends fall back to when a hoisted bounds check fails, so the error, its
//! position and the output before it are the reference's by construction.

pub mod termination;

use std::io::{Read, Write};

use crate::backend::{Backend, CompileError, Executable};
use crate::config::Config;
use crate::outcome::Halt;
use crate::runtime::exact::execute_exact;
use crate::runtime::{Io, Machine};
use crate::syntax::Program;

/// The reference interpreter backend (`reference`).
pub struct Reference;

impl Backend for Reference {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn summary(&self) -> &'static str {
        "command-by-command interpreter; the oracle"
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        Ok(Box::new(ReferenceRun {
            program: program.clone(),
            config: *config,
        }))
    }
}

struct ReferenceRun {
    program: Program,
    config: Config,
}

impl Executable for ReferenceRun {
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt {
        let mut io = Io::new(input, output, self.config.eof());
        let mut machine = Machine::new(&self.config);
        let metered = machine.fuel_left.is_some();
        let mut fuel = machine.fuel_left.unwrap_or(0);
        let result = execute_exact(
            &self.program,
            0..self.program.len(),
            &mut machine.tape,
            &mut machine.ptr,
            &mut io,
            metered.then_some(&mut fuel),
        );
        if metered {
            machine.fuel_left = Some(fuel);
        }
        machine.finish(result, &mut io, &self.program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::compile_and_run;
    use crate::config::EofPolicy;
    use crate::outcome::{Side, Status};

    fn run(src: &str, config: Config, input: &[u8]) -> crate::outcome::Outcome {
        let program = Program::parse(src).unwrap();
        compile_and_run(&Reference, &program, &config, input).unwrap()
    }

    #[test]
    fn cells_wrap_both_ways() {
        let o = run("-.+.", Config::default(), b"");
        assert_eq!(o.output, [255, 0]);
        assert_eq!(o.status, Status::Ok);
    }

    #[test]
    fn left_of_zero_names_the_command_and_keeps_output() {
        let o = run("+.\n>><<<", Config::default(), b"");
        assert_eq!(o.output, [1]);
        let Status::PointerOutOfBounds { position, side } = o.status else {
            panic!("{:?}", o.status)
        };
        assert_eq!((position.line, position.column, side), (2, 5, Side::Left));
    }

    #[test]
    fn right_end_is_tape_len_minus_one() {
        let config = Config::new(3, EofPolicy::Zero, None).unwrap();
        assert_eq!(run(">>", config, b"").status, Status::Ok);
        let o = run(">>>", config, b"");
        assert!(matches!(
            o.status,
            Status::PointerOutOfBounds {
                side: Side::Right,
                ..
            }
        ));
    }

    #[test]
    fn fuel_counts_loop_body_entries() {
        // The body is entered 3 times: once at `[` and twice more at `]`.
        let exact = Config::default().with_fuel(Some(3));
        let o = run("+++[-]", exact, b"");
        assert_eq!(o.status, Status::Ok);
        assert_eq!(o.fuel_used, 3);
        let short = Config::default().with_fuel(Some(2));
        assert_eq!(run("+++[-]", short, b"").status, Status::OutOfFuel);
        // A loop that is skipped costs nothing.
        assert_eq!(
            run("[-]", Config::default().with_fuel(Some(0)), b"").status,
            Status::Ok
        );
    }

    #[test]
    fn million_nested_loops_run() {
        let n = 1_000_000;
        let src = format!("+{}-{}", "[".repeat(n), "]".repeat(n));
        let o = run(&src, Config::default(), b"");
        assert_eq!(o.status, Status::Ok);
        assert_eq!(o.tape[0], 0);
    }
}
