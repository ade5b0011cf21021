//! `bfjit bench` against peers and against yesterday: external engines timed as whole processes with
//! verified outputs, backends timed as `bfjit run` processes too, `c-naive` cells verified, the
//! baseline comparison marking a deliberate 2× slowdown and nothing when the same engine is measured
//! twice, `--compare` without measuring, and callgrind instruction counts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bfjit_backends::backend_by_name;
use bfjit_harness::bench::changes::{self, Direction};
use bfjit_harness::bench::{self, load_workloads, Plan, Results, Verdict};
use bfjit_harness::external::{ExternalEngine, DEFAULT_TIMEOUT};

const BFJIT: &str = env!("CARGO_BIN_EXE_bfjit");

/// The tests of this file measure times: they run one at a time, so that one does not slow another.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn buggy_bf() -> String {
    repo()
        .join("harness/tests/engines/buggy_bf.py")
        .display()
        .to_string()
}

/// Writes `name.bf` and `name.out` into `dir`.
fn write(dir: &Path, name: &str, source: &str, expected: &[u8]) {
    std::fs::write(dir.join(format!("{name}.bf")), source).unwrap();
    std::fs::write(dir.join(format!("{name}.out")), expected).unwrap();
}

fn plan(runs: usize) -> Plan {
    let mut plan = Plan::quick();
    plan.runs = runs;
    plan.cell_budget = Duration::from_secs(20);
    plan.scaling_sizes.clear();
    plan
}

fn engine(spec: &str) -> ExternalEngine {
    ExternalEngine::parse(spec, DEFAULT_TIMEOUT).unwrap()
}

fn cell<'a>(results: &'a Results, workload: &str, engine: &str) -> &'a bench::Cell {
    results
        .workloads
        .iter()
        .find(|w| w.name == workload)
        .unwrap()
        .cells
        .iter()
        .find(|c| c.backend == engine)
        .unwrap()
}

/// 8 * 16 + 1 = 129, then 65: a byte the buggy engine writes as two.
const HIGH_BYTE: &str = "++++++++[>++++++++++++++++<-]>+.<++++++++[>--------<-]>.";

#[test]
fn external_engines_are_verified_and_a_wrong_one_is_wrong() {
    let _timing = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "high", HIGH_BYTE, &[129, 65]);
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let mut plan = plan(2);
    plan.externals = vec![
        engine(&format!("fixed=python3 {} --fixed {{file}}", buggy_bf())),
        engine(&format!("buggy=python3 {} {{file}}", buggy_bf())),
    ];
    plan.bfjit = Some(PathBuf::from(BFJIT));
    let backends = ["bytecode", "c-naive"].map(|n| backend_by_name(n).unwrap());
    let results = bench::run(&backends, &workloads, &plan, &mut |_| {});

    let fixed = cell(&results, "high", "fixed");
    assert_eq!(fixed.verdict, Verdict::Ok, "{:?}", fixed.detail);
    let run = fixed.run.unwrap();
    assert_eq!(run.samples, 2);
    assert_eq!(
        fixed.process,
        Some(run),
        "an external engine's run is its process"
    );
    assert!(fixed.compile.is_none());

    let buggy = cell(&results, "high", "buggy");
    assert_eq!(buggy.verdict, Verdict::Wrong);
    assert!(buggy.run.is_none());
    assert!(
        buggy
            .detail
            .as_deref()
            .unwrap()
            .contains("output differs at byte 0: expected 0x81, got 0xc2"),
        "{:?}",
        buggy.detail
    );

    // Backends: in process and as `bfjit run` processes, both verified.
    for name in ["bytecode", "c-naive"] {
        let c = cell(&results, "high", name);
        assert_eq!(c.verdict, Verdict::Ok, "{name}: {:?}", c.detail);
        assert!(c.run.is_some() && c.process.is_some(), "{name}");
    }
    // Engines are described: external or not, with their start-up cost.
    let info = |name: &str| results.backends.iter().find(|b| b.name == name).unwrap();
    assert!(info("fixed").external && info("buggy").external);
    assert!(!info("bytecode").external);
    assert!(info("fixed")
        .command
        .as_deref()
        .unwrap()
        .contains("--fixed"));
    assert!(info("fixed").startup.is_some() && info("bytecode").startup.is_some());

    // The report marks external engines and ranks every engine against c-naive.
    let html = bfjit_harness::report::render(&results, None).unwrap();
    assert!(
        html.contains("fixed (external)"),
        "charts label external engines"
    );
    assert!(html.contains("badge ext"));
    assert!(html.contains("id=\"peers\"") && html.contains("× c-naive"));
    assert!(html.contains("buggy on high: wrong output"));
}

#[test]
fn a_workload_outside_an_engines_dialect_is_skipped_not_failed() {
    let _timing = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "high", HIGH_BYTE, &[129, 65]);
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let mut plan = plan(1);
    let spec = bfjit_harness::engine_spec::engine_specs(
        &[format!("ascii=python3 {} --fixed {{file}}", buggy_bf())],
        &["ascii:output=ascii".to_string()],
        &[],
    )
    .unwrap();
    plan.externals = spec
        .into_iter()
        .map(|s| ExternalEngine::new(s, DEFAULT_TIMEOUT))
        .collect();
    let results = bench::run(&[], &workloads, &plan, &mut |_| {});
    let c = cell(&results, "high", "ascii");
    assert_eq!(c.verdict, Verdict::Skipped);
    assert!(c.detail.as_deref().unwrap().contains("output=ascii"));
}

/// Six nested loops of 16: about 17 million innermost iterations, a good part of a second per
/// `bfjit run --backend reference`, so process start-up is a small part of each run.
fn busy_program() -> (String, Vec<u8>) {
    let source = format!("{}[>{}>>>>>>+.", "+".repeat(16), nest(5));
    let program = bfjit_backends::Program::parse(source.as_str()).unwrap();
    let reference = backend_by_name("reference").unwrap();
    let outcome =
        bfjit_backends::compile_and_run(reference, &program, &Default::default(), b"").unwrap();
    assert_eq!(outcome.status, bfjit_backends::Status::Ok);
    (source, outcome.output)
}

/// `depth` more loop levels of 16 inside an open loop, then the closing of every level.
fn nest(depth: usize) -> String {
    let mut s = String::new();
    for _ in 0..depth {
        s.push_str(&"+".repeat(16));
        s.push_str("[>");
    }
    s.push('+');
    for _ in 0..=depth {
        s.push_str("<-]");
    }
    s
}

#[test]
fn baseline_marks_a_2x_slowdown_and_nothing_when_measured_twice() {
    let _timing = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (source, expected) = busy_program();
    write(dir.path(), "busy", &source, &expected);
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let once = format!("eng=sh -c 'exec {BFJIT} run -b reference \"$0\"' {{file}}");
    // The same work done twice: a deliberate 2× slowdown.
    let twice = format!(
        "eng=sh -c '{BFJIT} run -b reference \"$0\" >/dev/null && exec {BFJIT} run -b reference \"$0\"' {{file}}"
    );
    let measure = |spec: &str| {
        let mut plan = plan(5);
        plan.externals = vec![engine(spec)];
        bench::run(&[], &workloads, &plan, &mut |_| {})
    };
    let first = measure(&once);
    let again = measure(&once);
    let slower = measure(&twice);
    for r in [&first, &again, &slower] {
        assert_eq!(cell(r, "busy", "eng").verdict, Verdict::Ok);
    }

    let same = changes::compare(&first, &again);
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].direction, Direction::Unchanged, "{:?}", same[0]);

    let mut marked = slower.clone();
    changes::apply(&mut marked, &first, "first/results.json");
    assert_eq!(marked.changes.len(), 1);
    let change = &marked.changes[0];
    assert_eq!(change.direction, Direction::Slower, "{change:?}");
    assert!(change.ratio > 1.5, "{change:?}");
    assert!(marked
        .baseline
        .as_deref()
        .unwrap()
        .starts_with("first/results.json ("));
    let html = bfjit_harness::report::render(&marked, None).unwrap();
    assert!(html.contains("id=\"changes\""));
    assert!(html.contains("<strong>slower</strong>"));
    assert!(html.contains("1 of 1 cells changed beyond the noise"));

    // `--compare OLD NEW` without measuring: same judgement, exit code 0, a report written.
    let files = tempfile::tempdir().unwrap();
    let save = |name: &str, r: &Results| {
        let path = files.path().join(name);
        std::fs::write(&path, serde_json::to_string(r).unwrap()).unwrap();
        path
    };
    let (old, new) = (save("old.json", &first), save("new.json", &slower));
    let out = files.path().join("out");
    let output = Command::new(BFJIT)
        .args(["bench", "--compare"])
        .args([&old, &new])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("1 of 1 cells changed beyond the noise"),
        "{stdout}"
    );
    assert!(stdout.contains("Slower"), "{stdout}");
    assert!(out.join("compare/index.html").is_file());
    let written: Results =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare/results.json")).unwrap())
            .unwrap();
    assert_eq!(written.changes.len(), 1);
}

#[test]
fn callgrind_counts_instructions_of_whole_processes() {
    let _timing = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", "++++++++[>++++++++<-]>+.", b"A");
    let workloads = load_workloads(&[dir.path().to_path_buf()]).unwrap();
    let mut plan = plan(1);
    plan.bfjit = Some(PathBuf::from(BFJIT));
    plan.callgrind = true;
    let backends = ["bytecode", "dynasm-opt"].map(|n| backend_by_name(n).unwrap());
    let first = bench::run(&backends, &workloads, &plan, &mut |_| {});
    let second = bench::run(&backends, &workloads, &plan, &mut |_| {});
    for name in ["bytecode", "dynasm-opt"] {
        let n = cell(&first, "a", name).instructions;
        assert!(
            n.is_some_and(|n| n > 10_000),
            "{name}: {n:?} {:?}",
            first.notes
        );
    }
    // Counts are stable between runs: nothing is marked.
    for change in changes::compare(&first, &second) {
        assert_eq!(
            change.instructions_direction,
            Some(Direction::Unchanged),
            "{change:?}"
        );
    }
}
