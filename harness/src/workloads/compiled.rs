//! The compiled-code workload: a program in a tiny statement language, compiled to BF the way
//! compilers from higher-level languages do it, with many variables at fixed cells.
//!
//! The language has byte variables (wrapping arithmetic) and statements: assign a constant or a
//! variable, add a constant or a multiple of a variable, `if v != 0`, `if v == k … else …`, repeat a
//! block a constant number of times, print a variable. [`compile`] turns it into BF with the workload
//! builder: thousands of small loops over cells at fixed offsets, copies through temporaries,
//! `[ … [-]]` conditionals; most values are known at compile time. [`run`] interprets the same
//! program in plain Rust for the expected output. [`generate`] makes a deterministic random program.

use super::builder::{Builder, Cell};

/// A statement of the tiny language. Variables are numbered from 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// `v = k`
    SetConst(usize, u8),
    /// `v = w`
    Copy(usize, usize),
    /// `v += k`
    AddConst(usize, u8),
    /// `v += w * k`
    AddMul(usize, usize, u8),
    /// `if v != 0 { … }`
    IfNonzero(usize, Vec<Stmt>),
    /// `if v == k { … } else { … }` (branches hold statements without blocks)
    IfEquals(usize, u8, Vec<Stmt>, Vec<Stmt>),
    /// `repeat k { … }`
    Repeat(u8, Vec<Stmt>),
    /// `print v`
    Print(usize),
}

/// The workload's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Number of variables.
    pub vars: usize,
    /// Number of top-level statements.
    pub statements: usize,
    /// Random seed of the program.
    pub seed: u64,
}

/// The full size.
pub const FULL: Params = Params {
    vars: 48,
    statements: 250,
    seed: 0x5eed_c0de,
};

/// The quick size.
pub const QUICK: Params = Params {
    vars: 16,
    statements: 40,
    seed: 0x5eed_c0de,
};

/// A deterministic random program: mostly assignments and arithmetic, conditionals and small repeat
/// blocks nested at most two deep, a print every few statements, and every variable printed at the end.
pub fn generate(p: &Params) -> Vec<Stmt> {
    let mut rng = p.seed | 1;
    let mut next = move |n: u64| {
        // xorshift64*
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    };
    // Blocks nest at most two deep, so `statement` recurses at most twice.
    let mut program = Vec::new();
    for _ in 0..p.statements {
        program.push(statement(&mut next, p.vars, 0));
    }
    for v in 0..p.vars {
        program.push(Stmt::Print(v));
    }
    program
}

fn statement(next: &mut dyn FnMut(u64) -> u64, vars: usize, depth: usize) -> Stmt {
    let pick = if depth >= 2 { next(8) } else { next(13) };
    let block = |next: &mut dyn FnMut(u64) -> u64, n: u64, nested: bool| -> Vec<Stmt> {
        let len = 1 + next(n);
        (0..len)
            .map(|_| match nested {
                true => statement(next, vars, depth + 1),
                false => simple_statement(next, vars),
            })
            .collect()
    };
    match pick {
        8 => {
            let w = next(vars as u64) as usize;
            Stmt::IfNonzero(w, block(next, 3, true))
        }
        9 => {
            let (w, k) = (next(vars as u64) as usize, next(4) as u8);
            let then = block(next, 2, false);
            Stmt::IfEquals(w, k, then, block(next, 2, false))
        }
        10..=12 => {
            let n = 2 + next(60) as u8;
            Stmt::Repeat(n, block(next, 3, true))
        }
        _ => simple_statement(next, vars),
    }
}

/// A statement without a block.
fn simple_statement(next: &mut dyn FnMut(u64) -> u64, vars: usize) -> Stmt {
    let v = next(vars as u64) as usize;
    let w = next(vars as u64) as usize;
    match next(8) {
        0 | 1 => Stmt::SetConst(v, next(256) as u8),
        2 | 3 => Stmt::Copy(v, w),
        4 => Stmt::AddConst(v, next(256) as u8),
        5 | 6 => Stmt::AddMul(v, w, 1 + next(4) as u8),
        _ => Stmt::Print(v),
    }
}

/// Compiles `program` over `vars` variables to BF.
pub fn compile(program: &[Stmt], vars: usize) -> String {
    let mut b = Builder::new();
    let cells: Vec<Cell> = (0..vars).map(|_| b.alloc()).collect();
    // Statements to compile, with the code that closes a block after its last statement.
    enum Work<'a> {
        Stmt(&'a Stmt),
        CloseIf(Cell),
        CloseRepeat(Cell),
    }
    let mut work: Vec<Work> = program.iter().rev().map(Work::Stmt).collect();
    while let Some(item) = work.pop() {
        let stmt = match item {
            Work::Stmt(s) => s,
            Work::CloseIf(flag) => {
                b.clear(flag);
                b.loop_close(flag);
                b.release(flag);
                continue;
            }
            Work::CloseRepeat(counter) => {
                b.add(counter, -1);
                b.loop_close(counter);
                b.release(counter);
                continue;
            }
        };
        match stmt {
            Stmt::IfNonzero(w, body) => {
                // `flag = w; flag[ body flag[-] ]`: the conditional compilers emit.
                let flag = b.alloc();
                b.copy_add(cells[*w], &[(flag, 1)]);
                b.loop_open(flag);
                work.push(Work::CloseIf(flag));
                work.extend(body.iter().rev().map(Work::Stmt));
            }
            Stmt::IfEquals(w, k, then, otherwise) => {
                let t = b.alloc();
                b.copy_add(cells[*w], &[(t, 1)]);
                b.add(t, -(*k as i32));
                // `t != 0` means "not equal": the else branch.
                b.if_else(
                    t,
                    |b| otherwise.iter().for_each(|s| compile_simple(b, s, &cells)),
                    |b| then.iter().for_each(|s| compile_simple(b, s, &cells)),
                );
                b.free(t);
            }
            Stmt::Repeat(n, body) => {
                let counter = b.alloc();
                b.set(counter, *n);
                b.loop_open(counter);
                work.push(Work::CloseRepeat(counter));
                work.extend(body.iter().rev().map(Work::Stmt));
            }
            simple => compile_simple(&mut b, simple, &cells),
        }
    }
    b.finish()
}

/// Compiles a statement without a block (others are ignored: `compile` handles them).
fn compile_simple(b: &mut Builder, stmt: &Stmt, cells: &[Cell]) {
    match stmt {
        Stmt::SetConst(v, k) => b.set(cells[*v], *k),
        Stmt::Copy(v, w) if v != w => b.copy(cells[*w], cells[*v]),
        Stmt::AddConst(v, k) => b.add(cells[*v], *k as i32),
        Stmt::AddMul(v, w, k) if v == w => {
            // v += v * k is v *= k + 1: through a temporary.
            let t = b.alloc();
            b.move_add(cells[*v], &[(t, 1 + *k as i32)]);
            b.move_add(t, &[(cells[*v], 1)]);
            b.release(t);
        }
        Stmt::AddMul(v, w, k) => b.copy_add(cells[*w], &[(cells[*v], *k as i32)]),
        Stmt::Print(v) => b.output(cells[*v]),
        _ => {}
    }
}

/// Interprets `program` over `vars` byte variables (all 0 at the start); the bytes it prints.
pub fn run(program: &[Stmt], vars: usize) -> Vec<u8> {
    let mut v = vec![0u8; vars];
    let mut out = Vec::new();
    // An explicit stack of (block, next index, repetitions left after this pass).
    let mut stack: Vec<(&[Stmt], usize, u8)> = vec![(program, 0, 0)];
    while let Some((block, i, again)) = stack.pop() {
        if i == block.len() {
            if again > 0 {
                stack.push((block, 0, again - 1));
            }
            continue;
        }
        stack.push((block, i + 1, again));
        match &block[i] {
            Stmt::SetConst(x, k) => v[*x] = *k,
            Stmt::Copy(x, y) => v[*x] = v[*y],
            Stmt::AddConst(x, k) => v[*x] = v[*x].wrapping_add(*k),
            Stmt::AddMul(x, y, k) => v[*x] = v[*x].wrapping_add(v[*y].wrapping_mul(*k)),
            Stmt::Print(x) => out.push(v[*x]),
            Stmt::IfNonzero(x, body) => {
                if v[*x] != 0 {
                    stack.push((body, 0, 0));
                }
            }
            Stmt::IfEquals(x, k, then, otherwise) => {
                let branch = if v[*x] == *k { then } else { otherwise };
                stack.push((branch, 0, 0));
            }
            Stmt::Repeat(n, body) => {
                if *n > 0 {
                    stack.push((body, 0, n - 1));
                }
            }
        }
    }
    out
}

/// Generates the BF program and the expected output.
pub fn program_and_expected(p: &Params) -> (String, Vec<u8>) {
    let program = generate(p);
    (compile(&program, p.vars), run(&program, p.vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpreter_follows_the_language() {
        let program = vec![
            Stmt::SetConst(0, 3),
            Stmt::Repeat(4, vec![Stmt::AddMul(1, 0, 2)]),
            Stmt::Copy(2, 1),
            Stmt::AddConst(2, 250),
            Stmt::IfNonzero(2, vec![Stmt::Print(2)]),
            Stmt::IfEquals(1, 24, vec![Stmt::Print(0)], vec![Stmt::Print(1)]),
            Stmt::Print(1),
        ];
        assert_eq!(run(&program, 3), vec![18, 3, 24]);
    }
}
