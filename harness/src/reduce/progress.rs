//! The reducer's progress bar: program size now and at the start, and candidates checked.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over the program's size (hidden when not wanted).
pub struct Progress {
    bar: ProgressBar,
    start: usize,
}

impl Progress {
    /// A bar for a program of `start` commands; drawn on stderr when `show`.
    pub fn new(start: usize, show: bool) -> Progress {
        let bar = if show {
            ProgressBar::new(start as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("reducing [{elapsed_precise}] {bar:30} {msg}")
                .expect("the template is valid"),
        );
        let progress = Progress { bar, start };
        progress.update(start, 0);
        progress
    }

    /// Shows the size now and the candidates checked so far.
    pub fn update(&self, size: usize, checks: usize) {
        self.bar
            .set_position(self.start.saturating_sub(size) as u64);
        self.bar.set_message(format!(
            "{size} / {} commands, {checks} candidates checked",
            self.start
        ));
    }

    /// Writes a line above the bar.
    pub fn note(&self, line: &str) {
        self.bar.println(line);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
