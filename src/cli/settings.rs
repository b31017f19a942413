//! What the commands resolve from their environment, once per run: the working directory and
//! the repository around it. Subcommands take them from here and pass them on in their
//! requests, so no library code asks the process where it is.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where covshard runs.
pub struct Workspace {
    /// The working directory, against which relative paths on the command line resolve.
    pub cwd: PathBuf,
    /// The root of the git repository around `cwd`, found on first use.
    repo_root: OnceCell<PathBuf>,
}

impl Workspace {
    /// The process's working directory.
    pub fn here() -> Result<Self> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::other("no working directory").caused_by(e))?;
        Ok(Workspace::at(cwd))
    }

    pub fn at(cwd: PathBuf) -> Self {
        Workspace {
            cwd,
            repo_root: OnceCell::new(),
        }
    }

    /// The repository root, or the git error that says why there is none.
    pub fn repo_root(&self) -> Result<&Path> {
        if let Some(root) = self.repo_root.get() {
            return Ok(root);
        }
        let root = crate::git::repo_root(&self.cwd)?;
        Ok(self.repo_root.get_or_init(|| root))
    }

    /// A path from the command line, made absolute against the working directory.
    pub fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        }
    }
}
