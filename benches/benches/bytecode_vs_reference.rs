//! The `bytecode` backend against the reference interpreter on loop-heavy programs (run time only,
//! compile excluded). The programs are written here: one dominated by copy and multiply loops (which
//! the optimizer folds), one whose inner loop cannot be folded (raw dispatch speed).

use std::hint::black_box;

use bfjit_backends::{backend_by_name, run_collect, Config, Program, Status};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Three nested counting loops of 255 iterations each; the innermost is a multiply loop.
const NESTED_COUNTING: &str = "-[>-[>-[>+>+<<-]<-]<-]>>>.";

/// 100 x 100 rounds of: set a cell to 255, copy it to two cells, move one copy back.
const COPY_LOOPS: &str = "++++++++++[>++++++++++<-]>[>++++++++++[>++++++++++<-]>\
                          [>[-]-[->+>+<<]>>[-<<+>>]<<<-]<<-]>>>>.";

/// 255 x 255 inner loops stepping the loop cell by 2 (`[--]`-like: not a clear, not a multiply),
/// so the bytecode runs every iteration just as the reference does.
const KEPT_LOOPS: &str = "-[>-[>[-]--[->+<->+<]<-]<-]>>>.";

fn run_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("bytecode_vs_reference");
    group.sample_size(10);
    for (label, src) in [
        ("nested_counting", NESTED_COUNTING),
        ("copy_loops", COPY_LOOPS),
        ("kept_loops", KEPT_LOOPS),
    ] {
        let program = Program::parse(src).unwrap();
        let mut expected = None;
        for name in ["reference", "bytecode"] {
            let backend = backend_by_name(name).expect("registered backend");
            let exe = backend.compile(&program, &Config::default()).unwrap();
            let outcome = run_collect(exe.as_ref(), b"");
            assert_eq!(outcome.status, Status::Ok, "{label} on {name}");
            // Both backends must produce the same result before either is timed.
            let expected = expected.get_or_insert_with(|| outcome.clone());
            assert_eq!(expected.output, outcome.output, "{label} on {name}");
            assert_eq!(expected.tape, outcome.tape, "{label} on {name}");
            group.bench_with_input(BenchmarkId::new(label, name), &exe, |b, exe| {
                b.iter(|| run_collect(black_box(exe.as_ref()), b""))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, run_time);
criterion_main!(benches);
