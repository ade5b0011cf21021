//! Per-engine counts over many cases, and the summary table `check` and `fuzz` print.

use std::time::Duration;

use super::classify::{Class, Judgement};
use super::report::{CaseReport, Verdict};

/// Per-engine counts over many cases, for the summary table of `check` and `fuzz`.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    rows: Vec<TallyRow>,
    /// Cases checked (the reference finished, or provably never ends).
    pub checked: u64,
    /// Cases discarded (the reference ran out of fuel).
    pub discarded: u64,
    /// Cases undecided because the reference did not finish within its time limit.
    pub reference_timeouts: u64,
    /// Cases the reference finished (or provably never ends) but on which no engine was compared
    /// (every one outside its dialect, timed out, not run or failed by the environment).
    pub uncompared: u64,
}

/// One engine's counts.
#[derive(Clone, Debug, Default)]
pub struct TallyRow {
    /// The engine.
    pub engine: String,
    /// Runs compared.
    pub runs: u64,
    /// Runs that agreed.
    pub agreed: u64,
    /// Divergences by class, in [`Class::ALL`] order.
    pub by_class: [u64; 5],
    /// Cases the engine did not run (program beyond its limits, or sampled out).
    pub skipped: u64,
    /// Cases the environment failed the engine on (e.g. the C compiler failed): not compared.
    pub environment: u64,
    /// Runs killed at their time limit: not decided.
    pub timeouts: u64,
    /// Cases outside the engine's dialect: not run.
    pub outside: u64,
    /// Total time in the engine.
    pub time: Duration,
}

impl Tally {
    /// Adds one case's report.
    pub fn record(&mut self, report: &CaseReport) {
        match report.verdict {
            Verdict::Checked | Verdict::Endless if report.compared() => self.checked += 1,
            Verdict::Checked | Verdict::Endless => self.uncompared += 1,
            Verdict::Discarded => self.discarded += 1,
            Verdict::ReferenceTimedOut => self.reference_timeouts += 1,
        }
        for run in &report.runs {
            let row = match self.rows.iter().position(|r| r.engine == run.engine) {
                Some(i) => &mut self.rows[i],
                None => {
                    self.rows.push(TallyRow {
                        engine: run.engine.clone(),
                        ..TallyRow::default()
                    });
                    self.rows.last_mut().expect("just pushed")
                }
            };
            row.time += run.elapsed;
            match &run.judgement {
                Judgement::Diverges(d) => {
                    row.runs += 1;
                    let i = Class::ALL
                        .iter()
                        .position(|c| *c == d.class)
                        .expect("known");
                    row.by_class[i] += 1;
                }
                Judgement::NotRun(_) => row.skipped += 1,
                Judgement::Environment(_) => row.environment += 1,
                Judgement::TimedOut(_) => row.timeouts += 1,
                Judgement::OutsideDialect(_) => row.outside += 1,
                Judgement::Agrees => {
                    row.runs += 1;
                    row.agreed += 1;
                }
            }
        }
    }

    /// Adds another tally's counts (of other cases) to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.checked += other.checked;
        self.discarded += other.discarded;
        self.reference_timeouts += other.reference_timeouts;
        self.uncompared += other.uncompared;
        for theirs in &other.rows {
            let row = match self.rows.iter().position(|r| r.engine == theirs.engine) {
                Some(i) => &mut self.rows[i],
                None => {
                    self.rows.push(TallyRow {
                        engine: theirs.engine.clone(),
                        ..TallyRow::default()
                    });
                    self.rows.last_mut().expect("just pushed")
                }
            };
            row.runs += theirs.runs;
            row.agreed += theirs.agreed;
            for (mine, their) in row.by_class.iter_mut().zip(theirs.by_class) {
                *mine += their;
            }
            row.skipped += theirs.skipped;
            row.environment += theirs.environment;
            row.timeouts += theirs.timeouts;
            row.outside += theirs.outside;
            row.time += theirs.time;
        }
    }

    /// The rows, one per engine seen.
    pub fn rows(&self) -> &[TallyRow] {
        &self.rows
    }

    /// Divergences of every engine together.
    pub fn divergences(&self) -> u64 {
        self.rows
            .iter()
            .map(|r| r.by_class.iter().sum::<u64>())
            .sum()
    }

    /// Wrong answers (output, status, tape, failed to compile), every engine together.
    pub fn wrong_answers(&self) -> u64 {
        self.divergences() - self.crashes()
    }

    /// Crashes, every engine together.
    pub fn crashes(&self) -> u64 {
        let i = Class::ALL
            .iter()
            .position(|c| *c == Class::Crashed)
            .expect("known");
        self.rows.iter().map(|r| r.by_class[i]).sum()
    }

    /// Runs killed at their time limit, every engine together.
    pub fn timeouts(&self) -> u64 {
        self.rows.iter().map(|r| r.timeouts).sum()
    }

    /// Cases that decided nothing: reference out of fuel or time, or no engine compared.
    pub fn undecided_cases(&self) -> u64 {
        self.discarded + self.reference_timeouts + self.uncompared
    }

    /// The engines that were never compared on any case (with at least one case seen).
    pub fn never_compared(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.runs == 0)
            .map(|r| r.engine.as_str())
            .collect()
    }

    /// One line: cases compared, wrong answers, crashes, timeouts, undecided cases, environment
    /// failures.
    pub fn summary(&self) -> String {
        format!(
            "{} cases compared; {} wrong answers, {} crashes; {} timeouts; {} undecided cases \
             ({} reference out of fuel, {} reference out of time, {} outside every dialect or \
             not run); {} runs outside an engine's dialect; {} environment failures",
            self.checked,
            self.wrong_answers(),
            self.crashes(),
            self.timeouts(),
            self.undecided_cases(),
            self.discarded,
            self.reference_timeouts,
            self.uncompared,
            self.rows.iter().map(|r| r.outside).sum::<u64>(),
            self.environment_failures()
        )
    }

    /// Runs the environment failed, every engine together.
    pub fn environment_failures(&self) -> u64 {
        self.rows.iter().map(|r| r.environment).sum()
    }

    /// Runs of every engine together.
    pub fn runs(&self) -> u64 {
        self.rows.iter().map(|r| r.runs).sum()
    }

    /// The summary table, one row per engine, plus the unsupported engines with their reason.
    pub fn table(&self, unsupported: &[(String, String)]) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.engine.len())
            .chain(unsupported.iter().map(|(n, _)| n.len()))
            .chain(["backend".len()])
            .max()
            .unwrap_or(7);
        let mut out = format!(
            "{:width$}  {:>8}  {:>8}  {:>6}  {:>6}  {:>6}  {:>7}  {:>6}  {:>7}  {:>7}  {:>7}  {:>5}  {:>9}\n",
            "backend",
            "runs",
            "agree",
            "output",
            "status",
            "tape",
            "crashed",
            "failed",
            "timeout",
            "outside",
            "not run",
            "env",
            "time"
        );
        for r in &self.rows {
            let c = r.by_class;
            out.push_str(&format!(
                "{:width$}  {:>8}  {:>8}  {:>6}  {:>6}  {:>6}  {:>7}  {:>6}  {:>7}  {:>7}  {:>7}  {:>5}  {:>8.2}s\n",
                r.engine,
                r.runs,
                r.agreed,
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                r.timeouts,
                r.outside,
                r.skipped,
                r.environment,
                r.time.as_secs_f64()
            ));
        }
        for (name, why) in unsupported {
            out.push_str(&format!(
                "{name:width$}  not run: unsupported here ({why})\n"
            ));
        }
        out
    }
}
