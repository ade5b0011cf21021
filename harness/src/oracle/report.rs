//! What checking one case produced: every engine's run with its judgement, and whether the case
//! counted.

use std::time::Duration;

use bfjit_backends::Outcome;

use super::classify::{Divergence, Judgement};
use crate::case::Observed;

/// One engine's part in a checked case.
#[derive(Clone, Debug)]
pub struct EngineRun {
    /// The engine's name.
    pub engine: String,
    /// What it did.
    pub observed: Observed,
    /// How it compares with the reference.
    pub judgement: Judgement,
    /// Wall time spent compiling and running it (isolation overhead included).
    pub elapsed: Duration,
}

impl EngineRun {
    /// How it disagrees, if it does.
    pub fn divergence(&self) -> Option<&Divergence> {
        self.judgement.divergence()
    }
}

/// Whether the case counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The reference finished; every engine was compared.
    Checked,
    /// The reference ran out of fuel; only the checks that hold for unfinished runs were made.
    Discarded,
    /// The reference did not finish within its time limit; nothing was compared.
    ReferenceTimedOut,
    /// The reference provably never ends (it came back to a state it was in): engines ran to their
    /// fuel or time limit, and one that finished diverges.
    Endless,
}

/// The result of checking one case.
#[derive(Clone, Debug)]
pub struct CaseReport {
    /// The reference's outcome (at the final budget).
    pub reference: Outcome,
    /// The fuel budget the reference ran with last.
    pub budget: u64,
    /// Whether the case counted.
    pub verdict: Verdict,
    /// Every engine's run, in engine order.
    pub runs: Vec<EngineRun>,
}

impl CaseReport {
    /// The divergences found, in engine order.
    pub fn divergences(&self) -> impl Iterator<Item = &Divergence> {
        self.runs.iter().filter_map(EngineRun::divergence)
    }

    /// The first divergence, in engine order.
    pub fn first_divergence(&self) -> Option<&Divergence> {
        self.divergences().next()
    }

    /// The runs the environment failed (engine and why), in engine order: not engine bugs, but
    /// nothing was decided about those engines on this case.
    pub fn environment_failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.runs.iter().filter_map(|r| match &r.judgement {
            Judgement::Environment(why) => Some((r.engine.as_str(), why.as_str())),
            _ => None,
        })
    }

    /// Whether at least one engine's run was compared with the reference.
    pub fn compared(&self) -> bool {
        self.runs
            .iter()
            .any(|r| matches!(r.judgement, Judgement::Agrees | Judgement::Diverges(_)))
    }

    /// Whether every engine agreed (a discarded case with no finding counts as agreeing; an engine
    /// the environment failed is not a disagreement, see [`CaseReport::environment_failures`]).
    pub fn agrees(&self) -> bool {
        self.divergences().next().is_none()
    }
}
