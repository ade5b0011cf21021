//! Shrinking a diverging case to a small reproducer, and saving it in corpus format.
//!
//! [`minimize`] keeps a candidate only when the same engine still diverges with the same [`Class`]:
//! it deletes whole loops, unwraps loops (keeping their bodies), deletes runs of commands (halving the
//! run length down to one command), shortens the input, lowers the tape length and resets the EOF
//! policy (only where the engine's [`Dialect`] lets it choose them: an engine with a fixed tape keeps
//! it), repeating until nothing more can go or the check budget is spent. A candidate outside the
//! engine's dialect is judged outside, not diverging, so it is never kept.
//! [`write_reproducer`] writes `NAME.bf`, `NAME.in` (when there is input), the reference's `NAME.out`,
//! `NAME.err` and `NAME.cfg` when needed (the corpus formats of `corpus/README.md`), and `NAME.txt`
//! with the configuration and both outcomes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bfjit_backends::{EofPolicy, Program, Status};

use crate::case::{describe_outcome, Case};
use crate::corpus::{config_text, ExpectedError};
use crate::dialect::Dialect;
use crate::oracle::{CaseReport, Class, Divergence, Oracle, Verdict};

/// How much work the minimizer may do.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most candidate checks.
    pub max_checks: usize,
    /// Wall-clock limit.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_checks: 5000,
            max_time: Duration::from_secs(30),
        }
    }
}

/// A minimized case with the report that shows its divergence.
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The smallest diverging case found.
    pub case: Case,
    /// The oracle's report on it (the engine's run only).
    pub report: CaseReport,
    /// The divergence it shows.
    pub divergence: Divergence,
    /// How many candidates were checked.
    pub checks: usize,
}

struct Search<'a> {
    oracle: &'a mut Oracle,
    engine: usize,
    dialect: Dialect,
    class: Class,
    checks: usize,
    limits: Limits,
    start: Instant,
    best: Case,
    report: CaseReport,
}

impl Search<'_> {
    fn exhausted(&self) -> bool {
        self.checks >= self.limits.max_checks || self.start.elapsed() >= self.limits.max_time
    }

    /// Checks a candidate; adopts it when it shows the same divergence.
    fn try_case(&mut self, candidate: Case) -> bool {
        if self.exhausted() {
            return false;
        }
        self.checks += 1;
        let report = self.oracle.check_engines(&candidate, &[self.engine]);
        let same = report.runs[0]
            .divergence()
            .is_some_and(|d| d.class == self.class);
        if same {
            self.best = candidate;
            self.report = report;
        }
        same
    }

    fn try_source(&mut self, cmds: Vec<u8>) -> bool {
        let Ok(program) = Program::parse(cmds) else {
            return false;
        };
        let candidate = Case {
            program,
            ..self.best.clone()
        };
        self.try_case(candidate)
    }

    /// The best program's commands, one byte each, comments dropped: every edit works on command
    /// indices, which are also what the parsed program's bracket partners are.
    fn cmds(&self) -> Vec<u8> {
        commands_of(&self.best.program)
    }

    fn delete_loops(&mut self, unwrap_only: bool) -> bool {
        let mut progress = false;
        let mut i = 0;
        while i < self.best.program.len() && !self.exhausted() {
            let cmds = self.cmds();
            if cmds[i] != b'[' {
                i += 1;
                continue;
            }
            let close = self.best.program.cmds()[i].partner as usize;
            let mut candidate = cmds.clone();
            if unwrap_only {
                candidate.remove(close);
                candidate.remove(i);
            } else {
                candidate.drain(i..=close);
            }
            if self.try_source(candidate) {
                progress = true;
            } else {
                i += 1;
            }
        }
        progress
    }

    fn delete_runs(&mut self) -> bool {
        let mut progress = false;
        let mut size = self.cmds().len() / 2;
        while size >= 1 && !self.exhausted() {
            let mut start = 0;
            while start + size <= self.best.program.len() && !self.exhausted() {
                let mut candidate = self.cmds();
                candidate.drain(start..start + size);
                if self.try_source(candidate) {
                    progress = true;
                } else {
                    // Pairs are tried at every offset (this removes a `><` or `+-` pair).
                    start += if size == 2 { 1 } else { size };
                }
            }
            size /= 2;
        }
        progress
    }

    fn shrink_input(&mut self) -> bool {
        let mut progress = false;
        if !self.best.input.is_empty() {
            let candidate = Case {
                input: Vec::new(),
                ..self.best.clone()
            };
            if self.try_case(candidate) {
                return true;
            }
        }
        let mut i = 0;
        while i < self.best.input.len() && !self.exhausted() {
            let mut input = self.best.input.clone();
            input.truncate(i);
            let shorter = Case {
                input,
                ..self.best.clone()
            };
            if self.try_case(shorter) {
                progress = true;
                break;
            }
            i += 1;
        }
        progress
    }

    fn shrink_config(&mut self) -> bool {
        let mut progress = false;
        let current = self.best.config.tape_len();
        let mut candidates: Vec<usize> = (1..=8).collect();
        let mut n = 12;
        while n < current {
            candidates.push(n);
            n = n * 3 / 2;
        }
        for tape_len in candidates.into_iter().filter(|&t| t < current) {
            let mut case = self.best.clone();
            let Ok(config) = case.config.with_tape_len(tape_len) else {
                continue;
            };
            // Never out of the engine's dialect: an engine with a fixed tape keeps it.
            if !self.dialect.may_use(&config) {
                break;
            }
            case.config = config;
            if self.try_case(case) {
                progress = true;
                break;
            }
        }
        let unchanged = self.best.config.with_eof(EofPolicy::Unchanged);
        if self.best.config.eof() != EofPolicy::Unchanged && self.dialect.may_use(&unchanged) {
            let mut case = self.best.clone();
            case.config = unchanged;
            progress |= self.try_case(case);
        }
        progress
    }
}

/// Shrinks `case` while `oracle`'s engine number `engine` keeps diverging with `class`.
pub fn minimize(
    oracle: &mut Oracle,
    case: &Case,
    engine: usize,
    class: Class,
    limits: Limits,
) -> Minimized {
    // Comments go first: the reproducer holds commands only.
    let stripped = Case {
        program: Program::parse(commands_of(&case.program)).expect("commands of a program parse"),
        ..case.clone()
    };
    let report = oracle.check_engines(case, &[engine]);
    let mut search = Search {
        dialect: oracle.engines()[engine].dialect(),
        oracle,
        engine,
        class,
        checks: 1,
        limits,
        start: Instant::now(),
        best: case.clone(),
        report,
    };
    search.try_case(stripped);
    loop {
        let mut progress = false;
        progress |= search.shrink_config();
        progress |= search.delete_loops(false);
        progress |= search.delete_runs();
        progress |= search.delete_loops(true);
        progress |= search.shrink_input();
        if !progress || search.exhausted() {
            break;
        }
    }
    let divergence = search.report.runs[0]
        .divergence()
        .cloned()
        .unwrap_or_else(|| Divergence {
            engine: search.report.runs[0].engine.clone(),
            class,
            message: "the divergence did not reproduce while minimizing (flaky engine?)".into(),
        });
    Minimized {
        case: search.best,
        report: search.report,
        divergence,
        checks: search.checks,
    }
}

/// A program's commands as source bytes, without comments.
fn commands_of(program: &Program) -> Vec<u8> {
    program
        .cmds()
        .iter()
        .map(|c| c.kind.as_char() as u8)
        .collect()
}

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

/// Writes the reproducer files for `case` into `dir` under `name` (see the module docs); returns
/// the path of the `.bf` file.
pub fn write_reproducer(
    dir: &Path,
    name: &str,
    case: &Case,
    report: &CaseReport,
    divergence: &Divergence,
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
    txt.push_str(&format!(
        "replay: bfjit check {} --backends {}\n",
        path("bf").display(),
        divergence.engine
    ));
    std::fs::write(path("txt"), txt)?;
    Ok(path("bf"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::Engine;
    use bfjit_backends::Config;

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
        let m = minimize(&mut oracle, &case, 0, class, Limits::default());
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
            let m = minimize(&mut oracle, &case, 0, class, Limits::default());
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
            let m = minimize(&mut oracle, &case, 0, class, Limits::default());
            proptest::prop_assert_eq!(m.divergence.class, class);
            proptest::prop_assert!(m.case.program.len() <= 12);
            proptest::prop_assert_eq!(m.case.program.source().len(), m.case.program.len());
        }
    }
}
