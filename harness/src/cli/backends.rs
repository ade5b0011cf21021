//! `bfjit backends`: list every registered backend and whether it runs here.

use bfjit_backends::{registry, Availability};

/// Arguments of `bfjit backends` (none).
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the backend table; returns the exit code.
pub fn main(_args: Args) -> u8 {
    let backends = registry();
    let width = backends.iter().map(|b| b.name().len()).max().unwrap_or(0);
    for backend in backends {
        let availability = match backend.availability() {
            Availability::Available => "available".to_string(),
            Availability::Unsupported(why) => format!("unsupported: {why}"),
        };
        println!(
            "{:width$}  {:<11}  {}",
            backend.name(),
            availability,
            backend.summary()
        );
    }
    super::EXIT_OK
}
