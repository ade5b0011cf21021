//! What every backend shares at run time: the buffered I/O channel, the tape, and early-stop reasons.
//!
//! Output is buffered and flushed in bulk, before every read from the underlying input and at the end
//! of the run, so interactive programs see their prompts. EOF policy is applied here, in one place, so
//! no two backends (or two tiers of one backend) can handle EOF differently.

pub mod exact;

use std::io::{ErrorKind, Read, Write};

use crate::config::{Config, EofPolicy};
use crate::outcome::{Halt, IoFailure, Side, Status};
use crate::syntax::Program;

const OUTPUT_BUFFER: usize = 1 << 14;
const INPUT_BUFFER: usize = 1 << 12;

/// The buffered input/output channel of one run.
pub struct Io<'a> {
    input: &'a mut dyn Read,
    output: &'a mut dyn Write,
    out_buf: Vec<u8>,
    in_buf: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    /// Input bytes consumed before the current buffer.
    consumed_before: u64,
    at_eof: bool,
    eof: EofPolicy,
}

impl<'a> Io<'a> {
    /// A channel over an input source and an output sink, applying `eof` at end of input.
    pub fn new(input: &'a mut dyn Read, output: &'a mut dyn Write, eof: EofPolicy) -> Io<'a> {
        Io {
            input,
            output,
            out_buf: Vec::with_capacity(OUTPUT_BUFFER),
            in_buf: vec![0; INPUT_BUFFER].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            consumed_before: 0,
            at_eof: false,
            eof,
        }
    }

    /// Queues one output byte, writing the buffer out when it is full.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) -> Result<(), IoFailure> {
        self.out_buf.push(byte);
        if self.out_buf.len() >= OUTPUT_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes out the buffered output and flushes the sink.
    pub fn flush(&mut self) -> Result<(), IoFailure> {
        if !self.out_buf.is_empty() {
            let result = self.output.write_all(&self.out_buf);
            self.out_buf.clear();
            result?;
        }
        self.output.flush()?;
        Ok(())
    }

    /// The value `,` stores into a cell holding `current`: the next input byte, or the EOF policy's value.
    #[inline]
    pub fn read_byte(&mut self, current: u8) -> Result<u8, IoFailure> {
        if self.in_pos == self.in_len && !self.refill()? {
            return Ok(self.eof.apply(current));
        }
        let byte = self.in_buf[self.in_pos];
        self.in_pos += 1;
        Ok(byte)
    }

    /// How many input bytes `,` has consumed so far (reads at end of input consume none).
    pub fn consumed(&self) -> u64 {
        self.consumed_before + self.in_pos as u64
    }

    /// Refills the input buffer; `false` at end of input. Output is flushed first.
    fn refill(&mut self) -> Result<bool, IoFailure> {
        if self.at_eof {
            return Ok(false);
        }
        self.flush()?;
        loop {
            match self.input.read(&mut self.in_buf) {
                Ok(0) => {
                    self.at_eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.consumed_before += self.in_len as u64;
                    self.in_pos = 0;
                    self.in_len = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Why a run stopped before the end of the program, in backend terms (a command index, not a position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Command number `cmd` (a `<` or `>`) moved the pointer off the tape.
    OutOfBounds {
        /// Index of the offending command in [`Program::cmds`].
        cmd: u32,
        /// Which end of the tape it left by.
        side: Side,
    },
    /// The fuel budget ran out.
    OutOfFuel,
    /// Input or output failed.
    Io(IoFailure),
}

impl From<IoFailure> for Stop {
    fn from(e: IoFailure) -> Self {
        Stop::Io(e)
    }
}

impl Stop {
    /// The status this stop reports, with the source position resolved against `program`.
    pub fn into_status(self, program: &Program) -> Status {
        match self {
            Stop::OutOfBounds { cmd, side } => Status::PointerOutOfBounds {
                position: program.position_of_cmd(cmd as usize),
                side,
            },
            Stop::OutOfFuel => Status::OutOfFuel,
            Stop::Io(e) => Status::Io(e),
        }
    }
}

/// The tape and pointer of a run, with the fuel budget.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The cells, `tape_len` of them.
    pub tape: Vec<u8>,
    /// Index of the current cell; always within the tape.
    pub ptr: usize,
    /// Fuel left, when a budget is set.
    pub fuel_left: Option<u64>,
    /// The budget the run started with.
    pub fuel_budget: Option<u64>,
}

impl Machine {
    /// A zeroed tape of `config.tape_len()` cells, pointer at 0, fuel from the config.
    pub fn new(config: &Config) -> Machine {
        Machine {
            tape: vec![0; config.tape_len()],
            ptr: 0,
            fuel_left: config.fuel(),
            fuel_budget: config.fuel(),
        }
    }

    /// Spends one unit of fuel for a loop-body entry; `Err(OutOfFuel)` when none is left.
    #[inline]
    pub fn spend_fuel(&mut self) -> Result<(), Stop> {
        if let Some(left) = &mut self.fuel_left {
            if *left == 0 {
                return Err(Stop::OutOfFuel);
            }
            *left -= 1;
        }
        Ok(())
    }

    /// Ends the run: flushes output (a flush failure becomes the status if the run was otherwise ok)
    /// and packages the result.
    pub fn finish(self, result: Result<(), Stop>, io: &mut Io<'_>, program: &Program) -> Halt {
        let flushed = io.flush();
        let status = match (result, flushed) {
            (Err(stop), _) => stop.into_status(program),
            (Ok(()), Err(e)) => Status::Io(e),
            (Ok(()), Ok(())) => Status::Ok,
        };
        let fuel_used = match (self.fuel_budget, self.fuel_left) {
            (Some(budget), Some(left)) => budget - left,
            _ => 0,
        };
        Halt {
            status,
            pointer: self.ptr,
            tape: self.tape,
            fuel_used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eof_policy_applies_after_input_ends() {
        for (policy, expect) in [
            (EofPolicy::Unchanged, 9),
            (EofPolicy::Zero, 0),
            (EofPolicy::Max, 255),
        ] {
            let mut input: &[u8] = b"a";
            let mut out = Vec::new();
            let mut io = Io::new(&mut input, &mut out, policy);
            assert_eq!(io.consumed(), 0);
            assert_eq!(io.read_byte(9).unwrap(), b'a');
            assert_eq!(io.consumed(), 1);
            assert_eq!(io.read_byte(9).unwrap(), expect);
            assert_eq!(io.read_byte(9).unwrap(), expect);
            assert_eq!(io.consumed(), 1, "reads at end of input consume nothing");
        }
    }

    #[test]
    fn consumed_counts_across_refills() {
        let data = vec![7u8; INPUT_BUFFER + 10];
        let mut input: &[u8] = &data;
        let mut out = Vec::new();
        let mut io = Io::new(&mut input, &mut out, EofPolicy::Zero);
        for _ in 0..INPUT_BUFFER + 10 {
            assert_eq!(io.read_byte(1).unwrap(), 7);
        }
        assert_eq!(io.consumed(), (INPUT_BUFFER + 10) as u64);
        assert_eq!(io.read_byte(1).unwrap(), 0);
        assert_eq!(io.consumed(), (INPUT_BUFFER + 10) as u64);
    }

    #[test]
    fn output_is_flushed_before_reading() {
        struct Probe<'a>(&'a std::cell::RefCell<Vec<u8>>);
        impl Read for Probe<'_> {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                // By the time input is read, the prompt must have been written out.
                assert_eq!(&*self.0.borrow(), b"?");
                Ok(0)
            }
        }
        struct Sink<'a>(&'a std::cell::RefCell<Vec<u8>>);
        impl Write for Sink<'_> {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let written = std::cell::RefCell::new(Vec::new());
        let mut input = Probe(&written);
        let mut output = Sink(&written);
        let mut io = Io::new(&mut input, &mut output, EofPolicy::Zero);
        io.write_byte(b'?').unwrap();
        assert_eq!(io.read_byte(5).unwrap(), 0);
    }

    #[test]
    fn fuel_runs_out_exactly() {
        let mut m = Machine::new(&Config::default().with_fuel(Some(2)));
        assert!(m.spend_fuel().is_ok());
        assert!(m.spend_fuel().is_ok());
        assert_eq!(m.spend_fuel(), Err(Stop::OutOfFuel));
    }
}
