//! bfjit's harness: everything around the backends.
//!
//! The data flow of a differential check: [`generate`] (or [`corpus`], or a user's files) yields
//! programs; [`oracle`] runs `reference` first with a fuel budget, then every other backend (in a child
//! process with [`isolate`] when asked; user engines through [`external`]), and classifies the outcomes
//! with `bfjit_backends::compare`; [`minimize`] shrinks a divergence and writes a corpus-format
//! reproducer. [`broken`] holds deliberately wrong backends that prove the generators and oracle catch
//! real bugs.
//!
//! The data flow of a benchmark: [`workloads`] emits the benchmark programs (checked against plain Rust),
//! [`bench`] times compile and run apart on every backend and verifies every output, and [`report`]
//! renders `results.json` as a self-contained HTML page.
//!
//! [`cli`] is the `bfjit` command line, one module per subcommand. The backends themselves, the language
//! core and the contract live in `bfjit_backends`.

pub mod bench;
pub mod broken;
pub mod cli;
pub mod corpus;
pub mod external;
pub mod generate;
pub mod isolate;
pub mod minimize;
pub mod oracle;
pub mod report;
pub mod scratch;
pub mod workloads;
