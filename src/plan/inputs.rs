//! What a plan is made from besides a selection: the whole suite, when selection does not run
//! (`plan --all`, or no data file), and the estimates, from the data file's history, else a
//! pytest-split `.test_durations` file, else uniform priors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::coverage::CoverageDb;
use crate::error::{Error, Result};
use crate::history::estimate::{EstimateOptions, Estimates};
use crate::history::store::StoredSample;
use crate::selection::{Reason, Selection, gone};

/// Where the whole suite is known from.
pub struct WholeSuite<'a> {
    /// The data file, when there is one: its contexts and history name tests.
    pub db: Option<&'a Path>,
    /// `pytest --collect-only -q`, when given.
    pub collected: Option<&'a BTreeSet<String>>,
    /// A `.test_durations` file, when given.
    pub durations: Option<&'a Path>,
    /// Why every test is planned.
    pub reason: Reason,
    /// Where node ids may be relative to: the repository root joined with the rootdir, and
    /// the working directory.
    pub roots: Vec<PathBuf>,
}

/// Every known test, with the data file's recorded commit, less the tests pytest would refuse
/// because their files are gone since (warnings in the selection say so).
pub fn whole_suite(input: &WholeSuite<'_>) -> Result<(Selection, Option<String>)> {
    let mut known: BTreeSet<String> = input.collected.cloned().unwrap_or_default();
    let mut base = None;
    if let Some(path) = input.db {
        let db = CoverageDb::open(path)?;
        known.append(&mut crate::selection::suite::list_known(&db, None, |_| {
            None
        })?);
        base = crate::history::recorded_commit(db.connection())?;
    }
    if let Some(path) = input.durations {
        known.extend(durations_file(path)?.into_iter().map(|s| s.sample.node_id));
    }
    if known.is_empty() {
        return Err(Error::usage("nothing to plan: no data file, no collected test list and no durations")
            .with_hint("pass --collected FILE (from `pytest --collect-only -q`), --durations FILE, or --db with a coverage data file"));
    }
    let mut selection = Selection::whole_suite(known, input.reason.clone());
    let collected: Option<Vec<String>> = input.collected.map(|ids| ids.iter().cloned().collect());
    let present = gone::Present {
        roots: input.roots.clone(),
        gone_files: BTreeSet::new(),
        collected: collected.as_deref(),
        last_file: Default::default(),
    };
    gone::settle(&mut selection, &present);
    Ok((selection, base))
}

/// The estimates: from the data file's history; when it holds none, from the durations file
/// (read only then); else uniform. The warning says when the estimates are uniform for want
/// of a history.
pub fn estimates(
    db: Option<&Path>,
    durations: Option<&Path>,
    options: &EstimateOptions,
) -> Result<(Estimates, Option<String>)> {
    let stored = match db {
        Some(path) => crate::history::store::samples(&crate::history::open_read(path)?)?,
        None => Vec::new(),
    };
    if !stored.is_empty() {
        return Ok((Estimates::from_samples(&stored, options), None));
    }
    let warning = (db.is_some() && durations.is_none()).then(|| {
        "the data file holds no durations yet: estimates are uniform (run `covshard ingest` on the main branch)".to_string()
    });
    let samples = durations
        .map(durations_file)
        .transpose()?
        .unwrap_or_default();
    Ok((Estimates::from_samples(&samples, options), warning))
}

/// A pytest-split `.test_durations` file, as samples of one unnumbered run.
pub fn durations_file(path: &Path) -> Result<Vec<StoredSample>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::input(path, "cannot read the durations file").caused_by(e))?;
    Ok(crate::history::pytest_split::parse(path, &bytes)?
        .into_iter()
        .enumerate()
        .map(|(seq, sample)| StoredSample {
            run_id: 0,
            part: 0,
            seq: seq as i64,
            sample,
        })
        .collect())
}
