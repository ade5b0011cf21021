//! Engine selection: which engines a check compares, and the reference run they are compared with.

use std::fmt;

use std::io::Read;
use std::time::Instant;

use bfjit_backends::{registry, Availability, Backend, Outcome};

use crate::case::{Case, ReferenceRun};
use crate::dialect::Dialect;
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

    /// The engine's dialect ([`Dialect::ANY`] for backends).
    pub fn dialect(&self) -> Dialect {
        match self {
            Engine::Backend(_) => Dialect::ANY,
            Engine::External(e) => e.dialect,
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
    reference_run(case, budget).outcome
}

/// Runs the reference on `case` with a fuel budget, noting how much input it read, whether it read
/// past it, and how long it took.
pub fn reference_run(case: &Case, budget: u64) -> ReferenceRun {
    reference_run_with(&bfjit_backends::reference::Reference, case, budget)
}

/// Runs `judge` where the protocol runs the reference: the reference itself, or a trusted stand-in
/// for it that charges fuel exactly like it (the reducer's, see [`crate::reduce`]). Like
/// [`reference_run`], notes how much input it read, whether it read past it, and how long it took.
pub fn reference_run_with(judge: &dyn Backend, case: &Case, budget: u64) -> ReferenceRun {
    let config = case.config.with_fuel(Some(budget));
    let executable = judge
        .compile(&case.program, &config)
        .unwrap_or_else(|e| panic!("{} compiles every program: {e}", judge.name()));
    let start = Instant::now();
    let mut input = EofWatch {
        rest: &case.input,
        taken: 0,
        hit_eof: false,
    };
    let mut output = Vec::new();
    let halt = executable.run(&mut input, &mut output);
    ReferenceRun {
        outcome: Outcome::new(halt, output),
        read_past_eof: input.hit_eof,
        input_read: input.taken,
        elapsed: start.elapsed(),
    }
}

/// Input that hands out one byte a read and notes when a read finds none left. The runtime reads
/// again only when a `,` needs a byte and its buffer is empty, so `taken` is exactly the bytes the
/// `,` commands took and `hit_eof` exactly "a `,` read past the input".
struct EofWatch<'a> {
    rest: &'a [u8],
    taken: usize,
    hit_eof: bool,
}

impl Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.rest.read(&mut buf[..1])?;
        self.taken += n;
        if n == 0 {
            self.hit_eof = true;
        }
        Ok(n)
    }
}
