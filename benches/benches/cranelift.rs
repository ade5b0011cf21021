//! The `cranelift` backend: compile time against program size (10k, 100k and 1M commands) and on the
//! mandelbrot workload, and run time on mandelbrot (compile excluded) next to `reference`, `bytecode`
//! and `dynasm-opt` where they are available.

use std::hint::black_box;
use std::time::Duration;

use bfjit_backends::{
    backend_by_name, run_collect, Availability, Backend, Config, Program, Status,
};
use bfjit_harness::workloads::{mandelbrot, scaling_program};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// The named backend, when it is registered and runs on this machine.
fn available(name: &str) -> Option<&'static dyn Backend> {
    backend_by_name(name).filter(|b| b.availability() == Availability::Available)
}

fn cranelift() -> &'static dyn Backend {
    available("cranelift").expect("the cranelift backend runs on every supported host")
}

fn compile_scaling(c: &mut Criterion) {
    let backend = cranelift();
    let mut group = c.benchmark_group("cranelift/compile");
    group.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let program = Program::parse(scaling_program(n)).unwrap();
        if n >= 1_000_000 {
            group.measurement_time(Duration::from_secs(30));
        }
        group.bench_with_input(BenchmarkId::new("scaling", n), &program, |b, p| {
            b.iter(|| backend.compile(black_box(p), &Config::default()).unwrap())
        });
    }
    let program = Program::parse(mandelbrot::program(&mandelbrot::FULL)).unwrap();
    group.measurement_time(Duration::from_secs(5));
    group.bench_with_input(
        BenchmarkId::new("mandelbrot", program.len()),
        &program,
        |b, p| b.iter(|| backend.compile(black_box(p), &Config::default()).unwrap()),
    );
    group.finish();
}

fn run_time(c: &mut Criterion) {
    let params = mandelbrot::QUICK;
    let program = Program::parse(mandelbrot::program(&params)).unwrap();
    let expected = mandelbrot::expected(&params);
    let mut group = c.benchmark_group("cranelift/run_mandelbrot_quick");
    group.sample_size(10);
    for name in ["reference", "bytecode", "dynasm-opt", "cranelift"] {
        let Some(backend) = available(name) else {
            eprintln!("note: {name} is not available here; not measured");
            continue;
        };
        let exe = backend.compile(&program, &Config::default()).unwrap();
        let outcome = run_collect(exe.as_ref(), b"");
        assert_eq!(outcome.status, Status::Ok, "{name}");
        assert_eq!(outcome.output, expected, "{name} draws a different picture");
        group.bench_with_input(BenchmarkId::from_parameter(name), &exe, |b, exe| {
            b.iter(|| run_collect(exe.as_ref(), b""))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = compile_scaling, run_time
}
criterion_main!(benches);
