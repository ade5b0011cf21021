//! The interestingness test and the parallel candidate tester.
//!
//! A candidate is interesting when the oracle, run on the one engine being reduced, still reports a
//! divergence of the same [`Class`] (and, for crashes, of the same kind: the same signal, or a hang).
//! The engine's dialect is kept by construction (the passes never propose a tape length or EOF
//! policy it pins otherwise, [`Dialect::may_use`]) and checked again here; a case whose reference
//! run the dialect excludes is judged outside it by the oracle, so it is not interesting either.
//!
//! [`Tester::first_interesting`] tests a batch of candidates on `jobs` threads, each with its own
//! [`Oracle`] (and so its own isolation worker, a child process in its own session): workers take
//! candidates in order and stop once a lower-numbered one has been found interesting, so the answer
//! is always the first interesting candidate of the batch, whatever the timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::case::Case;
use crate::oracle::{CaseReport, Class, Divergence, Oracle};

use crate::dialect::Dialect;

/// What the reduced case must keep showing.
#[derive(Clone, Debug)]
pub struct Target {
    /// The class of divergence.
    pub class: Class,
    /// For crashes, what kind (the message up to its first `:`: `killed by signal 11 (SIGSEGV)`,
    /// `hung`); `None` for other classes.
    pub crash_kind: Option<String>,
    /// The dialect whose pinned tape length and EOF policy every candidate keeps
    /// ([`Dialect::may_use`]).
    pub dialect: Dialect,
}

impl Target {
    /// The target a divergence defines.
    pub fn of(divergence: &Divergence, dialect: Dialect) -> Target {
        Target {
            class: divergence.class,
            crash_kind: (divergence.class == Class::Crashed)
                .then(|| crash_kind(&divergence.message)),
            dialect,
        }
    }

    /// Whether `report` (of one engine's run) shows this target's divergence.
    pub fn shown_by(&self, report: &CaseReport) -> bool {
        report.runs[0].divergence().is_some_and(|d| {
            d.class == self.class
                && self
                    .crash_kind
                    .as_ref()
                    .is_none_or(|kind| *kind == crash_kind(&d.message))
        })
    }
}

fn crash_kind(message: &str) -> String {
    message.split(':').next().unwrap_or(message).to_string()
}

/// Checks candidates on several oracles at once.
pub struct Tester {
    oracles: Vec<Mutex<Oracle>>,
    target: Target,
    checks: AtomicUsize,
}

impl Tester {
    /// A tester with one oracle per job (each checks engine 0 only).
    pub fn new(oracles: Vec<Oracle>, target: Target) -> Tester {
        assert!(!oracles.is_empty(), "at least one job");
        Tester {
            oracles: oracles.into_iter().map(Mutex::new).collect(),
            target,
            checks: AtomicUsize::new(0),
        }
    }

    /// Lowers every oracle's reference budget to about twice the fuel the best case so far used
    /// (`used`; never raises it): once the program is small, a candidate that loops runs out of
    /// fuel at once instead of running as long as the original program did.
    pub fn tighten_budget(&self, used: u64) {
        let budget = used.saturating_mul(2).saturating_add(10_000);
        for oracle in &self.oracles {
            let mut oracle = oracle.lock().unwrap_or_else(|p| p.into_inner());
            if budget < oracle.budget() {
                oracle.set_budget(budget);
            }
        }
    }

    /// How many candidates have been checked.
    pub fn checks(&self) -> usize {
        self.checks.load(Ordering::Relaxed)
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Checks one case on the first oracle; the report when it is interesting.
    pub fn check(&self, case: &Case) -> Option<CaseReport> {
        let mut oracle = self.oracles[0].lock().unwrap_or_else(|p| p.into_inner());
        self.judge(&mut oracle, case)
    }

    fn judge(&self, oracle: &mut Oracle, case: &Case) -> Option<CaseReport> {
        if !self.target.dialect.may_use(&case.config) {
            return None;
        }
        self.checks.fetch_add(1, Ordering::Relaxed);
        let report = oracle.check_engines(case, &[0]);
        self.target.shown_by(&report).then_some(report)
    }

    /// The first of candidates `0..count` (made by `make`, `None` for one that cannot be made) that
    /// is interesting, with its case and report; no candidate is started after `deadline`.
    pub fn first_interesting(
        &self,
        count: usize,
        deadline: Instant,
        make: impl Fn(usize) -> Option<Case> + Sync,
    ) -> Option<(usize, Case, CaseReport)> {
        let next = AtomicUsize::new(0);
        let best = AtomicUsize::new(usize::MAX);
        let found: Mutex<Option<(usize, Case, CaseReport)>> = Mutex::new(None);
        let work = |oracle: &Mutex<Oracle>| {
            let mut oracle = oracle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= count || i > best.load(Ordering::SeqCst) || Instant::now() >= deadline {
                    return;
                }
                let Some(case) = make(i) else { continue };
                if let Some(report) = self.judge(&mut oracle, &case) {
                    best.fetch_min(i, Ordering::SeqCst);
                    let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
                    if found.as_ref().is_none_or(|(j, _, _)| i < *j) {
                        *found = Some((i, case, report));
                    }
                    return;
                }
            }
        };
        let jobs = self.oracles.len().min(count);
        if jobs <= 1 {
            work(&self.oracles[0]);
        } else {
            std::thread::scope(|scope| {
                for oracle in &self.oracles[..jobs] {
                    scope.spawn(|| work(oracle));
                }
            });
        }
        found.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}
