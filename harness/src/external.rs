//! Bring your own engine: any program on this machine, registered with
//! `--engine NAME='CMD ARGS {file}'`, checked against `reference` like a backend.
//!
//! For each case the harness writes the program to a temporary file, substitutes the placeholders in
//! the command, runs it with the case's input on standard input, and waits at most a timeout. It then
//! compares the engine's standard output with the reference's output, byte for byte, and whether it
//! succeeded (exit code 0) with whether the reference ended `Ok`. There is no tape to compare.
//!
//! Placeholders: `{file}` (required: the program's path), `{tape_len}` (the case's tape length) and
//! `{eof}` (`unchanged`, `zero` or `max`). An engine whose command has no `{tape_len}` is assumed to use
//! 30000 cells, one without `{eof}` to leave the cell unchanged at end of input; the fuzzer then pins
//! the generated configurations to those values ([`ExternalEngine::pinned`]).

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bfjit_backends::{Config, EofPolicy, Program, DEFAULT_TAPE_LEN};

use crate::case::{ExitInfo, Observed};

/// The default time an external engine gets per case.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An external program registered as an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalEngine {
    /// The name reports use.
    pub name: String,
    /// The command and its arguments, placeholders unsubstituted.
    pub argv: Vec<String>,
    /// How long one run may take.
    pub timeout: Duration,
}

/// Why an `--engine` specification was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineSpecError {
    /// There is no `=` between the name and the command.
    MissingName(String),
    /// The name is empty or contains characters other than letters, digits, `-` and `_`.
    BadName(String),
    /// The command is empty or its quotes are not closed.
    BadCommand(String),
    /// The command does not mention `{file}`.
    NoFile(String),
}

impl fmt::Display for EngineSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineSpecError::MissingName(s) => write!(
                f,
                "engine '{s}' has no name: write NAME='COMMAND ARGS {{file}}'"
            ),
            EngineSpecError::BadName(s) => write!(
                f,
                "engine name '{s}' is not allowed: use letters, digits, '-' and '_'"
            ),
            EngineSpecError::BadCommand(s) => {
                write!(f, "engine command '{s}' is empty or has an unclosed quote")
            }
            EngineSpecError::NoFile(s) => write!(
                f,
                "engine command '{s}' does not contain {{file}}, where the program's path goes"
            ),
        }
    }
}

impl std::error::Error for EngineSpecError {}

impl ExternalEngine {
    /// Parses `NAME=COMMAND ARGS`, where the command is split into words like a shell does (single
    /// and double quotes, backslash escapes), and must contain `{file}`.
    pub fn parse(spec: &str, timeout: Duration) -> Result<ExternalEngine, EngineSpecError> {
        let (name, command) = spec
            .split_once('=')
            .ok_or_else(|| EngineSpecError::MissingName(spec.to_string()))?;
        let name = name.trim();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(EngineSpecError::BadName(name.to_string()));
        }
        let argv = split_words(command)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| EngineSpecError::BadCommand(command.to_string()))?;
        if !argv.iter().any(|w| w.contains("{file}")) {
            return Err(EngineSpecError::NoFile(command.to_string()));
        }
        Ok(ExternalEngine {
            name: name.to_string(),
            argv,
            timeout,
        })
    }

    /// The tape length and EOF policy this engine is fixed to, when its command cannot be told
    /// (no `{tape_len}` / `{eof}` placeholder).
    pub fn pinned(&self) -> (Option<usize>, Option<EofPolicy>) {
        let has = |p: &str| self.argv.iter().any(|w| w.contains(p));
        (
            (!has("{tape_len}")).then_some(DEFAULT_TAPE_LEN),
            (!has("{eof}")).then_some(EofPolicy::Unchanged),
        )
    }

    /// The command line for one run.
    fn command_line(&self, file: &Path, config: &Config) -> Vec<String> {
        self.argv
            .iter()
            .map(|w| {
                w.replace("{file}", &file.to_string_lossy())
                    .replace("{tape_len}", &config.tape_len().to_string())
                    .replace("{eof}", config.eof().name())
            })
            .collect()
    }

    /// Runs the engine on one program and input.
    pub fn run(&self, program: &Program, input: &[u8], config: &Config) -> Observed {
        let file = match tempfile::Builder::new()
            .prefix("bfjit-case-")
            .suffix(".bf")
            .tempfile()
        {
            Ok(mut file) => match file.write_all(program.source()).and_then(|_| file.flush()) {
                Ok(()) => file,
                Err(e) => return spawn_failed(e),
            },
            Err(e) => return spawn_failed(e),
        };
        let argv = self.command_line(file.path(), config);
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => return spawn_failed(e),
        };
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        // The engine may not read all its input (or exit early): a write error is not a failure.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let start = Instant::now();
        let mut pause = Duration::from_micros(200);
        let exit = loop {
            match child.try_wait() {
                Ok(Some(status)) => break ExitInfo::of(status),
                Ok(None) if start.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break ExitInfo::TimedOut(self.timeout);
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
                Err(e) => break ExitInfo::SpawnFailed(e.to_string()),
            }
        };
        let _ = writer.join();
        let stdout = reader.join().unwrap_or_default();
        Observed::External { stdout, exit }
    }
}

impl fmt::Display for ExternalEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}='{}'", self.name, self.argv.join(" "))
    }
}

fn spawn_failed(e: std::io::Error) -> Observed {
    Observed::External {
        stdout: Vec::new(),
        exit: ExitInfo::SpawnFailed(e.to_string()),
    }
}

/// Splits a command into words like a POSIX shell: whitespace separates, quotes group, `\` escapes
/// (outside single quotes). `None` when a quote is not closed.
pub fn split_words(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"python3 'my dir/x.py' --a="b c" \{file\} {file}"#).unwrap(),
            ["python3", "my dir/x.py", "--a=b c", "{file}", "{file}"]
        );
        assert_eq!(split_words("a 'b"), None);
    }

    #[test]
    fn specs_need_a_name_and_a_file() {
        let t = DEFAULT_TIMEOUT;
        let e = ExternalEngine::parse("mine=./bf --eof {eof} {file}", t).unwrap();
        assert_eq!(e.name, "mine");
        assert_eq!(e.pinned(), (Some(DEFAULT_TAPE_LEN), None));
        assert!(matches!(
            ExternalEngine::parse("./bf {file}", t),
            Err(EngineSpecError::MissingName(_))
        ));
        assert!(matches!(
            ExternalEngine::parse("x=./bf", t),
            Err(EngineSpecError::NoFile(_))
        ));
        assert!(matches!(
            ExternalEngine::parse("a b=./bf {file}", t),
            Err(EngineSpecError::BadName(_))
        ));
    }

    #[test]
    fn runs_a_command_with_stdin_and_a_timeout() {
        let program = Program::parse("+.").unwrap();
        let cat = ExternalEngine::parse("cat=sh -c 'cat; exit 3' {file}", DEFAULT_TIMEOUT).unwrap();
        let observed = cat.run(&program, b"hello", &Config::default());
        assert_eq!(
            observed,
            Observed::External {
                stdout: b"hello".to_vec(),
                exit: ExitInfo::Code(3)
            }
        );
        let slow = ExternalEngine::parse("slow=sh -c 'sleep 5' {file}", Duration::from_millis(100))
            .unwrap();
        let Observed::External { exit, .. } = slow.run(&program, b"", &Config::default()) else {
            panic!()
        };
        assert!(matches!(exit, ExitInfo::TimedOut(_)), "{exit}");
    }
}
