//! `bfjit ir`: print a program's IR after parsing and after every optimizer pass that changed it, one
//! node per line with its source position, then the guarded IR the backends run.

use std::io::Write;
use std::path::PathBuf;

use bfjit_backends::ir::{self, blocks::guard};
use bfjit_backends::optimizer::{trace, PassList};

use super::common::{error, load_program};
use super::flags;
use super::{EXIT_OK, EXIT_USAGE};

/// Arguments of `bfjit ir`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program to show (`-` reads it from standard input).
    pub file: PathBuf,
    /// Comma-separated passes to run, in order (fold-runs, clear, mul, scan, offsets, known, evaluate,
    /// dead-code).
    #[arg(long, value_name = "LIST", conflicts_with = "level", long_help = passes_long_help())]
    pub passes: Option<String>,
    /// Optimization level: -O0 no passes, -O1 fold-runs only, -O2 every pass (the default).
    #[arg(short = 'O', value_name = "LEVEL", value_parser = flags::opt_level, allow_negative_numbers = true)]
    pub level: Option<u8>,
    /// Print only the final guarded IR.
    #[arg(long)]
    pub final_only: bool,
    /// Print the Cranelift IR (CLIF) the `cranelift` backend generates (default configuration).
    #[arg(long, conflicts_with_all = ["passes", "level", "final_only"])]
    pub clif: bool,
}

/// The long help of `--passes`: every pass, by name, with what it does (from the optimizer).
fn passes_long_help() -> String {
    use bfjit_backends::optimizer::Pass;
    let mut help = String::from("Comma-separated passes to run, in order:");
    for pass in Pass::ALL {
        help.push_str(&format!("\n  {:<10} {}", pass.name(), pass.summary()));
    }
    help
}

/// Runs `bfjit ir`; returns the exit code.
pub fn main(args: Args) -> u8 {
    match run(args) {
        Ok(code) | Err(code) => code,
    }
}

fn run(args: Args) -> Result<u8, u8> {
    let passes = match &args.passes {
        Some(list) => PassList::parse(list).map_err(|e| {
            error(&e);
            EXIT_USAGE
        })?,
        None => PassList::preset(args.level.unwrap_or(2)),
    };
    let program = load_program(&args.file)?;
    if args.clif {
        let config = bfjit_backends::Config::default();
        let text = bfjit_backends::cranelift::clif_text(&program, &config).map_err(|e| {
            error(&e);
            EXIT_USAGE
        })?;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return Ok(EXIT_OK);
    }
    let stages = trace(&program, &passes);
    let mut text = String::new();
    if !args.final_only {
        for stage in &stages {
            text.push_str(&format!(
                "== {} ({} nodes) ==\n",
                stage.label,
                stage.nodes.len()
            ));
            text.push_str(&ir::dump(&program, &stage.nodes));
            text.push('\n');
        }
    }
    let last = stages.last().map(|s| s.nodes.clone()).unwrap_or_default();
    let guarded = guard(&program, last);
    text.push_str(&format!(
        "== guarded, passes: {} ({} nodes) ==\n",
        if passes.is_empty() {
            "none".to_string()
        } else {
            passes.to_string()
        },
        guarded.len()
    ));
    text.push_str(&ir::dump(&program, &guarded));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A closed stdout (e.g. `| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use bfjit_backends::optimizer::Pass;

    #[test]
    fn help_lists_every_pass_with_what_it_does() {
        use clap::CommandFactory;
        let help = super::super::Cli::command()
            .find_subcommand_mut("ir")
            .expect("ir subcommand")
            .render_long_help()
            .to_string();
        for pass in Pass::ALL {
            let line = format!("{:<10} {}", pass.name(), pass.summary());
            assert!(
                pass.summary().len() > 20,
                "{} has no real summary",
                pass.name()
            );
            assert!(help.contains(&line), "{line:?} missing from: {help}");
        }
    }
}
