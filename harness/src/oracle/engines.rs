//! Engine selection: which engines a check compares, and the reference run they are compared with.

use std::fmt;

use bfjit_backends::{compile_and_run, registry, Availability, Backend, Outcome};

use crate::case::Case;
use crate::external::ExternalEngine;

/// An engine the oracle compares against `reference`.
#[derive(Clone)]
pub enum Engine {
    /// A backend from the registry (or a test backend): full outcome compared, tape included.
    Backend(&'static dyn Backend),
    /// An external program: output and success compared.
    External(ExternalEngine),
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Backend(b) => write!(f, "Backend({})", b.name()),
            Engine::External(e) => write!(f, "External({e:?})"),
        }
    }
}

impl Engine {
    /// The engine's name.
    pub fn name(&self) -> &str {
        match self {
            Engine::Backend(b) => b.name(),
            Engine::External(e) => &e.name,
        }
    }
}

/// Engines to run, and the backends that cannot run here with the reason.
pub type Selection = (Vec<Engine>, Vec<(String, String)>);

/// The engines to check by default: every registered backend except `reference`, and the
/// backends that are unsupported here with the reason (reported, not run).
pub fn default_engines() -> Selection {
    select_backends(
        registry()
            .into_iter()
            .filter(|b| b.name() != "reference")
            .collect(),
    )
}

/// Splits backends into the available ones and the unsupported ones with their reason.
pub fn select_backends(backends: Vec<&'static dyn Backend>) -> Selection {
    let mut engines = Vec::new();
    let mut skipped = Vec::new();
    for backend in backends {
        match backend.availability() {
            Availability::Available => engines.push(Engine::Backend(backend)),
            Availability::Unsupported(why) => skipped.push((backend.name().to_string(), why)),
        }
    }
    (engines, skipped)
}

/// Runs the reference on `case` with a fuel budget.
pub fn run_reference(case: &Case, budget: u64) -> Outcome {
    run_judge(&bfjit_backends::reference::Reference, case, budget)
}

/// Runs `judge` (the reference, or a trusted stand-in for it that charges fuel exactly like it, see
/// [`crate::reduce`]) on `case` with a fuel budget.
pub fn run_judge(judge: &dyn Backend, case: &Case, budget: u64) -> Outcome {
    let config = case.config.with_fuel(Some(budget));
    compile_and_run(judge, &case.program, &config, &case.input)
        .unwrap_or_else(|e| panic!("{} compiles every program: {e}", judge.name()))
}
