//! bfjit's harness: everything around the backends.
//!
//! - [`cli`]: the `bfjit` command line, one module per subcommand.
//!
//! The backends themselves, the language core and the contract live in `bfjit_backends`.

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
pub mod workloads;
