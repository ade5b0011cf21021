//! The run configuration every backend honours: tape length, EOF policy and optional fuel.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The tape length used when none is given.
pub const DEFAULT_TAPE_LEN: usize = 30_000;
/// The largest tape a run may ask for (1 GiB).
pub const MAX_TAPE_LEN: usize = 1 << 30;

/// What `,` stores when the input is exhausted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EofPolicy {
    /// Leave the cell as it was.
    #[default]
    Unchanged,
    /// Store 0.
    Zero,
    /// Store 255.
    Max,
}

impl EofPolicy {
    /// Every policy, in documentation order.
    pub const ALL: [EofPolicy; 3] = [EofPolicy::Unchanged, EofPolicy::Zero, EofPolicy::Max];

    /// The value `,` leaves in a cell holding `current` when input is at EOF.
    pub fn apply(self, current: u8) -> u8 {
        match self {
            EofPolicy::Unchanged => current,
            EofPolicy::Zero => 0,
            EofPolicy::Max => 255,
        }
    }

    /// The policy's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            EofPolicy::Unchanged => "unchanged",
            EofPolicy::Zero => "zero",
            EofPolicy::Max => "max",
        }
    }
}

impl fmt::Display for EofPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EofPolicy {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        EofPolicy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| ConfigError::BadEof(s.to_string()))
    }
}

/// Why a configuration value is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigError {
    /// The tape length is outside `1 ..= MAX_TAPE_LEN`.
    BadTapeLen(usize),
    /// The EOF policy name is unknown.
    BadEof(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadTapeLen(n) => write!(
                f,
                "tape length {n} is not allowed: it must be between 1 and {MAX_TAPE_LEN}"
            ),
            ConfigError::BadEof(s) => write!(
                f,
                "EOF policy '{s}' is not allowed: use one of unchanged, zero, max"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// How a program is run: the contract's knobs. Always valid: the fields are private and every
/// constructor checks the tape length, so no `Config` with an empty or oversized tape exists.
///
/// ```compile_fail,E0451
/// // Outside the crate a configuration can only be made through its checked constructors.
/// let config = bfjit_backends::Config { tape_len: 0, eof: Default::default(), fuel: None };
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ConfigFields", into = "ConfigFields")]
pub struct Config {
    tape_len: usize,
    eof: EofPolicy,
    fuel: Option<u64>,
}

/// The wire form of a [`Config`]; deserializing goes through [`Config::new`], so it validates.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct ConfigFields {
    tape_len: usize,
    eof: EofPolicy,
    fuel: Option<u64>,
}

impl TryFrom<ConfigFields> for Config {
    type Error = ConfigError;
    fn try_from(f: ConfigFields) -> Result<Config, ConfigError> {
        Config::new(f.tape_len, f.eof, f.fuel)
    }
}

impl From<Config> for ConfigFields {
    fn from(c: Config) -> ConfigFields {
        ConfigFields {
            tape_len: c.tape_len,
            eof: c.eof,
            fuel: c.fuel,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tape_len: DEFAULT_TAPE_LEN,
            eof: EofPolicy::Unchanged,
            fuel: None,
        }
    }
}

impl Config {
    /// A validated configuration: the tape length must be within `1 ..= MAX_TAPE_LEN`.
    pub fn new(tape_len: usize, eof: EofPolicy, fuel: Option<u64>) -> Result<Config, ConfigError> {
        if tape_len == 0 || tape_len > MAX_TAPE_LEN {
            return Err(ConfigError::BadTapeLen(tape_len));
        }
        Ok(Config {
            tape_len,
            eof,
            fuel,
        })
    }

    /// Number of cells on the tape (`1 ..= MAX_TAPE_LEN`), all zero at the start.
    pub fn tape_len(&self) -> usize {
        self.tape_len
    }

    /// What `,` does at end of input.
    pub fn eof(&self) -> EofPolicy {
        self.eof
    }

    /// Loop-body entries allowed before the run stops with `OutOfFuel`; `None` is unlimited.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
    }

    /// Whether fuel is metered (a budget is set).
    pub fn metered(&self) -> bool {
        self.fuel.is_some()
    }

    /// This configuration with another tape length (checked like [`Config::new`]).
    pub fn with_tape_len(self, tape_len: usize) -> Result<Config, ConfigError> {
        Config::new(tape_len, self.eof, self.fuel)
    }

    /// This configuration with another EOF policy.
    pub fn with_eof(self, eof: EofPolicy) -> Config {
        Config { eof, ..self }
    }

    /// This configuration with another fuel budget.
    pub fn with_fuel(self, fuel: Option<u64>) -> Config {
        Config { fuel, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tape_len_bounds() {
        assert!(Config::new(0, EofPolicy::Zero, None).is_err());
        assert!(Config::new(1, EofPolicy::Zero, None).is_ok());
        assert!(Config::new(MAX_TAPE_LEN, EofPolicy::Zero, None).is_ok());
        assert!(Config::new(MAX_TAPE_LEN + 1, EofPolicy::Zero, None).is_err());
        assert_eq!(Config::default().tape_len(), 30_000);
    }

    #[test]
    fn no_public_constructor_yields_an_empty_tape() {
        // Every way to make a Config from outside: `new`, `default`, the `with_*` builders and
        // deserialization. None of them may produce a zero-length (or oversized) tape.
        assert_eq!(
            Config::new(0, EofPolicy::Zero, None),
            Err(ConfigError::BadTapeLen(0))
        );
        assert!(Config::default().tape_len() > 0);
        let c = Config::default();
        assert!(c.with_tape_len(0).is_err());
        assert!(c.with_tape_len(MAX_TAPE_LEN + 1).is_err());
        assert!(c.with_eof(EofPolicy::Max).tape_len() > 0);
        assert!(c.with_fuel(Some(0)).tape_len() > 0);
        let zero = r#"{"tape_len":0,"eof":"zero","fuel":null}"#;
        let err = serde_json::from_str::<Config>(zero)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tape length 0"), "{err}");
        let huge = format!(
            r#"{{"tape_len":{},"eof":"zero","fuel":null}}"#,
            MAX_TAPE_LEN + 1
        );
        assert!(serde_json::from_str::<Config>(&huge).is_err());
    }

    #[test]
    fn config_round_trips_through_serde() {
        let c = Config::new(7, EofPolicy::Max, Some(99)).unwrap();
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&text).unwrap(), c);
        for p in EofPolicy::ALL {
            let text = serde_json::to_string(&p).unwrap();
            assert_eq!(text, format!("\"{}\"", p.name()));
            assert_eq!(serde_json::from_str::<EofPolicy>(&text).unwrap(), p);
        }
    }

    #[test]
    fn eof_names_round_trip() {
        for p in EofPolicy::ALL {
            assert_eq!(p.name().parse::<EofPolicy>().unwrap(), p);
        }
        let err = "bogus".parse::<EofPolicy>().unwrap_err().to_string();
        assert!(err.contains("unchanged, zero, max"));
    }

    #[test]
    fn eof_policies_apply() {
        assert_eq!(EofPolicy::Unchanged.apply(7), 7);
        assert_eq!(EofPolicy::Zero.apply(7), 0);
        assert_eq!(EofPolicy::Max.apply(7), 255);
    }
}
