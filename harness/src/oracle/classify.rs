//! Classification: how what an engine did ([`Observed`]) compares with the reference's outcome, and
//! whose fault a failure is. Every comparison of outputs and outcomes goes through
//! `bfjit_backends::compare` and `bfjit_backends::outcome::first_mismatch`, the one definition of
//! "agree"; this module only names the result.

use std::fmt;

use bfjit_backends::outcome::first_mismatch;
use bfjit_backends::{compare, Difference, Fault, Outcome, Status};

use crate::case::{ExitInfo, Observed};

/// How an engine's run differs from the reference's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// The output bytes differ.
    Output,
    /// The status differs (error kind, error position, or success vs failure).
    Status,
    /// Both ended ok, with a different final pointer or tape.
    Tape,
    /// The engine crashed the process (signal) or panicked.
    Crashed,
    /// The engine failed to compile a valid program (a code generator bug).
    Failed,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 5] = [
        Class::Output,
        Class::Status,
        Class::Tape,
        Class::Crashed,
        Class::Failed,
    ];

    /// The short name used in reports and reproducer file names.
    pub fn name(self) -> &'static str {
        match self {
            Class::Output => "output",
            Class::Status => "status",
            Class::Tape => "tape",
            Class::Crashed => "crashed",
            Class::Failed => "failed",
        }
    }

    /// The class of a difference reported by [`compare`].
    pub fn of(difference: &Difference) -> Class {
        match difference {
            Difference::Output { .. } => Class::Output,
            Difference::Status { .. } => Class::Status,
            Difference::Pointer { .. } | Difference::Tape { .. } => Class::Tape,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A divergence: which engine, what class, and a message naming the first differing byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The engine that disagrees with `reference`.
    pub engine: String,
    /// How it disagrees.
    pub class: Class,
    /// Human-readable detail (reference first, then the engine).
    pub message: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} disagrees with reference ({}): {}",
            self.engine, self.class, self.message
        )
    }
}

/// The oracle's judgement of one engine's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Compared with the reference, and agrees.
    Agrees,
    /// Compared with the reference, and disagrees: an engine bug.
    Diverges(Divergence),
    /// Not compared: the harness did not run it, or the program is beyond a documented limit.
    NotRun(String),
    /// Not compared because the environment failed the engine (see [`Fault::Environment`]); the
    /// text says how. Neither agreement nor an engine bug.
    Environment(String),
    /// Not decided: the engine gave no result within its time limit (which scales with the
    /// reference's own time on the case) and was killed; the text says how long it had.
    TimedOut(String),
    /// Not run: the case lies outside the engine's dialect ([`crate::dialect`]); the text says why.
    OutsideDialect(String),
}

impl Judgement {
    /// The divergence, when the run disagrees.
    pub fn divergence(&self) -> Option<&Divergence> {
        match self {
            Judgement::Diverges(d) => Some(d),
            _ => None,
        }
    }

    /// The divergence, when the run disagrees (by value).
    pub fn into_divergence(self) -> Option<Divergence> {
        match self {
            Judgement::Diverges(d) => Some(d),
            _ => None,
        }
    }
}

/// The judgement that `engine` disagrees with the reference in `class`, as `message` explains.
fn diverges(engine: &str, class: Class, message: String) -> Judgement {
    Judgement::Diverges(Divergence {
        engine: engine.to_string(),
        class,
        message,
    })
}

/// The judgement of what does not depend on the reference: crashes and compile errors.
fn judge_failure(engine: &str, observed: &Observed) -> Option<Judgement> {
    let diverge = |class, message| diverges(engine, class, message);
    Some(match observed {
        Observed::Crashed(how) => diverge(Class::Crashed, how.clone()),
        Observed::TimedOut(_) => Judgement::TimedOut(observed.to_string()),
        Observed::External {
            exit: ExitInfo::TimedOut(_),
            ..
        } => Judgement::TimedOut(observed.to_string()),
        Observed::CompileError(e) => match e.fault() {
            Fault::Bug => diverge(Class::Failed, e.to_string()),
            Fault::Limit => Judgement::NotRun(e.to_string()),
            Fault::Environment => Judgement::Environment(e.to_string()),
        },
        Observed::HarnessFailure(why) => Judgement::Environment(why.clone()),
        Observed::Skipped(why) => Judgement::NotRun(why.clone()),
        Observed::External {
            exit: ExitInfo::SpawnFailed(why),
            ..
        } => Judgement::Environment(format!("could not be started: {why}")),
        Observed::Outcome(_) | Observed::External { .. } => return None,
    })
}

fn output_divergence(reference: &[u8], engine: &[u8]) -> Option<Difference> {
    let index = first_mismatch(reference, engine)?;
    Some(Difference::Output {
        index,
        left: reference.get(index).copied(),
        right: engine.get(index).copied(),
    })
}

/// Whether the registered backend `engine` reports out-of-bounds errors at their command (engines
/// the registry does not know are held to that).
fn keeps_contract(engine: &str) -> bool {
    bfjit_backends::backend_by_name(engine).is_none_or(|b| b.keeps_contract())
}

/// Judges what an engine did against a finished reference run. A backend that cannot locate
/// out-of-bounds errors (`c-naive`) is not compared where the reference left the tape.
pub fn classify(reference: &Outcome, engine: &str, observed: &Observed) -> Judgement {
    if let Some(judgement) = judge_failure(engine, observed) {
        return judgement;
    }
    let diverge = |class, message| diverges(engine, class, message);
    match observed {
        Observed::Outcome(outcome)
            if matches!(reference.status, Status::PointerOutOfBounds { .. })
                && !keeps_contract(engine) =>
        {
            Judgement::NotRun(format!(
                "{engine} cannot locate out-of-bounds errors, so it is not compared where the \
                 reference left the tape (reference: {}; {engine}: {})",
                reference.status, outcome.status
            ))
        }
        Observed::Outcome(outcome) => match compare(reference, outcome) {
            Some(d) => diverge(Class::of(&d), format!("{d} (reference vs {engine})")),
            None => Judgement::Agrees,
        },
        Observed::External { stdout, exit } => {
            if let Some(d) = output_divergence(&reference.output, stdout) {
                return diverge(Class::Output, format!("{d} (reference vs {engine})"));
            }
            let reference_ok = reference.status == Status::Ok;
            match exit {
                ExitInfo::Signal(_) => diverge(Class::Crashed, exit.to_string()),
                ExitInfo::Code(code) if (*code == 0) != reference_ok => diverge(
                    Class::Status,
                    format!(
                        "status differs: reference {} vs {engine} {exit}",
                        reference.status
                    ),
                ),
                ExitInfo::Code(_) => Judgement::Agrees,
                ExitInfo::SpawnFailed(_) | ExitInfo::TimedOut(_) => {
                    unreachable!("judged by judge_failure")
                }
            }
        }
        _ => unreachable!("judged by judge_failure"),
    }
}

/// Judges what an engine did when the reference ran out of `budget` fuel. `bound(f)` is the fuel
/// within which the reference must finish if an engine finished with `f`, and `never_ends` says
/// the reference was proved to run forever (see the protocol).
pub fn classify_unfinished(
    reference: &Outcome,
    engine: &str,
    observed: &Observed,
    budget: u64,
    bound: impl Fn(u64) -> u64,
    never_ends: bool,
) -> Judgement {
    if let Some(judgement) = judge_failure(engine, observed) {
        return judgement;
    }
    let diverge = |class, message| diverges(engine, class, message);
    match observed {
        Observed::Outcome(outcome) => {
            // The engine spent no more fuel than the reference at any point, so it got at least as
            // far: the reference's output must be a prefix of its output.
            if let Some(d) = output_divergence(&reference.output, &outcome.output) {
                let is_prefix = matches!(d, Difference::Output { index, .. } if index >= reference.output.len());
                if !is_prefix {
                    return diverge(
                        Class::Output,
                        format!("{d} (reference, out of fuel after {budget}, vs {engine})"),
                    );
                }
            }
            if outcome.status != Status::OutOfFuel && never_ends {
                return diverge(
                    Class::Status,
                    format!(
                        "status differs: {engine} ended '{}', but the reference never ends (it \
                         comes back to a state it was in: same loop, pointer, tape and input)",
                        outcome.status
                    ),
                );
            }
            if outcome.status != Status::OutOfFuel && bound(outcome.fuel_used) <= budget {
                return diverge(
                    Class::Status,
                    format!(
                        "status differs: {engine} ended '{}' using {} fuel, but the reference is \
                         still running after {budget} loop entries (more than any correct engine \
                         could save by folding loops)",
                        outcome.status, outcome.fuel_used
                    ),
                );
            }
            Judgement::Agrees
        }
        // External engines sit unfinished cases out (they have no fuel).
        Observed::External { .. } => Judgement::NotRun("reference ran out of fuel".into()),
        _ => unreachable!("judged by judge_failure"),
    }
}

/// Judges what an engine did on a case whose reference provably never ends (`reference` is its
/// run up to the fuel the engines got): a backend must run out of that fuel, an external engine
/// must still be running at its time limit, and what either wrote must agree with the reference's
/// output as far as both got.
pub fn classify_endless(reference: &Outcome, engine: &str, observed: &Observed) -> Judgement {
    let diverge = |class, message| diverges(engine, class, message);
    let consistent = |output: &[u8]| {
        let index = first_mismatch(&reference.output, output)?;
        let shorter = reference.output.len().min(output.len());
        (index < shorter).then(|| {
            diverge(
                Class::Output,
                format!(
                    "{} (reference, which never ends, vs {engine})",
                    output_divergence(&reference.output, output).expect("they differ")
                ),
            )
        })
    };
    let never_ends = "the reference never ends (it comes back to a state it was in: same loop, \
                      pointer, tape and input)";
    match observed {
        Observed::External {
            stdout,
            exit: ExitInfo::TimedOut(_),
        } => consistent(stdout).unwrap_or(Judgement::Agrees),
        Observed::External {
            stdout,
            exit: exit @ ExitInfo::Code(_),
        } => consistent(stdout).unwrap_or_else(|| {
            diverge(
                Class::Status,
                format!("status differs: {engine} {exit}, but {never_ends}"),
            )
        }),
        Observed::External {
            exit: exit @ ExitInfo::Signal(_),
            ..
        } => diverge(Class::Crashed, exit.to_string()),
        Observed::Outcome(outcome) => {
            if let Some(judgement) = consistent(&outcome.output) {
                return judgement;
            }
            if outcome.status == Status::OutOfFuel {
                Judgement::Agrees
            } else {
                diverge(
                    Class::Status,
                    format!(
                        "status differs: {engine} ended '{}', but {never_ends}",
                        outcome.status
                    ),
                )
            }
        }
        _ => judge_failure(engine, observed).expect("every other observation is a failure"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Case;
    use crate::oracle::run_reference;
    use bfjit_backends::CompileError;
    use bfjit_backends::{Config, EofPolicy};

    fn case(src: &str, tape_len: usize) -> Case {
        Case::from_source(
            src,
            vec![],
            Config::new(tape_len, EofPolicy::Zero, None).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn classification_names_the_first_differing_byte() {
        let reference = run_reference(&case("+.+.", 4), 10);
        let mut other = reference.clone();
        other.output[1] = 9;
        let d = classify(&reference, "x", &Observed::Outcome(other))
            .into_divergence()
            .unwrap();
        assert_eq!(d.class, Class::Output);
        assert!(d.message.contains("byte 1"), "{}", d.message);
        let mut other = reference.clone();
        other.tape[3] = 1;
        let d = classify(&reference, "x", &Observed::Outcome(other))
            .into_divergence()
            .unwrap();
        assert_eq!(d.class, Class::Tape);
        assert!(d.to_string().starts_with("x disagrees"), "{d}");
        let d = classify(&reference, "x", &Observed::Crashed("signal 11".into()))
            .into_divergence()
            .unwrap();
        assert_eq!(d.class, Class::Crashed);
    }

    #[test]
    fn external_exit_code_is_compared_with_success() {
        let reference = run_reference(&case("<", 4), 10);
        let ok_exit = Observed::External {
            stdout: vec![],
            exit: ExitInfo::Code(0),
        };
        assert_eq!(
            classify(&reference, "e", &ok_exit)
                .into_divergence()
                .unwrap()
                .class,
            Class::Status
        );
        let failed = Observed::External {
            stdout: vec![],
            exit: ExitInfo::Code(1),
        };
        assert_eq!(classify(&reference, "e", &failed), Judgement::Agrees);
    }

    #[test]
    fn compile_errors_are_judged_by_whose_fault_they_are() {
        let reference = run_reference(&case("+.", 4), 10);
        let judge = |e: CompileError| classify(&reference, "x", &Observed::CompileError(e));
        let bug = judge(CompileError::Bug("bad label".into()));
        assert_eq!(bug.divergence().map(|d| d.class), Some(Class::Failed));
        assert!(matches!(
            judge(CompileError::TooLarge("deep".into())),
            Judgement::NotRun(_)
        ));
        assert!(matches!(
            judge(CompileError::Unsupported("no cc".into())),
            Judgement::Environment(_)
        ));
        let not_started = Observed::External {
            stdout: vec![],
            exit: ExitInfo::SpawnFailed("no such file".into()),
        };
        assert!(matches!(
            classify(&reference, "e", &not_started),
            Judgement::Environment(_)
        ));
        assert!(matches!(
            classify(
                &reference,
                "x",
                &Observed::HarnessFailure("no worker".into())
            ),
            Judgement::Environment(_)
        ));
    }

    #[test]
    fn an_unfinished_reference_needs_a_prefix_of_the_output() {
        let reference = run_reference(&case("+.+[]", 4), 10);
        assert_eq!(reference.status, Status::OutOfFuel);
        let mut longer = reference.clone();
        longer.output.push(7);
        let judge = |o: Outcome| {
            classify_unfinished(&reference, "x", &Observed::Outcome(o), 10, |f| f, false)
        };
        assert_eq!(judge(longer), Judgement::Agrees);
        let mut other = reference.clone();
        other.output[0] = 9;
        assert_eq!(
            judge(other).into_divergence().map(|d| d.class),
            Some(Class::Output)
        );
    }

    #[test]
    fn on_an_endless_reference_finishing_is_wrong_and_running_on_is_right() {
        let reference = run_reference(&case("+.[.]", 4), 3);
        assert_eq!(reference.output, [1, 1, 1, 1]);
        let external = |stdout: &[u8], exit| Observed::External {
            stdout: stdout.to_vec(),
            exit,
        };
        let judge = |o: &Observed| classify_endless(&reference, "x", o);
        let class = |o: &Observed| judge(o).into_divergence().map(|d| d.class);
        // Still running at its limit, having written more or less than the reference: agrees.
        let limit = || ExitInfo::TimedOut(std::time::Duration::from_secs(1));
        assert_eq!(judge(&external(&[1; 9], limit())), Judgement::Agrees);
        assert_eq!(judge(&external(&[1], limit())), Judgement::Agrees);
        assert_eq!(class(&external(&[1, 2], limit())), Some(Class::Output));
        // Exited: wrong, whatever the code.
        assert_eq!(
            class(&external(&[1, 1], ExitInfo::Code(0))),
            Some(Class::Status)
        );
        assert_eq!(
            class(&external(&[1, 1], ExitInfo::Code(1))),
            Some(Class::Status)
        );
        // A backend must run out of its fuel.
        let mut ran_out = reference.clone();
        ran_out.output.push(1);
        assert_eq!(
            judge(&Observed::Outcome(ran_out.clone())),
            Judgement::Agrees
        );
        let mut finished = ran_out;
        finished.status = Status::Ok;
        assert!(judge(&Observed::Outcome(finished))
            .into_divergence()
            .is_some_and(|d| d.class == Class::Status && d.message.contains("never ends")));
    }
}
