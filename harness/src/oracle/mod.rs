//! The differential oracle: runs one case on `reference` and on every other engine, and judges how
//! each engine's run compares.
//!
//! The protocol, for one [`Case`](crate::case::Case) ([`protocol`]):
//! 1. Run `reference` with a fuel budget. If it finishes, every other engine gets exactly the fuel the
//!    reference used (`Config.fuel = Some(reference.fuel_used)`): a correct engine never needs more,
//!    because loops an optimizer folds charge nothing. An engine that runs out is itself a divergence.
//! 2. If the reference runs out of fuel, the case is normally discarded. Engines still run with the
//!    same budget, because two things are checkable: an engine that also runs out must have written at
//!    least the reference's output, and an engine that *finishes* is suspicious. A folded loop saves at
//!    most `B = max(256, tape_len)` iterations per level of the nest of balanced loops folded into it
//!    (the optimizer solves such nests from the inside out; a loop it runs at compile time takes at
//!    most 4096 steps, 16 times `B`), and between two fuel charges an engine executes at most one node
//!    per program command, so an engine that finished with `f` fuel lets the reference finish within
//!    `f + (f + 1) * (commands + 1) * 16 * B^depth` loop entries, `depth` the longest chain of nested
//!    balanced loops. The reference is re-run
//!    with that budget (when budget × commands stays under [`ESCALATION_WORK`]): if it finishes, the
//!    case is compared normally; if it still runs out, the engine finished a program that does not
//!    terminate, which is a divergence. Where that bound is out of reach (large programs), the
//!    reference is re-run watching for a repeated state
//!    ([`bfjit_backends::reference::termination`]): a state it comes back to proves it never ends, and
//!    an engine that finished is a divergence whatever its fuel (this is how a `[--]` folded to a
//!    clear is caught: on an odd cell the loop never ends).
//! 3. Outcomes are compared with [`bfjit_backends::compare`], the one definition of "agree", and
//!    judged ([`classify`]): agrees, diverges with a [`Class`] (output, status, tape — pointer
//!    included —, crashed, or failed to compile), not run (sampled out, a documented limit), or failed
//!    by the environment (a [`bfjit_backends::Fault::Environment`] compile error such as a missing or failing C
//!    compiler, an external engine that cannot be started): neither agreement nor an engine bug.
//!
//! Engines ([`engines`]) are registered backends ([`Engine::Backend`], run in-process or in an
//! isolated child process, see [`crate::isolate`]) or external programs ([`Engine::External`], see
//! [`crate::external`]), which are compared on output and success only. A [`CaseReport`] ([`report`])
//! holds every engine's run; a [`Tally`] ([`tally`]) counts them over many cases.

pub mod classify;
pub mod engines;
pub mod protocol;
pub mod report;
pub mod tally;

pub use classify::{classify, classify_endless, classify_unfinished, Class, Divergence, Judgement};
pub use engines::{
    default_engines, reference_run, reference_run_with, run_reference, select_backends, Engine,
    Selection,
};
pub use protocol::{Oracle, RunLimit, DEFAULT_TIME_FACTOR};
pub use report::{CaseReport, EngineRun, Verdict};
pub use tally::{Tally, TallyRow};

/// The default fuel budget of the reference run for generated cases (loop-body entries).
pub const DEFAULT_BUDGET: u64 = 20_000;
/// The most work (budget × program commands, a bound on commands executed) the oracle spends on
/// re-running the reference to settle a suspected termination bug.
pub const ESCALATION_WORK: u64 = 40_000_000;
