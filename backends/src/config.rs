//! The run configuration every backend honours: tape length, EOF policy and optional fuel.

use std::fmt;
use std::str::FromStr;

/// The tape length used when none is given.
pub const DEFAULT_TAPE_LEN: usize = 30_000;
/// The largest tape a run may ask for (1 GiB).
pub const MAX_TAPE_LEN: usize = 1 << 30;

/// What `,` stores when the input is exhausted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// How a program is run: the contract's knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Number of cells on the tape, all zero at the start.
    pub tape_len: usize,
    /// What `,` does at end of input.
    pub eof: EofPolicy,
    /// Loop-body entries allowed before the run stops with `OutOfFuel`; `None` is unlimited.
    pub fuel: Option<u64>,
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
    /// A validated configuration.
    pub fn new(tape_len: usize, eof: EofPolicy, fuel: Option<u64>) -> Result<Config, ConfigError> {
        let config = Config {
            tape_len,
            eof,
            fuel,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the tape length is within `1 ..= MAX_TAPE_LEN`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tape_len == 0 || self.tape_len > MAX_TAPE_LEN {
            return Err(ConfigError::BadTapeLen(self.tape_len));
        }
        Ok(())
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
        assert_eq!(Config::default().tape_len, 30_000);
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
