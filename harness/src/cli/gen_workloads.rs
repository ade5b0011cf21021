//! `bfjit gen-workloads`: regenerate the benchmark workloads in `corpus/bench/` (or check them).

use std::path::PathBuf;

use bfjit_harness::workloads;

/// Arguments of `bfjit gen-workloads`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder to write (default: the repository's corpus/bench/).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Only report files that are missing or stale; write nothing (exit 1 when any are).
    #[arg(long)]
    pub check: bool,
}

/// Writes (or checks) every workload of both sizes; returns the exit code.
pub fn main(args: Args) -> u8 {
    let dir = args.dir.unwrap_or_else(workloads::default_dir);
    if args.check {
        let stale = workloads::stale_files(&dir);
        for s in &stale {
            eprintln!("{s}");
        }
        if stale.is_empty() {
            println!("{}: every workload is up to date", dir.display());
            return super::EXIT_OK;
        }
        eprintln!("regenerate with: {}", workloads::REGENERATE);
        return super::EXIT_RUNTIME_ERROR;
    }
    match workloads::write_all(&dir) {
        Ok(written) => {
            for path in &written {
                println!("wrote {}", path.display());
            }
            super::EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot write workloads under {}: {e}", dir.display());
            super::EXIT_USAGE
        }
    }
}
