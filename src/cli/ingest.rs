//! `covshard ingest`: store the durations and outcomes of a CI run in the coverage data file.
//!
//! Resolves glob patterns and the commit, then hands over to [`crate::history::ingest`]. The
//! summary goes to stderr; stdout stays empty (nothing here is data for another tool).

use std::path::PathBuf;

use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::error::{Error, Result};
use crate::history::ingest::{self, ReportKind, Request, Summary};

/// How many unmapped entries are listed without `-v`.
const LIST_LIMIT: usize = 3;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// The coverage.py data file to store the history in.
    #[arg(long, default_value = ".coverage")]
    pub db: PathBuf,
    /// The commit the coverage data belongs to (selection's default base). Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
    /// JUnit XML written by `pytest --junitxml` (repeatable; glob patterns accepted).
    #[arg(long, value_name = "FILE")]
    pub junit: Vec<String>,
    /// pytest-split's `.test_durations` JSON (repeatable; glob patterns accepted).
    #[arg(long, value_name = "FILE")]
    pub durations: Vec<String>,
    /// pytest-reportlog JSON lines from `pytest --report-log` (repeatable; globs accepted).
    #[arg(long, value_name = "FILE")]
    pub reportlog: Vec<String>,
    /// Copy the history out of the previous data file (`coverage combine` writes a new one).
    #[arg(long, value_name = "OLD")]
    pub carry_history_from: Option<PathBuf>,
    /// A label for this run (a runner type, a CI job name).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Do not record the import index (every Python file's imports at the commit), which
    /// spares selection from reading the whole checkout on import-time changes.
    #[arg(long)]
    pub no_import_index: bool,
    /// Samples kept per test.
    #[arg(long, value_name = "N", default_value_t = crate::history::DEFAULT_KEEP as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: u64,
}

/// Expand one `--junit`/`--durations`/`--reportlog` value: a glob pattern must match at least
/// one file; a plain path is kept as is (a missing one is reported when it is read).
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    if !pattern.contains(['*', '?', '[']) {
        return Ok(vec![PathBuf::from(pattern)]);
    }
    let paths = glob::glob(pattern)
        .map_err(|e| Error::usage(format!("invalid glob pattern `{pattern}`: {e}")))?;
    let mut out = Vec::new();
    for entry in paths {
        let path =
            entry.map_err(|e| Error::input(e.path(), format!("cannot read: {}", e.error())))?;
        if path.is_file() {
            out.push(path);
        }
    }
    if out.is_empty() {
        // `[` may be a literal bracket in a file name rather than a pattern.
        if std::path::Path::new(pattern).is_file() {
            return Ok(vec![PathBuf::from(pattern)]);
        }
        return Err(Error::input(pattern, "no file matches this pattern")
            .with_hint("check the path and that the test jobs uploaded their reports"));
    }
    out.sort();
    Ok(out)
}

/// Every report the patterns of each kind name, each once: overlapping patterns must not
/// count a shard twice.
pub fn expand_reports(
    patterns: &[(ReportKind, &Vec<String>)],
) -> Result<Vec<(ReportKind, PathBuf)>> {
    let mut reports = Vec::new();
    for (kind, patterns) in patterns {
        for pattern in patterns.iter() {
            for path in expand(pattern)? {
                if !reports.contains(&(*kind, path.clone())) {
                    reports.push((*kind, path));
                }
            }
        }
    }
    Ok(reports)
}

/// Now, in Unix seconds, as runs and audits record it.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The commit to record, resolved to a full id when in a git repository, with that
/// repository's root.
fn resolve_commit(
    rev: Option<&str>,
    ws: &Workspace,
    ui: &Ui,
) -> Result<Option<(String, Option<PathBuf>)>> {
    match (ws.repo_root().map(std::path::Path::to_path_buf), rev) {
        (Ok(root), Some(rev)) => {
            crate::git::resolve_commit_for(&root, rev, "given with --commit", "--commit")
                .map(|c| Some((c, Some(root))))
        }
        (Ok(root), None) => {
            crate::git::resolve_commit_for(&root, "HEAD", "the default for --commit", "--commit")
                .map(|c| Some((c, Some(root))))
        }
        (Err(_), Some(rev)) => {
            ui.warn(&format!(
                "not in a git repository: recording --commit {rev} as given"
            ));
            Ok(Some((rev.to_string(), None)))
        }
        (Err(e), None) => Err(e.with_hint(
            "run covshard in the checkout the tests ran on, or pass the commit with --commit SHA",
        )),
    }
}

pub fn run(args: IngestArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    let reports = expand_reports(&[
        (ReportKind::Junit, &args.junit),
        (ReportKind::Durations, &args.durations),
        (ReportKind::Reportlog, &args.reportlog),
    ])?;
    if let Some(old) = &args.carry_history_from
        && !old.exists()
    {
        return Err(Error::input(
            old,
            "the previous data file given with --carry-history-from does not exist",
        )
        .with_hint("download the previous baseline's `.coverage` artifact first, or drop --carry-history-from when there is none yet"));
    }
    if reports.is_empty() && args.carry_history_from.is_none() {
        return Err(Error::usage("nothing to ingest").with_hint(
            "pass reports with --junit, --durations or --reportlog, or --carry-history-from OLD",
        ));
    }
    let resolved = if reports.is_empty() {
        None
    } else {
        resolve_commit(args.commit.as_deref(), ws, ui)?
    };
    let import_index = match &resolved {
        Some((commit, Some(root))) if !args.no_import_index => Some(ingest::IndexAt {
            root: root.to_path_buf(),
            commit: commit.clone(),
        }),
        _ => None,
    };
    let commit = resolved.map(|(commit, _)| commit);
    let recorded_at = unix_now();
    let request = Request {
        db: args.db,
        reports,
        commit,
        label: args.label,
        carry_from: args.carry_history_from,
        keep: args.keep as usize,
        recorded_at,
        import_index,
    };
    let summary = ingest::ingest(&request, &ui.progress())?;
    for warning in &summary.warnings {
        ui.warn(warning);
    }
    report(&request, &summary, ui);
    Ok(())
}

fn report(request: &Request, s: &Summary, ui: &Ui) {
    if s.carried.runs > 0 || s.carried.skipped_runs > 0 {
        ui.info(&format!(
            "carried {} runs ({} samples) from {}{}",
            s.carried.runs,
            s.carried.samples,
            request
                .carry_from
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            if s.carried.skipped_runs > 0 {
                format!(", {} already present", s.carried.skipped_runs)
            } else {
                String::new()
            }
        ));
    }
    if let Some(run) = s.already_stored {
        ui.info(&format!(
            "these reports are already stored as run {run} (same commit, label and samples): nothing added to {}",
            request.db.display()
        ));
        // The rest tells how samples were stored, and none were.
        return;
    }
    if let Some(run) = s.run_id {
        ui.info(&format!(
            "ingested run {run}: {} tests from {} reports ({} failed or errored, {} skipped) into {}",
            s.tests,
            request.reports.len(),
            s.failed,
            s.skipped,
            request.db.display()
        ));
    }
    for (list, what, alarming) in [
        (
            &s.guessed,
            "match no test in the coverage contexts (usual for tests that run no measured line) and were stored under the node id their JUnit names spell",
            false,
        ),
        (
            &s.ambiguous,
            "matched several tests in the coverage contexts and were stored under the first",
            true,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let message = format!("{} JUnit test cases {what}", list.len());
        if alarming {
            ui.warn(&message);
        } else {
            ui.info(&format!("note: {message}"));
        }
        let shown = if ui.verbose > 0 {
            list.len()
        } else {
            LIST_LIMIT
        };
        for u in list.iter().take(shown) {
            let also = if u.candidates.is_empty() {
                String::new()
            } else {
                format!(" (candidates: {})", u.candidates.join(", "))
            };
            ui.info(&format!(
                "  {}:{}: {} -> {}{also}",
                u.report.display(),
                u.line,
                u.entry,
                u.stored_as
            ));
        }
        if list.len() > shown {
            ui.info(&format!(
                "  ... and {} more (-v lists all)",
                list.len() - shown
            ));
        }
    }
    if s.known_ids == 0 && s.tests > 0 {
        ui.warn(
            "the data file has no per-test contexts: node ids were derived from the reports alone",
        );
    } else if s.not_in_contexts > 0 {
        ui.detail(&format!(
            "{} tests in the reports are not in the coverage contexts (they ran no measured line, or the data file is from another run)",
            s.not_in_contexts
        ));
    }
    if let Some(files) = s.indexed_files {
        ui.detail(&format!(
            "recorded the imports of {files} Python files at the commit (the import index)"
        ));
    }
    match s.suite {
        Some(crate::history::suite::Stored::Tests(n)) => ui.detail(&format!(
            "stored the suite for selection: {n} known tests, by context and by test file"
        )),
        Some(crate::history::suite::Stored::FunctionContexts) => ui.detail(
            "stored no suite for selection: the contexts are coverage.py's `test_function` ones, which selection resolves against the checkout",
        ),
        None => {}
    }
    if s.pruned > 0 {
        ui.detail(&format!(
            "dropped {} samples beyond the newest {} per test",
            s.pruned, request.keep
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_sorted_and_must_match() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["junit-2.xml", "junit-1.xml", "other.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let pattern = format!("{}/junit-*.xml", dir.path().display());
        let got = expand(&pattern).unwrap();
        assert_eq!(
            got,
            vec![
                dir.path().join("junit-1.xml"),
                dir.path().join("junit-2.xml")
            ]
        );
        let none = format!("{}/nothing-*.xml", dir.path().display());
        assert_eq!(
            expand(&none).unwrap_err().exit_code(),
            crate::error::exit::INPUT
        );
        assert_eq!(
            expand("plain.xml").unwrap(),
            vec![PathBuf::from("plain.xml")]
        );
    }
}
