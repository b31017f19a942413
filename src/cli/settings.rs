//! What the commands resolve from their environment, once per run: the working directory, the
//! repository around it and the configuration that applies. Subcommands take them from here
//! and pass them on in their requests, so no library code asks the process where it is.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use crate::config::{Config, Source};
use crate::error::{Error, Result};

/// Where covshard runs.
pub struct Workspace {
    /// The working directory, against which relative paths on the command line resolve.
    pub cwd: PathBuf,
    /// The root of the git repository around `cwd` (`None`: there is none), found on first
    /// use, so that git is asked once.
    repo_root: OnceCell<Option<PathBuf>>,
    /// The configuration, loaded and validated on first use.
    config: OnceCell<(Config, Source)>,
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
            config: OnceCell::new(),
        }
    }

    /// The repository root, or the git error that says why there is none.
    pub fn repo_root(&self) -> Result<&Path> {
        self.repo_root
            .get_or_init(|| crate::git::repo_root(&self.cwd).ok())
            .as_deref()
            .ok_or_else(|| crate::git::not_a_repository(&self.cwd))
    }

    /// The configuration: the `explicit` file (`--config`), else `covshard.toml` or
    /// `[tool.covshard]` at the repository root, else the defaults (also outside a
    /// repository). A file is validated once, here, whichever command reads it.
    pub fn config(&self, explicit: Option<&Path>) -> Result<&(Config, Source)> {
        if let Some(loaded) = self.config.get() {
            return Ok(loaded);
        }
        let loaded = match (explicit, self.repo_root()) {
            (None, Err(_)) => (Config::default(), Source::Defaults),
            (_, root) => Config::load(root.unwrap_or(&self.cwd), explicit)?,
        };
        if let Source::File(path) = &loaded.1 {
            loaded.0.validate(path)?;
        }
        Ok(self.config.get_or_init(|| loaded))
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
