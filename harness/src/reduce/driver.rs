//! The driver: runs the passes to a fixed point on the best case so far, adopting a candidate only
//! when it is interesting and strictly smaller (commands, then input, then tape, then EOF policy,
//! then source bytes), so every round makes progress or ends.

use std::time::Instant;

use bfjit_backends::{Config, EofPolicy, Program};

use crate::case::Case;
use crate::oracle::CaseReport;

use super::passes::PASSES;
use super::progress::Progress;
use super::tester::Tester;
use super::tree::{commands_of, Edit};

/// One proposed change to the best case.
#[derive(Clone, Debug)]
pub enum Change {
    /// Edit the program.
    Program(Edit),
    /// Replace the input.
    Input(Vec<u8>),
    /// Replace the configuration (tape length, EOF policy).
    Config(Config),
    /// Drop every comment byte (the canonical form).
    StripComments,
}

impl Change {
    /// The case this change makes of `base`; `None` when the program would not parse.
    pub fn apply(&self, base: &Case) -> Option<Case> {
        let mut case = Case {
            program: base.program.clone(),
            input: base.input.clone(),
            config: base.config,
        };
        match self {
            Change::Program(edit) => {
                case.program = Program::parse(edit.apply(&base.program)).ok()?
            }
            Change::Input(input) => case.input = input.clone(),
            Change::Config(config) => case.config = *config,
            Change::StripComments => {
                case.program = Program::parse(commands_of(&base.program)).ok()?
            }
        }
        Some(case)
    }
}

/// The size a reduction lowers, compared lexicographically.
fn size(case: &Case) -> (usize, usize, usize, bool, usize) {
    (
        case.program.len(),
        case.input.len(),
        case.config.tape_len(),
        case.config.eof() != EofPolicy::Unchanged,
        case.program.source().len(),
    )
}

/// The state of one reduction.
pub struct Driver<'t> {
    /// Who judges candidates.
    pub tester: &'t Tester,
    /// The smallest interesting case so far.
    pub best: Case,
    /// The judge's report on it.
    pub report: CaseReport,
    deadline: Instant,
    progress: &'t Progress,
}

impl<'t> Driver<'t> {
    /// A driver starting from an interesting `case`.
    pub fn new(
        tester: &'t Tester,
        case: Case,
        report: CaseReport,
        deadline: Instant,
        progress: &'t Progress,
    ) -> Driver<'t> {
        Driver {
            tester,
            best: case,
            report,
            deadline,
            progress,
        }
    }

    /// Whether the time is up.
    pub fn out_of_time(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Tests `changes` of the best case in order and adopts the first interesting one that makes it
    /// smaller; returns its index.
    pub fn adopt_first(&mut self, changes: &[Change]) -> Option<usize> {
        if self.out_of_time() || changes.is_empty() {
            return None;
        }
        let best = &self.best;
        let limit = size(best);
        let found = self
            .tester
            .first_interesting(changes.len(), self.deadline, |i| {
                changes[i].apply(best).filter(|c| size(c) < limit)
            });
        let (i, case, report) = found?;
        self.best = case;
        self.tester.tighten_budget(report.reference.fuel_used);
        self.report = report;
        self.progress
            .update(self.best.program.len(), self.tester.checks());
        Some(i)
    }

    /// Adopts changes made by `propose` from the best case for as long as one is interesting,
    /// resuming each round at the index of the last adopted change; whether any was adopted.
    pub fn sweep(&mut self, propose: impl Fn(&Case) -> Vec<Change>) -> bool {
        let mut progress = false;
        let mut from = 0;
        loop {
            let changes = propose(&self.best);
            from = from.min(changes.len());
            match self.adopt_first(&changes[from..]) {
                Some(i) => {
                    progress = true;
                    from += i;
                }
                None if from > 0 => from = 0,
                None => return progress,
            }
        }
    }

    /// Runs every pass until a whole round changes nothing (or the time is up); the canonical form
    /// (commands only) is tried first and last.
    pub fn run(&mut self) {
        self.canonical();
        loop {
            let before = size(&self.best);
            for (name, pass) in PASSES {
                if self.out_of_time() {
                    break;
                }
                self.progress.pass(name);
                pass(self);
            }
            if size(&self.best) == before || self.out_of_time() {
                break;
            }
        }
        self.canonical();
    }

    /// The canonical form: the program's commands without comment bytes.
    fn canonical(&mut self) {
        if self.best.program.source().len() != self.best.program.len() {
            self.adopt_first(&[Change::StripComments]);
        }
    }
}
