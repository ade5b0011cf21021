//! The exact executor: source commands run one by one with the reference semantics. It is the
//! reference interpreter's whole run loop, and the fallback every optimized backend runs when a guard
//! or a scan would leave the tape (through `jit::jit_exact` from generated code), so errors, their
//! positions and the output before them are the reference's by construction. It lives here, apart from
//! any backend, so `jit/` and `ir/eval` reach it without importing one.

use crate::outcome::Side;
use crate::runtime::{Io, Stop};
use crate::syntax::{CmdKind, Program};

/// Executes commands `cmds` (a bracket-balanced range of `program`'s commands) one by one with the
/// reference semantics, on `tape` from pointer `*ptr`. Fuel, when given, is charged one unit per
/// loop-body entry. On return `*ptr` is where the pointer stands (on error: before the failing move).
pub fn execute_exact(
    program: &Program,
    cmds: std::ops::Range<usize>,
    tape: &mut [u8],
    ptr: &mut usize,
    io: &mut Io<'_>,
    mut fuel: Option<&mut u64>,
) -> Result<(), Stop> {
    execute_watched(program, cmds, tape, ptr, io, &mut fuel)
}

/// What an exact run does at every loop-body entry (the point where fuel is charged): charge fuel,
/// or watch the machine's state (`reference::termination`). An `Err` stops the run there.
pub trait LoopEntry {
    /// Called as the body of the loop whose `[` is command `pc` is entered, the pointer at `ptr`.
    fn enter(&mut self, pc: usize, ptr: usize, tape: &[u8], io: &Io<'_>) -> Result<(), Stop>;
}

/// Fuel: one unit per loop-body entry, `None` for unlimited.
impl LoopEntry for Option<&mut u64> {
    #[inline]
    fn enter(&mut self, _: usize, _: usize, _: &[u8], _: &Io<'_>) -> Result<(), Stop> {
        if let Some(left) = self {
            if **left == 0 {
                return Err(Stop::OutOfFuel);
            }
            **left -= 1;
        }
        Ok(())
    }
}

/// [`execute_exact`] with `watch` called at every loop-body entry instead of a fuel charge.
pub fn execute_watched(
    program: &Program,
    cmds: std::ops::Range<usize>,
    tape: &mut [u8],
    ptr: &mut usize,
    io: &mut Io<'_>,
    watch: &mut impl LoopEntry,
) -> Result<(), Stop> {
    let all = program.cmds();
    let mut pc = cmds.start;
    while pc < cmds.end {
        let cmd = all[pc];
        match cmd.kind {
            CmdKind::Inc => tape[*ptr] = tape[*ptr].wrapping_add(1),
            CmdKind::Dec => tape[*ptr] = tape[*ptr].wrapping_sub(1),
            CmdKind::Left => {
                if *ptr == 0 {
                    return Err(Stop::OutOfBounds {
                        cmd: pc as u32,
                        side: Side::Left,
                    });
                }
                *ptr -= 1;
            }
            CmdKind::Right => {
                if *ptr + 1 >= tape.len() {
                    return Err(Stop::OutOfBounds {
                        cmd: pc as u32,
                        side: Side::Right,
                    });
                }
                *ptr += 1;
            }
            CmdKind::Output => io.write_byte(tape[*ptr])?,
            CmdKind::Input => tape[*ptr] = io.read_byte(tape[*ptr])?,
            CmdKind::Open => {
                if tape[*ptr] == 0 {
                    pc = cmd.partner as usize;
                } else {
                    watch.enter(pc, *ptr, tape, io)?;
                }
            }
            CmdKind::Close => {
                if tape[*ptr] != 0 {
                    let open = cmd.partner as usize;
                    watch.enter(open, *ptr, tape, io)?;
                    pc = open;
                }
            }
        }
        pc += 1;
    }
    Ok(())
}
