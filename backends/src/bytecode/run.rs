//! The dispatch loop: a `match` over the instruction array, with the pointer, the tape slice and its
//! length held in locals for the whole run.
//!
//! **Checked blocks.** A straight-line block runs only after its guard passed: either the `Guard`
//! slot itself (reached by falling through) or the inline check every control transfer does where
//! it lands (`enter!`). `compile` verified that no jump or fused continuation lands inside a block,
//! and that every cell a block's instructions touch and every position its moves reach lies within
//! its guard's `lo ..= hi` relative to the block's start. Inside a block only its own moves change
//! the pointer, so each access is at `start + r` with `lo <= r <= hi`, and the guard checked
//! `start + lo >= 0` and `start + hi < len`: the access is on the tape. That is the argument behind
//! every unchecked access below. Loop tests, outside blocks, index the tape checked.
//!
//! **Instruction fetch.** `compile` also verified that every place execution continues at (the next
//! slot after an instruction that falls through, the slot after a fused pair, jump targets, a
//! failed guard's skip, the slot after a guard) is an index of the code, which ends with `Halt`: so
//! `pc` is always an index of `code`. The code is padded with `Halt` to a power-of-two length and
//! fetched at `pc & mask` (`mask = len - 1`), an index the compiler sees is in bounds: no bounds
//! check per fetch, and the mask never changes `pc`.
//!
//! **Scans** run in `scan.rs`.

use super::insn::Insn;
use super::ops::{cell, data_op, fits, loop_id, passes};
use super::scan::scan_strided;
use super::{Bytecode, LoopHook};
use crate::runtime::exact::execute_exact;
use crate::runtime::{Io, Machine, Stop};

impl Bytecode {
    /// The dispatch loop; `METERED` selects the variant that counts fuel.
    pub(super) fn execute<const METERED: bool, H: LoopHook>(
        &self,
        machine: &mut Machine,
        io: &mut Io<'_>,
        fuel: &mut u64,
        hook: &mut H,
    ) -> Result<(), Stop> {
        // A power of two long (`compile::pad`): `pc & mask` is an index of `code` the compiler
        // sees is in bounds, and equal to `pc` (every place execution continues at is an index of
        // the program's code, module doc).
        let mask = self.code.len() - 1;
        let code = &self.code[..=mask];
        let targets = &self.targets[..];
        let mut tape = &mut machine.tape[..];
        let mut ptr = machine.ptr;
        let mut pc = 0usize;

        // Continues at `target`; when a block starts there, checks its guard first and continues
        // after it (or runs the block exactly and continues after the block).
        macro_rules! enter {
            ($target:expr) => {{
                let target: usize = $target;
                // In bounds: every place execution continues at is an index of `code` (module doc).
                if let Insn::Guard { lo, limit, block } = code[target & mask] {
                    if fits(ptr, lo, limit) {
                        pc = target + 1;
                    } else {
                        let mut exact_ptr = ptr;
                        let result = self.guard_failed(block, tape, &mut exact_ptr, io);
                        ptr = exact_ptr;
                        match result {
                            Ok(skip) => pc = skip,
                            Err(stop) => break Err(stop),
                        }
                    }
                } else {
                    pc = target;
                }
                continue;
            }};
        }
        // Spends one fuel for a loop-body entry.
        macro_rules! spend {
            () => {
                if METERED {
                    if *fuel == 0 {
                        break Err(Stop::OutOfFuel);
                    }
                    *fuel -= 1;
                }
            };
        }
        // Runs loop `id` through the hook from here, then continues at `after`.
        macro_rules! hand_over {
            ($id:expr, $after:expr) => {{
                machine.ptr = ptr;
                let result = hand_over::<METERED, H>(hook, $id, machine, io, fuel);
                tape = &mut machine.tape[..];
                ptr = machine.ptr;
                if let Err(stop) = result {
                    break Err(stop);
                }
                enter!($after)
            }};
        }
        // `[`: `after` is the body's first slot. A loop handed over returns with the pointer
        // anywhere: it continues at the loop's exit with the guard there tested (`landing.rs`).
        macro_rules! loop_start {
            ($exit:expr, $id:expr, $after:expr) => {{
                if tape[ptr] == 0 {
                    enter!($exit as usize)
                }
                if H::ACTIVE && hook.take_over($id) {
                    hand_over!($id, self.loop_slots($id).end)
                }
                spend!();
                enter!($after)
            }};
        }
        // The back edge of a `]` whose cell is not 0 (`handed` as in `loop_end!`).
        macro_rules! back_edge {
            ($body:expr, $id:expr, $handed:expr) => {{
                // `$id` is read only when a hook may take loops over.
                if H::ACTIVE && hook.take_over($id) {
                    // The taken-over loop tests the cell (non-zero), charges one fuel and enters
                    // the body: exactly what jumping back would do.
                    hand_over!($id, $handed)
                }
                spend!();
                enter!($body as usize)
            }};
        }
        // `]`: `after` is where execution continues after the loop, `handed` the slot after the
        // loop (where it continues after a hand-over, with the guard there tested).
        macro_rules! loop_end {
            ($body:expr, $id:expr, $after:expr, $handed:expr) => {{
                if tape[ptr] != 0 {
                    back_edge!($body, $id, $handed)
                }
                enter!($after)
            }};
        }
        // The `]` at `pc` of a loop-exit fusion: its back edge, or on exit the landing test of the
        // block at `pc + 2` when `check` (the first block's guard does not cover it); falls through
        // into that block's one op.
        macro_rules! exit_into_next {
            ($body:expr, $check:expr) => {{
                if tape[ptr] != 0 {
                    back_edge!($body, loop_id(code[(pc + 1) & mask]), pc + 2)
                }
                if $check && !passes(code[(pc + 2) & mask], ptr) {
                    enter!(pc + 2)
                }
            }};
        }

        // The chain of `-[` levels whose first level is the `DecChain` in slot `slot` (see
        // `Insn::DecChain`).
        macro_rules! dec_chain {
            ($first:expr, $count:expr, $slot:expr) => {{
                let c = tape[ptr];
                if H::ACTIVE || (METERED && *fuel < $count as u64) {
                    // The plain `-`, then the `LoopStart` in the next slot (the hook asks at
                    // every level; fuel may run out at any level).
                    tape[ptr] = c.wrapping_sub(1);
                    pc = $slot + 1;
                    continue;
                }
                // Level `m` (from 1) finds the cell at `c - m`: the first zero is at level `c`
                // (when `c` is 0 the cell would need 256 levels, more than a chain has). The
                // guards between the levels cover offset 0 only: they pass wherever the cell
                // was just read.
                let (first, count) = ($first as usize, $count as usize);
                let level = c as usize;
                let target = if level.wrapping_sub(1) < count {
                    tape[ptr] = 0;
                    if METERED {
                        *fuel -= level as u64 - 1;
                    }
                    self.chains[first + level - 1]
                } else {
                    tape[ptr] = c.wrapping_sub(count as u8);
                    if METERED {
                        *fuel -= count as u64;
                    }
                    self.chains[first + count]
                };
                enter!(target as usize)
            }};
        }

        let result = loop {
            // In bounds: every place execution continues at is an index of `code` (module doc).
            hook.dispatch(&code[pc & mask]);
            match code[pc & mask] {
                Insn::Guard { lo, limit, block } => {
                    if !fits(ptr, lo, limit) {
                        let mut exact_ptr = ptr;
                        let result = self.guard_failed(block, tape, &mut exact_ptr, io);
                        ptr = exact_ptr;
                        match result {
                            Ok(skip) => pc = skip,
                            Err(stop) => break Err(stop),
                        }
                        continue;
                    }
                }
                insn @ Insn::Add { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    data_op(insn, tape, ptr, targets)
                }
                insn @ Insn::Set { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    data_op(insn, tape, ptr, targets)
                }
                insn @ Insn::Mul { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    data_op(insn, tape, ptr, targets)
                }
                insn @ Insn::Mul1 { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    data_op(insn, tape, ptr, targets)
                }
                insn @ Insn::Mul2 { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    data_op(insn, tape, ptr, targets)
                }
                insn @ Insn::Add2 { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    (data_op(insn, tape, ptr, targets));
                    pc += 2;
                    continue;
                }
                insn @ Insn::MulMul1 { .. } => {
                    // In bounds: a data operation of a checked block (module doc).
                    (data_op(insn, tape, ptr, targets));
                    pc += 2;
                    continue;
                }
                Insn::Move { by } => ptr = ptr.wrapping_add_signed(by as isize),
                Insn::Output { offset } => {
                    // In bounds: an access of a checked block (module doc).
                    let value = *cell(tape, ptr, offset);
                    if let Err(e) = io.write_byte(value) {
                        break Err(e.into());
                    }
                }
                Insn::Input { offset } => {
                    // In bounds: an access of a checked block (module doc).
                    let c = cell(tape, ptr, offset);
                    match io.read_byte(*c) {
                        Ok(byte) => *c = byte,
                        Err(e) => break Err(e.into()),
                    }
                }
                Insn::Scan { stride, span } => {
                    let mut scan_ptr = ptr;
                    let result = self.scan(tape, &mut scan_ptr, stride, span, io);
                    ptr = scan_ptr;
                    if let Err(stop) = result {
                        break Err(stop);
                    }
                    enter!(pc + 1)
                }
                Insn::MoveScan { by, stride, span } => {
                    let mut scan_ptr = ptr.wrapping_add_signed(by as isize);
                    let result = self.scan(tape, &mut scan_ptr, stride, span, io);
                    ptr = scan_ptr;
                    if let Err(stop) = result {
                        break Err(stop);
                    }
                    enter!(pc + 2)
                }
                Insn::AddMoveScan {
                    offset,
                    delta,
                    by,
                    stride,
                    span,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    let c = cell(tape, ptr, offset as i32);
                    *c = c.wrapping_add(delta);
                    let mut scan_ptr = ptr.wrapping_add_signed(by as isize);
                    let result = self.scan(tape, &mut scan_ptr, stride, span, io);
                    ptr = scan_ptr;
                    if let Err(stop) = result {
                        break Err(stop);
                    }
                    enter!(pc + 3)
                }
                Insn::AddMoveLoopStart {
                    offset,
                    delta,
                    by,
                    exit,
                    id,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    let c = cell(tape, ptr, offset as i32);
                    *c = c.wrapping_add(delta);
                    ptr = ptr.wrapping_add_signed(by as isize);
                    loop_start!(exit, id, pc + 3)
                }
                Insn::LoopStart { exit, id } => loop_start!(exit, id, pc + 1),
                Insn::MoveLoopStart { by, exit, id } => {
                    ptr = ptr.wrapping_add_signed(by as isize);
                    loop_start!(exit, id, pc + 2)
                }
                Insn::LoopEnd { body, id } => loop_end!(body, id, pc + 1, pc + 1),
                Insn::MoveLoopEnd { by, body, id } => {
                    ptr = ptr.wrapping_add_signed(by as isize);
                    loop_end!(body, id, pc + 2, pc + 2)
                }
                Insn::MoveLoopEndThenStart {
                    by,
                    body,
                    exit,
                    by2,
                    check,
                } => {
                    ptr = ptr.wrapping_add_signed(by as isize);
                    exit_into_next!(body, check);
                    ptr = ptr.wrapping_add_signed(by2 as isize);
                    loop_start!(exit, loop_id(code[(pc + 4) & mask]), pc + 5)
                }
                Insn::MoveLoopEndThenEnd {
                    by,
                    body,
                    body2,
                    by2,
                    check,
                } => {
                    ptr = ptr.wrapping_add_signed(by as isize);
                    exit_into_next!(body, check);
                    ptr = ptr.wrapping_add_signed(by2 as isize);
                    loop_end!(body2, loop_id(code[(pc + 4) & mask]), pc + 5, pc + 5)
                }
                Insn::SetLoopEndThenSetEnd {
                    offset,
                    value,
                    body,
                    offset2,
                    value2,
                    body2,
                    check,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    *cell(tape, ptr, offset as i32) = value;
                    exit_into_next!(body, check);
                    // In bounds: an access of the checked block at `pc + 2` (its guard passed).
                    *cell(tape, ptr, offset2 as i32) = value2;
                    loop_end!(body2, loop_id(code[(pc + 4) & mask]), pc + 5, pc + 5)
                }
                Insn::SetLoopEndThenMoveEnd {
                    offset,
                    value,
                    body,
                    by2,
                    body2,
                    check,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    *cell(tape, ptr, offset as i32) = value;
                    exit_into_next!(body, check);
                    ptr = ptr.wrapping_add_signed(by2 as isize);
                    loop_end!(body2, loop_id(code[(pc + 4) & mask]), pc + 5, pc + 5)
                }
                Insn::MoveLoopSkipThenEnd {
                    by,
                    guard,
                    body2,
                    by2,
                    check,
                } => {
                    ptr = ptr.wrapping_add_signed(by as isize);
                    let guard = guard as usize;
                    if tape[ptr] != 0 {
                        if H::ACTIVE {
                            let id = loop_id(code[(pc + 1) & mask]);
                            if hook.take_over(id) {
                                hand_over!(id, self.loop_slots(id).end)
                            }
                        }
                        spend!();
                        enter!(pc + 2)
                    }
                    if check && !passes(code[guard & mask], ptr) {
                        enter!(guard)
                    }
                    ptr = ptr.wrapping_add_signed(by2 as isize);
                    loop_end!(
                        body2,
                        loop_id(code[(guard + 2) & mask]),
                        guard + 3,
                        guard + 3
                    )
                }
                Insn::WalkLoopEnd { by, body, id } => {
                    if H::ACTIVE {
                        // Back edges go through the hook one by one.
                        ptr = ptr.wrapping_add_signed(by as isize);
                        loop_end!(body, id, pc + 2, pc + 2)
                    }
                    let body = body as usize;
                    // In bounds: `body` and `body + 1` are slots of the code: compile made `body` the
                    // loop body's guard and `body + 1` the block's one data operation.
                    let (guard, op) = (code[body & mask], code[(body + 1) & mask]);
                    let Insn::Guard { lo, limit, .. } = guard else {
                        enter!(body)
                    };
                    let mut walk_ptr = ptr.wrapping_add_signed(by as isize);
                    let next: Result<usize, Stop> = loop {
                        if tape[walk_ptr] == 0 {
                            break Ok(pc + 2);
                        }
                        if METERED {
                            if *fuel == 0 {
                                break Err(Stop::OutOfFuel);
                            }
                            *fuel -= 1;
                        }
                        if !fits(walk_ptr, lo, limit) {
                            // The dispatch loop checks the guard again and runs the block exactly.
                            break Ok(body);
                        }
                        // In bounds: the body's guard passed at `walk_ptr`, the block's start, and
                        // `op` is the block's operation there (module doc).
                        (data_op(op, tape, walk_ptr, targets));
                        walk_ptr = walk_ptr.wrapping_add_signed(by as isize);
                    };
                    ptr = walk_ptr;
                    match next {
                        Ok(target) => enter!(target),
                        Err(stop) => break Err(stop),
                    }
                }
                Insn::AddLoopStart {
                    offset,
                    delta,
                    exit,
                    id,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    let c = cell(tape, ptr, offset);
                    *c = c.wrapping_add(delta);
                    loop_start!(exit, id, pc + 2)
                }
                Insn::AddLoopEnd {
                    offset,
                    delta,
                    body,
                    id,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    let c = cell(tape, ptr, offset);
                    *c = c.wrapping_add(delta);
                    loop_end!(body, id, pc + 2, pc + 2)
                }
                Insn::SetLoopStart {
                    offset,
                    value,
                    exit,
                    id,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    *cell(tape, ptr, offset) = value;
                    loop_start!(exit, id, pc + 2)
                }
                Insn::SetLoopEnd {
                    offset,
                    value,
                    body,
                    id,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    *cell(tape, ptr, offset) = value;
                    loop_end!(body, id, pc + 2, pc + 2)
                }
                Insn::DecChain { first, count } => dec_chain!(first, count, pc),
                Insn::AddMoveLoopStartChain {
                    offset,
                    delta,
                    by,
                    exit,
                    id,
                } => {
                    // In bounds: an access of a checked block (module doc).
                    let c = cell(tape, ptr, offset as i32);
                    *c = c.wrapping_add(delta);
                    ptr = ptr.wrapping_add_signed(by as isize);
                    if tape[ptr] == 0 {
                        enter!(exit as usize)
                    }
                    if H::ACTIVE && hook.take_over(id) {
                        hand_over!(id, self.loop_slots(id).end)
                    }
                    spend!();
                    // The body: a guard of offset 0 only, which passes (the cell was just read),
                    // and the chain in slot `+4` (compile verified both).
                    let Insn::DecChain { first, count } = code[(pc + 4) & mask] else {
                        enter!(pc + 3)
                    };
                    dec_chain!(first, count, pc + 4)
                }
                Insn::Halt => break Ok(()),
            }
            pc += 1;
        };
        machine.ptr = ptr;
        result
    }

    /// A guard failed: runs its block's source exactly; where execution continues.
    #[cold]
    #[inline(never)]
    fn guard_failed(
        &self,
        block: u32,
        tape: &mut [u8],
        ptr: &mut usize,
        io: &mut Io<'_>,
    ) -> Result<usize, Stop> {
        let info = self.blocks[block as usize];
        execute_exact(&self.program, info.span.range(), tape, ptr, io, None)?;
        Ok(info.skip as usize)
    }

    /// Runs a scan: steps by `stride` while the cell is not 0; a step off the tape re-runs the loop's
    /// source from here so the error is the reference's.
    #[inline(always)]
    fn scan(
        &self,
        tape: &mut [u8],
        ptr: &mut usize,
        stride: i32,
        span: u32,
        io: &mut Io<'_>,
    ) -> Result<(), Stop> {
        // Scans of none or one step (most of them in some workloads) without the call.
        let next = ptr.wrapping_add_signed(stride as isize);
        if tape.get(*ptr) == Some(&0) {
            return Ok(());
        } else if tape.get(next) == Some(&0) {
            *ptr = next;
            return Ok(());
        }
        match scan_strided(tape, *ptr, stride) {
            Ok(found) => {
                *ptr = found;
                Ok(())
            }
            Err(last) => {
                *ptr = last;
                let span = self.scans[span as usize];
                execute_exact(&self.program, span.range(), tape, ptr, io, None)
            }
        }
    }
}

/// Runs loop `id` through `hook` from `machine.ptr`, handing the fuel over both ways.
#[inline(never)]
fn hand_over<const METERED: bool, H: LoopHook>(
    hook: &mut H,
    id: u32,
    machine: &mut Machine,
    io: &mut Io<'_>,
    fuel: &mut u64,
) -> Result<(), Stop> {
    if METERED {
        machine.fuel_left = Some(*fuel);
    }
    let result = hook.run_loop(id, machine, io);
    if METERED {
        *fuel = machine.fuel_left.unwrap_or(0);
    }
    result
}
