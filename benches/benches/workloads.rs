//! Criterion benchmarks of every available backend on every workload: compile time and run time as
//! separate benchmark functions (`compile/<workload>/<backend>`, `run/<workload>/<backend>`), and
//! compile time against program size at 10k, 100k and 1M commands (`compile_scaling/<backend>/<n>`).
//!
//! Each pair is compiled, run and verified against the expected output once before it is timed; a
//! pair that fails is reported and not timed. `BFJIT_BENCH_QUICK=1` selects the quick mode (see
//! `benches/lib.rs` and docs/report.md).

use std::hint::black_box;

use std::time::{Duration, Instant};

use bfjit_backends::{Backend, Config, Executable, Program};
use bfjit_benches::{backends, compile_limit, criterion, run_limit, workloads};
use bfjit_harness::bench::{probe, verify, SCALING_SIZES};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

fn run_once(executable: &dyn Executable, input: &[u8], capacity: usize) {
    let mut input = input;
    let mut output = Vec::with_capacity(capacity);
    black_box(executable.run(&mut input, &mut output));
    black_box(output);
}

/// Seconds per command each backend takes to compile the 10k-command scaling program, measured once
/// when a workload is larger than that (to skip compiles that would take minutes, e.g. C at -O3).
struct CompileRates {
    program: Program,
    rates: Vec<(&'static str, f64)>,
}

impl CompileRates {
    fn new() -> CompileRates {
        let program = Program::parse(bfjit_harness::workloads::scaling_program(10_000))
            .expect("scaling programs are balanced");
        CompileRates {
            program,
            rates: Vec::new(),
        }
    }

    /// The predicted compile time of `commands` commands on `backend`.
    fn predict(&mut self, backend: &'static dyn Backend, commands: usize) -> Duration {
        if commands <= self.program.len() {
            return Duration::ZERO;
        }
        let rate = match self.rates.iter().find(|(name, _)| *name == backend.name()) {
            Some((_, rate)) => *rate,
            None => {
                let start = Instant::now();
                let _ = backend.compile(&self.program, &Config::default());
                let rate = start.elapsed().as_secs_f64() / self.program.len() as f64;
                self.rates.push((backend.name(), rate));
                rate
            }
        };
        Duration::from_secs_f64(rate * commands as f64)
    }
}

fn workload_benches(c: &mut Criterion) {
    let backends = backends();
    let mut rates = CompileRates::new();
    for workload in workloads() {
        let name = workload.name().replace('/', "_");
        let expected_len = workload.case.expected_output.as_ref().map_or(0, Vec::len);
        // Probe every pair first: verified pairs are timed, failing and very slow ones are not.
        let mut ready = Vec::new();
        for &backend in &backends {
            let predicted = rates.predict(backend, workload.program.len());
            if predicted > compile_limit() {
                eprintln!(
                    "note: {} on {name}: compiling would take about {:.0} s, over the {} s limit; not timed",
                    backend.name(),
                    predicted.as_secs_f64(),
                    compile_limit().as_secs()
                );
                continue;
            }
            match probe(backend, &workload) {
                Ok((_, run)) if run > run_limit() => eprintln!(
                    "note: {} on {name}: one run took {:.1} s, over the {} s criterion limit; \
                     `bfjit bench` measures it with capped runs",
                    backend.name(),
                    run.as_secs_f64(),
                    run_limit().as_secs()
                ),
                Ok(_) => ready.push(backend),
                Err((verdict, detail)) => eprintln!(
                    "warning: {} on {name}: {} — {detail}; not timed",
                    backend.name(),
                    verdict.name()
                ),
            }
        }

        let mut group = c.benchmark_group(format!("compile/{name}"));
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Elements(workload.program.len() as u64));
        for &backend in &ready {
            let config = workload.case.config;
            group.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
                b.iter_with_large_drop(|| {
                    backend
                        .compile(black_box(&workload.program), &config)
                        .expect("compiled in the probe")
                })
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("run/{name}"));
        group.sampling_mode(SamplingMode::Flat);
        for &backend in &ready {
            let Ok(executable) = backend.compile(&workload.program, &workload.case.config) else {
                continue;
            };
            if let Err((_, detail)) = verify(executable.as_ref(), &workload) {
                eprintln!("warning: {} on {name}: {detail}; not timed", backend.name());
                continue;
            }
            group.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
                b.iter(|| run_once(executable.as_ref(), &workload.case.input, expected_len))
            });
        }
        group.finish();
    }
}

fn scaling_benches(c: &mut Criterion) {
    let programs: Vec<(usize, Program)> = SCALING_SIZES
        .iter()
        .map(|&n| {
            let program = Program::parse(bfjit_harness::workloads::scaling_program(n))
                .expect("scaling programs are balanced");
            (n, program)
        })
        .collect();
    let config = Config::default();
    for backend in backends() {
        let mut group = c.benchmark_group(format!("compile_scaling/{}", backend.name()));
        group.sampling_mode(SamplingMode::Flat);
        for (i, (n, program)) in programs.iter().enumerate() {
            let start = std::time::Instant::now();
            if let Err(e) = backend.compile(program, &config) {
                eprintln!(
                    "warning: {} cannot compile {n} commands: {e}",
                    backend.name()
                );
                break;
            }
            let once = start.elapsed();
            if once > compile_limit() {
                eprintln!(
                    "note: {}: {n} commands took {:.2} s to compile, over the {} s limit; \
                     this and larger sizes skipped",
                    backend.name(),
                    once.as_secs_f64(),
                    compile_limit().as_secs()
                );
                break;
            }
            group.throughput(Throughput::Elements(*n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), program, |b, program| {
                b.iter_with_large_drop(|| backend.compile(black_box(program), &config))
            });
            if once * 10 > compile_limit() && i + 1 < programs.len() {
                eprintln!(
                    "note: {}: {n} commands took {:.2} s to compile; larger sizes skipped",
                    backend.name(),
                    once.as_secs_f64()
                );
                break;
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = workload_benches, scaling_benches
}
criterion_main!(benches);
