//! Loading the program corpus (`corpus/`): BF programs with their input, configuration and expected
//! results, as described in `corpus/README.md`.
//!
//! The corpus test, the differential harness and the benchmarks all read the corpus through
//! [`load_dir`], so the file formats are parsed in exactly one place. [`ExpectedError`] and
//! [`config_text`] also write those formats, so a failing case can be saved as a corpus entry.

use std::fmt;
use std::path::{Path, PathBuf};

use bfjit_backends::{Config, ConfigError, EofPolicy, Outcome, ParseError, Program, Side, Status};

/// The result a failing corpus program must end with, as written in its `NAME.err` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedError {
    /// `pointer-out-of-bounds LINE:COLUMN left|right`: a `<`/`>` at that position left the tape.
    PointerOutOfBounds {
        /// 1-based line of the command.
        line: u32,
        /// 1-based byte column of the command.
        column: u32,
        /// Which end of the tape it left by.
        side: Side,
    },
    /// `out-of-fuel`: the fuel budget ran out.
    OutOfFuel,
    /// `unmatched-close LINE:COLUMN`: the program does not parse, this `]` has no `[`.
    UnmatchedClose {
        /// 1-based line of the `]`.
        line: u32,
        /// 1-based byte column of the `]`.
        column: u32,
    },
    /// `unclosed-open LINE:COLUMN`: the program does not parse, this outermost `[` has no `]`.
    UnclosedOpen {
        /// 1-based line of the `[`.
        line: u32,
        /// 1-based byte column of the `[`.
        column: u32,
    },
}

impl ExpectedError {
    /// Parses the first line of an `.err` file.
    pub fn parse(text: &str) -> Result<ExpectedError, String> {
        let line = text.lines().next().unwrap_or("").trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = |word: Option<&&str>| -> Result<(u32, u32), String> {
            let word = word.ok_or_else(|| format!("'{line}': missing LINE:COLUMN"))?;
            let (l, c) = word
                .split_once(':')
                .ok_or_else(|| format!("'{word}' is not LINE:COLUMN"))?;
            let number = |s: &str| {
                s.parse::<u32>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| format!("'{word}' is not LINE:COLUMN (1-based numbers)"))
            };
            Ok((number(l)?, number(c)?))
        };
        let expect_len = |n: usize| {
            if words.len() == n {
                Ok(())
            } else {
                Err(format!("'{line}': expected {n} words"))
            }
        };
        match words.first().copied() {
            Some("pointer-out-of-bounds") => {
                expect_len(3)?;
                let (line, column) = at(words.get(1))?;
                let side = match words[2] {
                    "left" => Side::Left,
                    "right" => Side::Right,
                    other => return Err(format!("side '{other}' is not left or right")),
                };
                Ok(ExpectedError::PointerOutOfBounds { line, column, side })
            }
            Some("out-of-fuel") => {
                expect_len(1)?;
                Ok(ExpectedError::OutOfFuel)
            }
            Some("unmatched-close") => {
                expect_len(2)?;
                let (line, column) = at(words.get(1))?;
                Ok(ExpectedError::UnmatchedClose { line, column })
            }
            Some("unclosed-open") => {
                expect_len(2)?;
                let (line, column) = at(words.get(1))?;
                Ok(ExpectedError::UnclosedOpen { line, column })
            }
            _ => Err(format!(
                "'{line}' is not one of pointer-out-of-bounds, out-of-fuel, unmatched-close, \
                 unclosed-open"
            )),
        }
    }

    /// The expected error a run status stands for (`None` for `Ok`, for I/O errors and for
    /// out-of-bounds errors without a position, which the corpus does not express).
    pub fn from_status(status: &Status) -> Option<ExpectedError> {
        match status {
            Status::PointerOutOfBounds { position, side } => {
                Some(ExpectedError::PointerOutOfBounds {
                    line: position.line,
                    column: position.column,
                    side: *side,
                })
            }
            Status::OutOfFuel => Some(ExpectedError::OutOfFuel),
            Status::Ok | Status::Io(_) | Status::PointerOutOfBoundsUnlocated { .. } => None,
        }
    }

    /// The expected error a parse error stands for (`None` for errors without a position).
    pub fn from_parse_error(error: &ParseError) -> Option<ExpectedError> {
        match error {
            ParseError::UnmatchedClose { position } => Some(ExpectedError::UnmatchedClose {
                line: position.line,
                column: position.column,
            }),
            ParseError::UnclosedOpen { position } => Some(ExpectedError::UnclosedOpen {
                line: position.line,
                column: position.column,
            }),
            ParseError::TooLarge { .. } => None,
        }
    }

    /// Whether this is a parse error (the program never runs) rather than a run-time one.
    pub fn is_parse_error(&self) -> bool {
        matches!(
            self,
            ExpectedError::UnmatchedClose { .. } | ExpectedError::UnclosedOpen { .. }
        )
    }
}

impl fmt::Display for ExpectedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedError::PointerOutOfBounds { line, column, side } => {
                let side = match side {
                    Side::Left => "left",
                    Side::Right => "right",
                };
                write!(f, "pointer-out-of-bounds {line}:{column} {side}")
            }
            ExpectedError::OutOfFuel => f.write_str("out-of-fuel"),
            ExpectedError::UnmatchedClose { line, column } => {
                write!(f, "unmatched-close {line}:{column}")
            }
            ExpectedError::UnclosedOpen { line, column } => {
                write!(f, "unclosed-open {line}:{column}")
            }
        }
    }
}

/// One corpus program with everything needed to run and check it.
#[derive(Clone, Debug)]
pub struct CorpusCase {
    /// The path below the corpus root without `.bf`, with `/` separators, e.g. `regressions/scan`.
    pub name: String,
    /// The path of the `.bf` file.
    pub path: PathBuf,
    /// The program's source bytes.
    pub source: Vec<u8>,
    /// The bytes of `NAME.in` (empty when there is none).
    pub input: Vec<u8>,
    /// The bytes of `NAME.out`, or `None` when there is no such file (allowed for parse errors and
    /// for benchmark programs).
    pub expected_output: Option<Vec<u8>>,
    /// The contents of `NAME.err`, or `None` when the program must end `Ok`.
    pub expected_error: Option<ExpectedError>,
    /// The configuration from `NAME.cfg` (defaults where it says nothing).
    pub config: Config,
    /// `slow = true` in `NAME.cfg`: too slow for the reference interpreter in the default test run.
    pub slow: bool,
}

impl CorpusCase {
    /// Parses the source.
    pub fn program(&self) -> Result<Program, ParseError> {
        Program::parse(self.source.clone())
    }

    /// Checks an outcome against the expected files: output (when `NAME.out` exists) and status
    /// (with its position). Returns a description of the first mismatch.
    pub fn check(&self, outcome: &Outcome) -> Result<(), Mismatch> {
        if let Some(expected) = &self.expected_output {
            if let Some(index) = first_difference(expected, &outcome.output) {
                return Err(Mismatch::Output {
                    index,
                    expected: expected.get(index).copied(),
                    actual: outcome.output.get(index).copied(),
                });
            }
        }
        let actual = ExpectedError::from_status(&outcome.status);
        let io = matches!(outcome.status, Status::Io(_));
        if io || actual != self.expected_error {
            return Err(Mismatch::Status {
                expected: self.expected_error.clone(),
                actual: outcome.status.clone(),
            });
        }
        Ok(())
    }
}

/// How an outcome differs from a corpus case's expected files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The output differs at byte `index` (`None`: that output had ended).
    Output {
        /// Index of the first differing byte.
        index: usize,
        /// The expected byte.
        expected: Option<u8>,
        /// The byte the run wrote.
        actual: Option<u8>,
    },
    /// The run ended differently than `NAME.err` (or its absence) says.
    Status {
        /// The expected error (`None`: the run should end `Ok`).
        expected: Option<ExpectedError>,
        /// How the run ended.
        actual: Status,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |b: &Option<u8>| b.map_or("end of output".to_string(), |b| format!("{b:#04x}"));
        match self {
            Mismatch::Output {
                index,
                expected,
                actual,
            } => write!(
                f,
                "output differs at byte {index}: expected {}, got {}",
                show(expected),
                show(actual)
            ),
            Mismatch::Status { expected, actual } => {
                let expected = expected
                    .as_ref()
                    .map_or("ok".to_string(), |e| e.to_string());
                write!(f, "status differs: expected {expected}, got {actual}")
            }
        }
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    common.or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Why the corpus could not be loaded.
#[derive(Debug)]
pub enum CorpusError {
    /// A file or directory could not be read.
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A `.cfg` or `.err` file is malformed.
    Format {
        /// The malformed file.
        path: PathBuf,
        /// 1-based line of the problem (0 when it concerns the whole file).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for CorpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorpusError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CorpusError::Format {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
        }
    }
}

impl std::error::Error for CorpusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CorpusError::Io { error, .. } => Some(error),
            CorpusError::Format { .. } => None,
        }
    }
}

/// The repository's `corpus/` directory.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// Loads every `NAME.bf` below `root` (subdirectories included), sorted by name.
pub fn load_dir(root: impl AsRef<Path>) -> Result<Vec<CorpusCase>, CorpusError> {
    let root = root.as_ref();
    let mut cases = Vec::new();
    // An explicit stack of directories still to visit: no recursion.
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|error| CorpusError::Io {
            path: dir.clone(),
            error,
        })?;
        for entry in entries {
            let entry = entry.map_err(|error| CorpusError::Io {
                path: dir.clone(),
                error,
            })?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "bf") {
                cases.push(load_case(root, &path)?);
            }
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// Loads one case from its `.bf` path and the sibling files.
pub fn load_case(root: &Path, path: &Path) -> Result<CorpusCase, CorpusError> {
    let relative = path.strip_prefix(root).unwrap_or(path).with_extension("");
    let name = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let source = read(path)?;
    let input = read_optional(&path.with_extension("in"))?.unwrap_or_default();
    let expected_output = read_optional(&path.with_extension("out"))?;
    let err_path = path.with_extension("err");
    let expected_error = match read_optional(&err_path)? {
        None => None,
        Some(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            Some(
                ExpectedError::parse(&text).map_err(|message| CorpusError::Format {
                    path: err_path.clone(),
                    line: 1,
                    message,
                })?,
            )
        }
    };
    let cfg_path = path.with_extension("cfg");
    let (config, slow) = match read_optional(&cfg_path)? {
        None => (Config::default(), false),
        Some(bytes) => {
            parse_config(&String::from_utf8_lossy(&bytes)).map_err(|(line, message)| {
                CorpusError::Format {
                    path: cfg_path.clone(),
                    line,
                    message,
                }
            })?
        }
    };
    Ok(CorpusCase {
        name,
        path: path.to_path_buf(),
        source,
        input,
        expected_output,
        expected_error,
        config,
        slow,
    })
}

/// Parses a `.cfg` text: `key = value` lines (`tape_len`, `eof`, `fuel`, `slow`), `#` comments.
/// Returns the configuration and the `slow` flag, or the 1-based line and message of the first error.
pub fn parse_config(text: &str) -> Result<(Config, bool), (usize, String)> {
    let mut config = Config::default();
    let mut slow = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| (line_no, format!("'{line}' is not `key = value`")))?;
        let bad = |what: &str| (line_no, format!("{key} = '{value}': {what}"));
        match key {
            "tape_len" => {
                let tape_len = value.parse().map_err(|_| bad("expected a whole number"))?;
                config = config
                    .with_tape_len(tape_len)
                    .map_err(|e: ConfigError| bad(&e.to_string()))?;
            }
            "eof" => {
                config = config.with_eof(
                    value
                        .parse::<EofPolicy>()
                        .map_err(|e| bad(&e.to_string()))?,
                );
            }
            "fuel" => {
                config = config.with_fuel(Some(
                    value.parse().map_err(|_| bad("expected a whole number"))?,
                ));
            }
            "slow" => {
                slow = value.parse().map_err(|_| bad("expected true or false"))?;
            }
            _ => {
                return Err((
                    line_no,
                    format!("unknown key '{key}': use tape_len, eof, fuel or slow"),
                ))
            }
        }
    }
    Ok((config, slow))
}

/// The `.cfg` text for a configuration: only the settings that differ from the default.
pub fn config_text(config: &Config, slow: bool) -> String {
    let default = Config::default();
    let mut text = String::new();
    if config.tape_len() != default.tape_len() {
        text.push_str(&format!("tape_len = {}\n", config.tape_len()));
    }
    if config.eof() != default.eof() {
        text.push_str(&format!("eof = {}\n", config.eof()));
    }
    if let Some(fuel) = config.fuel() {
        text.push_str(&format!("fuel = {fuel}\n"));
    }
    if slow {
        text.push_str("slow = true\n");
    }
    text
}

fn read(path: &Path) -> Result<Vec<u8>, CorpusError> {
    std::fs::read(path).map_err(|error| CorpusError::Io {
        path: path.to_path_buf(),
        error,
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, CorpusError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(CorpusError::Io {
            path: path.to_path_buf(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_lines_round_trip() {
        for text in [
            "pointer-out-of-bounds 3:5 left",
            "pointer-out-of-bounds 1:12 right",
            "out-of-fuel",
            "unmatched-close 2:1",
            "unclosed-open 7:40",
        ] {
            let parsed = ExpectedError::parse(text).unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn bad_err_lines_are_rejected_with_a_reason() {
        for text in [
            "",
            "crash",
            "pointer-out-of-bounds 3:5",
            "pointer-out-of-bounds 0:5 left",
            "pointer-out-of-bounds 3-5 left",
            "out-of-fuel 3:5",
            "unclosed-open",
        ] {
            let err = ExpectedError::parse(text).unwrap_err();
            assert!(!err.is_empty(), "{text}");
        }
    }

    #[test]
    fn config_files_parse_and_round_trip() {
        let (config, slow) =
            parse_config("# small tape\ntape_len = 16\neof = max\nfuel = 1000\nslow = true\n")
                .unwrap();
        assert_eq!(config.tape_len(), 16);
        assert_eq!(config.eof(), EofPolicy::Max);
        assert_eq!(config.fuel(), Some(1000));
        assert!(slow);
        assert_eq!(
            parse_config(&config_text(&config, slow)).unwrap(),
            (config, slow)
        );
        assert_eq!(config_text(&Config::default(), false), "");
    }

    #[test]
    fn bad_config_lines_name_the_line() {
        assert_eq!(parse_config("eof = zero\ntape_len = 0").unwrap_err().0, 2);
        assert_eq!(parse_config("eof = bogus").unwrap_err().0, 1);
        assert_eq!(parse_config("\ncolour = red").unwrap_err().0, 2);
        assert_eq!(parse_config("fuel").unwrap_err().0, 1);
    }

    #[test]
    fn check_compares_output_then_status() {
        let case = CorpusCase {
            name: "t".into(),
            path: PathBuf::from("t.bf"),
            source: b"+.".to_vec(),
            input: Vec::new(),
            expected_output: Some(vec![1]),
            expected_error: None,
            config: Config::default(),
            slow: false,
        };
        let outcome = |output: Vec<u8>, status| Outcome {
            output,
            status,
            pointer: 0,
            tape: vec![1],
            fuel_used: 0,
        };
        assert_eq!(case.check(&outcome(vec![1], Status::Ok)), Ok(()));
        assert!(matches!(
            case.check(&outcome(vec![1, 2], Status::Ok)),
            Err(Mismatch::Output { index: 1, .. })
        ));
        assert!(matches!(
            case.check(&outcome(vec![1], Status::OutOfFuel)),
            Err(Mismatch::Status { .. })
        ));
    }
}
