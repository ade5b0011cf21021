//! `dynasm-opt`, the optimizing JIT: compile time at 10k, 100k and 1M commands (throughput in
//! commands per second, so linear growth shows as a flat rate), and run time (compile excluded) on
//! the loop-heavy workloads against `dynasm-simple`, `bytecode` and `reference`. The C baseline is
//! timed by `bfjit bench` (its compile takes minutes on the full mandelbrot).

use std::hint::black_box;
use std::time::Instant;

use bfjit_backends::{backend_by_name, run_collect, Availability, Backend, Config, Program};
use bfjit_benches::{criterion, run_limit};
use bfjit_harness::workloads::{family, scaling_program, Size};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// The named backend, when it runs on this machine.
fn available(name: &str) -> Option<&'static dyn Backend> {
    backend_by_name(name).filter(|b| b.availability() == Availability::Available)
}

fn compile_time(c: &mut Criterion) {
    let Some(backend) = available("dynasm-opt") else {
        return;
    };
    let mut group = c.benchmark_group("dynasm_opt/compile");
    for commands in [10_000usize, 100_000, 1_000_000] {
        let program = Program::parse(scaling_program(commands)).unwrap();
        group.throughput(Throughput::Elements(commands as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(commands),
            &program,
            |b, program| {
                b.iter(|| {
                    backend
                        .compile(black_box(program), &Config::default())
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

fn run_time(c: &mut Criterion) {
    let size = if bfjit_benches::quick() {
        Size::Quick
    } else {
        Size::Full
    };
    for name in ["mandelbrot", "nested", "sieve", "scan"] {
        let Some(family) = family(name) else {
            continue;
        };
        let workload = family.generate(size);
        let program = Program::parse(workload.program.as_str()).unwrap();
        let mut group = c.benchmark_group(format!("dynasm_opt/run/{name}"));
        for backend in ["dynasm-opt", "dynasm-simple", "bytecode", "reference"] {
            let Some(backend) = available(backend) else {
                continue;
            };
            let exe = backend.compile(&program, &Config::default()).unwrap();
            // Verify once, and leave out pairs too slow for criterion's ten samples.
            let start = Instant::now();
            let outcome = run_collect(exe.as_ref(), &workload.input);
            assert_eq!(
                outcome.output,
                workload.expected,
                "{} on {name}",
                backend.name()
            );
            if start.elapsed() > run_limit() {
                continue;
            }
            group.bench_function(backend.name(), |b| {
                b.iter(|| run_collect(exe.as_ref(), &workload.input))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = compile_time, run_time
}
criterion_main!(benches);
