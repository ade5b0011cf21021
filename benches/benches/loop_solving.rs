//! Solved loops: `dynasm-opt`'s run time (compile excluded) on the counting-nest workload at two
//! innermost trip counts, 10x apart. The optimizer solves counting loops modulo 256 and folds nests
//! from the inside out, so the two sizes should take about the same time (the target is < 1.5x);
//! `bytecode` is measured beside it as a second consumer of the same IR.

use bfjit_backends::{backend_by_name, run_collect, Availability, Backend, Config, Program};
use bfjit_benches::criterion;
use bfjit_harness::workloads::counting;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// The named backend, when it runs on this machine.
fn available(name: &str) -> Option<&'static dyn Backend> {
    backend_by_name(name).filter(|b| b.availability() == Availability::Available)
}

fn trip_counts(c: &mut Criterion) {
    let mut group = c.benchmark_group("loop_solving/counting_nest");
    for backend in ["dynasm-opt", "bytecode"] {
        let Some(backend) = available(backend) else {
            continue;
        };
        for inner in [20u8, 200] {
            let params = counting::with_inner_count(5, inner);
            let program = Program::parse(counting::program(&params)).unwrap();
            let exe = backend.compile(&program, &Config::default()).unwrap();
            // Verify once before timing.
            let outcome = run_collect(exe.as_ref(), &[]);
            assert_eq!(outcome.output, counting::expected(&params), "{inner}");
            group.bench_with_input(
                BenchmarkId::new(backend.name(), format!("inner={inner}")),
                &exe,
                |b, exe| b.iter(|| run_collect(exe.as_ref(), &[])),
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = trip_counts
}
criterion_main!(benches);
