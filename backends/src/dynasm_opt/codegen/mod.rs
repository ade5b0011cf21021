//! The x86-64 code generator of `dynasm-opt`: guarded, optimized IR in, position-independent machine
//! code out, with a note of which IR node each stretch of code came from.
//!
//! [`generate`] compiles any balanced run of planned IR nodes (a whole program, or one loop with its
//! nested loops for a tiered JIT) into one function `extern "C" fn(*mut JitState) -> u32` that follows
//! the calling convention of [`crate::jit`]: it starts from `state.ptr` (refusing a pointer outside the
//! plan's entry range), writes the pointer back before every callback and return, meters fuel only when
//! asked, and leaves the state's output queue empty on return.
//!
//! One concern per module: [`facts`] (analyses computed into per-node facts before any code is
//! emitted), `cache` (register caching and multiply loops), `scan` (SIMD and strided scans), `stubs`
//! (cold fallbacks and exits); this module walks the nodes and emits blocks and loops.
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
//!   flags); a failed check jumps to a cold stub calling `jit_exact` and resumes after the block.
//!   Whether a block is checked at all is its guard's plan decision ([`crate::ir::plan`]): `Always`
//!   emits no check, `Never` only the jump to the fallback;
//! - loops are tested at the top once and at the bottom on every iteration; innermost loop bodies are
//!   16-byte aligned; when the last flag-setting instruction was arithmetic on the tested cell, the test
//!   is just the conditional jump (the block is reordered to make that so when it can be);
//! - multiply loops are straight-line (`add`/`sub` of the loop cell times the factor, built with
//!   `lea`/`shl`/`imul`); up to [`BRANCH_FREE_MUL_TARGETS`] targets they run branch-free (with a zero loop
//!   cell every target gains 0, and the block's guard already covers every target cell), beyond that a
//!   zero loop cell jumps over them;
//! - scans of stride ±1 search 16 (SSE2) or 32 (AVX2) cells per step, loading only windows that lie
//!   wholly inside the tape, then finish cell by cell; other strides run four steps per bounds check;
//! - output is appended to the state's output queue inline; only a full queue calls `jit_flush`.
//! - within a block, cells used more than once live in registers (eight of them, 8-bit arithmetic so the
//!   flags stay exact), loaded on first use and written back at the block's end; cells used once are
//!   updated in memory directly;
//! - a loop test on a cell known at compile time (after `[-]`, a multiply loop, or a loop's exit) is
//!   decided then: a loop whose body ends on a known zero has no back edge (an `if`).
//!
//! Nothing here recurses on the program's structure: loops are matched with an explicit stack.

// dynasm expands dynamic registers (`Rb(reg)`) to `reg.into()`, a no-op conversion for our `u8`s.
#![allow(clippy::useless_conversion)]

use std::ops::Range;

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, AssemblyOffset, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use crate::backend::CompileError;
use crate::config::Config;
use crate::ir::plan::{Decision, PlannedIr};
use crate::ir::{Node, Op};
use crate::jit::{OFFSET_FUEL, OFFSET_PTR, OFFSET_TAPE, OFFSET_TAPE_LEN};

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

/// What the generated function is specialized on besides the plan (which fixes the tape length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Whether to meter fuel (one unit per loop-body entry).
    pub fuel: bool,
    /// Vector instructions for ±1 scans.
    pub simd: Simd,
    /// Whether to record which part of the program each stretch of code is for (the listing of
    /// `bfjit asm`); off for runs, where it would cost memory per node for nothing.
    pub annotate: bool,
}

impl Options {
    /// The options for runs under `config` with `simd` scans: the one place they are built.
    pub fn new(config: &Config, simd: Simd) -> Options {
        Options {
            fuel: config.metered(),
            simd,
            annotate: false,
        }
    }

    /// These options with annotations recorded (for a listing).
    pub fn annotated(self) -> Options {
        Options {
            annotate: true,
            ..self
        }
    }

    /// The options for runs under `config` on this CPU.
    pub fn for_config(config: &Config) -> Options {
        Options::new(config, Simd::detect())
    }
}

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

mod cache;
pub mod facts;
mod scan;
mod stubs;

use cache::{Slot, POOL};
use facts::Facts;

/// A cold stub emitted after the main code.
enum Stub {
    /// Fallback of the guard (or, with `scan`, the scan) at `node`: run its span exactly, then
    /// (re-establishing the flags if `flags`) resume. (The span is looked up, not kept: stubs are many.)
    Exact {
        node: usize,
        scan: bool,
        label: DynamicLabel,
        resume: AssemblyOffset,
        flags: bool,
    },
    /// Output buffer full: flush, resume.
    Flush {
        node: usize,
        label: DynamicLabel,
        resume: AssemblyOffset,
    },
}

/// One open loop on the label stack.
struct OpenLoop {
    /// Where the back edge jumps (fuel check, then body).
    head: AssemblyOffset,
    /// Just after the loop.
    exit: DynamicLabel,
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

/// A jump back to code already emitted (see [`Gen::jump_back`]).
#[derive(Clone, Copy)]
enum BackJump {
    /// `jmp rel32`.
    Always,
    /// `jnz rel32`.
    IfNonZero,
}

/// Which cell the zero flag currently reflects, relative to the pointer (`None`: unknown).
type Flags = Option<i64>;

struct Gen<'n> {
    ops: VecAssembler<X64Relocation>,
    planned: &'n PlannedIr,
    /// The nodes compiled (a slice of the plan's).
    nodes: &'n [Node],
    /// The plan's index of `nodes[0]`.
    base: usize,
    tape_len: usize,
    options: Options,
    facts: Facts,
    annotations: Vec<Annotation>,
    stubs: Vec<Stub>,
    ok_exit: DynamicLabel,
    fuel_exit: DynamicLabel,
    stopped_exit: DynamicLabel,
    flags: Flags,
    /// Cells of the current block held in registers.
    cache: Vec<Slot>,
    /// How many operations of the current block touch each cell (see [`facts::BlockLayout::uses`]).
    uses: Vec<(i64, u32)>,
    /// Whether registers are bypassed (inside a branchy multiply loop).
    bypass: bool,
    /// Whether a jump back was farther than a `rel32` reaches (the code is refused).
    too_far: bool,
}

fn bug(what: impl std::fmt::Display) -> CompileError {
    CompileError::Bug(format!("dynasm-opt code generation: {what}"))
}

/// Compiles nodes `range` of `planned` (balanced: a whole program, or a loop with its nested loops)
/// into one function over [`crate::jit::JitState`].
pub fn generate(
    planned: &PlannedIr,
    range: Range<usize>,
    options: &Options,
) -> Result<Generated, CompileError> {
    let nodes = planned
        .nodes()
        .get(range.clone())
        .ok_or_else(|| bug("node range outside the program"))?;
    let mut ops = VecAssembler::<X64Relocation>::new(0);
    let ok_exit = ops.new_dynamic_label();
    let fuel_exit = ops.new_dynamic_label();
    let stopped_exit = ops.new_dynamic_label();
    let mut gen = Gen {
        ops,
        planned,
        nodes,
        base: range.start,
        tape_len: planned.tape_len(),
        options: *options,
        facts: Facts::default(),
        annotations: if options.annotate {
            Vec::with_capacity(nodes.len() + 8)
        } else {
            Vec::new()
        },
        stubs: Vec::new(),
        ok_exit,
        fuel_exit,
        stopped_exit,
        flags: None,
        cache: Vec::with_capacity(POOL.len()),
        uses: Vec::new(),
        bypass: false,
        too_far: false,
    };
    gen.prologue();
    gen.body()?;
    let ok_exit = gen.ok_exit;
    asm!(gen.ops; jmp =>ok_exit);
    gen.stubs();
    gen.exits();
    if gen.too_far {
        return Err(CompileError::TooLarge(
            "generated code of more than 2 GiB".into(),
        ));
    }
    let code = gen.ops.finalize().map_err(bug)?;
    Ok(Generated {
        code,
        annotations: gen.annotations,
    })
}

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
        if !self.options.annotate {
            return;
        }
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

    /// `jmp`/`jnz` back to `target`, code already emitted: the `rel32` form a label would give,
    /// encoded here, so the target needs no label and the jump no relocation (the assembler keeps
    /// 16 bytes per label and 32 per relocation until the end; this is two of each per loop and
    /// stub).
    fn jump_back(&mut self, jump: BackJump, target: AssemblyOffset) {
        let opcode: &[u8] = match jump {
            BackJump::Always => &[0xe9],
            BackJump::IfNonZero => &[0x0f, 0x85],
        };
        let end = self.ops.offset().0 + opcode.len() + 4;
        match i32::try_from(target.0 as i64 - end as i64) {
            Ok(rel) => {
                self.ops.extend(opcode.iter().copied());
                self.ops.push_i32(rel);
            }
            Err(_) => {
                self.too_far = true;
            }
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
        let len = self.tape_len as i32;
        let entry = self.planned.entry_range(self.base);
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
            // The plan's decisions bake the tape length in: refuse any other state.
            ; cmp QWORD [r_state + OFFSET_TAPE_LEN], len
            ; jne =>stopped
        );
        // ... and assume the pointer lies in the plan's entry range (within the tape): refuse any
        // other pointer (one unsigned compare).
        if entry.lo == 0 {
            asm!(self.ops; cmp rax, entry.hi as i32);
        } else {
            asm!(self.ops
                ; lea rcx, [rax - entry.lo as i32]
                ; cmp rcx, (entry.hi - entry.lo) as i32
            );
        }
        asm!(self.ops; ja =>stopped);
        asm!(self.ops; lea r_cell, [r_tape + rax]);
    }

    fn body(&mut self) -> Result<(), CompileError> {
        let nodes = self.nodes;
        let mut stack: Vec<OpenLoop> = Vec::new();
        let mut i = 0;
        while i < nodes.len() {
            match &nodes[i].op {
                Op::Guard { len, .. } => {
                    self.block(i)?;
                    i += 1 + *len as usize;
                }
                Op::LoopStart => {
                    stack.push(self.loop_start(i));
                    self.facts.loop_start();
                    i += 1;
                }
                Op::LoopEnd => {
                    let open = stack
                        .pop()
                        .ok_or_else(|| bug(format!("node {i} closes no loop")))?;
                    self.loop_end(i, open);
                    self.facts.zero_cell();
                    i += 1;
                }
                Op::Scan { stride } => {
                    self.scan(i, *stride);
                    self.facts.zero_cell();
                    i += 1;
                }
                _ => return Err(bug(format!("node {i} is outside a guarded block"))),
            }
        }
        if !stack.is_empty() {
            return Err(bug("an unclosed loop"));
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

    /// How the test of the current cell is decided at the node being emitted.
    fn test_kind(&self) -> Test {
        match self.facts.cell_before() {
            Some(0) => Test::Zero,
            Some(_) => Test::NonZero,
            None => Test::Dynamic,
        }
    }

    fn loop_start(&mut self, index: usize) -> OpenLoop {
        self.mark(Part::Node(index));
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
        if facts::innermost_loop(self.nodes, index) {
            self.align16();
        }
        let head = self.ops.offset();
        self.fuel_check();
        // From a run-time top test and from the (always run-time) back edge alike, ZF is clear for
        // the non-zero current cell.
        let head_flags = !self.options.fuel && (test == Test::Dynamic || flags_before);
        self.flags = head_flags.then_some(0);
        OpenLoop {
            head,
            exit,
            exit_flags: test != Test::Zero || flags_before,
        }
    }

    fn loop_end(&mut self, index: usize, open: OpenLoop) {
        self.mark(Part::Node(index));
        let OpenLoop {
            head,
            exit,
            exit_flags,
        } = open;
        // A cell known to be zero ends the loop without a test; any other runs the test (a known
        // non-zero cell only loops until fuel or an error stops it: not worth a special case).
        let bottom_flags = if self.test_kind() == Test::Zero {
            self.flags == Some(0)
        } else {
            self.test_cell();
            self.jump_back(BackJump::IfNonZero, head);
            true
        };
        asm!(self.ops; =>exit);
        self.flags = (exit_flags && bottom_flags).then_some(0);
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

    /// A straight-line block: the guard at `g`, emitted as the plan decided it, then its nodes.
    fn block(&mut self, g: usize) -> Result<(), CompileError> {
        let layout = self.facts.block(self.nodes, g);
        let total = layout.total;
        self.mark(Part::GuardCheck(g));
        // Only a block that can fail its check gets a label (its cold fallback, which jumps back
        // to the code after the block): each label costs the assembler memory.
        let checked = match self.planned.decision(self.base + g) {
            Decision::Never => {
                // The check can never pass: the block always runs exactly.
                let stub = self.ops.new_dynamic_label();
                asm!(self.ops; jmp =>stub);
                let resume = self.ops.offset();
                self.stubs.push(Stub::Exact {
                    node: g,
                    scan: false,
                    label: stub,
                    resume,
                    flags: false,
                });
                self.flags = None;
                return Ok(());
            }
            Decision::Always => None,
            Decision::Check { lo, hi } => {
                let stub = self.ops.new_dynamic_label();
                // One unsigned compare: 0 <= ptr + lo && ptr + hi < tape_len.
                let limit = (self.tape_len as i64 - 1 - (hi as i64 - lo as i64)) as i32;
                if lo == 0 {
                    asm!(self.ops; mov rax, r_cell);
                } else {
                    asm!(self.ops; lea rax, [r_cell + lo]);
                }
                asm!(self.ops
                    ; sub rax, r_tape
                    ; cmp rax, limit
                    ; ja =>stub
                );
                self.flags = None;
                Some(stub)
            }
        };
        self.uses = layout.uses;
        for &(at, index) in &layout.order {
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
        if let Some(stub) = checked {
            let resume = self.ops.offset();
            self.stubs.push(Stub::Exact {
                node: g,
                scan: false,
                label: stub,
                resume,
                flags: keep_flags,
            });
        }
        Ok(())
    }
}
