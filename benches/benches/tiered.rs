//! `tiered` against its two neighbours, in one run: on short programs (well under a millisecond of
//! interpretation) against the `bytecode` interpreter, run time only (both compile the same way), and
//! on the mandelbrot workload against `dynasm-opt`, compile time included (the tiered JIT compiles
//! during the run, so the fair comparison counts `dynasm-opt`'s up-front compile too).

use std::hint::black_box;
use std::path::Path;

use bfjit_backends::{backend_by_name, run_collect, Availability, Backend, Config, Program};
use bfjit_benches::criterion;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Short programs of the corpus (relative to `corpus/`).
const SHORT: [&str; 7] = [
    "hello",
    "numbers",
    "mul",
    "scans",
    "nesting",
    "bench/quick/nested",
    "bench/quick/fizzbuzz",
];

/// The named backend, when it runs on this machine.
fn available(name: &str) -> Option<&'static dyn Backend> {
    backend_by_name(name).filter(|b| b.availability() == Availability::Available)
}

/// A corpus program and its expected output.
fn load(corpus: &Path, name: &str) -> (Program, Vec<u8>) {
    let source = std::fs::read(corpus.join(format!("{name}.bf"))).expect("corpus program");
    let expected = std::fs::read(corpus.join(format!("{name}.out"))).expect("expected output");
    (Program::parse(source).expect("valid program"), expected)
}

fn short_programs(c: &mut Criterion) {
    let corpus = bfjit_harness::corpus::default_dir();
    let mut group = c.benchmark_group("tiered/short");
    for name in SHORT {
        let (program, expected) = load(&corpus, name);
        for backend in ["bytecode", "tiered"] {
            let Some(backend) = available(backend) else {
                continue;
            };
            let exe = backend.compile(&program, &Config::default()).unwrap();
            assert_eq!(run_collect(exe.as_ref(), b"").output, expected, "{name}");
            group.bench_with_input(BenchmarkId::new(name, backend.name()), &exe, |b, exe| {
                b.iter(|| run_collect(black_box(exe.as_ref()), b""))
            });
        }
    }
    group.finish();
}

fn mandelbrot(c: &mut Criterion) {
    let corpus = bfjit_harness::corpus::default_dir();
    let name = if bfjit_benches::quick() {
        "bench/quick/mandelbrot"
    } else {
        "bench/mandelbrot"
    };
    let (program, expected) = load(&corpus, name);
    let mut group = c.benchmark_group("tiered/mandelbrot");
    for backend in ["dynasm-opt", "tiered"] {
        let Some(backend) = available(backend) else {
            continue;
        };
        let exe = backend.compile(&program, &Config::default()).unwrap();
        assert_eq!(run_collect(exe.as_ref(), b"").output, expected, "{name}");
        group.bench_function(BenchmarkId::new("compile+run", backend.name()), |b| {
            b.iter(|| {
                let exe = backend
                    .compile(black_box(&program), &Config::default())
                    .unwrap();
                run_collect(exe.as_ref(), b"")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = short_programs, mandelbrot
}
criterion_main!(benches);
