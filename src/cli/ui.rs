//! How covshard talks to people on stderr: colour choice, verbosity, progress bars.
//!
//! stdout carries data only; everything here goes to stderr. Progress bars appear only when
//! stderr is a terminal and the process is not running in CI ([`resolve_progress`] takes both
//! facts as parameters so the rule can be tested).

use std::cell::RefCell;
use std::io::IsTerminal;

use crate::error::Error;
use crate::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset.
    Auto,
    Always,
    Never,
}

/// Resolve `--color` > `NO_COLOR` > terminal check.
pub fn resolve_color(choice: ColorChoice, no_color_env: bool, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color_env && is_terminal,
    }
}

/// Progress bars only on a terminal, never in CI, never when quiet.
pub fn resolve_progress(is_terminal: bool, is_ci: bool, quiet: bool) -> bool {
    is_terminal && !is_ci && !quiet
}

/// True when a CI system's conventional variable is set.
pub fn running_in_ci() -> bool {
    ["CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "false"))
}

/// Settings for messages on stderr, resolved once from the global flags and the environment.
#[derive(Debug, Clone)]
pub struct Ui {
    pub color: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub progress: bool,
}

impl Ui {
    pub fn from_args(args: &crate::cli::GlobalArgs) -> Self {
        let is_terminal = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            color: resolve_color(args.color, no_color, is_terminal),
            quiet: args.quiet,
            verbose: args.verbose,
            progress: resolve_progress(is_terminal, running_in_ci(), args.quiet),
        }
    }

    /// A plain Ui for tests and library callers: no colour, no progress.
    pub fn plain() -> Self {
        Ui {
            color: false,
            quiet: false,
            verbose: 0,
            progress: false,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// A summary line or table for people (suppressed by `-q`).
    pub fn info(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Detail shown with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{text}");
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint("1;33", "warning:"));
        }
    }

    pub fn error(&self, err: &Error) {
        eprintln!("{} {err}", self.paint("1;31", "error:"));
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        if let Some(hint) = err.hint() {
            eprintln!("  {} {hint}", self.paint("1;36", "hint:"));
        }
    }

    /// A spinner for a step of unknown length (hidden when bars are off); call
    /// `finish_and_clear` when the step ends.
    pub fn spinner(&self, message: &str) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    }

    /// The library's [`Progress`] shown as bars (none when bars are off).
    pub fn progress(&self) -> Bars<'_> {
        Bars {
            ui: self,
            bar: RefCell::new(None),
        }
    }

    /// A progress bar for a step with `len` units, or a hidden one when bars are off.
    pub fn progress_bar(&self, len: u64, message: &str) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        bar
    }
}

/// One bar per step of the work that reports to it.
pub struct Bars<'a> {
    ui: &'a Ui,
    bar: RefCell<Option<indicatif::ProgressBar>>,
}

impl Progress for Bars<'_> {
    fn start(&self, what: &'static str, len: u64) {
        self.finish();
        *self.bar.borrow_mut() = Some(self.ui.progress_bar(len, what));
    }

    fn advance(&self, done: u64) {
        if let Some(bar) = &*self.bar.borrow() {
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_flag_beats_no_color_and_terminal() {
        assert!(resolve_color(ColorChoice::Always, true, false));
        assert!(!resolve_color(ColorChoice::Never, false, true));
        assert!(resolve_color(ColorChoice::Auto, false, true));
        assert!(!resolve_color(ColorChoice::Auto, true, true));
        assert!(!resolve_color(ColorChoice::Auto, false, false));
    }

    #[test]
    fn progress_only_on_terminal_outside_ci() {
        assert!(resolve_progress(true, false, false));
        assert!(!resolve_progress(true, true, false));
        assert!(!resolve_progress(false, false, false));
        assert!(!resolve_progress(true, false, true));
    }
}
