//! What every JIT backend shares: the runtime state generated code works on, the `extern "C"` callbacks
//! it calls for I/O and exact fallbacks, the status codes it returns, and executable memory.
//!
//! The calling convention, for every code generator (dynasm, hand-encoded, Cranelift, tiered):
//! - the generated entry point is `extern "C" fn(state: *mut JitState) -> u32`;
//! - it reads `tape`, `tape_len` and `ptr` from the state at entry, and writes the pointer index back to
//!   `state.ptr` before every return (ok or not) and before every callback that takes the state;
//! - it returns one of the `STATUS_*` codes; [`JitState::finish`] is the one function that maps a code to
//!   a [`Halt`];
//! - when fuel is metered, `fuel_left` is decremented in place at every loop-body entry; at zero the code
//!   returns [`STATUS_OUT_OF_FUEL`] without decrementing.
//!
//! Callbacks never unwind into generated frames: each catches panics and turns them into a stop.

pub mod memory;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::backend::Availability;
use crate::config::Config;
use crate::outcome::{Halt, IoFailure};
use crate::reference::execute_exact;
use crate::runtime::{Io, Machine, Stop};
use crate::syntax::Program;

/// The availability of a backend whose generated code needs an x86-64 host.
pub fn x86_64_availability() -> Availability {
    if cfg!(target_arch = "x86_64") {
        Availability::Available
    } else {
        Availability::Unsupported("needs an x86-64 host".into())
    }
}

/// The run ended normally.
pub const STATUS_OK: u32 = 0;
/// The run stopped; the reason is in [`JitState::stop`] (set by a callback).
pub const STATUS_STOPPED: u32 = 1;
/// The fuel budget ran out at a loop-body entry.
pub const STATUS_OUT_OF_FUEL: u32 = 2;

/// Returned by [`jit_exact`] in place of a pointer when the exact run stopped.
pub const EXACT_STOPPED: usize = usize::MAX;

/// The state one run of generated code works on. `repr(C)`: generated code reads the first fields at
/// the offsets given by the `OFFSET_*` constants.
#[repr(C)]
pub struct JitState<'r, 'io> {
    /// Base address of the tape (`tape_len` cells).
    pub tape: *mut u8,
    /// Number of cells.
    pub tape_len: usize,
    /// Current pointer index (valid at entry, at exit and at callbacks).
    pub ptr: usize,
    /// Fuel left when metered (ignored otherwise).
    pub fuel_left: u64,
    /// Why the run stopped, when a callback stopped it.
    pub stop: Option<Stop>,
    io: &'r mut Io<'io>,
    program: &'r Program,
    /// Number of bytes queued in [`JitState::out_buf`] (generated code appends and bumps it inline).
    pub out_len: usize,
    /// Output queued by generated code, handed to the I/O channel by [`jit_flush`] (or by any other
    /// callback, before it does anything else) so the byte order is kept.
    pub out_buf: [u8; OUT_BUF_CAP],
}

/// Offset of [`JitState::tape`] in bytes.
pub const OFFSET_TAPE: i32 = 0;
/// Offset of [`JitState::tape_len`] in bytes.
pub const OFFSET_TAPE_LEN: i32 = 8;
/// Offset of [`JitState::ptr`] in bytes.
pub const OFFSET_PTR: i32 = 16;
/// Offset of [`JitState::fuel_left`] in bytes.
pub const OFFSET_FUEL: i32 = 24;
/// Capacity of [`JitState::out_buf`]: generated code calls [`jit_flush`] when it is full.
pub const OUT_BUF_CAP: usize = 4096;
/// Offset of [`JitState::out_len`] in bytes.
pub const OFFSET_OUT_LEN: i32 = std::mem::offset_of!(JitState<'static, 'static>, out_len) as i32;
/// Offset of [`JitState::out_buf`] in bytes.
pub const OFFSET_OUT_BUF: i32 = std::mem::offset_of!(JitState<'static, 'static>, out_buf) as i32;

/// The signature of a generated entry point.
pub type EntryFn = unsafe extern "C" fn(*mut JitState) -> u32;

impl<'r, 'io> JitState<'r, 'io> {
    /// A state over a machine's tape, starting at its pointer with its fuel.
    pub fn new(machine: &'r mut Machine, io: &'r mut Io<'io>, program: &'r Program) -> Self {
        JitState {
            tape: machine.tape.as_mut_ptr(),
            tape_len: machine.tape.len(),
            ptr: machine.ptr,
            fuel_left: machine.fuel_left.unwrap_or(0),
            stop: None,
            io,
            program,
            out_len: 0,
            out_buf: [0; OUT_BUF_CAP],
        }
    }

    /// Hands the bytes queued in `out_buf` to the I/O channel, in order, and empties the queue.
    pub fn drain_output(&mut self) -> Result<(), IoFailure> {
        let len = std::mem::take(&mut self.out_len).min(OUT_BUF_CAP);
        for &byte in &self.out_buf[..len] {
            self.io.write_byte(byte)?;
        }
        Ok(())
    }

    /// The result generated code's `status` stands for: the one mapping from status codes to results.
    pub fn result(&mut self, status: u32) -> Result<(), Stop> {
        match status {
            STATUS_OK => Ok(()),
            STATUS_OUT_OF_FUEL => Err(Stop::OutOfFuel),
            _ => Err(self
                .stop
                .take()
                .unwrap_or_else(|| internal_failure("status without a recorded stop"))),
        }
    }

    fn record(&mut self, stop: Stop) {
        self.stop = Some(stop);
    }
}

/// Runs generated code from its entry point on a fresh machine and packages the result.
///
/// # Safety
/// `entry` must be generated code that follows this module's calling convention and only accesses
/// tape cells within `[0, tape_len)`.
pub unsafe fn run_entry(
    entry: EntryFn,
    program: &Program,
    config: &Config,
    input: &mut dyn std::io::Read,
    output: &mut dyn std::io::Write,
) -> Halt {
    let mut io = Io::new(input, output, config.eof);
    let mut machine = Machine::new(config);
    let (result, ptr, fuel_left) = {
        let mut state = JitState::new(&mut machine, &mut io, program);
        // SAFETY: the caller guarantees `entry` follows the calling convention; `state` is a live,
        // exclusively borrowed JitState whose tape pointer covers `tape_len` cells for the whole call.
        let status = unsafe { entry(&mut state) };
        // Output queued before the stop came first: a failure to write it wins over the stop.
        let result = match state.drain_output() {
            Ok(()) => state.result(status),
            Err(e) => Err(Stop::Io(e)),
        };
        (result, state.ptr, state.fuel_left)
    };
    machine.ptr = ptr;
    if machine.fuel_left.is_some() {
        machine.fuel_left = Some(fuel_left);
    }
    machine.finish(result, &mut io, program)
}

fn internal_failure(what: &str) -> Stop {
    Stop::Io(IoFailure {
        kind: std::io::ErrorKind::Other,
        message: format!("internal error in a JIT callback: {what}"),
    })
}

fn guarded(state: *mut JitState, body: impl FnOnce(&mut JitState) -> u32) -> u32 {
    // SAFETY: generated code passes the state pointer it was entered with, which `run_entry` (or the
    // tiered interpreter) keeps alive and unaliased for the duration of the call.
    let state = unsafe { &mut *state };
    match catch_unwind(AssertUnwindSafe(|| body(&mut *state))) {
        Ok(code) => code,
        Err(_) => {
            state.record(internal_failure("a callback panicked"));
            1
        }
    }
}

/// Writes `byte` to the run's output. Returns 0, or 1 when the run must stop (reason recorded).
pub extern "C" fn jit_output(state: *mut JitState, byte: u32) -> u32 {
    guarded(state, |s| {
        match s.drain_output().and_then(|()| s.io.write_byte(byte as u8)) {
            Ok(()) => 0,
            Err(e) => {
                s.record(Stop::Io(e));
                1
            }
        }
    })
}

/// Reads one input byte into `*cell` (EOF per policy). Returns 0, or 1 when the run must stop.
// Only generated code calls this, always with the address of a bounds-checked tape cell.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub extern "C" fn jit_input(state: *mut JitState, cell: *mut u8) -> u32 {
    guarded(state, |s| {
        // SAFETY: generated code passes the address of a tape cell it has bounds-checked.
        let current = unsafe { *cell };
        match s.drain_output().and_then(|()| s.io.read_byte(current)) {
            Ok(value) => {
                // SAFETY: as above; the tape outlives the call and nothing else holds a reference to it.
                unsafe { *cell = value };
                0
            }
            Err(e) => {
                s.record(Stop::Io(e));
                1
            }
        }
    })
}

/// Hands the output generated code queued in `out_buf` to the I/O channel. Returns 0, or 1 when the
/// run must stop (reason recorded).
pub extern "C" fn jit_flush(state: *mut JitState) -> u32 {
    guarded(state, |s| match s.drain_output() {
        Ok(()) => 0,
        Err(e) => {
            s.record(Stop::Io(e));
            1
        }
    })
}

/// Runs source commands `start..end` exactly from pointer index `ptr` (the fallback of a failed guard
/// or scan). Returns the new pointer index, or [`EXACT_STOPPED`] when the run must stop.
pub extern "C" fn jit_exact(state: *mut JitState, start: u32, end: u32, ptr: usize) -> usize {
    let mut result = EXACT_STOPPED;
    guarded(state, |s| {
        // SAFETY: `tape` and `tape_len` describe the run's tape, alive for the whole run; generated code
        // holds no reference into it across this call.
        if let Err(e) = s.drain_output() {
            s.ptr = ptr;
            s.record(Stop::Io(e));
            return 1;
        }
        let tape = unsafe { std::slice::from_raw_parts_mut(s.tape, s.tape_len) };
        let mut p = ptr;
        let program = s.program;
        match execute_exact(
            program,
            start as usize..end as usize,
            tape,
            &mut p,
            s.io,
            None,
        ) {
            Ok(()) => {
                result = p;
                0
            }
            Err(stop) => {
                s.ptr = p;
                s.record(stop);
                1
            }
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_struct_layout() {
        assert_eq!(std::mem::offset_of!(JitState, tape), OFFSET_TAPE as usize);
        assert_eq!(
            std::mem::offset_of!(JitState, tape_len),
            OFFSET_TAPE_LEN as usize
        );
        assert_eq!(std::mem::offset_of!(JitState, ptr), OFFSET_PTR as usize);
        assert_eq!(
            std::mem::offset_of!(JitState, fuel_left),
            OFFSET_FUEL as usize
        );
        assert_eq!(
            std::mem::offset_of!(JitState, out_len),
            OFFSET_OUT_LEN as usize
        );
        assert_eq!(
            std::mem::offset_of!(JitState, out_buf),
            OFFSET_OUT_BUF as usize
        );
    }
}
