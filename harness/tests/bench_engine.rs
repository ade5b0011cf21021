//! The measurement engine of `bfjit bench` on tiny programs: verified times, wrong answers and
//! failures recorded as such, the time budget, and the results file round trip.

use std::path::PathBuf;
use std::time::Duration;

use bfjit_backends::{backend_by_name, registry, Availability};
use bfjit_harness::bench::{self, load_workloads, measure, LoadError, Plan, Results, Verdict};

/// Writes `name.bf` and `name.out` into `dir`.
fn write(dir: &std::path::Path, name: &str, source: &str, expected: &[u8]) -> PathBuf {
    let bf = dir.join(format!("{name}.bf"));
    std::fs::write(&bf, source).unwrap();
    std::fs::write(dir.join(format!("{name}.out")), expected).unwrap();
    bf
}

fn tiny_plan() -> Plan {
    Plan {
        runs: 3,
        warmup: 1,
        cell_budget: Duration::from_secs(5),
        scaling_sizes: vec![],
        scaling_runs: 1,
        scaling_budget: Duration::from_secs(5),
        compile_budget: Duration::from_secs(60),
        quick: true,
        externals: Vec::new(),
        bfjit: None,
        callgrind: false,
    }
}

/// 8 * 8 + 1 = 65: prints "A".
const PRINT_A: &str = "++++++++[>++++++++<-]>+.";

#[test]
fn every_available_backend_is_measured_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", PRINT_A, b"A");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(workloads.len(), 1);
    for backend in registry() {
        let cell = measure(backend, &workloads[0], &tiny_plan());
        assert_eq!(cell.backend, backend.name());
        match backend.availability() {
            Availability::Available => {
                assert_eq!(
                    cell.verdict,
                    Verdict::Ok,
                    "{}: {:?}",
                    backend.name(),
                    cell.detail
                );
                let (compile, run) = (cell.compile.unwrap(), cell.run.unwrap());
                assert_eq!(run.samples, 3);
                assert_eq!(compile.samples, 3);
                assert!(run.min <= run.median && run.median <= run.max);
                assert!(compile.min <= compile.median && compile.median <= compile.max);
            }
            Availability::Unsupported(_) => {
                assert_eq!(cell.verdict, Verdict::Unsupported);
                assert!(cell.run.is_none());
            }
        }
    }
}

#[test]
fn a_wrong_expected_output_is_reported_as_wrong_never_as_a_time() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", PRINT_A, b"B");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let reference = backend_by_name("reference").unwrap();
    let cell = measure(reference, &workloads[0], &tiny_plan());
    assert_eq!(cell.verdict, Verdict::Wrong);
    assert!(cell.compile.is_none() && cell.run.is_none());
    let detail = cell.detail.unwrap();
    assert!(detail.contains("byte 0"), "{detail}");
}

#[test]
fn a_short_output_and_a_failing_run_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "short", PRINT_A, b"AA");
    write(dir.path(), "falls_off", "+.<", b"\x01");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<&str> = workloads.iter().map(|w| w.name()).collect();
    assert_eq!(names, ["falls_off", "short"]);
    let reference = backend_by_name("reference").unwrap();
    let falls_off = measure(reference, &workloads[0], &tiny_plan());
    assert_eq!(falls_off.verdict, Verdict::Failed);
    assert!(falls_off.detail.unwrap().contains("left of cell 0"));
    let short = measure(reference, &workloads[1], &tiny_plan());
    assert_eq!(short.verdict, Verdict::Wrong);
    assert!(short.run.is_none());
}

#[test]
fn a_cell_over_budget_keeps_one_run_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", PRINT_A, b"A");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let mut plan = tiny_plan();
    plan.cell_budget = Duration::from_nanos(1);
    let cell = measure(backend_by_name("reference").unwrap(), &workloads[0], &plan);
    assert_eq!(cell.verdict, Verdict::Ok);
    assert!(cell.capped);
    assert_eq!(cell.run.unwrap().samples, 1);
    assert!(cell.detail.unwrap().contains("one run only"));
}

#[test]
fn workloads_need_an_expected_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lonely.bf"), "+").unwrap();
    let err = load_workloads(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(matches!(err, LoadError::NoExpectedOutput { .. }));
    assert!(err.to_string().contains("lonely.out"));
    let empty = tempfile::tempdir().unwrap();
    let err = load_workloads(&[empty.path().to_path_buf()]).unwrap_err();
    assert!(matches!(err, LoadError::Empty { .. }));
    let err = load_workloads(&[empty.path().join("missing.bf")]).unwrap_err();
    assert!(matches!(err, LoadError::NotFound { .. }));
}

#[test]
fn a_whole_run_round_trips_through_json_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", PRINT_A, b"A");
    write(dir.path(), "wrong", PRINT_A, b"Z");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let backends = vec![
        backend_by_name("reference").unwrap(),
        backend_by_name("reference").unwrap(),
    ];
    let mut plan = tiny_plan();
    plan.scaling_sizes = vec![1000, 100];
    let mut steps = 0;
    let results = bench::run(&backends, &workloads, &plan, &mut |step| {
        if matches!(step, bench::Step::Done) {
            steps += 1;
        }
    });
    assert_eq!(steps, bench::step_count(&backends, &workloads, &plan));
    assert_eq!(results.workloads.len(), 2);
    assert_eq!(results.workloads[1].cells[0].verdict, Verdict::Wrong);
    let sizes: Vec<usize> = results.scaling.iter().map(|p| p.commands).collect();
    assert_eq!(sizes, [100, 1000, 100, 1000]);
    let json = serde_json::to_string(&results).unwrap();
    let back: Results = serde_json::from_str(&json).unwrap();
    assert_eq!(back, results);
    let html = bfjit_harness::report::render(&back, None).unwrap();
    assert!(html.contains("reference on wrong: wrong output"));
}

#[test]
fn a_compile_predicted_over_budget_is_skipped_and_said() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", PRINT_A, b"A");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let backends = vec![backend_by_name("reference").unwrap()];
    let mut plan = tiny_plan();
    plan.scaling_sizes = vec![100];
    plan.compile_budget = Duration::from_nanos(1);
    let results = bench::run(&backends, &workloads, &plan, &mut |_| {});
    let cell = &results.workloads[0].cells[0];
    assert_eq!(cell.verdict, Verdict::Skipped);
    assert!(cell.run.is_none());
    assert!(cell.detail.as_ref().unwrap().contains("compile budget"));
    assert!(results.notes.iter().any(|n| n.contains("compile budget")));
    // Without a scaling measurement there is no prediction: the cell is measured.
    plan.scaling_sizes.clear();
    let results = bench::run(&backends, &workloads, &plan, &mut |_| {});
    assert_eq!(results.workloads[0].cells[0].verdict, Verdict::Ok);
}
