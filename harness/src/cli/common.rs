//! What several subcommands share: reading sources, parsing with compiler-style errors, config flags.

use std::io::Read;
use std::path::Path;

use bfjit_backends::{
    backend_by_name, backend_names, Availability, Backend, Config, EofPolicy, Program,
    DEFAULT_TAPE_LEN,
};
use clap::ValueEnum;

use super::{flags, EXIT_USAGE};

/// The EOF policy as a command-line value.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EofArg {
    /// `,` at end of input leaves the cell unchanged.
    Unchanged,
    /// `,` at end of input stores 0.
    Zero,
    /// `,` at end of input stores 255.
    Max,
}

impl From<EofArg> for EofPolicy {
    fn from(e: EofArg) -> Self {
        match e {
            EofArg::Unchanged => EofPolicy::Unchanged,
            EofArg::Zero => EofPolicy::Zero,
            EofArg::Max => EofPolicy::Max,
        }
    }
}

/// The run-configuration flags shared by every subcommand that runs programs.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Number of tape cells (1 to 1073741824).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TAPE_LEN, value_parser = flags::tape_len, allow_negative_numbers = true)]
    pub tape_len: usize,
    /// What `,` stores at end of input.
    #[arg(long, value_enum, default_value = "unchanged")]
    pub eof: EofArg,
    /// Stop with "out of fuel" after N loop-body entries (default: unlimited).
    #[arg(long, value_name = "N", value_parser = flags::fuel, allow_negative_numbers = true)]
    pub fuel: Option<u64>,
}

impl ConfigArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> Config {
        Config::new(self.tape_len, self.eof.into(), self.fuel)
            .expect("the tape length was checked by parse_tape_len")
    }
}

/// Prints `error: message` to stderr.
pub fn error(message: impl std::fmt::Display) {
    eprintln!("error: {message}");
}

/// Reads a file, or standard input for `-`; errors are printed and mapped to exit code 2.
pub fn read_source(path: &Path) -> Result<Vec<u8>, u8> {
    let result = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    result.map_err(|e| {
        error(format_args!("cannot read {}: {e}", path.display()));
        EXIT_USAGE
    })
}

/// Reads and parses a program; a parse error is printed compiler-style and mapped to exit code 2.
pub fn load_program(path: &Path) -> Result<Program, u8> {
    let source = read_source(path)?;
    Program::parse(source.clone()).map_err(|e| {
        error(&e);
        if let Some(position) = e.position() {
            eprintln!(
                "  --> {}:{position}\n{}",
                path.display(),
                bfjit_backends::syntax::snippet(&source, position)
            );
        }
        EXIT_USAGE
    })
}

/// The backends `auto` tries, fastest first.
pub const AUTO_PREFERENCE: &[&str] = &["dynasm-opt", "cranelift", "bytecode", "reference"];

/// Looks up a backend by name (`auto` picks the fastest available); errors list what is allowed.
pub fn pick_backend(name: &str) -> Result<&'static dyn Backend, u8> {
    if name == "auto" {
        let found = AUTO_PREFERENCE
            .iter()
            .filter_map(|n| backend_by_name(n))
            .find(|b| b.availability() == Availability::Available);
        return found.ok_or_else(|| {
            error("no backend is available on this machine");
            EXIT_USAGE
        });
    }
    let backend = backend_by_name(name).ok_or_else(|| {
        error(format_args!(
            "unknown backend '{name}'; allowed: auto, {}",
            backend_names().join(", ")
        ));
        EXIT_USAGE
    })?;
    if let Availability::Unsupported(why) = backend.availability() {
        error(format_args!(
            "backend '{name}' is not available here: {why}"
        ));
        return Err(EXIT_USAGE);
    }
    Ok(backend)
}

/// The exit code of a run with no divergence: 0 when everything was decided, else 4 with the
/// reasons printed. `undecided` holds the subcommand's own reasons; timeouts and environment
/// failures in `tally` are added here (the one place the "undecided" rule lives).
pub fn exit_when_no_divergence(
    tally: &bfjit_harness::oracle::Tally,
    mut undecided: Vec<String>,
) -> u8 {
    if tally.timeouts() > 0 {
        undecided.push(format!("{} runs timed out", tally.timeouts()));
    }
    if tally.environment_failures() > 0 {
        undecided.push(format!(
            "{} runs failed for the environment",
            tally.environment_failures()
        ));
    }
    if undecided.is_empty() {
        super::EXIT_OK
    } else {
        println!(
            "no divergence, but not everything was decided: {} (exit code {})",
            undecided.join("; "),
            super::EXIT_ENVIRONMENT
        );
        super::EXIT_ENVIRONMENT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tape_len_errors_say_what_is_allowed() {
        assert!(flags::tape_len("0")
            .unwrap_err()
            .contains("1 to 1073741824"));
        assert!(flags::tape_len("x")
            .unwrap_err()
            .contains("1 to 1073741824"));
        assert_eq!(flags::tape_len("16"), Ok(16));
    }
}
