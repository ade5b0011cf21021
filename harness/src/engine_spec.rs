//! Engine specifications as users write them: `--engine NAME='CMD ARGS {file}'`,
//! `--dialect NAME:KEY=VALUE[,KEY=VALUE…]` and `--engines FILE` (TOML), turned into [`EngineSpec`]s
//! (a name, a command, a [`Dialect`]). Shared by every subcommand that runs external engines.
//!
//! The TOML file has one table per engine, `command` first, then any dialect key:
//!
//! ```toml
//! [beef]
//! command = "beef -s same {file}"
//! tape = "30000+"      # or an integer: tape = 30000
//! eof = "unchanged"
//! output = "ascii"
//! ```
//!
//! [`engine_specs`] is the one entry point: engines from the file, then from `--engine`, then every
//! `--dialect` applied to the engine it names (in order, so a later key wins).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::dialect::{Dialect, DialectError};

/// An external engine as specified: name, command words (placeholders unsubstituted), dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSpec {
    /// The name reports use.
    pub name: String,
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// What the engine does where BF implementations differ.
    pub dialect: Dialect,
}

/// Why an engine specification was rejected.
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
    /// Two engines have the same name.
    Duplicate(String),
    /// A `--dialect` names no engine.
    UnknownEngine(String),
    /// A dialect setting is malformed (the text says which and what is allowed).
    Dialect(String, DialectError),
    /// The `--engines` file cannot be read or is not valid (the text says why).
    File(PathBuf, String),
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
            EngineSpecError::Duplicate(s) => write!(f, "engine '{s}' is given twice"),
            EngineSpecError::UnknownEngine(s) => write!(
                f,
                "--dialect names engine '{s}', but no --engine or --engines table has that name"
            ),
            EngineSpecError::Dialect(name, e) => write!(f, "engine '{name}': {e}"),
            EngineSpecError::File(path, why) => write!(f, "{}: {why}", path.display()),
        }
    }
}

impl std::error::Error for EngineSpecError {}

fn check_name(name: &str) -> Result<String, EngineSpecError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(EngineSpecError::BadName(name.to_string()))
    }
}

impl EngineSpec {
    /// An engine named `name` running `command` (split into words like a shell does), with the
    /// default dialect of its placeholders ([`Dialect::of_command`]).
    pub fn new(name: &str, command: &str) -> Result<EngineSpec, EngineSpecError> {
        let name = check_name(name)?;
        let argv = split_words(command)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| EngineSpecError::BadCommand(command.to_string()))?;
        if !argv.iter().any(|w| w.contains("{file}")) {
            return Err(EngineSpecError::NoFile(command.to_string()));
        }
        let has = |p: &str| argv.iter().any(|w| w.contains(p));
        let dialect = Dialect::of_command(has("{tape_len}"), has("{eof}"));
        Ok(EngineSpec {
            name,
            argv,
            dialect,
        })
    }

    /// Parses `NAME=COMMAND ARGS` (the `--engine` flag); the command must contain `{file}`.
    pub fn parse(spec: &str) -> Result<EngineSpec, EngineSpecError> {
        let (name, command) = spec
            .split_once('=')
            .ok_or_else(|| EngineSpecError::MissingName(spec.to_string()))?;
        EngineSpec::new(name, command)
    }
}

/// Parses `NAME:KEY=VALUE[,KEY=VALUE…]` (the `--dialect` flag) into the name and the settings.
pub fn parse_dialect_flag(flag: &str) -> Result<(String, String), EngineSpecError> {
    let (name, settings) = flag.split_once(':').ok_or_else(|| {
        EngineSpecError::Dialect(
            flag.to_string(),
            DialectError(format!(
                "write NAME:KEY=VALUE[,KEY=VALUE...] with keys {}",
                crate::dialect::KEYS
            )),
        )
    })?;
    let name = check_name(name)?;
    // Checked now, so a bad key is reported even before the engines are known.
    let mut probe = Dialect::ANY;
    probe
        .set_all(settings)
        .map_err(|e| EngineSpecError::Dialect(name.clone(), e))?;
    Ok((name, settings.to_string()))
}

/// Reads an `--engines` TOML file (see the module docs).
pub fn load_engines_file(path: &Path) -> Result<Vec<EngineSpec>, EngineSpecError> {
    let fail = |why: String| EngineSpecError::File(path.to_path_buf(), why);
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| fail(format!("not valid TOML: {e}")))?;
    let mut specs = Vec::new();
    for (name, value) in &table {
        let toml::Value::Table(keys) = value else {
            return Err(fail(format!(
                "'{name}' must be a table ([{name}] with command = \"...\")"
            )));
        };
        let command = match keys.get("command") {
            Some(toml::Value::String(c)) => c,
            _ => {
                return Err(fail(format!(
                    "[{name}] needs command = \"CMD ARGS {{file}}\""
                )))
            }
        };
        let mut spec = EngineSpec::new(name, command)?;
        for (key, value) in keys.iter().filter(|(k, _)| *k != "command") {
            let value = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                other => {
                    return Err(fail(format!(
                        "[{name}] {key} = {}: expected a string or an integer",
                        other.type_str()
                    )))
                }
            };
            spec.dialect
                .set(key, &value)
                .map_err(|e| EngineSpecError::Dialect(spec.name.clone(), e))?;
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// The engines of a command line: every table of the `files`, then every `--engine` flag, then each
/// `--dialect` flag applied to the engine it names. Names must be unique.
pub fn engine_specs(
    engine_flags: &[String],
    dialect_flags: &[String],
    files: &[PathBuf],
) -> Result<Vec<EngineSpec>, EngineSpecError> {
    let mut specs = Vec::new();
    for file in files {
        specs.extend(load_engines_file(file)?);
    }
    for flag in engine_flags {
        specs.push(EngineSpec::parse(flag)?);
    }
    for (i, spec) in specs.iter().enumerate() {
        if specs[..i].iter().any(|s| s.name == spec.name) {
            return Err(EngineSpecError::Duplicate(spec.name.clone()));
        }
    }
    for flag in dialect_flags {
        let (name, settings) = parse_dialect_flag(flag)?;
        let spec = specs
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or(EngineSpecError::UnknownEngine(name.clone()))?;
        spec.dialect
            .set_all(&settings)
            .map_err(|e| EngineSpecError::Dialect(name, e))?;
    }
    Ok(specs)
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
    use crate::dialect::{Eof, Output, Tape};
    use bfjit_backends::{EofPolicy, DEFAULT_TAPE_LEN};

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
        let e = EngineSpec::parse("mine=./bf --eof {eof} {file}").unwrap();
        assert_eq!(e.name, "mine");
        assert_eq!(e.dialect.tape, Tape::Exactly(DEFAULT_TAPE_LEN));
        assert_eq!(e.dialect.eof, Eof::Any);
        assert!(matches!(
            EngineSpec::parse("./bf {file}"),
            Err(EngineSpecError::MissingName(_))
        ));
        assert!(matches!(
            EngineSpec::parse("x=./bf"),
            Err(EngineSpecError::NoFile(_))
        ));
        assert!(matches!(
            EngineSpec::parse("a b=./bf {file}"),
            Err(EngineSpecError::BadName(_))
        ));
    }

    #[test]
    fn dialect_flags_apply_to_their_engine() {
        let specs = engine_specs(
            &["beef=beef -s same {file}".into(), "b=./b {file}".into()],
            &[
                "beef:tape=30000+,eof=unchanged".into(),
                "beef:output=ascii".into(),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(specs[0].dialect.tape, Tape::AtLeast(30_000));
        assert_eq!(specs[0].dialect.output, Output::Ascii);
        assert_eq!(specs[1].dialect, Dialect::of_command(false, false));
        let unknown = engine_specs(&["b=./b {file}".into()], &["c:eof=zero".into()], &[]);
        assert!(matches!(unknown, Err(EngineSpecError::UnknownEngine(_))));
        let bad = engine_specs(&["b=./b {file}".into()], &["b:eof=sometimes".into()], &[]);
        assert!(bad.unwrap_err().to_string().contains("eof=sometimes"));
        let twice = engine_specs(&["b=./b {file}".into(), "b=./c {file}".into()], &[], &[]);
        assert!(matches!(twice, Err(EngineSpecError::Duplicate(_))));
    }

    #[test]
    fn engines_files_hold_a_table_per_engine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engines.toml");
        std::fs::write(
            &path,
            "[beef]\ncommand = \"beef -s zero {file}\"\ntape = \"30000+\"\neof = \"zero\"\n\
             output = \"ascii\"\n\n[mine]\ncommand = \"./bf {file}\"\ntape = 100\n",
        )
        .unwrap();
        let specs =
            engine_specs(&[], &["mine:eof=none".into()], std::slice::from_ref(&path)).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].name, "beef");
        assert_eq!(specs[0].dialect.eof, Eof::Policy(EofPolicy::Zero));
        assert_eq!(specs[1].dialect.tape, Tape::Exactly(100));
        assert_eq!(specs[1].dialect.eof, Eof::Undefined);
        for bad in [
            "[x]\ntape = 3\n",
            "x = 1\n",
            "[x]\ncommand = \"./bf {file}\"\ntape = true\n",
            "[x]\ncommand = \"./bf {file}\"\nspeed = \"fast\"\n",
            "[x\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = load_engines_file(&path).unwrap_err();
            assert!(
                err.to_string().contains("engines.toml")
                    || matches!(err, EngineSpecError::Dialect(..)),
                "{bad}: {err}"
            );
        }
    }
}
