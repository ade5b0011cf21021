//! bfjit's harness: everything around the backends that proves them correct and measures them.
//!
//! **Differential checking.** [`generate`] (or [`corpus`], or a user's files) yields programs as
//! [`case::Case`]s, the data model every stage shares (a leaf module: a case, what an engine did with
//! it, how a process ended, and how these print). [`oracle`] runs `reference` first with a fuel
//! budget, then every other engine, and judges each run: agrees, diverges (with a class), not run,
//! or failed by the environment. Backends run in this process ([`in_process`]) or in a child process
//! ([`isolate`], so a crash is reported with its signal); user engines run through [`external`].
//! [`minimize`] shrinks a divergence and writes a corpus-format reproducer. [`fuzz_targets`] are the
//! entry points of the cargo-fuzz targets in `fuzz/`.
//!
//! **Benchmarks.** [`workloads`] emits the benchmark programs (each checked against plain Rust),
//! [`bench`] times compile and run apart on every backend and verifies every output, and [`report`]
//! renders `results.json` as a self-contained HTML page.
//!
//! **The `bfjit` command** lives in the binary target (`src/main.rs`, `src/cli/`), not in this
//! library: one module per subcommand over the modules above. With the `test-support` feature the
//! library also has `broken`, deliberately wrong backends that prove the generators and the oracle
//! catch real bugs, and the test-only binary `bfjit-testing` (the same command line plus those
//! backends, isolation worker included); the `bfjit` binary never names them. The backends
//! themselves, the language core and the contract live in `bfjit_backends`.
//!
//! ARCHITECTURE.md's code map lists what each module must not depend on; `tests/architecture.rs`
//! enforces it.

#![deny(missing_docs)]

pub mod bench;
#[cfg(feature = "test-support")]
pub mod broken;
pub mod case;
pub mod corpus;
pub mod dialect;
pub mod engine_spec;
pub mod external;
pub mod fuzz_targets;
pub mod generate;
pub mod in_process;
pub mod isolate;
pub mod minimize;
pub mod oracle;
pub mod process_group;
pub mod reference_cache;
pub mod report;
pub mod scratch;
pub mod workloads;
