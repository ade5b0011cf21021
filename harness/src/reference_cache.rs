//! Reference outcomes cached on disk, so checking the same programs again reruns only the engines
//! (the reference interpreter can take many seconds on a large real program).
//!
//! An entry is keyed by a 128-bit hash of the harness version, the program's bytes, the input, the
//! tape length and the EOF policy, and holds the finished reference run (outcome with the fuel it
//! used, whether it read past its input, its time). Only finished runs that took a while
//! ([`WORTH_CACHING`]) are stored. The folder is, in order: `--cache-dir`, `$BFJIT_CACHE_DIR`,
//! `$XDG_CACHE_HOME/bfjit`, `$HOME/.cache/bfjit`, else `target/bfjit-cache`. Entries are written to a
//! temporary file and renamed, so parallel checks never read half an entry. A cache that cannot be
//! read or written is not used (the reference just runs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bfjit_backends::{Outcome, Status};
use serde::{Deserialize, Serialize};

use crate::case::{Case, ReferenceRun};

/// Reference runs faster than this are not worth a file.
pub const WORTH_CACHING: Duration = Duration::from_millis(100);

/// A folder of cached reference runs.
#[derive(Clone, Debug)]
pub struct ReferenceCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    source_len: usize,
    input_len: usize,
    outcome: Outcome,
    read_past_eof: bool,
    input_read: usize,
    elapsed: Duration,
}

impl ReferenceCache {
    /// A cache in `dir` (created when first written).
    pub fn at(dir: impl Into<PathBuf>) -> ReferenceCache {
        ReferenceCache { dir: dir.into() }
    }

    /// The default folder (see the module docs).
    pub fn default_dir() -> PathBuf {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var("BFJIT_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        if let Some(dir) = var("XDG_CACHE_HOME") {
            return Path::new(&dir).join("bfjit");
        }
        if let Some(home) = var("HOME") {
            return Path::new(&home).join(".cache").join("bfjit");
        }
        PathBuf::from("target").join("bfjit-cache")
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, case: &Case) -> PathBuf {
        let config = format!(
            "{} {} {}",
            env!("CARGO_PKG_VERSION"),
            case.config.tape_len(),
            case.config.eof()
        );
        let parts: [&[u8]; 3] = [config.as_bytes(), case.program.source(), &case.input];
        let key = format!(
            "{:016x}{:016x}",
            fnv(0xcbf2_9ce4_8422_2325, &parts),
            fnv(0x6c62_272e_07bb_0142, &parts)
        );
        self.dir.join("reference").join(format!("{key}.json"))
    }

    /// The cached reference run on `case`, if there is one.
    pub fn get(&self, case: &Case) -> Option<ReferenceRun> {
        let text = std::fs::read(self.path(case)).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        (entry.source_len == case.program.source().len() && entry.input_len == case.input.len())
            .then_some(ReferenceRun {
                outcome: entry.outcome,
                read_past_eof: entry.read_past_eof,
                input_read: entry.input_read,
                elapsed: entry.elapsed,
            })
    }

    /// Stores a finished reference run on `case` that took at least [`WORTH_CACHING`].
    pub fn put(&self, case: &Case, run: &ReferenceRun) {
        if run.outcome.status == Status::OutOfFuel || run.elapsed < WORTH_CACHING {
            return;
        }
        let entry = Entry {
            source_len: case.program.source().len(),
            input_len: case.input.len(),
            outcome: run.outcome.clone(),
            read_past_eof: run.read_past_eof,
            input_read: run.input_read,
            elapsed: run.elapsed,
        };
        let path = self.path(case);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let Ok(text) = serde_json::to_vec(&entry) else {
            return;
        };
        let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
            return;
        };
        if std::io::Write::write_all(&mut file, &text).is_ok() {
            let _ = file.persist(&path);
        }
    }
}

fn fnv(offset: u64, parts: &[&[u8]]) -> u64 {
    let mut h = offset;
    for part in parts {
        for &b in *part {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::{Config, EofPolicy};

    #[test]
    fn entries_round_trip_by_program_input_and_config() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ReferenceCache::at(dir.path());
        let case = Case::from_source("+.", b"ab".to_vec(), Config::default()).unwrap();
        let mut run = ReferenceRun {
            outcome: crate::oracle::run_reference(&case, 100),
            read_past_eof: false,
            input_read: 0,
            elapsed: Duration::from_millis(5),
        };
        cache.put(&case, &run);
        assert_eq!(cache.get(&case), None, "fast runs are not stored");
        run.elapsed = Duration::from_secs(2);
        cache.put(&case, &run);
        assert_eq!(cache.get(&case), Some(run));
        let other = Case::from_source(
            "+.",
            b"ab".to_vec(),
            Config::new(30_000, EofPolicy::Zero, None).unwrap(),
        )
        .unwrap();
        assert_eq!(cache.get(&other), None);
        let other = Case::from_source("+.", b"a".to_vec(), Config::default()).unwrap();
        assert_eq!(cache.get(&other), None);
    }
}
