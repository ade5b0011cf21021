//! The reducer's progress: a bar on a terminal (program size now and at the start, candidates
//! checked, the pass running), or, when stderr is not a terminal (a script, a log file), one line
//! every few seconds with the same figures and the time, so a long reduction leaves a timeline.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a progress line is written when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Progress of one reduction (shown as a bar, logged as lines, or not at all).
pub struct Progress {
    bar: ProgressBar,
    start: usize,
    began: Instant,
    /// Whether to write progress lines (shown, but stderr is not a terminal).
    log: bool,
    state: Mutex<State>,
}

struct State {
    last_line: Instant,
    pass: &'static str,
    size: usize,
    checks: usize,
}

impl Progress {
    /// Progress for a program of `start` commands, on stderr when `show`.
    pub fn new(start: usize, show: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = if show && terminal {
            ProgressBar::new(start as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("reducing [{elapsed_precise}] {bar:30} {msg}")
                .expect("the template is valid"),
        );
        let began = Instant::now();
        let progress = Progress {
            bar,
            start,
            began,
            log: show && !terminal,
            state: Mutex::new(State {
                last_line: began,
                pass: "start",
                size: start,
                checks: 0,
            }),
        };
        progress.update(start, 0);
        progress
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shows the size now and the candidates checked so far.
    pub fn update(&self, size: usize, checks: usize) {
        let mut state = self.state();
        state.size = size;
        state.checks = checks;
        self.show(&mut state);
    }

    /// Names the pass now running.
    pub fn pass(&self, name: &'static str) {
        let mut state = self.state();
        state.pass = name;
        self.show(&mut state);
    }

    fn show(&self, state: &mut State) {
        self.bar
            .set_position(self.start.saturating_sub(state.size) as u64);
        self.bar.set_message(format!(
            "{} / {} commands, {} candidates checked ({})",
            state.size, self.start, state.checks, state.pass
        ));
        if self.log && state.last_line.elapsed() >= LOG_EVERY {
            state.last_line = Instant::now();
            self.write_line(state);
        }
    }

    fn write_line(&self, state: &State) {
        eprintln!(
            "reducing: {:6.1} s  {} / {} commands  {} candidates checked  ({})",
            self.began.elapsed().as_secs_f64(),
            state.size,
            self.start,
            state.checks,
            state.pass
        );
    }

    /// Writes a line above the bar.
    pub fn note(&self, line: &str) {
        self.bar.println(line);
    }

    /// Removes the bar (and writes the last figures when logging lines).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if self.log {
            self.write_line(&self.state());
        }
    }
}
