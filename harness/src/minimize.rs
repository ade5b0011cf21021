//! Saving a reduced divergence (see [`crate::reduce`]) in corpus format.
//!
//! [`write_reproducer`] writes `NAME.bf`, `NAME.in` (when there is input), the reference's `NAME.out`,
//! `NAME.err` and `NAME.cfg` when needed (the corpus formats of `corpus/README.md`), and `NAME.txt`
//! with the configuration, both outcomes and the command line that replays it ([`replay_command`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use bfjit_backends::Status;

use crate::case::{describe_outcome, Case};
use crate::corpus::{config_text, ExpectedError};
use crate::dialect::{Comments, Dialect, Eof, Input, Output, Tape};
use crate::external::{ExternalEngine, DEFAULT_TIMEOUT};
use crate::oracle::{CaseReport, Class, Divergence, Engine, Verdict};

fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for &b in *part {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100000001b3);
    }
    h
}

/// The file stem a reproducer is saved under: `ENGINE-CLASS-HASH`.
pub fn reproducer_name(case: &Case, divergence: &Divergence) -> String {
    let config = format!("{} {}", case.config.tape_len(), case.config.eof());
    let hash = fnv(&[case.program.source(), &case.input, config.as_bytes()]);
    format!(
        "{}-{}-{:08x}",
        divergence.engine, divergence.class, hash as u32
    )
}

/// Writes the reproducer files for `case` into `dir` under `name` (see the module docs), for the
/// backend `divergence` names; returns the path of the `.bf` file. The replay command is `bfjit`'s
/// for a registered backend and `bfjit-testing`'s for any other name (a test backend): for an
/// external engine use [`write_reproducer_for`], which knows its command and dialect.
pub fn write_reproducer(
    dir: &Path,
    name: &str,
    case: &Case,
    report: &CaseReport,
    divergence: &Divergence,
) -> std::io::Result<PathBuf> {
    let replay = |bf: &Path| backend_replay(&divergence.engine, bf, case, divergence.class);
    write_files(dir, name, case, report, divergence, &replay)
}

/// Writes the reproducer files for `case` into `dir` under `name` (see the module docs), with the
/// command line that replays it on `engine` (the engine that diverged); returns the path of the
/// `.bf` file.
pub fn write_reproducer_for(
    dir: &Path,
    name: &str,
    case: &Case,
    report: &CaseReport,
    divergence: &Divergence,
    engine: &Engine,
) -> std::io::Result<PathBuf> {
    let replay = |bf: &Path| replay_command(engine, bf, case, divergence.class);
    write_files(dir, name, case, report, divergence, &replay)
}

/// The shell command line that checks the reproducer saved at `bf` again on `engine`, the engine
/// that diverged with `class` on `case`: `bfjit check` (which reads `NAME.in` and `NAME.cfg` next
/// to the program: the input, and the fuel of a program that must run out of it) with only that
/// engine, the case's tape length and EOF policy, and for an external engine its command (quoted
/// for the shell, and inside for the `--engine` parser), its dialect and a run time limit other
/// than the default. A backend outside the registry is a test backend, named with `--broken` of
/// `bfjit-testing`; a crash is replayed with `--isolate`, so it is reported and not fatal.
pub fn replay_command(engine: &Engine, bf: &Path, case: &Case, class: Class) -> String {
    match engine {
        Engine::Backend(b) => backend_replay(b.name(), bf, case, class),
        Engine::External(e) => external_replay(e, bf, case),
    }
}

fn backend_replay(name: &str, bf: &Path, case: &Case, class: Class) -> String {
    let file = shell_quote(&bf.to_string_lossy()).into_owned();
    let mut words: Vec<String> = if bfjit_backends::backend_by_name(name).is_some() {
        vec![
            "bfjit".into(),
            "check".into(),
            file,
            "--backends".into(),
            name.into(),
        ]
    } else {
        vec![
            "bfjit-testing".into(),
            "check".into(),
            file,
            "--backends".into(),
            "none".into(),
            "--broken".into(),
            shell_quote(name).into_owned(),
        ]
    };
    if class == Class::Crashed {
        words.push("--isolate".into());
    }
    words.extend(config_flags(case));
    words.join(" ")
}

fn external_replay(engine: &ExternalEngine, bf: &Path, case: &Case) -> String {
    // The `--engine` parser splits the command like a shell: quote each word for it, then the
    // whole `NAME=COMMAND` for the shell the user pastes the line into.
    let command: Vec<Cow<str>> = engine.argv.iter().map(|w| word_quote(w)).collect();
    let spec = format!("{}={}", engine.name, command.join(" "));
    let mut words = vec![
        "bfjit".to_string(),
        "check".into(),
        shell_quote(&bf.to_string_lossy()).into_owned(),
        "--backends".into(),
        "none".into(),
        "--engine".into(),
        shell_quote(&spec).into_owned(),
    ];
    let keys = dialect_keys(&engine.dialect);
    if !keys.is_empty() {
        words.push("--dialect".into());
        words.push(shell_quote(&format!("{}:{keys}", engine.name)).into_owned());
    }
    if engine.timeout != DEFAULT_TIMEOUT {
        words.push("--timeout".into());
        words.push(format!("{}", engine.timeout.as_secs_f64()));
    }
    words.extend(config_flags(case));
    words.join(" ")
}

/// `--tape-len N --eof E` of the case.
fn config_flags(case: &Case) -> [String; 4] {
    [
        "--tape-len".into(),
        case.config.tape_len().to_string(),
        "--eof".into(),
        case.config.eof().name().into(),
    ]
}

/// The `--dialect` keys that give `dialect` back (those it does not leave to the harness).
fn dialect_keys(dialect: &Dialect) -> String {
    let mut keys = Vec::new();
    match dialect.tape {
        Tape::Any => {}
        Tape::Exactly(n) => keys.push(format!("tape={n}")),
        Tape::AtLeast(n) => keys.push(format!("tape={n}+")),
    }
    match dialect.eof {
        Eof::Any => {}
        Eof::Policy(p) => keys.push(format!("eof={p}")),
        Eof::Undefined => keys.push("eof=none".into()),
    }
    match dialect.output {
        Output::Bytes => keys.push("output=bytes".into()),
        Output::Ascii => keys.push("output=ascii".into()),
    }
    match dialect.input {
        Input::Bytes => {}
        Input::No255 => keys.push("input=no-255".into()),
    }
    match dialect.comments {
        Comments::Any => {}
        Comments::NoBangHash => keys.push("comments=no-bang-hash".into()),
    }
    keys.join(",")
}

/// `word` as one word of a POSIX shell command line: as it is when it has only characters no shell
/// treats specially, else in single quotes (a `'` inside becomes `'\''`).
pub fn shell_quote(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
    }
}

/// `word` as one word for the `--engine` parser ([`crate::external::split_words`]): as it is
/// unless it has whitespace, quotes or `\` (placeholders such as `{file}` stay bare).
fn word_quote(word: &str) -> Cow<'_, str> {
    let special = |c: char| c.is_whitespace() || "'\"\\".contains(c);
    if word.is_empty() || word.contains(special) {
        Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
    } else {
        Cow::Borrowed(word)
    }
}

fn write_files(
    dir: &Path,
    name: &str,
    case: &Case,
    report: &CaseReport,
    divergence: &Divergence,
    replay: &dyn Fn(&Path) -> String,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = |ext: &str| dir.join(format!("{name}.{ext}"));
    let reference = &report.reference;
    std::fs::write(path("bf"), case.program.source())?;
    if !case.input.is_empty() {
        std::fs::write(path("in"), &case.input)?;
    }
    std::fs::write(path("out"), &reference.output)?;
    if let Some(expected) = ExpectedError::from_status(&reference.status) {
        std::fs::write(path("err"), format!("{expected}\n"))?;
    }
    // A non-terminating reference needs its budget to end the same way in the corpus runner.
    let fuel = (report.verdict == Verdict::Discarded || reference.status == Status::OutOfFuel)
        .then_some(report.budget);
    let cfg = config_text(&case.config.with_fuel(fuel), false);
    if !cfg.is_empty() {
        std::fs::write(path("cfg"), cfg)?;
    }
    let engine_run = report.runs.iter().find(|r| r.engine == divergence.engine);
    let mut txt = String::new();
    txt.push_str("bfjit differential reproducer\n");
    txt.push_str(&format!("engine: {}\n", divergence.engine));
    txt.push_str(&format!("class: {}\n", divergence.class));
    txt.push_str(&format!("divergence: {}\n", divergence.message));
    txt.push_str(&format!("tape_len: {}\n", case.config.tape_len()));
    txt.push_str(&format!("eof: {}\n", case.config.eof()));
    txt.push_str(&format!(
        "fuel: reference budget {}, used {}; the engine was given {}\n",
        report.budget,
        reference.fuel_used,
        if report.verdict == Verdict::Checked {
            reference.fuel_used
        } else {
            report.budget
        }
    ));
    txt.push_str(&format!("input: {:?}\n", case.input));
    txt.push_str(&format!(
        "program: {}\n",
        String::from_utf8_lossy(case.program.source())
    ));
    txt.push_str(&format!("reference: {}\n", describe_outcome(reference)));
    if let Some(run) = engine_run {
        txt.push_str(&format!("{}: {}\n", run.engine, run.observed));
    }
    txt.push_str(&format!("replay: {}\n", replay(&path("bf"))));
    std::fs::write(path("txt"), txt)?;
    Ok(path("bf"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{Engine, Oracle};
    use crate::reduce::{reduce, Settings};
    use bfjit_backends::{Config, EofPolicy, Program};

    fn settings() -> Settings {
        Settings {
            jobs: 2,
            ..Settings::default()
        }
    }

    #[test]
    fn shrinks_to_the_buggy_idiom() {
        let broken = crate::broken::by_name("broken-mul-offset").unwrap();
        let mut oracle = Oracle::new(vec![Engine::Backend(broken)], 10_000);
        let config = Config::new(30_000, EofPolicy::Max, None).unwrap();
        let case = Case::from_source(
            "++>+++. comment [-]< >+++++[->++>+<<]>.>.<<,,.",
            b"xyz".to_vec(),
            config,
        )
        .unwrap();
        let report = oracle.check(&case);
        let class = report.divergences().next().unwrap().class;
        let m = reduce(&mut oracle, &case, 0, class, &settings());
        assert_eq!(m.divergence.class, class);
        assert!(
            m.case.program.len() <= 12,
            "{:?}",
            String::from_utf8_lossy(m.case.program.source())
        );
        assert!(m.case.input.is_empty());
        assert!(
            m.case.config.tape_len() <= 4,
            "{}",
            m.case.config.tape_len()
        );
        assert_eq!(m.case.config.eof(), EofPolicy::Unchanged);

        let dir = tempfile::tempdir().unwrap();
        let name = reproducer_name(&m.case, &m.divergence);
        let bf = write_reproducer(dir.path(), &name, &m.case, &m.report, &m.divergence).unwrap();
        let loaded = crate::corpus::load_case(dir.path(), &bf).unwrap();
        assert_eq!(loaded.config.tape_len(), m.case.config.tape_len());
        assert_eq!(
            loaded.expected_output.as_deref(),
            Some(&m.report.reference.output[..])
        );
        let txt = std::fs::read_to_string(bf.with_extension("txt")).unwrap();
        assert!(txt.contains("engine: broken-mul-offset"), "{txt}");
    }

    #[test]
    fn quoted_words_come_back_whole() {
        for word in [
            "plain",
            "{file}",
            "with space",
            "it's",
            "'",
            "\\back\\slash",
            "\"double\"",
            "$HOME `x` *",
            "",
        ] {
            let quoted = word_quote(word);
            assert_eq!(
                crate::external::split_words(&quoted),
                Some(vec![word.to_string()]),
                "{quoted}"
            );
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", shell_quote(word)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
    }

    /// Like the reference, but writes one extra byte when the source has comment bytes: its
    /// divergence disappears once comments are stripped, so the minimizer must edit the commented
    /// program itself (where byte positions and command indices differ).
    struct CommentSensitive;

    struct WithExtra {
        inner: Box<dyn bfjit_backends::Executable>,
        extra: bool,
    }

    impl bfjit_backends::Executable for WithExtra {
        fn run(
            &self,
            input: &mut dyn std::io::Read,
            output: &mut dyn std::io::Write,
        ) -> bfjit_backends::Halt {
            let halt = self.inner.run(input, output);
            if self.extra {
                let _ = output.write_all(b"!");
            }
            halt
        }
    }

    impl bfjit_backends::Backend for CommentSensitive {
        fn name(&self) -> &'static str {
            "comment-sensitive"
        }
        fn summary(&self) -> &'static str {
            "reference plus one byte when the source has comments"
        }
        fn compile(
            &self,
            program: &Program,
            config: &Config,
        ) -> Result<Box<dyn bfjit_backends::Executable>, bfjit_backends::CompileError> {
            let inner = bfjit_backends::Backend::compile(
                &bfjit_backends::reference::Reference,
                program,
                config,
            )?;
            Ok(Box::new(WithExtra {
                inner,
                extra: program.source().len() != program.len(),
            }))
        }
    }

    static COMMENT_SENSITIVE: CommentSensitive = CommentSensitive;

    #[test]
    fn comments_never_confuse_the_loop_edits() {
        // Byte 2 is `[`, but command 2 is `]`: editing by byte position used to panic here.
        for source in ["xx[-]+.", "é\r\n[[-]>+<]\r\n.", "\u{ff}[>[-]<-]\u{0}."] {
            let mut oracle = Oracle::new(vec![Engine::Backend(&COMMENT_SENSITIVE)], 10_000);
            let case = Case::from_source(source, Vec::new(), Config::default()).unwrap();
            let report = oracle.check(&case);
            let class = report.divergences().next().expect("it diverges").class;
            let m = reduce(&mut oracle, &case, 0, class, &settings());
            assert_eq!(m.divergence.class, class, "{source:?}");
            assert!(m.case.program.len() <= case.program.len(), "{source:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(24))]

        /// A diverging program with comment bytes, non-ASCII bytes and CRLF line ends spliced in
        /// anywhere reduces to the same small comment-free reproducer.
        #[test]
        fn reduces_programs_with_comments_non_ascii_and_crlf(
            noise in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::strategy::Just(b'\r'),
                        proptest::strategy::Just(b'\n'),
                        proptest::strategy::Just(b'x'),
                        0x80u8..=0xff,
                        0u8..0x20,
                    ],
                    0..4,
                ),
                30,
            ),
        ) {
            let commands = b"++>+++.<[-]>+++++[->++>+<<]>.>.";
            let mut source = Vec::new();
            for (i, &c) in commands.iter().enumerate() {
                source.extend_from_slice(&noise[i % noise.len()]);
                if i % 7 == 3 {
                    source.extend_from_slice(b"\r\n");
                }
                source.push(c);
            }
            let broken = crate::broken::by_name("broken-mul-offset").unwrap();
            let mut oracle = Oracle::new(vec![Engine::Backend(broken)], 10_000);
            let case = Case::from_source(source, Vec::new(), Config::default()).unwrap();
            let report = oracle.check(&case);
            let class = report.divergences().next().expect("it diverges").class;
            let m = reduce(&mut oracle, &case, 0, class, &settings());
            proptest::prop_assert_eq!(m.divergence.class, class);
            proptest::prop_assert!(m.case.program.len() <= 12);
            proptest::prop_assert_eq!(m.case.program.source().len(), m.case.program.len());
        }
    }
}
