//! One error type for everything a user can cause, each kind mapped to a documented exit code.
//!
//! Library code returns [`Error`]; `main` prints it with its hint and exits with
//! [`Error::exit_code`]. A message names the file, what is wrong and what to do about it.

use std::path::{Path, PathBuf};

/// Exit codes, documented in the README. Stable across releases.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// An unexpected failure (a bug, or an environment problem covshard cannot name).
    pub const FAILURE: i32 = 1;
    /// The command line was wrong (unknown flag, bad value).
    pub const USAGE: i32 = 2;
    /// An input file is missing, unreadable or not what it should be (data file, report, plan).
    pub const INPUT: i32 = 3;
    /// git could not answer (not a repository, base commit missing from a shallow clone).
    pub const GIT: i32 = 4;
    /// The configuration (`covshard.toml`, `[tool.covshard]`) is invalid.
    pub const CONFIG: i32 = 5;
    /// A file could not be written (read-only data file, locked database, full disk).
    pub const WRITE: i32 = 6;
    /// `covshard audit --strict`: selection would have let a failing test through.
    pub const MISSED: i32 = 7;
}

/// What an error was caused by (an io or SQLite error), printed as its "caused by" chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is wrong: names the file, the problem and the fix.
    #[error("{}: {problem}", path.display())]
    Input {
        path: PathBuf,
        problem: String,
        hint: Option<String>,
        #[source]
        cause: Option<Cause>,
    },
    /// git failed or the repository lacks what is needed.
    #[error("{message}")]
    Git {
        message: String,
        hint: Option<String>,
        #[source]
        cause: Option<Cause>,
    },
    /// The configuration is invalid.
    #[error("{}: {problem}", path.display())]
    Config {
        path: PathBuf,
        problem: String,
        hint: Option<String>,
        #[source]
        cause: Option<Cause>,
    },
    /// A command-line value is invalid in a way clap cannot check.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// Writing failed.
    #[error("cannot write {}: {problem}", path.display())]
    Write {
        path: PathBuf,
        problem: String,
        hint: Option<String>,
        #[source]
        cause: Option<Cause>,
    },
    /// `audit --strict` found a failing test selection would have left out; the report was
    /// printed, this is only the exit code.
    #[error("{0}")]
    Missed(String),
    /// The reader of stdout closed it (`covshard tests ... | head`): not a failure, so the
    /// command stops quietly with exit code 0.
    #[error("stdout was closed by its reader")]
    StdoutClosed,
    /// Anything else: a bug or an environment failure.
    #[error("{message}")]
    Other {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl Error {
    pub fn input(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Input {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
            hint: None,
            cause: None,
        }
    }

    pub fn git(message: impl Into<String>) -> Self {
        Error::Git {
            message: message.into(),
            hint: None,
            cause: None,
        }
    }

    pub fn config(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Config {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
            hint: None,
            cause: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn write(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Write {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
            hint: None,
            cause: None,
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
            cause: None,
        }
    }

    /// Attach the io, SQLite or parse error behind this one.
    pub fn caused_by(mut self, err: impl Into<Cause>) -> Self {
        let err = Some(err.into());
        match &mut self {
            Error::Input { cause, .. }
            | Error::Git { cause, .. }
            | Error::Config { cause, .. }
            | Error::Write { cause, .. }
            | Error::Other { cause, .. } => *cause = err,
            Error::Usage { .. } | Error::Missed(_) | Error::StdoutClosed => {}
        }
        self
    }

    /// Attach (or replace) the hint that tells the user what to do.
    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        let text = Some(text.into());
        match &mut self {
            Error::Input { hint, .. }
            | Error::Git { hint, .. }
            | Error::Config { hint, .. }
            | Error::Usage { hint, .. }
            | Error::Write { hint, .. } => *hint = text,
            Error::Missed(_) | Error::StdoutClosed | Error::Other { .. } => {}
        }
        self
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Input { hint, .. }
            | Error::Git { hint, .. }
            | Error::Config { hint, .. }
            | Error::Usage { hint, .. }
            | Error::Write { hint, .. } => hint.as_deref(),
            Error::Missed(_) | Error::StdoutClosed | Error::Other { .. } => None,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } => exit::INPUT,
            Error::Git { .. } => exit::GIT,
            Error::Config { .. } => exit::CONFIG,
            Error::Usage { .. } => exit::USAGE,
            Error::Write { .. } => exit::WRITE,
            Error::Missed(_) => exit::MISSED,
            Error::StdoutClosed => exit::OK,
            Error::Other { .. } => exit::FAILURE,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
