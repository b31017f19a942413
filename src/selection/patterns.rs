//! The configured patterns: run-all, ignore and test files, node ids that always run, and the
//! files configuration maps to tests.

use std::path::Path;

use globset::GlobSet;

use crate::config::{self, Config};
use crate::error::Result;

pub(super) struct Patterns {
    pub(super) run_all: GlobSet,
    pub(super) ignore: GlobSet,
    /// The ignore patterns the configuration adds to covshard's defaults: they drop even code
    /// tests run, which the defaults (documentation) never do.
    pub(super) user_ignore: GlobSet,
    pub(super) test_files: GlobSet,
    pub(super) always_run: GlobSet,
    pub(super) maps: Vec<(GlobSet, Vec<String>)>,
}

impl Patterns {
    pub(super) fn new(config: &Config) -> Result<Self> {
        let s = &config.selection;
        let source = Path::new("covshard configuration");
        let joined = |a: &Vec<String>, b: &Vec<String>| -> Vec<String> {
            a.iter().chain(b).cloned().collect()
        };
        Ok(Patterns {
            run_all: config::compile(&joined(&s.run_all, &s.extra_run_all), source)?,
            ignore: config::compile(&joined(&s.ignore, &s.extra_ignore), source)?,
            user_ignore: {
                let defaults = config::SelectionConfig::default().ignore;
                let added: Vec<String> = s
                    .ignore
                    .iter()
                    .filter(|p| !defaults.contains(p))
                    .chain(&s.extra_ignore)
                    .cloned()
                    .collect();
                config::compile(&added, source)?
            },
            test_files: config::compile(&s.test_files, source)?,
            always_run: globset_for_ids(&s.always_run, source)?,
            maps: s
                .map
                .iter()
                .map(|m| Ok((config::compile(&m.files, source)?, m.tests.clone())))
                .collect::<Result<_>>()?,
        })
    }
}

/// Node-id globs match the whole id literally (no `**/` prefix).
fn globset_for_ids(patterns: &[String], source: &Path) -> Result<GlobSet> {
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(false)
            .build()
            .map_err(|e| crate::Error::config(source, format!("invalid pattern `{p}`: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| crate::Error::config(source, format!("invalid patterns: {e}")))
}
