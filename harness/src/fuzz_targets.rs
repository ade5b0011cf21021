//! Entry points of the cargo-fuzz targets in `fuzz/` (each target is one call to one of these), so
//! the targets stay thin glue and build with the rest of the harness.

use std::sync::{Mutex, OnceLock};

use bfjit_backends::ir::{blocks::guard, eval::evaluate, lower};
use bfjit_backends::optimizer::{optimize, Pass, PassList};
use bfjit_backends::{compare, Outcome, Program, Status};

use crate::case::describe_outcome;
use crate::generate::Shape;
use crate::oracle::{default_engines, Oracle, DEFAULT_BUDGET};

/// `differential`: the generated case must agree on every available registered backend (each
/// backend within a 20% time share); panics with the divergence and the case.
pub fn differential(shape: &Shape) {
    static ORACLE: OnceLock<Mutex<Oracle>> = OnceLock::new();
    let oracle = ORACLE.get_or_init(|| {
        Mutex::new(Oracle::new(default_engines().0, DEFAULT_BUDGET).time_share(0.2))
    });
    let case = shape.to_case();
    let mut oracle = oracle.lock().unwrap_or_else(|e| e.into_inner());
    let report = oracle.check(&case);
    if let Some(d) = report.first_divergence() {
        panic!(
            "{d}\nprogram: {}\ninput: {:?}\ntape_len: {}\neof: {}\nreference: {}",
            String::from_utf8_lossy(case.program.source()),
            case.input,
            case.config.tape_len(),
            case.config.eof(),
            describe_outcome(&report.reference)
        );
    }
}

/// `parse`: any bytes either parse or give a parse error with a position inside the source;
/// a parsed program's brackets are matched both ways. Never panics otherwise.
pub fn parse(bytes: &[u8]) {
    match Program::parse(bytes.to_vec()) {
        Ok(program) => {
            for (i, cmd) in program.cmds().iter().enumerate() {
                let p = cmd.partner as usize;
                if cmd.kind == bfjit_backends::CmdKind::Open {
                    assert!(p > i && program.cmds()[p].partner as usize == i);
                }
            }
        }
        Err(e) => {
            if let Some(position) = e.position() {
                assert!(position.offset < bytes.len(), "{e}");
                let _ = bfjit_backends::syntax::snippet(bytes, position);
            }
        }
    }
}

/// `optimize`: IR optimized with the passes picked by `mask` (bit i selects `Pass::ALL[i]`)
/// agrees with the unoptimized IR, both run by `ir::eval::evaluate` on guarded IR.
pub fn optimize_agrees(shape: &Shape, mask: u8) {
    let case = shape.to_case();
    let passes: Vec<&str> = Pass::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, p)| p.name())
        .collect();
    let passes = PassList::only(&passes);
    let run = |nodes: &[bfjit_backends::ir::Node], fuel: u64| {
        let mut out = Vec::new();
        let config = case.config.with_fuel(Some(fuel));
        let halt = evaluate(
            &case.program,
            nodes,
            &config,
            &mut &case.input[..],
            &mut out,
        )
        .expect("passes leave guarded IR the plan accepts");
        Outcome::new(halt, out)
    };
    let plain = guard(&case.program, lower(&case.program));
    let before = run(&plain, DEFAULT_BUDGET);
    if before.status == Status::OutOfFuel {
        return;
    }
    let optimized = optimize(&case.program, &passes);
    let after = run(&optimized, before.fuel_used);
    if let Some(d) = compare(&before, &after) {
        panic!(
            "passes '{passes}' change the outcome: {d} (unoptimized vs optimized)\nprogram: {}\n\
             input: {:?}\ntape_len: {}\neof: {}",
            String::from_utf8_lossy(case.program.source()),
            case.input,
            case.config.tape_len(),
            case.config.eof()
        );
    }
}
