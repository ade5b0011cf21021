//! The simple JITs (`dynasm-simple`, `handjit`) against the reference: compile time of a
//! million-command program, and run time of a loop-heavy program (compile excluded).

use std::hint::black_box;

use bfjit_backends::{
    backend_by_name, run_collect, Availability, Backend, Config, Program, Status,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Three nested counting loops of 255 iterations each (about 16.6 million inner iterations).
const NESTED_COUNTING: &str = "-[>-[>-[>+>+<<-]<-]<-]>>>.";

/// The named backend, when it runs on this machine.
fn available(name: &str) -> Option<&'static dyn Backend> {
    backend_by_name(name).filter(|b| b.availability() == Availability::Available)
}

/// A straight mix of every command kind, repeated to a million commands.
fn million_commands() -> Program {
    let chunk = "+>+<[->+<]>.<,";
    Program::parse(chunk.repeat(1_000_000 / chunk.len() + 1)).unwrap()
}

fn compile_time(c: &mut Criterion) {
    let program = million_commands();
    let mut group = c.benchmark_group("simple_jits/compile_1m");
    group.sample_size(10);
    for name in ["dynasm-simple", "handjit"] {
        let Some(backend) = available(name) else {
            continue;
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                backend
                    .compile(black_box(&program), &Config::default())
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn run_time(c: &mut Criterion) {
    let program = Program::parse(NESTED_COUNTING).unwrap();
    let mut group = c.benchmark_group("simple_jits/nested_counting");
    group.sample_size(10);
    for name in ["reference", "dynasm-simple", "handjit"] {
        let Some(backend) = available(name) else {
            continue;
        };
        let exe = backend.compile(&program, &Config::default()).unwrap();
        assert_eq!(run_collect(exe.as_ref(), b"").status, Status::Ok);
        group.bench_with_input(BenchmarkId::from_parameter(name), &exe, |b, exe| {
            b.iter(|| run_collect(exe.as_ref(), b""))
        });
    }
    group.finish();
}

criterion_group!(benches, compile_time, run_time);
criterion_main!(benches);
