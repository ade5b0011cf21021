//! The x86-64 code generator of `dynasm-opt`: guarded, optimized IR in, position-independent machine
//! code out, with a note of which IR node each stretch of code came from.
//!
//! [`generate`] compiles any balanced run of guarded IR nodes (a whole program, or one loop with its
//! nested loops for a tiered JIT) into one function `extern "C" fn(*mut JitState) -> u32` that follows
//! the calling convention of [`crate::jit`]: it starts from `state.ptr`, writes the pointer back before
//! every callback and return, meters fuel only when asked, and leaves `state.out_buf` empty on return.
//!
//! Register roles (all callee-saved, so callbacks keep them):
//! - `r_cell` (rbx): the address of the current cell; cells are addressed as `[r_cell + offset]`
//!   (an 8-bit displacement when it fits, so most operations take 3 to 4 bytes);
//! - `r_tape` (r12): the tape base address (the pointer index is `r_cell - r_tape`);
//! - `r_state` (r13): the `JitState`;
//! - `r_fuel` (r15): fuel left, when metered (loaded at entry, stored at every exit).
//!
//! Code shape:
//! - each straight-line block is one bounds check (`lea; sub; cmp; ja` — one unsigned compare covers
//!   both ends), its operations at constant offsets, and one pointer update (`lea`, which keeps the
//!   flags); a failed check jumps to a cold stub calling [`jit_exact`] and resumes after the block.
//!   The pointer's range is tracked at compile time (exact from the entry, kept across balanced
//!   loops), and a check whose outcome that range decides is not emitted;
//! - loops are tested at the top once and at the bottom on every iteration; innermost loop bodies are
//!   16-byte aligned; when the last flag-setting instruction was arithmetic on the tested cell, the test
//!   is just the conditional jump (the block is reordered to make that so when it can be);
//! - multiply loops are straight-line (`add`/`sub` of the loop cell times the factor, built with
//!   `lea`/`shl`/`imul`); up to [`BRANCH_FREE_MUL_TARGETS`] targets they run branch-free (with a zero loop
//!   cell every target gains 0, and the block's guard already covers every target cell), beyond that a
//!   zero loop cell jumps over them;
//! - scans of stride ±1 search 16 (SSE2) or 32 (AVX2) cells per step, loading only windows that lie
//!   wholly inside the tape, then finish cell by cell; other strides run four steps per bounds check;
//! - output is appended to `state.out_buf` inline; only a full buffer calls [`jit_flush`].
//! - within a block, cells used more than once live in registers (eight of them, 8-bit arithmetic so the
//!   flags stay exact), loaded on first use and written back at the block's end; cells used once are
//!   updated in memory directly;
//! - a loop test on a cell known at compile time (after `[-]`, a multiply loop, or a loop's exit) is
//!   decided then: a loop whose body ends on a known zero has no back edge (an `if`).
//!
//! Nothing here recurses on the program's structure: loops are matched with an explicit stack.

// dynasm expands dynamic registers (`Rb(reg)`) to `reg.into()`, a no-op conversion for our `u8`s.
#![allow(clippy::useless_conversion)]

use std::collections::HashMap;
use std::fmt;

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use crate::ir::blocks::{in_block, node_reach};
use crate::ir::{MulTarget, Node, Op, Span};
use crate::jit::{
    jit_exact, jit_flush, jit_input, EXACT_STOPPED, OFFSET_FUEL, OFFSET_OUT_BUF, OFFSET_OUT_LEN,
    OFFSET_PTR, OFFSET_TAPE, OFFSET_TAPE_LEN, OUT_BUF_CAP, STATUS_OK, STATUS_OUT_OF_FUEL,
    STATUS_STOPPED,
};

/// Multiply loops with at most this many targets are emitted without a branch on the loop cell.
pub const BRANCH_FREE_MUL_TARGETS: usize = 4;

/// Which vector instructions the ±1 scans use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// 16 cells per step with `pcmpeqb`/`pmovmskb` (every x86-64 has SSE2).
    Sse2,
    /// 32 cells per step with `vpcmpeqb`/`vpmovmskb`.
    Avx2,
}

impl Simd {
    /// The best this CPU supports.
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::Sse2
    }

    /// Cells compared per vector step.
    fn width(self) -> i32 {
        match self {
            Simd::Sse2 => 16,
            Simd::Avx2 => 32,
        }
    }
}

/// What the generated function is specialized on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The tape length, baked into bounds checks (the entry refuses a state with another length).
    pub tape_len: usize,
    /// Whether to meter fuel (one unit per loop-body entry).
    pub fuel: bool,
    /// Vector instructions for ±1 scans.
    pub simd: Simd,
    /// The pointer at entry when it is fixed (0 for a whole program; the entry refuses any other),
    /// which lets bounds checks of blocks whose pointer is known at compile time be decided then.
    pub entry_ptr: Option<usize>,
}

/// Why IR could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenError {
    /// A block operation at this node index is not covered by a `Guard`.
    Unguarded(usize),
    /// The guard at this node index claims more nodes than follow it, or a non-block node.
    BadGuard(usize),
    /// A `LoopEnd` at this index has no `LoopStart`, or (with `usize::MAX`) a `LoopStart` is unclosed.
    Unbalanced(usize),
    /// The tape length (or the entry pointer) is outside what the generated code supports.
    TapeLen(usize),
    /// The assembler failed (a bug), with its message.
    Assembler(String),
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenError::Unguarded(i) => write!(f, "IR node {i} is not inside a guarded block"),
            GenError::BadGuard(i) => write!(f, "the guard at IR node {i} does not match its block"),
            GenError::Unbalanced(usize::MAX) => f.write_str("IR has an unclosed loop"),
            GenError::Unbalanced(i) => write!(f, "IR node {i} closes a loop that was never opened"),
            GenError::TapeLen(n) => write!(f, "tape length {n} is not supported"),
            GenError::Assembler(e) => write!(f, "assembler error: {e}"),
        }
    }
}

impl std::error::Error for GenError {}

/// What a stretch of generated code does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Entry: saving registers and loading the state.
    Prologue,
    /// The code of IR node `n` (an index into the compiled slice).
    Node(usize),
    /// The bounds check of the guard at IR node `n`.
    GuardCheck(usize),
    /// The single pointer update at the end of the block guarded by node `n`.
    PointerUpdate(usize),
    /// The cold path of the guard at node `n`: the block's span run exactly.
    GuardFallback(usize),
    /// The cold path of output at node `n`: flushing a full output buffer.
    OutputFlush(usize),
    /// The cold path of the scan at node `n`: the scan's span run exactly at a tape end.
    ScanFallback(usize),
    /// Exits: flushing output, storing the pointer and fuel, returning a status.
    Exits,
}

/// Where a [`Part`] starts in the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Byte offset in [`Generated::code`].
    pub offset: usize,
    /// What the code from here on does.
    pub part: Part,
}

/// Generated machine code, entry at offset 0, with annotations in ascending offset order.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Position-independent code (callbacks are called through absolute addresses).
    pub code: Vec<u8>,
    /// Where each part starts.
    pub annotations: Vec<Annotation>,
}

/// One instruction with a memory operand at cell `$d` (relative to `r_cell`), with the shortest
/// displacement: `cell_op!(gen, d, [add BYTE] [, 3])` is `add BYTE [r_cell + d], 3`.
macro_rules! cell_op {
    ($gen:expr, $d:expr, [$($pre:tt)*] [$($post:tt)*]) => {{
        let d: i32 = $d;
        if d == 0 {
            asm!($gen.ops; $($pre)* [r_cell] $($post)*);
        } else if let Ok(d8) = i8::try_from(d) {
            asm!($gen.ops; $($pre)* [BYTE r_cell + d8] $($post)*);
        } else {
            asm!($gen.ops; $($pre)* [r_cell + d] $($post)*);
        }
    }};
}

macro_rules! asm {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops
            ; .arch x64
            ; .alias r_cell, rbx
            ; .alias r_tape, r12
            ; .alias r_state, r13
            ; .alias r_fuel, r15
            ; $($t)*
        )
    };
}

/// A cold stub emitted after the main code.
enum Stub {
    /// Guard failure: run `span` exactly, then (re-establishing the flags if `flags`) resume.
    /// `moved` is the net move the span must make (checked: compile-time pointer ranges rely on it).
    Exact {
        part: Part,
        label: DynamicLabel,
        span: Span,
        resume: DynamicLabel,
        flags: bool,
        moved: Option<i64>,
    },
    /// Output buffer full: flush, resume.
    Flush {
        node: usize,
        label: DynamicLabel,
        resume: DynamicLabel,
    },
}

/// One open loop on the label stack.
struct OpenLoop {
    /// Where the back edge jumps (fuel check, then body).
    head: DynamicLabel,
    /// Just after the loop.
    exit: DynamicLabel,
    /// Whether the loop ends where it started (pointer range kept across it).
    balanced: bool,
    /// The pointer range at the loop's `[`.
    range: (i64, i64),
    /// Whether ZF reflects the (zero) current cell on the jump from the top test to the exit.
    exit_flags: bool,
}

/// How a loop test was decided.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Test {
    /// At run time, with a compare (or flags left by arithmetic on the cell).
    Dynamic,
    /// At compile time: the cell is known to be zero.
    Zero,
    /// At compile time: the cell is known to be non-zero.
    NonZero,
}

/// Which cell the zero flag currently reflects, relative to the pointer (`None`: unknown).
type Flags = Option<i64>;

struct Gen<'n> {
    ops: VecAssembler<X64Relocation>,
    nodes: &'n [Node],
    options: Options,
    annotations: Vec<Annotation>,
    stubs: Vec<Stub>,
    ok_exit: DynamicLabel,
    fuel_exit: DynamicLabel,
    stopped_exit: DynamicLabel,
    flags: Flags,
    /// The range the pointer is known to lie in (always within the tape).
    range: (i64, i64),
    /// The current cell's value when known at compile time.
    cell: Option<u8>,
    /// For each `LoopStart`, whether its loop is balanced (see [`balanced_loops`]).
    balanced: Vec<bool>,
    /// Cells of the current block held in registers.
    cache: Vec<Slot>,
    /// How many operations of the current block touch each cell (by offset from the block start).
    uses: HashMap<i64, u32>,
    /// Whether registers are bypassed (inside a branchy multiply loop).
    bypass: bool,
}

/// A cell of the current block held in a register.
#[derive(Clone, Copy)]
struct Slot {
    /// Offset of the cell from the pointer at the block start.
    cell: i64,
    /// The register (its low byte is the cell's value).
    reg: u8,
    /// Whether the register differs from the tape.
    dirty: bool,
}

/// Registers that hold cells within a block: rdx, rsi, rdi, r8–r11 (caller-saved: saved around the
/// cold output-flush call) and rbp (callee-saved). A block's cells are written back at its end, so
/// nothing is live in them across loop boundaries, scans or the entry and exits.
const POOL: [u8; 8] = [2, 6, 7, 8, 9, 10, 11, 5];

/// Compiles balanced, guarded IR `nodes` into one function over [`crate::jit::JitState`].
pub fn generate(nodes: &[Node], options: &Options) -> Result<Generated, GenError> {
    if options.tape_len == 0 || options.tape_len > (1 << 30) {
        return Err(GenError::TapeLen(options.tape_len));
    }
    let last = options.tape_len as i64 - 1;
    let range = match options.entry_ptr {
        Some(p) if p < options.tape_len => (p as i64, p as i64),
        Some(_) => return Err(GenError::TapeLen(options.tape_len)),
        None => (0, last),
    };
    let mut ops = VecAssembler::<X64Relocation>::new(0);
    let ok_exit = ops.new_dynamic_label();
    let fuel_exit = ops.new_dynamic_label();
    let stopped_exit = ops.new_dynamic_label();
    let mut gen = Gen {
        ops,
        nodes,
        options: *options,
        annotations: Vec::with_capacity(nodes.len() + 8),
        stubs: Vec::new(),
        ok_exit,
        fuel_exit,
        stopped_exit,
        flags: None,
        range,
        cell: None,
        balanced: balanced_loops(nodes),
        cache: Vec::with_capacity(POOL.len()),
        uses: HashMap::new(),
        bypass: false,
    };
    gen.prologue();
    gen.body()?;
    let ok_exit = gen.ok_exit;
    asm!(gen.ops; jmp =>ok_exit);
    gen.stubs()?;
    gen.exits();
    let code = gen
        .ops
        .finalize()
        .map_err(|e| GenError::Assembler(e.to_string()))?;
    Ok(Generated {
        code,
        annotations: gen.annotations,
    })
}

/// `vpmovmskb eax, ymm1`, encoded by hand (dynasm 5.1 rejects the 256-bit form's operand sizes).
const VPMOVMSKB_EAX_YMM1: [u8; 4] = [0xc5, 0xfd, 0xd7, 0xc1];
/// `vpmovmskb ecx, ymm1`, encoded by hand.
const VPMOVMSKB_ECX_YMM1: [u8; 4] = [0xc5, 0xfd, 0xd7, 0xc9];

/// Canonical multi-byte NOPs, 1 to 9 bytes.
const NOPS: [&[u8]; 9] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0f, 0x1f, 0x00],
    &[0x0f, 0x1f, 0x40, 0x00],
    &[0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

impl Gen<'_> {
    fn mark(&mut self, part: Part) {
        let offset = self.ops.offset().0;
        if let Some(last) = self.annotations.last_mut() {
            if last.offset == offset {
                *last = Annotation { offset, part };
                return;
            }
        }
        self.annotations.push(Annotation { offset, part });
    }

    fn align16(&mut self) {
        let mut pad = (16 - self.ops.offset().0 % 16) % 16;
        while pad > 0 {
            let n = pad.min(NOPS.len());
            self.ops.extend(NOPS[n - 1]);
            pad -= n;
        }
    }

    fn call(&mut self, target: usize) {
        asm!(self.ops
            ; mov rax, QWORD target as i64
            ; call rax
        );
    }

    fn prologue(&mut self) {
        self.mark(Part::Prologue);
        let len = self.options.tape_len as i32;
        let stopped = self.stopped_exit;
        asm!(self.ops
            ; push rbp
            ; push rbx
            ; push r12
            ; push r13
            ; push r14
            ; push r15
            ; sub rsp, 8
            ; mov r_state, rdi
            ; mov r_tape, [r_state + OFFSET_TAPE]
            ; mov rax, [r_state + OFFSET_PTR]
            ; mov r_fuel, [r_state + OFFSET_FUEL]
            // The bounds checks bake the tape length in: refuse any other state.
            ; cmp QWORD [r_state + OFFSET_TAPE_LEN], len
            ; jne =>stopped
            ; cmp rax, len
            ; jae =>stopped
        );
        if let Some(p) = self.options.entry_ptr {
            asm!(self.ops
                ; cmp rax, p as i32
                ; jne =>stopped
            );
        }
        asm!(self.ops; lea r_cell, [r_tape + rax]);
    }

    fn body(&mut self) -> Result<(), GenError> {
        let nodes = self.nodes;
        let mut stack: Vec<OpenLoop> = Vec::new();
        let mut i = 0;
        while i < nodes.len() {
            match &nodes[i].op {
                Op::Guard { lo, hi, len } => {
                    let end = i + 1 + *len as usize;
                    if end > nodes.len() || !nodes[i + 1..end].iter().all(|n| in_block(&n.op)) {
                        return Err(GenError::BadGuard(i));
                    }
                    let next = nodes.get(end).map(|n| &n.op);
                    let tests_cell = matches!(next, Some(Op::LoopStart | Op::LoopEnd));
                    self.block(i, *lo, *hi, tests_cell);
                    i = end;
                }
                Op::LoopStart => {
                    let innermost = innermost_loop(nodes, i);
                    stack.push(self.loop_start(i, innermost));
                    i += 1;
                }
                Op::LoopEnd => {
                    let open = stack.pop().ok_or(GenError::Unbalanced(i))?;
                    self.loop_end(i, open);
                    i += 1;
                }
                Op::Scan { stride } => {
                    self.scan(i, *stride);
                    i += 1;
                }
                _ => return Err(GenError::Unguarded(i)),
            }
        }
        if !stack.is_empty() {
            return Err(GenError::Unbalanced(usize::MAX));
        }
        Ok(())
    }

    /// The zero test of the current cell, skipped when the flags already hold it.
    fn test_cell(&mut self) {
        if self.flags != Some(0) {
            asm!(self.ops; cmp BYTE [r_cell], 0);
        }
    }

    /// Stores the pointer index to `state.ptr` (clobbers rax, which then holds the index).
    fn store_ptr(&mut self) {
        asm!(self.ops
            ; mov rax, r_cell
            ; sub rax, r_tape
            ; mov [r_state + OFFSET_PTR], rax
        );
    }

    /// How the test of the current cell is decided here.
    fn test_kind(&self) -> Test {
        match self.cell {
            Some(0) => Test::Zero,
            Some(_) => Test::NonZero,
            None => Test::Dynamic,
        }
    }

    fn full_range(&self) -> (i64, i64) {
        (0, self.options.tape_len as i64 - 1)
    }

    fn loop_start(&mut self, index: usize, innermost: bool) -> OpenLoop {
        self.mark(Part::Node(index));
        let head = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        let test = self.test_kind();
        let flags_before = self.flags == Some(0);
        match test {
            Test::Dynamic => {
                self.test_cell();
                asm!(self.ops; jz =>exit);
            }
            Test::Zero => asm!(self.ops; jmp =>exit),
            Test::NonZero => {}
        }
        if innermost {
            self.align16();
        }
        asm!(self.ops; =>head);
        self.fuel_check();
        // From a run-time top test and from the (always run-time) back edge alike, ZF is clear for
        // the non-zero current cell.
        let head_flags = !self.options.fuel && (test == Test::Dynamic || flags_before);
        self.flags = head_flags.then_some(0);
        let balanced = self.balanced[index];
        let range = self.range;
        if !balanced {
            self.range = self.full_range();
        }
        self.cell = None;
        OpenLoop {
            head,
            exit,
            balanced,
            range,
            exit_flags: test != Test::Zero || flags_before,
        }
    }

    fn loop_end(&mut self, index: usize, open: OpenLoop) {
        self.mark(Part::Node(index));
        let OpenLoop {
            head,
            exit,
            balanced,
            range,
            exit_flags,
        } = open;
        // A cell known to be zero ends the loop without a test; any other runs the test (a known
        // non-zero cell only loops until fuel or an error stops it: not worth a special case).
        let bottom_flags = if self.test_kind() == Test::Zero {
            self.flags == Some(0)
        } else {
            self.test_cell();
            asm!(self.ops; jnz =>head);
            true
        };
        asm!(self.ops; =>exit);
        self.flags = (exit_flags && bottom_flags).then_some(0);
        self.range = if balanced { range } else { self.full_range() };
        self.cell = Some(0);
    }

    fn fuel_check(&mut self) {
        if self.options.fuel {
            let out = self.fuel_exit;
            // At 0 the subtraction borrows; the exit restores 0 (fuel is never spent below zero).
            asm!(self.ops
                ; sub r_fuel, 1
                ; jb =>out
            );
        }
    }

    /// A straight-line block: the guard at `g`, then its nodes.
    fn block(&mut self, g: usize, lo: i32, hi: i32, tests_cell: bool) {
        let nodes = self.nodes;
        let guard = &nodes[g];
        let Op::Guard { len, .. } = guard.op else {
            unreachable!("block() is called on guards")
        };
        let block = &nodes[g + 1..g + 1 + len as usize];
        // Defence in depth: never trust a guard narrower than what the nodes touch.
        let (node_lo, node_hi) = node_reach(block);
        let lo = node_lo.min(lo as i64);
        let hi = node_hi.max(hi as i64);
        let tape_len = self.options.tape_len as i64;
        let fits = |v: i64| v >= i32::MIN as i64 && v <= i32::MAX as i64;

        // Lay the block out: (absolute offset from the block start, node index) per operation.
        let mut pos = 0i64;
        let mut order: Vec<(i64, usize)> = Vec::with_capacity(block.len());
        for (k, node) in block.iter().enumerate() {
            match node.op {
                Op::Move { by } => pos += by as i64,
                _ => order.push((pos, g + 1 + k)),
            }
        }
        let total = pos;
        if tests_cell {
            move_test_cell_add_last(nodes, &mut order, total);
        }

        let resume = self.ops.new_dynamic_label();
        // The whole block must be addressable with 32-bit displacements and fit the tape.
        let addressable = fits(lo) && fits(hi) && hi - lo < tape_len;
        let (rlo, rhi) = self.range;
        let last = tape_len - 1;
        // Decided at compile time from the pointer's known range: every pointer passes or every fails.
        let always = rlo + lo >= 0 && rhi + hi <= last;
        let never = rhi + lo < 0 || rlo + hi > last;
        let after = ((rlo + total).clamp(0, last), (rhi + total).clamp(0, last));
        self.range = after;
        self.cell = cell_after_block(nodes, &order, total, self.cell);
        self.mark(Part::GuardCheck(g));
        if !addressable || never {
            // The check can never pass: the block always runs exactly.
            let stub = self.ops.new_dynamic_label();
            asm!(self.ops; jmp =>stub);
            self.stubs.push(Stub::Exact {
                part: Part::GuardFallback(g),
                label: stub,
                span: guard.span,
                resume,
                flags: false,
                moved: Some(total),
            });
            asm!(self.ops; =>resume);
            self.flags = None;
            return;
        }
        let stub = self.ops.new_dynamic_label();
        let checked = (lo != 0 || hi != 0) && !always;
        if checked {
            // One unsigned compare: 0 <= ptr + lo && ptr + hi < tape_len.
            let limit = (tape_len - 1 - (hi - lo)) as i32;
            if lo == 0 {
                asm!(self.ops; mov rax, r_cell);
            } else {
                asm!(self.ops; lea rax, [r_cell + lo as i32]);
            }
            asm!(self.ops
                ; sub rax, r_tape
                ; cmp rax, limit
                ; ja =>stub
            );
            self.flags = None;
        }
        self.count_uses(&order);
        for &(at, index) in &order {
            self.mark(Part::Node(index));
            self.op(index, at);
        }
        self.write_back();
        self.cache.clear();
        if total != 0 {
            self.mark(Part::PointerUpdate(g));
            asm!(self.ops; lea r_cell, [r_cell + total as i32]);
            self.flags = self.flags.map(|f| f - total);
        }
        let keep_flags = self.flags == Some(0);
        if !keep_flags {
            self.flags = None;
        }
        asm!(self.ops; =>resume);
        if checked {
            self.stubs.push(Stub::Exact {
                part: Part::GuardFallback(g),
                label: stub,
                span: guard.span,
                resume,
                flags: keep_flags,
                moved: Some(total),
            });
        }
    }

    /// Records that the cell at `at` was written without touching the flags.
    fn clobber(&mut self, at: i64) {
        if self.flags == Some(at) {
            self.flags = None;
        }
    }

    /// Counts how many operations of the block touch each cell: cells used more than once are
    /// kept in registers, the others are updated in memory directly (shorter code).
    fn count_uses(&mut self, order: &[(i64, usize)]) {
        self.uses.clear();
        let nodes = self.nodes;
        for &(at, i) in order {
            match &nodes[i].op {
                Op::Add { offset, .. }
                | Op::Set { offset, .. }
                | Op::Output { offset }
                | Op::Input { offset } => *self.uses.entry(at + *offset as i64).or_default() += 1,
                Op::MulLoop { offset, targets } => {
                    let c = at + *offset as i64;
                    *self.uses.entry(c).or_default() += 1;
                    for t in targets {
                        *self.uses.entry(c + t.offset as i64).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether cell `d` of the block belongs in a register.
    fn cacheable(&self, d: i64) -> bool {
        !self.bypass && self.uses.get(&d).is_some_and(|&n| n > 1)
    }

    /// The cache slot of cell `d`, if it is in a register.
    fn slot(&self, d: i64) -> Option<usize> {
        self.cache.iter().position(|s| s.cell == d)
    }

    /// A register for cell `d`, loading the cell unless `load` is false (the caller overwrites it).
    fn reg_for(&mut self, d: i64, load: bool) -> u8 {
        if let Some(k) = self.slot(d) {
            return self.cache[k].reg;
        }
        let reg = if self.cache.len() < POOL.len() {
            POOL[self.cache.len()]
        } else {
            // Evict the oldest cell (writing it back, which leaves the flags alone).
            let old = self.cache.remove(0);
            if old.dirty {
                let r = old.reg;
                cell_op!(self, old.cell as i32, [mov BYTE] [, Rb(r)]);
            }
            old.reg
        };
        if load {
            cell_op!(self, d as i32, [movzx Rd(reg), BYTE] []);
        }
        self.cache.push(Slot {
            cell: d,
            reg,
            dirty: false,
        });
        reg
    }

    fn set_dirty(&mut self, d: i64) {
        if let Some(k) = self.slot(d) {
            self.cache[k].dirty = true;
        }
    }

    /// Writes every dirty cached cell back to the tape (no flags touched); the cache stays valid.
    fn write_back(&mut self) {
        for k in 0..self.cache.len() {
            let Slot { cell, reg, dirty } = self.cache[k];
            if dirty {
                cell_op!(self, cell as i32, [mov BYTE] [, Rb(reg)]);
                self.cache[k].dirty = false;
            }
        }
    }

    /// Adds `delta` to cell `d` (in its register or in memory); the flags then reflect the cell.
    fn add(&mut self, d: i64, delta: u8) {
        if delta == 0 {
            return;
        }
        let (sub, imm) = if delta > 128 {
            (true, delta.wrapping_neg() as i8)
        } else {
            (false, delta as i8)
        };
        if self.cacheable(d) {
            let r = self.reg_for(d, true);
            if sub {
                asm!(self.ops; sub Rb(r), imm);
            } else {
                asm!(self.ops; add Rb(r), imm);
            }
            self.set_dirty(d);
        } else if sub {
            cell_op!(self, d as i32, [sub BYTE] [, imm]);
        } else {
            cell_op!(self, d as i32, [add BYTE] [, imm]);
        }
        self.flags = Some(d);
    }

    /// Stores `value` into cell `d` (flags untouched).
    fn set(&mut self, d: i64, value: u8) {
        if self.cacheable(d) {
            let r = self.reg_for(d, false);
            asm!(self.ops; mov Rd(r), value as i32);
            self.set_dirty(d);
        } else {
            cell_op!(self, d as i32, [mov BYTE] [, value as i8]);
        }
        self.clobber(d);
    }

    /// Loads cell `d` into eax (its low byte).
    fn load_eax(&mut self, d: i64) {
        if self.cacheable(d) {
            let r = self.reg_for(d, true);
            asm!(self.ops; mov eax, Rd(r));
        } else {
            cell_op!(self, d as i32, [movzx eax, BYTE] []);
        }
    }

    /// One block operation at absolute offset `at` (relative to the pointer at the block start).
    fn op(&mut self, index: usize, at: i64) {
        let node = &self.nodes[index];
        match &node.op {
            Op::Add { offset, delta } => self.add(at + *offset as i64, *delta),
            Op::Set { offset, value } => self.set(at + *offset as i64, *value),
            Op::MulLoop { offset, targets } => self.mul(at + *offset as i64, targets),
            Op::Output { offset } => self.output(index, at + *offset as i64),
            Op::Input { offset } => {
                // The callback writes the tape: hand it every cell, and forget the registers.
                self.write_back();
                self.cache.clear();
                let d = at + *offset as i64;
                let stopped = self.stopped_exit;
                self.store_ptr();
                asm!(self.ops
                    ; mov rdi, r_state
                    ; lea rsi, [r_cell + d as i32]
                );
                self.call(jit_input as *const () as usize);
                asm!(self.ops
                    ; test eax, eax
                    ; jnz =>stopped
                );
                self.flags = None;
            }
            Op::Move { .. } | Op::Scan { .. } | Op::LoopStart | Op::LoopEnd | Op::Guard { .. } => {
                unreachable!("only block operations are laid out")
            }
        }
    }

    fn mul(&mut self, cell: i64, targets: &[MulTarget]) {
        let branchy = targets.len() > BRANCH_FREE_MUL_TARGETS;
        if branchy {
            // Both ways past the branch must leave the same registers: work in memory.
            self.write_back();
            self.cache.clear();
            self.bypass = true;
        }
        self.load_eax(cell);
        let skip = self.ops.new_dynamic_label();
        if branchy {
            asm!(self.ops
                ; test eax, eax
                ; jz =>skip
            );
        }
        for t in targets {
            let d = cell + t.offset as i64;
            let (negate, magnitude) = if t.factor > 128 {
                (true, t.factor.wrapping_neg())
            } else {
                (false, t.factor)
            };
            // The product's low byte in al (factor 1) or cl.
            let in_al = magnitude == 1;
            match magnitude {
                0 | 1 => {}
                2 => asm!(self.ops; lea ecx, [rax + rax]),
                3 => asm!(self.ops; lea ecx, [rax + rax * 2]),
                5 => asm!(self.ops; lea ecx, [rax + rax * 4]),
                9 => asm!(self.ops; lea ecx, [rax + rax * 8]),
                m if m.is_power_of_two() => {
                    let shift = m.trailing_zeros() as i8;
                    asm!(self.ops
                        ; mov ecx, eax
                        ; shl ecx, shift
                    );
                }
                m => asm!(self.ops; imul ecx, eax, m as i32),
            }
            if magnitude == 0 {
                continue;
            }
            if self.cacheable(d) {
                let r = self.reg_for(d, true);
                match (negate, in_al) {
                    (false, true) => asm!(self.ops; add Rb(r), al),
                    (true, true) => asm!(self.ops; sub Rb(r), al),
                    (false, false) => asm!(self.ops; add Rb(r), cl),
                    (true, false) => asm!(self.ops; sub Rb(r), cl),
                }
                self.set_dirty(d);
            } else {
                let d = d as i32;
                match (negate, in_al) {
                    (false, true) => cell_op!(self, d, [add BYTE] [, al]),
                    (true, true) => cell_op!(self, d, [sub BYTE] [, al]),
                    (false, false) => cell_op!(self, d, [add BYTE] [, cl]),
                    (true, false) => cell_op!(self, d, [sub BYTE] [, cl]),
                }
            }
            self.flags = Some(d);
        }
        self.set(cell, 0);
        if branchy {
            asm!(self.ops; =>skip);
            self.flags = None;
            self.bypass = false;
        }
    }

    fn output(&mut self, index: usize, cell: i64) {
        let full = self.ops.new_dynamic_label();
        let resume = self.ops.new_dynamic_label();
        self.load_eax(cell);
        asm!(self.ops
            ; mov rcx, [r_state + OFFSET_OUT_LEN]
            ; mov [r_state + rcx + OFFSET_OUT_BUF], al
            ; add rcx, 1
            ; mov [r_state + OFFSET_OUT_LEN], rcx
            ; cmp rcx, OUT_BUF_CAP as i32
            ; jae =>full
            ; =>resume
        );
        self.stubs.push(Stub::Flush {
            node: index,
            label: full,
            resume,
        });
        self.flags = None;
    }

    /// `Scan { stride }` at node `index`.
    fn scan(&mut self, index: usize, stride: i32) {
        self.mark(Part::Node(index));
        let done = self.ops.new_dynamic_label();
        let out = self.ops.new_dynamic_label();
        let tape_len = self.options.tape_len as i64;
        if self.cell == Some(0) {
            // Known to stand on a zero cell: the scan does nothing.
            return;
        }
        self.test_cell();
        asm!(self.ops; jz =>done);
        match stride {
            0 => {
                // `[]` on a non-zero cell never ends: run it exactly (it spins, as the reference
                // does, until fuel—unmetered in exact runs—or forever). The optimizer does not make
                // these; this keeps the generator total.
                asm!(self.ops; jmp =>out);
            }
            1 => self.scan_right(out, done),
            -1 => self.scan_left(out, done),
            s if (s as i64).abs() >= tape_len => {
                // Any step leaves the tape.
                asm!(self.ops; jmp =>out);
            }
            s if s > 0 => self.scan_strided_right(s, out, done),
            s => self.scan_strided_left(-s, out, done),
        }
        self.stubs.push(Stub::Exact {
            part: Part::ScanFallback(index),
            label: out,
            span: self.nodes[index].span,
            resume: done,
            flags: false,
            moved: None,
        });
        asm!(self.ops; =>done);
        self.flags = None;
        self.range = self.full_range();
        self.cell = Some(0);
    }

    /// Stride +1: vector windows `[p, p + w)` while they end inside the tape, then cell by cell.
    /// On entry the current cell is non-zero.
    fn scan_right(&mut self, out: DynamicLabel, done: DynamicLabel) {
        let len = self.options.tape_len as i32;
        let w = self.options.simd.width();
        asm!(self.ops
            ; lea rdi, [r_cell + 1]
            ; lea rsi, [r_tape + len]
        );
        match self.options.simd {
            Simd::Sse2 => asm!(self.ops
                ; pxor xmm0, xmm0
                ; vector:
                ; lea rax, [rdi + w]
                ; cmp rax, rsi
                ; ja >tail
                ; movdqu xmm1, [rdi]
                ; pcmpeqb xmm1, xmm0
                ; pmovmskb eax, xmm1
                ; test eax, eax
                ; jnz >found
                ; add rdi, w
                ; jmp <vector
            ),
            Simd::Avx2 => asm!(self.ops
                ; vpxor ymm0, ymm0, ymm0
                ; vector:
                ; lea rax, [rdi + w]
                ; cmp rax, rsi
                ; ja >tail_v
                ; vpcmpeqb ymm1, ymm0, [rdi]
                ; .bytes VPMOVMSKB_EAX_YMM1.iter().copied()
                ; test eax, eax
                ; jnz >found_v
                ; add rdi, w
                ; jmp <vector
                ; found_v:
                ; vzeroupper
                ; jmp >found
                ; tail_v:
                ; vzeroupper
                ; jmp >tail
            ),
        }
        asm!(self.ops
            ; found:
            ; bsf eax, eax
            ; add rdi, rax
            ; jmp >set
            ; tail:
            ; cmp rdi, rsi
            ; jae >none
            ; cmp BYTE [rdi], 0
            ; je >set
            ; add rdi, 1
            ; jmp <tail
            ; none:
            // Every cell from the pointer to the end is non-zero: the step off the last one fails.
            ; lea r_cell, [r_tape + (len - 1)]
            ; jmp =>out
            ; set:
            ; mov r_cell, rdi
            ; jmp =>done
        );
    }

    /// Stride -1: vector windows `[p - w + 1, p]` while they start inside the tape, then cell by cell.
    fn scan_left(&mut self, out: DynamicLabel, done: DynamicLabel) {
        let w = self.options.simd.width();
        asm!(self.ops
            ; lea rdi, [r_cell - 1]
        );
        match self.options.simd {
            Simd::Sse2 => asm!(self.ops
                ; pxor xmm0, xmm0
                ; vector:
                ; lea rax, [rdi - (w - 1)]
                ; cmp rax, r_tape
                ; jb >tail
                ; movdqu xmm1, [rax]
                ; pcmpeqb xmm1, xmm0
                ; pmovmskb ecx, xmm1
                ; test ecx, ecx
                ; jnz >found
                ; sub rdi, w
                ; jmp <vector
            ),
            Simd::Avx2 => asm!(self.ops
                ; vpxor ymm0, ymm0, ymm0
                ; vector:
                ; lea rax, [rdi - (w - 1)]
                ; cmp rax, r_tape
                ; jb >tail_v
                ; vpcmpeqb ymm1, ymm0, [rax]
                ; .bytes VPMOVMSKB_ECX_YMM1.iter().copied()
                ; test ecx, ecx
                ; jnz >found_v
                ; sub rdi, w
                ; jmp <vector
                ; found_v:
                ; vzeroupper
                ; jmp >found
                ; tail_v:
                ; vzeroupper
                ; jmp >tail
            ),
        }
        asm!(self.ops
            ; found:
            // The highest zero in the window is the nearest one.
            ; bsr ecx, ecx
            ; lea rdi, [rax + rcx]
            ; jmp >set
            ; tail:
            ; cmp rdi, r_tape
            ; jb >none
            ; cmp BYTE [rdi], 0
            ; je >set
            ; sub rdi, 1
            ; jmp <tail
            ; none:
            // Every cell from the pointer down to 0 is non-zero: the step off cell 0 fails.
            ; mov r_cell, r_tape
            ; jmp =>out
            ; set:
            ; mov r_cell, rdi
            ; jmp =>done
        );
    }

    /// Stride `s >= 2` (and `s < tape_len`): four steps per bounds check while they fit, then one.
    fn scan_strided_right(&mut self, s: i32, out: DynamicLabel, done: DynamicLabel) {
        let last = self.options.tape_len as i64 - 1;
        // One step from p is allowed when p + s <= last.
        let one = (last - s as i64) as i32;
        let four = last - 4 * s as i64;
        asm!(self.ops; lea rdx, [r_tape + one]);
        if four >= 0 {
            let four = four as i32;
            asm!(self.ops
                ; lea rsi, [r_tape + four]
                ; fast:
                ; cmp r_cell, rsi
                ; ja >slow
                ; cmp BYTE [r_cell + s], 0
                ; je >at1
                ; cmp BYTE [r_cell + 2 * s], 0
                ; je >at2
                ; cmp BYTE [r_cell + 3 * s], 0
                ; je >at3
                ; lea r_cell, [r_cell + 4 * s]
                ; cmp BYTE [r_cell], 0
                ; jne <fast
                ; jmp =>done
                ; at1:
                ; lea r_cell, [r_cell + s]
                ; jmp =>done
                ; at2:
                ; lea r_cell, [r_cell + 2 * s]
                ; jmp =>done
                ; at3:
                ; lea r_cell, [r_cell + 3 * s]
                ; jmp =>done
            );
        }
        asm!(self.ops
            ; slow:
            ; cmp r_cell, rdx
            ; ja =>out
            ; add r_cell, s
            ; cmp BYTE [r_cell], 0
            ; jne <slow
            ; jmp =>done
        );
    }

    /// Stride `-s` with `s >= 2` (and `s < tape_len`).
    fn scan_strided_left(&mut self, s: i32, out: DynamicLabel, done: DynamicLabel) {
        let four = 4 * s as i64;
        asm!(self.ops; lea rdx, [r_tape + s]);
        if four < self.options.tape_len as i64 {
            let four = four as i32;
            asm!(self.ops
                ; lea rsi, [r_tape + four]
                ; fast:
                ; cmp r_cell, rsi
                ; jb >slow
                ; cmp BYTE [r_cell - s], 0
                ; je >at1
                ; cmp BYTE [r_cell - 2 * s], 0
                ; je >at2
                ; cmp BYTE [r_cell - 3 * s], 0
                ; je >at3
                ; lea r_cell, [r_cell - 4 * s]
                ; cmp BYTE [r_cell], 0
                ; jne <fast
                ; jmp =>done
                ; at1:
                ; lea r_cell, [r_cell - s]
                ; jmp =>done
                ; at2:
                ; lea r_cell, [r_cell - 2 * s]
                ; jmp =>done
                ; at3:
                ; lea r_cell, [r_cell - 3 * s]
                ; jmp =>done
            );
        }
        asm!(self.ops
            ; slow:
            ; cmp r_cell, rdx
            ; jb =>out
            ; sub r_cell, s
            ; cmp BYTE [r_cell], 0
            ; jne <slow
            ; jmp =>done
        );
    }

    fn stubs(&mut self) -> Result<(), GenError> {
        let stopped = self.stopped_exit;
        for stub in std::mem::take(&mut self.stubs) {
            match stub {
                Stub::Exact {
                    part,
                    label,
                    span,
                    resume,
                    flags,
                    moved,
                } => {
                    self.mark(part);
                    asm!(self.ops; =>label);
                    self.store_ptr();
                    asm!(self.ops
                        ; mov rdi, r_state
                        ; mov esi, span.start as i32
                        ; mov edx, span.end as i32
                        ; mov rcx, rax
                    );
                    self.call(jit_exact as *const () as usize);
                    asm!(self.ops
                        ; cmp rax, EXACT_STOPPED as i32
                        ; je =>stopped
                    );
                    if let Some(moved) = moved {
                        // An exact run that moved otherwise than the block would break the pointer
                        // ranges: stop with an internal error (no recorded stop) rather than go on.
                        asm!(self.ops
                            ; lea rdx, [r_cell + moved as i32]
                            ; sub rdx, r_tape
                            ; cmp rax, rdx
                            ; jne =>stopped
                        );
                    }
                    asm!(self.ops; lea r_cell, [r_tape + rax]);
                    if flags {
                        asm!(self.ops; cmp BYTE [r_cell], 0);
                    }
                    asm!(self.ops; jmp =>resume);
                }
                Stub::Flush {
                    node,
                    label,
                    resume,
                } => {
                    self.mark(Part::OutputFlush(node));
                    asm!(self.ops; =>label);
                    self.store_ptr();
                    // Cells of the block may live in the caller-saved registers of the pool.
                    asm!(self.ops
                        ; push rdx
                        ; push rsi
                        ; push rdi
                        ; push r8
                        ; push r9
                        ; push r10
                        ; push r11
                        ; sub rsp, 8
                        ; mov rdi, r_state
                    );
                    self.call(jit_flush as *const () as usize);
                    asm!(self.ops
                        ; mov ecx, eax
                        ; add rsp, 8
                        ; pop r11
                        ; pop r10
                        ; pop r9
                        ; pop r8
                        ; pop rdi
                        ; pop rsi
                        ; pop rdx
                        ; test ecx, ecx
                        ; jnz =>stopped
                        ; jmp =>resume
                    );
                }
            }
        }
        Ok(())
    }

    fn exits(&mut self) {
        self.mark(Part::Exits);
        let (ok, fuel, stopped) = (self.ok_exit, self.fuel_exit, self.stopped_exit);
        asm!(self.ops
            ; =>fuel
            ; xor r_fuel, r_fuel
            ; mov r14d, STATUS_OUT_OF_FUEL as i32
            ; jmp >flush
            ; =>ok
            ; mov r14d, STATUS_OK as i32
            ; flush:
            ; mov rax, r_cell
            ; sub rax, r_tape
            ; mov [r_state + OFFSET_PTR], rax
            ; cmp QWORD [r_state + OFFSET_OUT_LEN], 0
            ; je >done
            ; mov rdi, r_state
        );
        self.call(jit_flush as *const () as usize);
        asm!(self.ops
            ; test eax, eax
            ; jnz >failed
            ; done:
            ; mov eax, r14d
            ; jmp >epilogue
            ; failed:
            ; =>stopped
            // A callback recorded the stop (and the pointer, for exact runs).
            ; mov eax, STATUS_STOPPED as i32
            ; epilogue:
        );
        if self.options.fuel {
            asm!(self.ops; mov [r_state + OFFSET_FUEL], r_fuel);
        }
        asm!(self.ops
            ; add rsp, 8
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbx
            ; pop rbp
            ; ret
        );
    }
}

/// Whether the loop opened at `start` contains no other loop or scan (its body is one block at most).
fn innermost_loop(nodes: &[Node], start: usize) -> bool {
    for node in &nodes[start + 1..] {
        match node.op {
            Op::LoopEnd => return true,
            Op::LoopStart | Op::Scan { .. } => return false,
            _ => {}
        }
    }
    true
}

/// Moves the last `Add` on the cell the next loop test reads (offset `total`) to the end of the block,
/// when no later operation of the block touches that cell, so the test can reuse its flags.
fn move_test_cell_add_last(nodes: &[Node], order: &mut Vec<(i64, usize)>, total: i64) {
    let touches = |at: i64, node: &Node| -> bool {
        match &node.op {
            Op::Add { offset, .. }
            | Op::Set { offset, .. }
            | Op::Output { offset }
            | Op::Input { offset } => at + *offset as i64 == total,
            Op::MulLoop { offset, targets } => {
                let c = at + *offset as i64;
                c == total || targets.iter().any(|t| c + t.offset as i64 == total)
            }
            _ => false,
        }
    };
    let Some(k) = order.iter().rposition(|&(at, i)| {
        matches!(nodes[i].op, Op::Add { offset, delta } if delta != 0 && at + offset as i64 == total)
    }) else {
        return;
    };
    if order[k + 1..].iter().any(|&(at, i)| touches(at, &nodes[i])) {
        return;
    }
    let entry = order.remove(k);
    order.push(entry);
}

/// For each `LoopStart` index, whether its loop is balanced: it contains no scan and no unbalanced
/// loop, and its body's moves add up to zero, so the pointer is the same at every test of the loop.
/// (Other indices hold `false`.) Uses an explicit stack; tolerates unbalanced IR (reported later).
fn balanced_loops(nodes: &[Node]) -> Vec<bool> {
    struct Frame {
        start: usize,
        net: i64,
        ok: bool,
    }
    let mut balanced = vec![false; nodes.len()];
    let mut stack: Vec<Frame> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match node.op {
            Op::LoopStart => stack.push(Frame {
                start: i,
                net: 0,
                ok: true,
            }),
            Op::LoopEnd => {
                if let Some(frame) = stack.pop() {
                    let ok = frame.ok && frame.net == 0;
                    balanced[frame.start] = ok;
                    if !ok {
                        if let Some(parent) = stack.last_mut() {
                            parent.ok = false;
                        }
                    }
                }
            }
            Op::Move { by } => {
                if let Some(top) = stack.last_mut() {
                    top.net += by as i64;
                }
            }
            Op::Scan { .. } => {
                if let Some(top) = stack.last_mut() {
                    top.ok = false;
                }
            }
            _ => {}
        }
    }
    balanced
}

/// The value of the cell at offset `total` (the current cell after the block) when the block's last
/// write to it makes it known: a `Set`, or a multiply loop on it. `before` is the current cell's value
/// before the block, kept when the block does not write the cell and ends where it started.
fn cell_after_block(
    nodes: &[Node],
    order: &[(i64, usize)],
    total: i64,
    before: Option<u8>,
) -> Option<u8> {
    for &(at, i) in order.iter().rev() {
        match &nodes[i].op {
            Op::Set { offset, value } if at + *offset as i64 == total => return Some(*value),
            Op::Add { offset, .. } | Op::Input { offset } if at + *offset as i64 == total => {
                return None
            }
            Op::MulLoop { offset, targets } => {
                let c = at + *offset as i64;
                if c == total {
                    return Some(0);
                }
                if targets.iter().any(|t| c + t.offset as i64 == total) {
                    return None;
                }
            }
            _ => {}
        }
    }
    if total == 0 {
        before
    } else {
        None
    }
}
