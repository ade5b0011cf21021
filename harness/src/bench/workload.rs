//! The benchmark workloads: corpus programs with their input, configuration and expected output,
//! loaded and parsed before anything is timed.

use std::fmt;
use std::path::{Path, PathBuf};

use bfjit_backends::{Config, ParseError, Program};

use crate::corpus::{self, CorpusCase, CorpusError};

/// One benchmark program with its input, configuration and expected output.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The corpus case it was loaded from (name, path, input, expected files, configuration).
    pub case: CorpusCase,
    /// The parsed program.
    pub program: Program,
}

impl Workload {
    /// A workload from a corpus case; the case must have an expected output.
    pub fn from_case(case: CorpusCase) -> Result<Workload, LoadError> {
        if case.expected_output.is_none() {
            return Err(LoadError::NoExpectedOutput {
                path: case.path.with_extension("out"),
            });
        }
        let program = case.program().map_err(|error| LoadError::Parse {
            path: case.path.clone(),
            error,
        })?;
        Ok(Workload { case, program })
    }

    /// A workload from in-memory parts (tests, generated programs).
    pub fn from_parts(
        name: &str,
        source: &[u8],
        input: &[u8],
        expected: &[u8],
    ) -> Result<Workload, LoadError> {
        let case = CorpusCase {
            name: name.to_string(),
            path: PathBuf::from(format!("{name}.bf")),
            source: source.to_vec(),
            input: input.to_vec(),
            expected_output: Some(expected.to_vec()),
            expected_error: None,
            config: Config::default(),
            slow: false,
        };
        Workload::from_case(case)
    }

    /// The workload's name (file stem).
    pub fn name(&self) -> &str {
        &self.case.name
    }
}

/// Why workloads could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// A corpus file could not be read or is malformed.
    Corpus(CorpusError),
    /// A path given does not exist.
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A file given is not a `.bf` file.
    NotBf {
        /// The file.
        path: PathBuf,
    },
    /// A workload has no `NAME.out`: its output could not be verified.
    NoExpectedOutput {
        /// The missing `.out` path.
        path: PathBuf,
    },
    /// A workload does not parse.
    Parse {
        /// The `.bf` file.
        path: PathBuf,
        /// The parse error.
        error: ParseError,
    },
    /// No `.bf` files were found in the paths given.
    Empty {
        /// The paths searched.
        paths: Vec<PathBuf>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Corpus(e) => write!(f, "{e}"),
            LoadError::NotFound { path } => {
                write!(f, "{}: no such file or directory", path.display())
            }
            LoadError::NotBf { path } => {
                write!(
                    f,
                    "{}: not a .bf file (give .bf files or directories)",
                    path.display()
                )
            }
            LoadError::NoExpectedOutput { path } => write!(
                f,
                "{} is missing: every benchmark output is verified, so each NAME.bf needs NAME.out",
                path.display()
            ),
            LoadError::Parse { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::Empty { paths } => {
                let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(f, "no .bf workloads found in {}", list.join(", "))
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl From<CorpusError> for LoadError {
    fn from(e: CorpusError) -> Self {
        LoadError::Corpus(e)
    }
}

/// Loads workloads from `.bf` files and directories (a directory's own `*.bf` files, not its
/// subdirectories'), sorted by name within each directory.
pub fn load_workloads(paths: &[PathBuf]) -> Result<Vec<Workload>, LoadError> {
    let mut workloads = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|error| CorpusError::Io {
                path: path.clone(),
                error,
            })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|error| CorpusError::Io {
                    path: path.clone(),
                    error,
                })?;
                let file = entry.path();
                if file.is_file() && file.extension().is_some_and(|e| e == "bf") {
                    files.push(file);
                }
            }
            files.sort();
            for file in files {
                let case = corpus::load_case(path, &file)?;
                workloads.push(Workload::from_case(case)?);
            }
        } else if path.is_file() {
            if path.extension().is_none_or(|e| e != "bf") {
                return Err(LoadError::NotBf { path: path.clone() });
            }
            let root = path.parent().unwrap_or(Path::new("."));
            workloads.push(Workload::from_case(corpus::load_case(root, path)?)?);
        } else {
            return Err(LoadError::NotFound { path: path.clone() });
        }
    }
    if workloads.is_empty() {
        return Err(LoadError::Empty {
            paths: paths.to_vec(),
        });
    }
    Ok(workloads)
}
