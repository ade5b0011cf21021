//! Every divergence ever found lives on as a program in `corpus/regressions/` (saved by the
//! minimizer in corpus format). Each must still give the recorded reference result, and every
//! registered backend (and the bug-free folding control) must agree with `reference` on it.

use bfjit_harness::case::Case;
use bfjit_harness::corpus::{default_dir, load_dir};
use bfjit_harness::oracle::{default_engines, run_reference, Engine, Oracle};

#[test]
fn every_regression_program_agrees_on_every_backend() {
    let cases = load_dir(default_dir().join("regressions")).unwrap();
    assert!(!cases.is_empty(), "corpus/regressions/ holds no programs");
    let (mut engines, _unsupported) = default_engines();
    engines.push(Engine::Backend(
        bfjit_harness::broken::by_name("folded-control").unwrap(),
    ));
    let mut oracle = Oracle::new(engines, 0);
    for corpus_case in &cases {
        let program = corpus_case.program().unwrap();
        let budget = corpus_case.config.fuel().unwrap_or(100_000_000);
        let case = Case {
            program,
            input: corpus_case.input.clone(),
            config: corpus_case.config.with_fuel(None),
        };
        let reference = run_reference(&case, budget);
        if let Err(mismatch) = corpus_case.check(&reference) {
            panic!("{}: reference: {mismatch}", corpus_case.name);
        }
        oracle.set_budget(budget);
        let report = oracle.check(&case);
        let first = report.first_divergence().cloned();
        assert_eq!(first, None, "{}", corpus_case.name);
    }
}
