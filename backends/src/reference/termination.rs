//! Proving that the reference never ends: a run that comes back to a state it was in before
//! (same loop, same pointer, same tape, same input position) repeats itself forever.
//!
//! The oracle needs this when the reference runs out of fuel and an engine finished: folding loops
//! lets a correct engine finish on far less fuel, so running out proves nothing, but a repeated
//! state does. `[--]` on an odd cell is the classic case: the cell runs 3, 1, 255, …, 3 and the
//! loop never exits, while an engine that folds it to "set 0" finishes.
//!
//! States are compared at loop-body entries (where fuel is charged) with Brent's cycle finding:
//! a snapshot is taken at entries 1, 2, 4, 8, …, and every entry is compared with the latest one.
//! A cycle of period `p` that starts after `m` entries is found within about `2·max(m, p) + p`
//! entries. The comparison looks at the loop, the pointer, the input position and the current cell
//! first, so the full tape is compared only when those already match.

use crate::config::Config;
use crate::runtime::exact::{execute_watched, LoopEntry};
use crate::runtime::{Io, Machine, Stop};
use crate::syntax::Program;

/// What [`prove_termination`] found out about a run of the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// The run ended (ok, off the tape, or an I/O error) within the entries it was given.
    Ends,
    /// The run returned to an earlier state, so it never ends: after `entries` loop-body entries
    /// it was where it had been `period` entries before.
    NeverEnds {
        /// Loop-body entries run when the repeat was seen.
        entries: u64,
        /// Entries between the two equal states.
        period: u64,
    },
    /// Neither within the entries it was given.
    Unknown,
}

/// Runs the reference on `program` with `input` (the config's tape and EOF policy, its fuel
/// ignored) for at most `max_entries` loop-body entries, watching for a repeated state.
pub fn prove_termination(
    program: &Program,
    config: &Config,
    input: &[u8],
    max_entries: u64,
) -> Termination {
    let mut input = input;
    let mut sink = std::io::sink();
    let mut io = Io::new(&mut input, &mut sink, config.eof());
    let mut machine = Machine::new(&config.with_fuel(None));
    let mut watch = CycleWatch {
        left: max_entries,
        entries: 0,
        lap: 0,
        power: 1,
        snapshot: None,
        found: None,
    };
    let result = execute_watched(
        program,
        0..program.len(),
        &mut machine.tape,
        &mut machine.ptr,
        &mut io,
        &mut watch,
    );
    match (result, watch.found) {
        (Err(Stop::OutOfFuel), Some((entries, period))) => {
            Termination::NeverEnds { entries, period }
        }
        (Err(Stop::OutOfFuel), None) => Termination::Unknown,
        _ => Termination::Ends,
    }
}

/// The state a run is in as a loop body is entered.
struct Snapshot {
    pc: usize,
    ptr: usize,
    consumed: u64,
    tape: Vec<u8>,
}

/// Brent's cycle finding over loop-body entries, with an entry budget.
struct CycleWatch {
    left: u64,
    entries: u64,
    /// Entries since the snapshot was taken.
    lap: u64,
    /// The lap length at which the next snapshot is taken.
    power: u64,
    snapshot: Option<Snapshot>,
    /// `(entries, period)` of the repeat, once seen.
    found: Option<(u64, u64)>,
}

impl LoopEntry for CycleWatch {
    fn enter(&mut self, pc: usize, ptr: usize, tape: &[u8], io: &Io<'_>) -> Result<(), Stop> {
        if self.left == 0 {
            return Err(Stop::OutOfFuel);
        }
        self.left -= 1;
        self.entries += 1;
        self.lap += 1;
        let consumed = io.consumed();
        if let Some(s) = &self.snapshot {
            if s.pc == pc
                && s.ptr == ptr
                && s.consumed == consumed
                && s.tape[ptr] == tape[ptr]
                && s.tape[..] == *tape
            {
                self.found = Some((self.entries, self.lap));
                // Stopping here is how the run ends; `found` says why.
                return Err(Stop::OutOfFuel);
            }
        }
        if self.lap >= self.power {
            match &mut self.snapshot {
                Some(s) => {
                    s.pc = pc;
                    s.ptr = ptr;
                    s.consumed = consumed;
                    s.tape.copy_from_slice(tape);
                }
                None => {
                    self.snapshot = Some(Snapshot {
                        pc,
                        ptr,
                        consumed,
                        tape: tape.to_vec(),
                    })
                }
            }
            self.power = self.power.saturating_mul(2);
            self.lap = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EofPolicy;
    use crate::outcome::Status;
    use proptest::prelude::*;

    fn prove(src: &str, eof: EofPolicy, input: &[u8]) -> Termination {
        let program = Program::parse(src).unwrap();
        let config = Config::new(16, eof, None).unwrap();
        prove_termination(&program, &config, input, 100_000)
    }

    fn never_ends(t: Termination) -> bool {
        matches!(t, Termination::NeverEnds { .. })
    }

    #[test]
    fn an_even_step_on_an_odd_cell_never_ends() {
        let Termination::NeverEnds { entries, period } = prove("+++[--]", EofPolicy::Zero, b"")
        else {
            panic!("not proved");
        };
        assert_eq!(period, 128, "3, 1, 255, …, 5, 3: 128 entries per turn");
        assert!(
            entries <= 3 * 128,
            "found within 2·max(start, period) + period"
        );
        assert_eq!(prove("++++[--]", EofPolicy::Zero, b""), Termination::Ends);
    }

    #[test]
    fn empty_and_non_moving_loops_never_end() {
        assert!(never_ends(prove("+[]", EofPolicy::Zero, b"")));
        assert!(never_ends(prove("+[>+<]", EofPolicy::Zero, b"")));
        assert!(never_ends(prove("+[>+++++<[>-<-]+]", EofPolicy::Zero, b"")));
    }

    #[test]
    fn a_loop_that_walks_off_the_tape_ends() {
        assert_eq!(prove("+[>+]", EofPolicy::Zero, b""), Termination::Ends);
        assert_eq!(prove("+[<+]", EofPolicy::Zero, b""), Termination::Ends);
    }

    #[test]
    fn input_position_is_part_of_the_state() {
        // Each turn reads a byte: no repeat while input lasts; at its end the EOF policy decides.
        assert_eq!(prove("+[,]", EofPolicy::Zero, b"abc"), Termination::Ends);
        assert!(never_ends(prove("+[,]", EofPolicy::Unchanged, b"abc")));
        assert!(never_ends(prove("+[,]", EofPolicy::Max, b"abc")));
        // A loop that reads a nonzero byte and clears it keeps going until the input ends.
        assert_eq!(prove("+[[-],]", EofPolicy::Zero, b"xyz"), Termination::Ends);
    }

    #[test]
    fn unknown_when_the_budget_runs_out_first() {
        let program = Program::parse("+[>+<]").unwrap();
        let config = Config::new(16, EofPolicy::Zero, None).unwrap();
        assert_eq!(
            prove_termination(&program, &config, b"", 100),
            Termination::Unknown,
            "the period is 256 entries"
        );
    }

    proptest! {
        /// Agreement with the reference: a program that finishes within its fuel is never proved
        /// endless, and one proved endless runs out of any fuel.
        #[test]
        fn agrees_with_the_reference(
            src in proptest::collection::vec(
                prop::sample::select(vec!["+", "-", "--", ">", "<", "[", "]", ","]), 0..40),
            input in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let src: String = src.concat();
            let Ok(program) = Program::parse(src.as_str()) else { return Ok(()) };
            for eof in [EofPolicy::Zero, EofPolicy::Unchanged, EofPolicy::Max] {
                let config = Config::new(8, eof, Some(20_000)).unwrap();
                let reference = crate::backend::compile_and_run(
                    &crate::reference::Reference, &program, &config, &input).unwrap();
                let proof = prove_termination(&program, &config, &input, 20_000);
                if reference.status == Status::OutOfFuel {
                    prop_assert_ne!(proof, Termination::Ends);
                } else {
                    prop_assert_eq!(proof, Termination::Ends);
                }
            }
        }
    }
}
