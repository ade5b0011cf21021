//! bfjit's harness: everything around the backends.
//!
//! - [`cli`]: the `bfjit` command line, one module per subcommand.
//!
//! The backends themselves, the language core and the contract live in `bfjit_backends`.

pub mod cli;
