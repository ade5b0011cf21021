//! Engine dialects: what an external engine does where BF implementations legitimately differ (tape
//! size and what lies beyond it, the cell stored at end of input, which input and output bytes it
//! handles faithfully), and the one place that decides whether a case lies inside an engine's dialect.
//!
//! Every differential stage asks [`Dialect`]: the generators and the mutator shape cases to fit it
//! ([`Dialect::fit`]), the reducer only tries configurations it allows ([`Dialect::may_use`]), and
//! the oracle judges a case whose reference run it excludes as *outside the dialect*
//! ([`Dialect::excludes`]), never as a divergence. Registered backends have [`Dialect::ANY`].
//!
//! Keys (the `--dialect NAME:KEY=VALUE,…` flag and the `--engines` TOML file, see
//! [`crate::engine_spec`]):
//! - `tape=N`: exactly N cells; leaving them makes the engine exit non-zero;
//! - `tape=N+`: at least N cells, and what happens beyond is the engine's business: a case whose
//!   reference (run with N cells) leaves the tape is outside the dialect;
//! - `eof=unchanged|zero|max`: what `,` stores at end of input; `eof=none`: undefined, so a case whose
//!   reference reads past its input is outside;
//! - `output=bytes|ascii`: with `ascii` the engine prints only bytes 1–127 faithfully, so a case
//!   whose reference prints any other byte is outside;
//! - `input=bytes|no-255`: with `no-255` a `,` that reads byte 255 acts as at end of input (a C
//!   engine that keeps `getchar()` in a `char` and compares it with `EOF`), so a case whose reference
//!   reads byte 255 is outside; generated and mutated inputs avoid the byte;
//! - `comments=any|no-bang-hash`: with `no-bang-hash` the engine gives `!` (the start of input
//!   inside the program file) and `#` (a debug dump) a meaning of their own, so a case whose program
//!   text has either byte is outside.
//!
//! An engine command with a `{tape_len}` / `{eof}` placeholder takes any tape length / EOF policy
//! (the case's is substituted); one without is assumed to have exactly 30 000 cells / to leave the
//! cell unchanged, unless its dialect says otherwise.

use std::fmt;

use bfjit_backends::outcome::Side;
use bfjit_backends::{Config, EofPolicy, Status, DEFAULT_TAPE_LEN, MAX_TAPE_LEN};

use crate::case::{Case, ReferenceRun};

/// The tape an engine has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tape {
    /// Any length the harness asks for (`{tape_len}` in the command).
    Any,
    /// Exactly this many cells; leaving them is an error (exit code not 0).
    Exactly(usize),
    /// At least this many cells; beyond them, anything goes.
    AtLeast(usize),
}

/// What an engine's `,` stores at end of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eof {
    /// Any policy the harness asks for (`{eof}` in the command).
    Any,
    /// This policy.
    Policy(EofPolicy),
    /// Undefined: no case may read past its input.
    Undefined,
}

/// Which output bytes an engine prints faithfully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Every byte.
    Bytes,
    /// Bytes 1 to 127 only.
    Ascii,
}

/// Which input bytes an engine reads faithfully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Every byte.
    Bytes,
    /// Every byte but 255, which reads as end of input.
    No255,
}

/// Which bytes an engine ignores as comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comments {
    /// Every byte that is not one of the eight commands.
    Any,
    /// Every such byte but `!` and `#`.
    NoBangHash,
}

/// An engine's dialect (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// The tape.
    pub tape: Tape,
    /// End of input.
    pub eof: Eof,
    /// Output bytes.
    pub output: Output,
    /// Input bytes.
    pub input: Input,
    /// Comment bytes.
    pub comments: Comments,
}

/// Why a dialect key was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialectError(pub String);

impl fmt::Display for DialectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DialectError {}

/// The dialect keys, for error messages.
pub const KEYS: &str = "tape=N or tape=N+, eof=unchanged|zero|max|none, output=bytes|ascii, \
                        input=bytes|no-255, comments=any|no-bang-hash";

impl Dialect {
    /// The dialect of the contract itself: any tape, any EOF policy, every byte (registered backends).
    pub const ANY: Dialect = Dialect {
        tape: Tape::Any,
        eof: Eof::Any,
        output: Output::Bytes,
        input: Input::Bytes,
        comments: Comments::Any,
    };

    /// The default dialect of an engine command: what its placeholders allow, else 30 000 cells
    /// exactly and the cell unchanged at end of input.
    pub fn of_command(has_tape_len: bool, has_eof: bool) -> Dialect {
        Dialect {
            tape: if has_tape_len {
                Tape::Any
            } else {
                Tape::Exactly(DEFAULT_TAPE_LEN)
            },
            eof: if has_eof {
                Eof::Any
            } else {
                Eof::Policy(EofPolicy::Unchanged)
            },
            output: Output::Bytes,
            input: Input::Bytes,
            comments: Comments::Any,
        }
    }

    /// Applies one `KEY=VALUE` setting.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), DialectError> {
        let bad = |what: &str| {
            Err(DialectError(format!(
                "dialect {key}={value}: {what}; allowed keys: {KEYS}"
            )))
        };
        match key.trim() {
            "tape" => {
                let value = value.trim();
                let (digits, at_least) = match value.strip_suffix('+') {
                    Some(d) => (d, true),
                    None => (value, false),
                };
                let cells = match digits.parse::<usize>() {
                    Ok(n) if (1..=MAX_TAPE_LEN).contains(&n) => n,
                    _ => return bad(&format!("the tape must be 1 to {MAX_TAPE_LEN} cells")),
                };
                self.tape = if at_least {
                    Tape::AtLeast(cells)
                } else {
                    Tape::Exactly(cells)
                };
            }
            "eof" => {
                self.eof = match value.trim() {
                    "none" => Eof::Undefined,
                    v => match v.parse::<EofPolicy>() {
                        Ok(p) => Eof::Policy(p),
                        Err(_) => return bad("not an EOF behaviour"),
                    },
                }
            }
            "output" => {
                self.output = match value.trim() {
                    "bytes" => Output::Bytes,
                    "ascii" => Output::Ascii,
                    _ => return bad("not an output kind"),
                }
            }
            "input" => {
                self.input = match value.trim() {
                    "bytes" => Input::Bytes,
                    "no-255" => Input::No255,
                    _ => return bad("not an input kind"),
                }
            }
            "comments" => {
                self.comments = match value.trim() {
                    "any" => Comments::Any,
                    "no-bang-hash" => Comments::NoBangHash,
                    _ => return bad("not a comment kind"),
                }
            }
            _ => return bad("unknown key"),
        }
        Ok(())
    }

    /// Applies `KEY=VALUE[,KEY=VALUE…]`.
    pub fn set_all(&mut self, settings: &str) -> Result<(), DialectError> {
        for setting in settings.split(',').filter(|s| !s.trim().is_empty()) {
            let (key, value) = setting.split_once('=').ok_or_else(|| {
                DialectError(format!(
                    "dialect setting '{setting}' has no '='; allowed: {KEYS}"
                ))
            })?;
            self.set(key, value)?;
        }
        Ok(())
    }

    /// The tape length the harness gives cases for this engine, when it is fixed.
    pub fn pinned_tape_len(&self) -> Option<usize> {
        match self.tape {
            Tape::Any => None,
            Tape::Exactly(n) | Tape::AtLeast(n) => Some(n),
        }
    }

    /// The EOF policy the harness gives cases for this engine, when it is fixed.
    pub fn pinned_eof(&self) -> Option<EofPolicy> {
        match self.eof {
            Eof::Policy(p) => Some(p),
            Eof::Any | Eof::Undefined => None,
        }
    }

    /// Whether the generators and the reducer may give this engine a case with `config`: the
    /// tape length and EOF policy it is pinned to, any where it takes any.
    pub fn may_use(&self, config: &Config) -> bool {
        self.pinned_tape_len()
            .is_none_or(|n| n == config.tape_len())
            && self.pinned_eof().is_none_or(|p| p == config.eof())
    }

    /// `case` made to fit this dialect, for the generators and the mutator: the pinned tape length
    /// and EOF policy, with `eof=none` at least one input byte per `,` command (so straight-line
    /// reads stay inside the input), and with `input=no-255` each input byte 255 made 254.
    pub fn fit(&self, mut case: Case) -> Case {
        let mut config = case.config;
        if let Some(n) = self.pinned_tape_len() {
            config = config.with_tape_len(n).unwrap_or(config);
        }
        if let Some(p) = self.pinned_eof() {
            config = config.with_eof(p);
        }
        case.config = config;
        if self.eof == Eof::Undefined {
            let reads = case
                .program
                .cmds()
                .iter()
                .filter(|c| c.kind.as_char() == ',')
                .count();
            let mut byte = 0x31u8;
            while case.input.len() < reads {
                case.input.push(byte);
                byte = if byte == 0x7e { 0x31 } else { byte + 1 };
            }
        }
        if self.input == Input::No255 {
            for byte in case.input.iter_mut().filter(|b| **b == 255) {
                *byte = 254;
            }
        }
        case
    }

    /// Why a workload known by its source, configuration, input and expected output (a benchmark:
    /// no reference run) lies outside this dialect, or `None`. Without a run, an input byte 255
    /// counts as read; leaving a `tape=N+` tape or reading past the input is not known here.
    pub fn excludes_expected(
        &self,
        source: &[u8],
        config: &Config,
        input: &[u8],
        expected_output: &[u8],
    ) -> Option<String> {
        if let Some(why) = self.excludes_source(source) {
            return Some(why);
        }
        if !self.may_use(config) {
            return Some(format!(
                "the configuration ({} cells, eof {}) is outside the engine's dialect",
                config.tape_len(),
                config.eof()
            ));
        }
        if self.output == Output::Ascii && expected_output.iter().any(|&b| b == 0 || b > 127) {
            return Some("the expected output has bytes outside 1-127 (output=ascii)".into());
        }
        if self.input == Input::No255 && input.contains(&255) {
            return Some("the input has byte 255 (input=no-255)".into());
        }
        None
    }

    /// Why a program text lies outside this dialect (`comments=no-bang-hash`), or `None`.
    fn excludes_source(&self, source: &[u8]) -> Option<String> {
        if self.comments == Comments::NoBangHash {
            if let Some(i) = source.iter().position(|&b| b == b'!' || b == b'#') {
                return Some(format!(
                    "the program text has '{}' (byte {i}), which the engine does not take for a \
                     comment (comments=no-bang-hash)",
                    source[i] as char
                ));
            }
        }
        None
    }

    /// Why `case` lies outside this dialect, given the reference's run on it, or `None` when it is
    /// inside (the engine's run is then compared with the reference's).
    pub fn excludes(&self, case: &Case, reference: &ReferenceRun) -> Option<String> {
        if let Some(why) = self.excludes_source(case.program.source()) {
            return Some(why);
        }
        let cells = case.config.tape_len();
        match self.tape {
            Tape::Any => {}
            Tape::Exactly(n) if n != cells => {
                return Some(format!(
                    "the case has {cells} tape cells, the engine exactly {n} (tape={n})"
                ))
            }
            Tape::Exactly(_) => {}
            Tape::AtLeast(n) if cells > n => {
                return Some(format!(
                    "the case has {cells} tape cells, the engine only {n} for sure (tape={n}+)"
                ))
            }
            Tape::AtLeast(n) => {
                if let Status::PointerOutOfBounds { position, side } = &reference.outcome.status {
                    let end = match side {
                        Side::Left => "left",
                        Side::Right => "right",
                    };
                    return Some(format!(
                        "the program leaves the tape by its {end} end (at {position}), where the \
                         engine's behaviour is its own (tape={n}+)"
                    ));
                }
            }
        }
        if reference.read_past_eof {
            match self.eof {
                Eof::Any => {}
                Eof::Policy(p) if p != case.config.eof() => {
                    return Some(format!(
                        "the program reads past its input with EOF policy {}, the engine's is {p} \
                         (eof={p})",
                        case.config.eof()
                    ))
                }
                Eof::Policy(_) => {}
                Eof::Undefined => return Some(
                    "the program reads past its input, where the engine is undefined (eof=none)"
                        .to_string(),
                ),
            }
        }
        if self.input == Input::No255 {
            let read = &case.input[..reference.input_read.min(case.input.len())];
            if let Some(i) = read.iter().position(|&b| b == 255) {
                return Some(format!(
                    "the program reads byte 255 (input byte {i}), which the engine takes for end of \
                     input (input=no-255)"
                ));
            }
        }
        if self.output == Output::Ascii {
            if let Some((i, b)) =
                (reference.outcome.output.iter().enumerate()).find(|(_, &b)| b == 0 || b >= 128)
            {
                return Some(format!(
                    "the program prints byte {b} (output byte {i}), which the engine does not \
                     print faithfully (output=ascii)"
                ));
            }
        }
        None
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tape {
            Tape::Any => f.write_str("tape=any")?,
            Tape::Exactly(n) => write!(f, "tape={n}")?,
            Tape::AtLeast(n) => write!(f, "tape={n}+")?,
        }
        match self.eof {
            Eof::Any => f.write_str(",eof=any")?,
            Eof::Policy(p) => write!(f, ",eof={p}")?,
            Eof::Undefined => f.write_str(",eof=none")?,
        }
        match self.output {
            Output::Bytes => f.write_str(",output=bytes")?,
            Output::Ascii => f.write_str(",output=ascii")?,
        }
        match self.input {
            Input::Bytes => f.write_str(",input=bytes")?,
            Input::No255 => f.write_str(",input=no-255")?,
        }
        match self.comments {
            Comments::Any => f.write_str(",comments=any"),
            Comments::NoBangHash => f.write_str(",comments=no-bang-hash"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::{compile_and_run, reference::Reference, Outcome};

    fn reference(case: &Case, read_past_eof: bool) -> ReferenceRun {
        let outcome: Outcome =
            compile_and_run(&Reference, &case.program, &case.config, &case.input).unwrap();
        ReferenceRun {
            outcome,
            read_past_eof,
            input_read: 0,
            elapsed: std::time::Duration::ZERO,
        }
    }

    fn case(src: &str, input: &[u8], tape_len: usize, eof: EofPolicy) -> Case {
        Case::from_source(
            src,
            input.to_vec(),
            Config::new(tape_len, eof, None).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn keys_parse_and_print() {
        let mut d = Dialect::of_command(false, true);
        assert_eq!(d.tape, Tape::Exactly(30_000));
        assert_eq!(d.eof, Eof::Any);
        d.set_all("tape=30000+,eof=unchanged,output=ascii,input=no-255,comments=no-bang-hash")
            .unwrap();
        assert_eq!(
            d.to_string(),
            "tape=30000+,eof=unchanged,output=ascii,input=no-255,comments=no-bang-hash"
        );
        d.set_all("tape=16, eof=none").unwrap();
        assert_eq!(d.tape, Tape::Exactly(16));
        assert_eq!(d.eof, Eof::Undefined);
        for bad in [
            "tape=0",
            "tape=x+",
            "eof=maybe",
            "output=utf8",
            "input=ascii",
            "comments=none",
            "colour=red",
            "tape",
        ] {
            let err = d.set_all(bad).unwrap_err().to_string();
            assert!(err.contains("allowed"), "{bad}: {err}");
        }
    }

    #[test]
    fn at_least_excludes_leaving_the_tape_and_longer_tapes() {
        let mut d = Dialect::ANY;
        d.set_all("tape=8+").unwrap();
        let left = case("<", b"", 8, EofPolicy::Unchanged);
        let why = d.excludes(&left, &reference(&left, false)).unwrap();
        assert!(why.contains("leaves the tape"), "{why}");
        let inside = case("+>+.", b"", 8, EofPolicy::Unchanged);
        assert_eq!(d.excludes(&inside, &reference(&inside, false)), None);
        let longer = case("+.", b"", 9, EofPolicy::Unchanged);
        assert!(d.excludes(&longer, &reference(&longer, false)).is_some());
        // Exactly N keeps leaving the tape inside the dialect: the engine must fail.
        d.set("tape", "8").unwrap();
        assert_eq!(d.excludes(&left, &reference(&left, false)), None);
    }

    #[test]
    fn eof_and_output_exclusions() {
        let mut d = Dialect::of_command(false, false);
        let reads = case(",.", b"", 30_000, EofPolicy::Zero);
        assert!(d.excludes(&reads, &reference(&reads, true)).is_some());
        // A program that never reads past its input does not care about the EOF policy.
        assert_eq!(d.excludes(&reads, &reference(&reads, false)), None);
        d.set("eof", "none").unwrap();
        assert!(d.excludes(&reads, &reference(&reads, true)).is_some());
        d.set("output", "ascii").unwrap();
        let high = case("-.", b"", 30_000, EofPolicy::Zero);
        let why = d.excludes(&high, &reference(&high, false)).unwrap();
        assert!(why.contains("byte 255"), "{why}");
        let zero = case(".", b"", 30_000, EofPolicy::Zero);
        assert!(d.excludes(&zero, &reference(&zero, false)).is_some());
        let a = case("+++++++[>+++++++++<-]>++.", b"", 30_000, EofPolicy::Zero);
        assert_eq!(d.excludes(&a, &reference(&a, false)), None);
    }

    #[test]
    fn no_255_excludes_exactly_the_cases_that_read_byte_255() {
        let mut d = Dialect::of_command(false, false);
        d.set("input", "no-255").unwrap();
        // The reference's own run says how much input the program took.
        let run = |case: &Case| crate::oracle::reference_run(case, 1_000);
        let reads = case(",++.", &[255], 30_000, EofPolicy::Unchanged);
        let why = d.excludes(&reads, &run(&reads)).unwrap();
        assert!(why.contains("byte 255 (input byte 0)"), "{why}");
        assert_eq!(Dialect::ANY.excludes(&reads, &run(&reads)), None);
        // A 255 the program never reads does not matter; one read later does.
        let first = case(",.", &[7, 255], 30_000, EofPolicy::Unchanged);
        assert_eq!(run(&first).input_read, 1);
        assert_eq!(d.excludes(&first, &run(&first)), None);
        let second = case(",.,.", &[7, 255], 30_000, EofPolicy::Unchanged);
        let why = d.excludes(&second, &run(&second)).unwrap();
        assert!(why.contains("input byte 1"), "{why}");
        // Fitting keeps generated input inside the dialect.
        let fitted = d.fit(case(",.,.", &[255, 1, 255], 30_000, EofPolicy::Unchanged));
        assert_eq!(fitted.input, [254, 1, 254]);
        assert_eq!(d.excludes(&fitted, &run(&fitted)), None);
        assert_eq!(Dialect::ANY.fit(second.clone()).input, second.input);
    }

    #[test]
    fn workloads_without_a_reference_run_are_judged_by_what_they_hold() {
        let config = Config::default();
        let src = b"+. ok! #";
        let mut d = Dialect::of_command(false, false);
        assert_eq!(d.excludes_expected(src, &config, &[255], &[200]), None);
        d.set_all("output=ascii").unwrap();
        let why = d.excludes_expected(src, &config, b"", &[200]).unwrap();
        assert!(why.contains("output=ascii"), "{why}");
        assert_eq!(d.excludes_expected(src, &config, &[255], b"hi"), None);
        d.set_all("input=no-255").unwrap();
        let why = d.excludes_expected(src, &config, &[1, 255], b"hi").unwrap();
        assert!(why.contains("input=no-255"), "{why}");
        let other = Config::new(10, EofPolicy::Zero, None).unwrap();
        let why = d.excludes_expected(src, &other, b"", b"hi").unwrap();
        assert!(why.contains("10 cells"), "{why}");
        d.set_all("comments=no-bang-hash").unwrap();
        let why = d.excludes_expected(src, &config, b"", b"hi").unwrap();
        assert!(why.contains("'!' (byte 5)"), "{why}");
        assert_eq!(d.excludes_expected(b"+. ok", &config, b"", b"hi"), None);
    }

    #[test]
    fn no_bang_hash_excludes_programs_with_those_comment_bytes() {
        let mut d = Dialect::ANY;
        d.set("comments", "no-bang-hash").unwrap();
        for (src, outside) in [
            ("+. hi!", true),
            ("# dump\n+.", true),
            ("+. plain text", false),
        ] {
            let c = case(src, b"", 30_000, EofPolicy::Zero);
            let run = reference(&c, false);
            assert_eq!(d.excludes(&c, &run).is_some(), outside, "{src}");
            assert_eq!(Dialect::ANY.excludes(&c, &run), None, "{src}");
        }
    }

    #[test]
    fn fit_pins_the_configuration_and_pads_input() {
        let mut d = Dialect::ANY;
        d.set_all("tape=100+,eof=none").unwrap();
        let fitted = d.fit(case(",>,,.", b"", 7, EofPolicy::Max));
        assert_eq!(fitted.config.tape_len(), 100);
        assert_eq!(fitted.input.len(), 3);
        assert!(!d.may_use(&Config::new(7, EofPolicy::Max, None).unwrap()));
        assert!(d.may_use(&fitted.config));
        assert!(Dialect::ANY.may_use(&fitted.config));
        let pinned = Dialect::of_command(false, false);
        let fitted = pinned.fit(case("+", b"", 3, EofPolicy::Max));
        assert_eq!(fitted.config.tape_len(), 30_000);
        assert_eq!(fitted.config.eof(), EofPolicy::Unchanged);
    }
}
