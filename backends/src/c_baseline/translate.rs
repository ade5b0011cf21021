//! Guarded IR to C: one C statement (or a few) per IR node, loops as labels and gotos.
//!
//! The generated file defines `bf_init`, which stores the three callbacks of [`crate::jit`]
//! (`jit_output`, `jit_input`, `jit_exact`) in file-scope pointers, and `bf_entry`, whose signature is
//! the JIT calling convention's `EntryFn`: it takes the `JitState` pointer, of which it reads only the
//! first four fields (`tape`, `tape_len`, `ptr`, `fuel_left`, laid out as the `OFFSET_*` constants
//! say), and returns a `STATUS_*` code.
//!
//! Loops are `if (!t[p]) goto E; B: ... if (t[p]) goto B; E:` rather than nested `while` blocks, so the
//! C compiler's block nesting limits never apply, and the walk uses an explicit stack, never recursion.
//! Loop nesting itself is capped at [`MAX_NESTING`]: the C compiler's time grows about cubically with
//! it, so deeper programs get a clear `TooLarge` error rather than a compile that never ends.

use std::fmt::Write as _;

use crate::backend::CompileError;
use crate::ir::plan::{Decision, PlannedIr};
use crate::ir::{Op, Span};
use crate::jit::{STATUS_OK, STATUS_OUT_OF_FUEL, STATUS_STOPPED};

/// The deepest loop nesting translated. GCC's compile time grows roughly cubically with the nesting
/// depth of loops, even at `-O0` (measured with gcc 12 at `-O3`: depth 1000 takes 1.8 s, 2000 7.7 s,
/// 4000 92 s), so deeper programs are refused with [`CompileError::TooLarge`] instead of hanging.
pub const MAX_NESTING: usize = 256;

fn codegen(what: &str) -> CompileError {
    CompileError::Bug(format!("C translation: {what}"))
}

fn fmt_err(_: std::fmt::Error) -> CompileError {
    codegen("formatting failed")
}

const PRELUDE: &str = r#"#include <stddef.h>
#include <stdint.h>

/* The first fields of the JIT runtime state (repr(C) on the Rust side). */
typedef struct {
    unsigned char *tape;
    size_t tape_len;
    size_t ptr;
    uint64_t fuel_left;
} bf_state;

typedef uint32_t (*bf_output_fn)(bf_state *, uint32_t);
typedef uint32_t (*bf_input_fn)(bf_state *, unsigned char *);
typedef size_t (*bf_exact_fn)(bf_state *, uint32_t, uint32_t, size_t);

static bf_output_fn cb_output;
static bf_input_fn cb_input;
static bf_exact_fn cb_exact;

void bf_init(bf_output_fn output, bf_input_fn input, bf_exact_fn exact) {
    cb_output = output;
    cb_input = input;
    cb_exact = exact;
}

/* Runs source commands start..end exactly from the current pointer (a failed guard or scan). */
#define EXACT(start, end)                                        \
    do {                                                         \
        s->ptr = p;                                              \
        size_t r_ = cb_exact(s, (start), (end), p);              \
        if (r_ == (size_t)-1) goto stopped;                      \
        p = r_;                                                  \
    } while (0)
"#;

/// `p + offset` as a C index expression.
fn at(offset: i64) -> String {
    match offset {
        0 => "p".to_string(),
        o if o > 0 => format!("p + {o}u"),
        o => format!("p - {}u", -o),
    }
}

/// Translates planned IR to a C translation unit; charges fuel at loop-body entries when `metered`.
/// Each guard becomes what its plan decision says (no test, a test, or the fallback alone), so the
/// memory safety of the C code rests on the plan, which verified every guard against its block.
pub fn translate(planned: &PlannedIr, metered: bool) -> Result<String, CompileError> {
    let nodes = planned.nodes();
    let mut c = String::with_capacity(64 + nodes.len() * 24);
    c.push_str(PRELUDE);
    c.push_str("\nuint32_t bf_entry(bf_state *s) {\n");
    c.push_str("    unsigned char *t = s->tape;\n    const size_t n = s->tape_len;\n");
    c.push_str("    size_t p = s->ptr;\n    uint64_t fuel = s->fuel_left;\n");
    let fuel = if metered {
        "if (fuel == 0) goto out_of_fuel; fuel--;"
    } else {
        ""
    };
    let mut loops: Vec<usize> = Vec::new();
    let mut next_loop = 0usize;
    // Nodes left in the guarded block being emitted (its `else` branch is open).
    let mut block: Option<u32> = None;
    for (index, node) in nodes.iter().enumerate() {
        let written: std::fmt::Result = match &node.op {
            Op::Guard { len, .. } => {
                if *len == 0 {
                    continue;
                }
                let Span { start, end } = node.span;
                block = Some(*len);
                match planned.decision(index) {
                    Decision::Always => c.push_str("    {\n"),
                    // The block's nodes never run: the compiler drops them.
                    Decision::Never => {
                        writeln!(c, "    EXACT({start}u, {end}u); if (0) {{").map_err(fmt_err)?
                    }
                    Decision::Check { lo, hi } => writeln!(
                        c,
                        "    if (p < {}u || p + {}u >= n) EXACT({start}u, {end}u); else {{",
                        -(lo as i64),
                        hi
                    )
                    .map_err(fmt_err)?,
                }
                continue;
            }
            Op::Add { offset, delta } => {
                writeln!(c, "    t[{}] += {delta};", at(*offset as i64))
            }
            Op::Move { by } => match *by {
                b if b >= 0 => writeln!(c, "    p += {b}u;"),
                b => writeln!(c, "    p -= {}u;", -(b as i64)),
            },
            Op::Set { offset, value } => writeln!(c, "    t[{}] = {value};", at(*offset as i64)),
            Op::MulLoop { offset, targets } => {
                let base = *offset as i64;
                writeln!(c, "    {{ unsigned char v_ = t[{}]; if (v_) {{", at(base))
                    .map_err(fmt_err)?;
                for target in targets {
                    writeln!(
                        c,
                        "        t[{}] += (unsigned char)(v_ * {}u);",
                        at(base + target.offset as i64),
                        target.factor
                    )
                    .map_err(fmt_err)?;
                }
                writeln!(c, "        t[{}] = 0; }} }}", at(base))
            }
            Op::Output { offset } => writeln!(
                c,
                "    s->ptr = p; if (cb_output(s, t[{}])) goto stopped;",
                at(*offset as i64)
            ),
            Op::Input { offset } => writeln!(
                c,
                "    s->ptr = p; if (cb_input(s, &t[{}])) goto stopped;",
                at(*offset as i64)
            ),
            Op::Scan { stride } => {
                let Span { start, end } = node.span;
                let leaves = if *stride >= 0 {
                    format!("p + {stride}u >= n")
                } else {
                    format!("p < {}u", -(*stride as i64))
                };
                writeln!(
                    c,
                    "    while (t[p]) {{ if ({leaves}) {{ EXACT({start}u, {end}u); break; }} {} }}",
                    if *stride >= 0 {
                        format!("p += {stride}u;")
                    } else {
                        format!("p -= {}u;", -(*stride as i64))
                    }
                )
            }
            Op::LoopStart => {
                if loops.len() == MAX_NESTING {
                    return Err(CompileError::TooLarge(format!(
                        "loops nested deeper than {MAX_NESTING} (the C compiler's time grows \
                         cubically with nesting depth)"
                    )));
                }
                let k = next_loop;
                next_loop += 1;
                loops.push(k);
                writeln!(c, "    if (!t[p]) goto e{k}; {fuel}\nb{k}:;")
            }
            Op::LoopEnd => {
                let k = loops.pop().ok_or_else(|| codegen("unbalanced loop end"))?;
                if metered {
                    writeln!(c, "    if (t[p]) {{ {fuel} goto b{k}; }}\ne{k}:;")
                } else {
                    writeln!(c, "    if (t[p]) goto b{k};\ne{k}:;")
                }
            }
        };
        written.map_err(fmt_err)?;
        if let Some(left) = &mut block {
            *left -= 1;
            if *left == 0 {
                c.push_str("    }\n");
                block = None;
            }
        }
    }
    if !loops.is_empty() {
        return Err(codegen("unbalanced loop start"));
    }
    if block.is_some() {
        return Err(codegen("a guard is longer than the code after it"));
    }
    write!(
        c,
        "    s->ptr = p; s->fuel_left = fuel; return {STATUS_OK};\n\
         stopped:\n    s->fuel_left = fuel; return {STATUS_STOPPED};\n\
         out_of_fuel:\n    s->ptr = p; s->fuel_left = fuel; return {STATUS_OUT_OF_FUEL};\n}}\n"
    )
    .map_err(fmt_err)?;
    Ok(c)
}
