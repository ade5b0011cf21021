//! The self-interpreter workload: a BF interpreter written in BF, running an inner BF program that
//! it reads from its input.
//!
//! Input: the inner program's commands, `!`, then the inner program's own input. The interpreter
//! keeps the inner program and the inner tape in records of [`STRIDE`] cells: program records first
//! (one command code per record, after a zero sentinel record), then one end record, then the data
//! records (one inner cell each). Every record has a *rail* cell that is 1, except at the
//! instruction pointer's record and the data pointer's record, where it is 0; so the interpreter goes
//! from the instruction to the data with a scan right (`>>>>>>[>>>>>>]`) and back with a scan left.
//! Each step decodes the command with a chain of nested decrement loops (a switch), runs it at the
//! data record, and moves the instruction mark on. `[` and `]` find their partner at run time with a
//! walker that carries the nesting depth along the program records.
//!
//! The inner program (built with the same [`Builder`]) prints a triangle of stars several times; the
//! expected output comes from a plain Rust BF interpreter running the same inner program on the same
//! input. The profile: short straight-line blocks, many small loops (the switch), strided scans, and
//! walkers that move a counter (`[->>>>>>+<<<<<<]` then a shift) every step.

use super::builder::{Builder, Cell};

/// The inner program's workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// How many times the inner program prints its triangle.
    pub passes: u8,
    /// Rows of the triangle (row `i` has `i` stars).
    pub rows: u8,
}

/// The full size.
pub const FULL: Params = Params {
    passes: 40,
    rows: 60,
};

/// The quick size.
pub const QUICK: Params = Params { passes: 1, rows: 8 };

/// Cells per record.
pub const STRIDE: usize = 6;
/// 0 at the instruction and data pointers' records, 1 elsewhere in use.
const RAIL: usize = 0;
/// The command code (program records) or the inner cell's value (data records).
const VAL: usize = 1;
/// The nesting depth a bracket walker carries along.
const DEPTH: usize = 2;
/// The switch's counter.
const SEL: usize = 3;
/// The switch's "not yet handled" flag.
const FLAG: usize = 4;
/// Scratch for copies.
const SCRATCH: usize = 5;
/// Where record 0 of the program starts; the record before it is the zero sentinel.
const PROGRAM: usize = 2 * STRIDE;
/// The static origin of the fragments (one record above 0, so they can name the record before).
const ORIGIN: usize = STRIDE;
/// The terminator between the inner program and its input.
const END_OF_PROGRAM: u8 = b'!';

/// The command codes, in switch order: code `k` costs `k` nested loop entries to decode, so the
/// common commands come first.
const CODES: [u8; 8] = [b'>', b'<', b'+', b'-', b']', b'[', b'.', b','];

fn code_of(command: u8) -> usize {
    CODES
        .iter()
        .position(|&c| c == command)
        .expect("a BF command")
        + 1
}

/// A field of the record at the fragment's base (`+1` record: `STRIDE` cells further).
fn field(f: usize) -> Cell {
    Cell(ORIGIN + f)
}

/// Emits a switch on the record's `VAL`: runs `case(f, command)` for the command whose code it
/// holds (1..=8). A case may move the base (a jump), as long as it ends at a record whose `SEL` and
/// `FLAG` are zero; the switch consumes both flags before the case runs.
fn switch(f: &mut Builder, mut case: impl FnMut(&mut Builder, u8)) {
    f.move_add(field(VAL), &[(field(SEL), 1), (field(SCRATCH), 1)]);
    f.move_add(field(SCRATCH), &[(field(VAL), 1)]);
    f.add(field(FLAG), 1);
    for _ in CODES {
        f.loop_open(field(SEL));
        f.add(field(SEL), -1);
    }
    // Inside level k (entered when the code is at least k) the code is exactly k when FLAG is still
    // set: the deeper levels clear it.
    for &command in CODES.iter().rev() {
        f.loop_open(field(FLAG));
        f.add(field(FLAG), -1);
        case(f, command);
        f.loop_close(field(FLAG));
        f.loop_close(field(SEL));
    }
}

/// From the instruction record's rail to the data record's rail.
fn to_data(f: &mut Builder) {
    f.goto(field(RAIL));
    let step = ">".repeat(STRIDE);
    f.raw(&format!("{step}[{step}]"));
}

/// From the data record's rail back to the instruction record's rail.
fn to_instruction(f: &mut Builder) {
    f.goto(field(RAIL));
    let step = "<".repeat(STRIDE);
    f.raw(&format!("{step}[{step}]"));
}

/// Moves the instruction mark from a bracket to its partner (`dir` +1: forward from `[`, -1: back
/// from `]`), counting nesting in `DEPTH` carried record by record.
fn walk_to_partner(f: &mut Builder, dir: isize) {
    let (deeper, shallower) = if dir > 0 { (b'[', b']') } else { (b']', b'[') };
    let next = Cell((ORIGIN as isize + DEPTH as isize + dir * STRIDE as isize) as usize);
    f.add(field(RAIL), 1);
    f.add(field(DEPTH), 1);
    f.while_nonzero(field(DEPTH), |f| {
        f.move_add(field(DEPTH), &[(next, 1)]);
        f.shift_base(dir * STRIDE as isize);
        switch(f, |f, command| {
            if command == deeper {
                f.add(field(DEPTH), 1);
            } else if command == shallower {
                f.add(field(DEPTH), -1);
            }
        });
    });
    f.add(field(RAIL), -1);
}

/// The code that reads the inner program into program records (pointer at record 0's base on entry,
/// and at the first record's base, marked as the instruction, on exit).
fn loader() -> String {
    let mut f = Builder::fragment(ORIGIN, ORIGIN + DEPTH..ORIGIN + 3 * STRIDE);
    let (go, code) = (field(DEPTH), field(SEL));
    f.claim(go);
    f.claim(code);
    let read = |f: &mut Builder| {
        f.input(field(VAL));
        f.copy_add(field(VAL), &[(go, 1)]);
        f.add(go, -(END_OF_PROGRAM as i32));
    };
    read(&mut f);
    f.while_nonzero(go, |f| {
        f.clear(go);
        for &command in &CODES {
            f.if_equals(field(VAL), command, |f| {
                f.add(code, code_of(command) as i32)
            });
        }
        f.clear(field(VAL));
        f.move_add(code, &[(field(VAL), 1)]);
        f.add(field(RAIL), 1);
        f.shift_base(STRIDE as isize);
        read(f);
    });
    // The end record: code 0, rail 1. The data records follow it.
    f.clear(field(VAL));
    f.add(field(RAIL), 1);
    to_instruction(&mut f); // stops at the sentinel record before record 0
    f.shift_base(STRIDE as isize);
    f.add(field(RAIL), -1);
    f.goto(field(RAIL));
    f.finish()
}

/// The interpreter's main loop (pointer at the instruction record's base).
fn interpreter() -> String {
    let mut f = Builder::fragment(ORIGIN, ORIGIN + SCRATCH..ORIGIN + STRIDE);
    f.while_nonzero(field(VAL), |f| {
        switch(f, |f, command| match command {
            b'>' => {
                to_data(f);
                f.add(field(RAIL), 1);
                f.shift_base(STRIDE as isize);
                to_instruction(f);
            }
            b'<' => {
                to_data(f);
                f.shift_base(-(STRIDE as isize));
                f.add(field(RAIL), -1);
                to_instruction(f);
            }
            b'+' | b'-' => {
                to_data(f);
                f.add(field(VAL), if command == b'+' { 1 } else { -1 });
                to_instruction(f);
            }
            b'.' => {
                to_data(f);
                f.output(field(VAL));
                to_instruction(f);
            }
            b',' => {
                to_data(f);
                f.input(field(VAL));
                to_instruction(f);
            }
            b'[' => {
                // Jump when the data cell is zero: FLAG (of the data record) says so.
                to_data(f);
                f.add(field(FLAG), 1);
                f.move_add(field(VAL), &[(field(SEL), 1), (field(SCRATCH), 1)]);
                f.move_add(field(SCRATCH), &[(field(VAL), 1)]);
                f.if_nonzero_consume(field(SEL), |f| f.add(field(FLAG), -1));
                f.while_nonzero(field(FLAG), |f| {
                    f.add(field(FLAG), -1);
                    to_instruction(f);
                    walk_to_partner(f, 1);
                    to_data(f);
                });
                to_instruction(f);
            }
            b']' => {
                // Jump back when the data cell is not zero.
                to_data(f);
                f.move_add(field(VAL), &[(field(SEL), 1), (field(SCRATCH), 1)]);
                f.move_add(field(SCRATCH), &[(field(VAL), 1)]);
                f.while_nonzero(field(SEL), |f| {
                    f.clear(field(SEL));
                    to_instruction(f);
                    walk_to_partner(f, -1);
                    to_data(f);
                });
                to_instruction(f);
            }
            _ => unreachable!("every command has a case"),
        });
        // On to the next command.
        f.add(field(RAIL), 1);
        f.shift_base(STRIDE as isize);
        f.add(field(RAIL), -1);
        f.goto(field(VAL));
    });
    f.finish()
}

/// Generates the BF self-interpreter.
pub fn program() -> String {
    let mut b = Builder::new();
    b.goto(Cell(PROGRAM));
    b.raw(&loader());
    b.raw(&interpreter());
    b.finish()
}

/// The inner program: reads `passes`, `rows`, the star and the newline, then prints the triangle
/// (row `i` has `i` stars) `passes` times.
pub fn inner_program() -> String {
    let mut b = Builder::new();
    let passes = b.alloc();
    let rows = b.alloc();
    let star = b.alloc();
    let newline = b.alloc();
    for c in [passes, rows, star, newline] {
        b.input(c);
    }
    b.while_nonzero(passes, |b| {
        let left = b.alloc();
        let row = b.alloc();
        b.copy_add(rows, &[(left, 1)]);
        b.while_nonzero(left, |b| {
            b.add(row, 1);
            let stars = b.alloc();
            b.copy_add(row, &[(stars, 1)]);
            b.while_nonzero(stars, |b| {
                b.output(star);
                b.add(stars, -1);
            });
            b.release(stars);
            b.output(newline);
            b.add(left, -1);
        });
        b.release(left);
        b.free(row);
        b.add(passes, -1);
    });
    b.finish()
}

/// The interpreter's input: the inner program, the terminator, and the inner program's input.
pub fn input(p: &Params) -> Vec<u8> {
    let mut input = inner_program().into_bytes();
    input.push(END_OF_PROGRAM);
    input.extend_from_slice(&inner_input(p));
    input
}

fn inner_input(p: &Params) -> Vec<u8> {
    vec![p.passes, p.rows, b'*', b'\n']
}

/// Runs the inner program on its input with a plain Rust BF interpreter, independently of any BF
/// engine of the crate.
pub fn expected(p: &Params) -> Vec<u8> {
    let code = inner_program().into_bytes();
    let mut partner = vec![0usize; code.len()];
    let mut open = Vec::new();
    for (i, &c) in code.iter().enumerate() {
        match c {
            b'[' => open.push(i),
            b']' => {
                let j = open.pop().expect("balanced inner program");
                partner[i] = j;
                partner[j] = i;
            }
            _ => {}
        }
    }
    let input = inner_input(p);
    let mut input = input.iter();
    let mut tape = [0u8; 64];
    let (mut ptr, mut pc) = (0usize, 0usize);
    let mut out = Vec::new();
    while pc < code.len() {
        match code[pc] {
            b'+' => tape[ptr] = tape[ptr].wrapping_add(1),
            b'-' => tape[ptr] = tape[ptr].wrapping_sub(1),
            b'>' => ptr += 1,
            b'<' => ptr -= 1,
            b'.' => out.push(tape[ptr]),
            b',' => tape[ptr] = input.next().copied().unwrap_or(0),
            b'[' if tape[ptr] == 0 => pc = partner[pc],
            b']' if tape[ptr] != 0 => pc = partner[pc],
            _ => {}
        }
        pc += 1;
    }
    out
}
