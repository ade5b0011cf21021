//! Benchmark workloads: BF programs generated from higher-level building blocks ([`builder`]), each
//! paired with a plain Rust implementation of the same algorithm that gives the expected output
//! without any BF engine.
//!
//! Families (one file each): [`mandelbrot`] (fixed-point arithmetic on multi-cell numbers),
//! [`nested`] (deeply nested counting loops), [`sieve`] (move- and copy-heavy walkers), [`scan`]
//! (zero-terminated arrays walked with strides 1 and 4), [`fizzbuzz`] (over 1 MB of output),
//! [`selfinterp`] (a BF interpreter in BF running an inner program read from its input),
//! [`counter`] (a binary counter driven by pointer walks), [`counting`] (a nest of counting loops
//! with constant trip counts) and [`compiled`] (a tiny statement language compiled to BF: many small
//! loops over fixed cells, mostly known values). Every family has a full size and a quick size. The
//! generated files live in `corpus/bench/`
//! (`NAME.bf`, `NAME.out`) and `corpus/bench/quick/`; [`REGENERATE`] names the command that rewrites
//! them, and a test fails when the committed files are stale.
//!
//! [`scaling_program`] makes programs of a given number of commands for compile-time benchmarks.

pub mod builder;
pub mod compiled;
pub mod counter;
pub mod counting;
pub mod fizzbuzz;
pub mod mandelbrot;
pub mod nested;
pub mod scan;
pub mod selfinterp;
pub mod sieve;

use std::fmt;
use std::path::{Path, PathBuf};

/// The command that regenerates `corpus/bench/`.
pub const REGENERATE: &str = "cargo run --release -- gen-workloads";

/// Which size of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// The benchmark size (seconds on `reference`; mandelbrot tens of seconds).
    Full,
    /// The quick size (well under a second on `reference`).
    Quick,
}

impl Size {
    /// Both sizes.
    pub const ALL: [Size; 2] = [Size::Full, Size::Quick];

    /// The folder of this size under `corpus/bench/` (`""` or `"quick"`).
    pub fn folder(self) -> &'static str {
        match self {
            Size::Full => "",
            Size::Quick => "quick",
        }
    }
}

/// One generated workload: program, input and expected output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// The family name, also the file name (`NAME.bf`).
    pub name: &'static str,
    /// Which size this is.
    pub size: Size,
    /// The BF program text.
    pub program: String,
    /// The input the program reads (empty for most families).
    pub input: Vec<u8>,
    /// The output the Rust implementation of the same algorithm gives.
    pub expected: Vec<u8>,
}

/// A workload family: its name, what it stresses, and its generator.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// The family name.
    pub name: &'static str,
    /// What the workload does and what it stresses.
    pub summary: &'static str,
    generate: fn(Size) -> Generated,
}

/// What a family's generator returns: program text, input and expected output.
struct Generated {
    program: String,
    input: Vec<u8>,
    expected: Vec<u8>,
}

impl Generated {
    /// A program that reads no input.
    fn without_input((program, expected): (String, Vec<u8>)) -> Generated {
        Generated {
            program,
            input: Vec::new(),
            expected,
        }
    }
}

impl Family {
    /// Generates this family's workload at `size`.
    pub fn generate(&self, size: Size) -> Workload {
        let generated = (self.generate)(size);
        Workload {
            name: self.name,
            size,
            program: with_header(self.name, self.summary, &generated.program),
            input: generated.input,
            expected: generated.expected,
        }
    }
}

fn gen_mandelbrot(size: Size) -> Generated {
    let p = match size {
        Size::Full => mandelbrot::FULL,
        Size::Quick => mandelbrot::QUICK,
    };
    Generated::without_input((mandelbrot::program(&p), mandelbrot::expected(&p)))
}

fn gen_nested(size: Size) -> Generated {
    let p = match size {
        Size::Full => nested::full(),
        Size::Quick => nested::quick(),
    };
    Generated::without_input((nested::program(&p), nested::expected(&p)))
}

fn gen_sieve(size: Size) -> Generated {
    let p = match size {
        Size::Full => sieve::FULL,
        Size::Quick => sieve::QUICK,
    };
    Generated::without_input((sieve::program(&p), sieve::expected(&p)))
}

fn gen_scan(size: Size) -> Generated {
    let p = match size {
        Size::Full => scan::FULL,
        Size::Quick => scan::QUICK,
    };
    Generated::without_input((scan::program(&p), scan::expected(&p)))
}

fn gen_fizzbuzz(size: Size) -> Generated {
    let p = match size {
        Size::Full => fizzbuzz::FULL,
        Size::Quick => fizzbuzz::QUICK,
    };
    Generated::without_input((fizzbuzz::program(&p), fizzbuzz::expected(&p)))
}

fn gen_selfinterp(size: Size) -> Generated {
    let p = match size {
        Size::Full => selfinterp::FULL,
        Size::Quick => selfinterp::QUICK,
    };
    Generated {
        program: selfinterp::program(),
        input: selfinterp::input(&p),
        expected: selfinterp::expected(&p),
    }
}

fn gen_counter(size: Size) -> Generated {
    let p = match size {
        Size::Full => counter::FULL,
        Size::Quick => counter::QUICK,
    };
    Generated::without_input((counter::program(&p), counter::expected(&p)))
}

fn gen_counting(size: Size) -> Generated {
    let p = match size {
        Size::Full => counting::full(),
        Size::Quick => counting::quick(),
    };
    Generated::without_input((counting::program(&p), counting::expected(&p)))
}

fn gen_compiled(size: Size) -> Generated {
    Generated::without_input(compiled::program_and_expected(match size {
        Size::Full => &compiled::FULL,
        Size::Quick => &compiled::QUICK,
    }))
}

/// Every workload family.
pub fn families() -> Vec<Family> {
    vec![
        Family {
            name: "mandelbrot",
            summary: "ASCII Mandelbrot set in 16 bit fixed point on bit records walked by loops",
            generate: gen_mandelbrot,
        },
        Family {
            name: "nested",
            summary: "eight deep nested counting loops around a decimal counter",
            generate: gen_nested,
        },
        Family {
            name: "sieve",
            summary: "sieve of Eratosthenes with walkers that move their counters along",
            generate: gen_sieve,
        },
        Family {
            name: "scan",
            summary: "growing zero terminated arrays walked with strides 1 and 4",
            generate: gen_scan,
        },
        Family {
            name: "fizzbuzz",
            summary: "FizzBuzz on a decimal counter with over a megabyte of output",
            generate: gen_fizzbuzz,
        },
        Family {
            name: "counting",
            summary:
                "a nest of six counting loops stepping by 1 or 3 or 5 with constant trip counts",
            generate: gen_counting,
        },
        Family {
            name: "compiled",
            summary:
                "a random program of a tiny statement language compiled to BF with many variables",
            generate: gen_compiled,
        },
        Family {
            name: "selfinterp",
            summary:
                "a BF interpreter in BF running a triangle printing program read from its input",
            generate: gen_selfinterp,
        },
        Family {
            name: "counter",
            summary: "a binary counter in records driven by walks with adds and strided scans",
            generate: gen_counter,
        },
    ]
}

/// Every workload at `size`.
pub fn all(size: Size) -> Vec<Workload> {
    families().iter().map(|f| f.generate(size)).collect()
}

/// The family called `name`.
pub fn family(name: &str) -> Option<Family> {
    families().into_iter().find(|f| f.name == name)
}

/// Prefixes generated code with a comment saying where it comes from, and wraps it at 100 columns.
fn with_header(name: &str, summary: &str, code: &str) -> String {
    // The header must not contain any of the eight command characters.
    let header = format!(
        "{name}: {summary}\nGenerated by the bfjit workload generator in harness/src/workloads\n\
         Do not edit: regenerate with the gen workloads subcommand of bfjit\n\n"
    );
    debug_assert!(!header.bytes().any(|b| b"+-<>[].,".contains(&b)));
    let mut out = header;
    for chunk in code.as_bytes().chunks(100) {
        out.push_str(std::str::from_utf8(chunk).expect("BF code is ASCII"));
        out.push('\n');
    }
    out
}

/// The files of `workload` as (path relative to `corpus/bench/`, contents).
pub fn files(workload: &Workload) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(workload.size.folder());
    let mut files = vec![
        (
            dir.join(format!("{}.bf", workload.name)),
            workload.program.clone().into_bytes(),
        ),
        (
            dir.join(format!("{}.out", workload.name)),
            workload.expected.clone(),
        ),
    ];
    if !workload.input.is_empty() {
        files.push((
            dir.join(format!("{}.in", workload.name)),
            workload.input.clone(),
        ));
    }
    files
}

/// The repository's `corpus/bench/` folder.
pub fn default_dir() -> PathBuf {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    harness
        .parent()
        .unwrap_or(harness)
        .join("corpus")
        .join("bench")
}

/// Writes every workload of both sizes under `dir`; returns the paths written.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for size in Size::ALL {
        for workload in all(size) {
            for (rel, contents) in files(&workload) {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, contents)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// A generated file whose committed copy is missing or different.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    /// The file's path.
    pub path: PathBuf,
    /// Whether it is missing (rather than different).
    pub missing: bool,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.missing { "missing" } else { "stale" };
        write!(f, "{} is {what}", self.path.display())
    }
}

/// Regenerates every workload in memory and lists the files under `dir` that differ from it.
pub fn stale_files(dir: &Path) -> Vec<Stale> {
    let mut stale = Vec::new();
    for size in Size::ALL {
        for workload in all(size) {
            for (rel, contents) in files(&workload) {
                let path = dir.join(rel);
                match std::fs::read(&path) {
                    Ok(found) if found == contents => {}
                    Ok(_) => stale.push(Stale {
                        path,
                        missing: false,
                    }),
                    Err(_) => stale.push(Stale {
                        path,
                        missing: true,
                    }),
                }
            }
        }
    }
    stale
}

/// A program of exactly `commands` BF commands with a realistic mix (runs of `+`/`-` and moves,
/// clear, copy and multiply loops, scans, output, nested loops up to depth 12) for compile-time
/// benchmarks. Deterministic for a given size; meant to be compiled, not run.
pub fn scaling_program(commands: usize) -> String {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        // xorshift64*
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    };
    const SNIPPETS: &[&str] = &[
        "[-]",
        "[->+<]",
        "[->+>+<<]",
        "[->>+++<<]",
        "[-<+>]",
        "[>]",
        "[<]",
        "[>>>>]",
        ".",
        ">",
        "<",
    ];
    let mut out = String::with_capacity(commands);
    let mut depth = 0usize;
    loop {
        let piece: String = match next(10) {
            0..=2 => {
                let ch = if next(2) == 0 { "+" } else { "-" };
                ch.repeat(1 + next(8) as usize)
            }
            3 | 4 => {
                let ch = if next(2) == 0 { ">" } else { "<" };
                ch.repeat(1 + next(4) as usize)
            }
            5 if depth < 12 => "[".to_string(),
            6 if depth > 0 => "-]".to_string(),
            _ => SNIPPETS[next(SNIPPETS.len() as u64) as usize].to_string(),
        };
        let opens = piece.matches('[').count();
        let closes = piece.matches(']').count();
        if out.len() + piece.len() + depth + opens > commands {
            break;
        }
        out.push_str(&piece);
        depth = depth + opens - closes;
    }
    while out.len() + depth < commands {
        out.push('+');
    }
    out.extend(std::iter::repeat_n(']', depth));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::{backend_by_name, compile_and_run, Config, Program, Status};

    /// Runs `workload` on backend `name` and requires the Rust implementation's output.
    fn check_on(name: &str, workload: &Workload) {
        let backend = backend_by_name(name).unwrap();
        let program = Program::parse(workload.program.as_str()).unwrap();
        let outcome =
            compile_and_run(backend, &program, &Config::default(), &workload.input).unwrap();
        assert_eq!(outcome.status, Status::Ok, "{} on {name}", workload.name);
        if outcome.output != workload.expected {
            let at = outcome
                .output
                .iter()
                .zip(&workload.expected)
                .position(|(a, b)| a != b)
                .unwrap_or(outcome.output.len().min(workload.expected.len()));
            panic!(
                "{} ({:?}) on {name}: output differs from the Rust implementation at byte {at} \
                 (lengths {} and {})",
                workload.name,
                workload.size,
                outcome.output.len(),
                workload.expected.len()
            );
        }
    }

    #[test]
    fn quick_workloads_match_their_rust_implementation_on_reference() {
        for workload in all(Size::Quick) {
            check_on("reference", &workload);
        }
    }

    #[test]
    fn full_workloads_match_their_rust_implementation_on_bytecode() {
        for workload in all(Size::Full) {
            check_on("bytecode", &workload);
        }
    }

    #[test]
    fn committed_workloads_are_up_to_date() {
        let stale = stale_files(&default_dir());
        let list: Vec<String> = stale.iter().map(|s| s.to_string()).collect();
        assert!(
            stale.is_empty(),
            "corpus/bench is out of date; regenerate with `{REGENERATE}`:\n{}",
            list.join("\n")
        );
    }

    #[test]
    fn families_have_their_profiles() {
        let full = all(Size::Full);
        let by_name = |n: &str| full.iter().find(|w| w.name == n).unwrap();
        assert!(by_name("fizzbuzz").expected.len() >= 1 << 20);
        let picture = &by_name("mandelbrot").expected;
        assert!(picture.contains(&b'@') && picture.contains(&b' ') && picture.contains(&b'.'));
        assert!(by_name("nested").program.matches('[').count() > 8);
        assert!(by_name("scan").program.contains("[>>>>]"));
        assert!(by_name("scan").program.contains("[>]"));
        assert!(by_name("counter").program.contains("[->+>>>>]"));
        assert!(by_name("selfinterp").program.contains("[>>>>>>]"));
        assert!(by_name("selfinterp").input.contains(&b'!'));
        assert_eq!(families().len(), 9);
        assert!(by_name("compiled").program.len() > 50_000);
        for size in Size::ALL {
            for w in all(size) {
                assert!(Program::parse(w.program.as_str()).is_ok(), "{}", w.name);
                assert!(!w.expected.is_empty(), "{}", w.name);
            }
        }
    }

    #[test]
    fn scaling_programs_have_the_exact_size_and_parse() {
        for n in [0, 1, 10_000, 100_000, 1_000_000] {
            let text = scaling_program(n);
            assert_eq!(text.len(), n);
            let program = Program::parse(text.as_str()).unwrap();
            assert_eq!(program.len(), n);
            if n >= 10_000 {
                assert!(text.contains("[->+<]") && text.contains("[>]"));
            }
        }
        assert_eq!(scaling_program(5000), scaling_program(5000));
    }
}
