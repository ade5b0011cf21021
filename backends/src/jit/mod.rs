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
//! Callbacks never unwind into generated frames: each catches panics and turns them into a stop. They
//! are `unsafe` and crate-private: only generated code calls them, with the state it was entered with.
//!
//! Loaded code of every code generator is run the same way: `LoadedCode` is the one executable type
//! (it keeps the code alive and runs it on a fresh machine), and `enter` is the one function that calls
//! generated code (the tiered JIT calls it too). `one_to_one` is the walk the one-to-one JITs share.

pub(crate) mod labels;
mod loaded;
pub mod memory;
pub(crate) mod one_to_one;

use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) use loaded::{enter, entry_at, LoadedCode};

use crate::backend::{Availability, CompileError};
use crate::outcome::IoFailure;
use crate::runtime::exact::execute_exact;
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

/// The availability of a one-to-one JIT: its code needs an x86-64 host and is written into pages
/// mapped by hand ([`memory`], Unix only).
pub fn x86_64_unix_availability() -> Availability {
    if cfg!(all(target_arch = "x86_64", unix)) {
        Availability::Available
    } else {
        Availability::Unsupported("needs an x86-64 Unix host".into())
    }
}

/// The one check (and error) of every backend whose generated code needs an x86-64 host: `Ok` there,
/// the environment error elsewhere.
pub(crate) fn require_x86_64() -> Result<(), CompileError> {
    match x86_64_availability() {
        Availability::Available => Ok(()),
        Availability::Unsupported(why) => Err(CompileError::Unsupported(why)),
    }
}

/// The run ended normally.
pub const STATUS_OK: u32 = 0;
/// The run stopped; the reason is in [`JitState::stop`] (set by a callback).
pub const STATUS_STOPPED: u32 = 1;
/// The fuel budget ran out at a loop-body entry.
pub const STATUS_OUT_OF_FUEL: u32 = 2;

/// Returned by `jit_exact` in place of a pointer when the exact run stopped.
pub const EXACT_STOPPED: usize = usize::MAX;

/// The state one run of generated code works on. `repr(C)`: generated code reads the first fields at
/// the offsets given by the `OFFSET_*` constants. The fields are private: only [`enter`] makes one.
#[repr(C)]
pub struct JitState<'r, 'io> {
    /// Base address of the tape (`tape_len` cells).
    tape: *mut u8,
    /// Number of cells.
    tape_len: usize,
    /// Current pointer index (valid at entry, at exit and at callbacks).
    ptr: usize,
    /// Fuel left when metered (ignored otherwise).
    fuel_left: u64,
    /// Why the run stopped, when a callback stopped it.
    stop: Option<Stop>,
    io: &'r mut Io<'io>,
    program: &'r Program,
    /// Number of bytes queued in `out_buf` (generated code appends and bumps it inline).
    out_len: usize,
    /// Output queued by generated code, handed to the I/O channel by `jit_flush` (or by any other
    /// callback, before it does anything else) so the byte order is kept.
    out_buf: [u8; OUT_BUF_CAP],
}

/// Offset of the state's tape base address in bytes.
pub const OFFSET_TAPE: i32 = 0;
/// Offset of the state's tape length in bytes.
pub const OFFSET_TAPE_LEN: i32 = 8;
/// Offset of the state's pointer index in bytes.
pub const OFFSET_PTR: i32 = 16;
/// Offset of the state's fuel left in bytes.
pub const OFFSET_FUEL: i32 = 24;
/// Capacity of the state's output queue: generated code calls `jit_flush` when it is full.
pub const OUT_BUF_CAP: usize = 4096;
/// Offset of the state's output queue length in bytes.
pub const OFFSET_OUT_LEN: i32 = std::mem::offset_of!(JitState<'static, 'static>, out_len) as i32;
/// Offset of the state's output queue in bytes.
pub const OFFSET_OUT_BUF: i32 = std::mem::offset_of!(JitState<'static, 'static>, out_buf) as i32;

/// The signature of a generated entry point.
pub type EntryFn = unsafe extern "C" fn(*mut JitState) -> u32;

impl<'r, 'io> JitState<'r, 'io> {
    /// A state over a machine's tape, starting at its pointer with its fuel.
    fn new(machine: &'r mut Machine, io: &'r mut Io<'io>, program: &'r Program) -> Self {
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
    fn drain_output(&mut self) -> Result<(), IoFailure> {
        let len = std::mem::take(&mut self.out_len).min(OUT_BUF_CAP);
        for &byte in &self.out_buf[..len] {
            self.io.write_byte(byte)?;
        }
        Ok(())
    }

    /// The result generated code's `status` stands for: the one mapping from status codes to results.
    fn result(&mut self, status: u32) -> Result<(), Stop> {
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

fn internal_failure(what: &str) -> Stop {
    Stop::Io(IoFailure {
        kind: std::io::ErrorKind::Other,
        message: format!("internal error in a JIT callback: {what}"),
    })
}

/// Runs a callback's `body` on the state, turning a panic into a recorded stop.
fn guarded(state: &mut JitState, body: impl FnOnce(&mut JitState) -> u32) -> u32 {
    match catch_unwind(AssertUnwindSafe(|| body(&mut *state))) {
        Ok(code) => code,
        Err(_) => {
            state.record(internal_failure("a callback panicked"));
            1
        }
    }
}

/// Writes `byte` to the run's output. Returns 0, or 1 when the run must stop (reason recorded).
///
/// # Safety
/// Only generated code calls this, with the state pointer it was entered with.
pub(crate) unsafe extern "C" fn jit_output(state: *mut JitState, byte: u32) -> u32 {
    // SAFETY: generated code passes the state `enter` entered it with, which is alive and used by
    // nothing else for the duration of the call.
    let state = unsafe { &mut *state };
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
///
/// # Safety
/// Only generated code calls this, with the state pointer it was entered with and the address of a
/// bounds-checked cell of that state's tape.
pub(crate) unsafe extern "C" fn jit_input(state: *mut JitState, cell: *mut u8) -> u32 {
    // SAFETY: generated code passes the state `enter` entered it with, which is alive and used by
    // nothing else for the duration of the call.
    let state = unsafe { &mut *state };
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

/// Hands the output generated code queued in the state to the I/O channel. Returns 0, or 1 when the
/// run must stop (reason recorded).
///
/// # Safety
/// Only generated code calls this, with the state pointer it was entered with.
pub(crate) unsafe extern "C" fn jit_flush(state: *mut JitState) -> u32 {
    // SAFETY: generated code passes the state `enter` entered it with, which is alive and used by
    // nothing else for the duration of the call.
    let state = unsafe { &mut *state };
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
///
/// # Safety
/// Only generated code calls this, with the state pointer it was entered with, a bracket-balanced
/// command range of the state's program and a pointer index on the tape.
pub(crate) unsafe extern "C" fn jit_exact(
    state: *mut JitState,
    start: u32,
    end: u32,
    ptr: usize,
) -> usize {
    let mut result = EXACT_STOPPED;
    // SAFETY: generated code passes the state `enter` entered it with, which is alive and used by
    // nothing else for the duration of the call.
    let state = unsafe { &mut *state };
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
