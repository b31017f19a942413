//! `covshard audit`: hold a full run against what `covshard select` would have chosen for it,
//! and keep the record in the data file. `--history` shows that record.

use std::path::PathBuf;

use crate::audit::{self, Audit};
use crate::cli::ingest::{expand_reports, unix_now};
use crate::cli::select::{SelectionArgs, resolve_with};
use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::coverage::CoverageDb;
use crate::diff::Since;
use crate::error::{Error, Result};
use crate::history::audits::{self, Totals};
use crate::history::estimate::{EstimateOptions, Estimates};
use crate::history::ingest::{ReportKind, read_reports};
use crate::output;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The data file of the full run being audited, where the result is stored.
    #[arg(long, default_value = ".coverage")]
    pub db: PathBuf,
    /// The previous baseline: the data file of an earlier full run, which selection would
    /// have used for this change.
    #[arg(long, value_name = "OLD", required_unless_present = "history")]
    pub previous: Option<PathBuf>,
    /// The commit the previous baseline was recorded on (default: the one its ingest recorded).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The audited commit, which must be checked out (default: the one the ingest of --db
    /// recorded, else HEAD).
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
    /// JUnit XML of the full run (repeatable; glob patterns accepted).
    #[arg(long, value_name = "FILE")]
    pub junit: Vec<String>,
    /// pytest-reportlog JSON lines of the full run (repeatable; glob patterns accepted).
    #[arg(long, value_name = "FILE")]
    pub reportlog: Vec<String>,
    /// A configuration file (default: covshard.toml, else [tool.covshard] in pyproject.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Exit with code 7 when selection would have missed a failing test.
    #[arg(long)]
    pub strict: bool,
    /// Do not store the result in the data file.
    #[arg(long)]
    pub no_record: bool,
    /// Show the stored record of earlier audits instead of auditing.
    #[arg(long, conflicts_with_all = ["previous", "junit", "reportlog", "strict", "no_record"])]
    pub history: bool,
    /// Output format: `text`, `markdown` (for a CI job summary) or `json`.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Text,
    Markdown,
    Json,
}

pub fn run(args: AuditArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    if args.history {
        return show_history(&args);
    }
    let Some(previous) = args.previous.clone() else {
        return Err(Error::usage("--previous OLD is required"));
    };
    if let (Ok(a), Ok(b)) = (previous.canonicalize(), args.db.canonicalize())
        && a == b
    {
        return Err(Error::usage(format!(
            "--previous {} is the audited data file itself",
            previous.display()
        ))
        .with_hint("pass the baseline of an earlier full run (the file the ingest carried the history from)"));
    }
    let reports = expand_reports(&[
        (ReportKind::Junit, &args.junit),
        (ReportKind::Reportlog, &args.reportlog),
    ])?;
    if reports.is_empty() {
        return Err(Error::usage("no reports of the run to audit").with_hint(
            "pass the full run's reports with --junit 'junit-*.xml' or --reportlog 'report-*.jsonl'",
        ));
    }
    let current = CoverageDb::open(&args.db)?;
    let commit = audited_commit(&args, &current, ws)?;
    let run = read_reports(&reports, &current.test_ids()?, &ui.progress())?;
    let run: Vec<_> = run.samples.into_iter().map(|p| p.sample).collect();
    // The tests of the run are what a pull request's `--collected` list would have named
    // (node ids only, as `--collected` reads them: not a report's collection errors).
    let collected: Vec<String> = run
        .iter()
        .map(|s| s.node_id.clone())
        .filter(|id| id.contains("::"))
        .collect();
    let selection_args = SelectionArgs {
        db: previous.clone(),
        base: args.base.clone(),
        diff: None,
        collected: None,
        config: args.config.clone(),
    };
    // What was merged from the base to this commit: the checkout of a main-branch job also
    // holds the run's reports, downloaded artifacts and caches, which no pull request had.
    let resolved = resolve_with(
        &selection_args,
        Some(collected),
        Since::Committed,
        &[args.db.as_path()],
        false,
        ws,
        ui,
    )?;
    let baseline = CoverageDb::open(&previous)?;
    let options = EstimateOptions {
        statistic: resolved.config.durations.statistic,
        default_seconds: resolved.config.durations.default_seconds,
    };
    let estimates = Estimates::load(baseline.connection(), &options)?;
    let result = audit::audit(&audit::Request {
        selection: &resolved.selection,
        run: &run,
        baseline: &baseline,
        current: Some(current.connection()),
        estimates: &estimates,
        commit: Some(commit),
        base: resolved.base.clone(),
        recorded_at: unix_now(),
    })?;
    drop(current);
    if !args.no_record {
        audits::record_in(&args.db, &result.record)?;
    }
    let stored = audits::list(&crate::history::open_read(&args.db)?)?;
    let totals = audits::totals(&stored);
    print(&args, &result, &totals)?;
    ui.info(&format!(
        "covshard audit: {}; {} missed",
        report::audit::selection_sentence(&result.record),
        result.misses().count()
    ));
    let missed = result.misses().count();
    if args.strict && missed > 0 {
        return Err(Error::Missed(format!(
            "selection would have missed {missed} failing test{} (--strict)",
            if missed == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

fn print(args: &AuditArgs, result: &Audit, totals: &Totals) -> Result<()> {
    let text = match args.format {
        AuditFormat::Text => report::audit::text(result),
        AuditFormat::Markdown => report::audit::markdown(result, Some(totals)),
        AuditFormat::Json => {
            let r = &result.record;
            output::to_json(&output::Audit {
                version: output::VERSION,
                commit: r.commit.as_deref().map(Into::into),
                base: r.base.as_deref().map(Into::into),
                tests: r.tests,
                selected: r.selected,
                run_all: r.run_all,
                run_all_reasons: (&result.run_all_reasons[..]).into(),
                failing: r.failing,
                missed: result.misses().count(),
                left_out: (&result.left_out[..]).into(),
                seconds: r.seconds,
                saved_seconds: r.saved_seconds,
                predicted_saved_seconds: r.predicted_saved_seconds,
                changed_files: (&result.changed_files[..]).into(),
                stored: !args.no_record,
            })?
        }
    };
    crate::cli::print_data(&text)
}

/// The audited commit, resolved, which must be the checkout: selection reads the new sources
/// from the working tree.
fn audited_commit(args: &AuditArgs, current: &CoverageDb, ws: &Workspace) -> Result<String> {
    let root = ws.repo_root()?;
    let recorded = crate::history::recorded_commit(current.connection())?;
    let (rev, origin) = match (&args.commit, &recorded) {
        (Some(rev), _) => (rev.as_str(), "given with --commit"),
        (None, Some(rev)) => (rev.as_str(), "recorded by the ingest of --db"),
        (None, None) => ("HEAD", "the default for --commit"),
    };
    let commit = crate::git::resolve_commit_for(root, rev, origin, "--commit")?;
    let head = crate::git::resolve_commit_for(root, "HEAD", "the checkout", "--commit")?;
    if commit != head {
        return Err(Error::usage(format!(
            "the audited commit {commit} ({origin}) is not the checkout (HEAD is {head}): selection reads the changed sources from the working tree"
        ))
        .with_hint(format!("run the audit in a checkout of {commit}, or pass --commit")));
    }
    Ok(commit)
}

fn show_history(args: &AuditArgs) -> Result<()> {
    let conn = crate::history::open_read(&args.db)?;
    let records = audits::list(&conn)?;
    let totals = audits::totals(&records);
    let text = match args.format {
        AuditFormat::Json => output::to_json(&output::AuditHistory {
            version: output::VERSION,
            totals,
            audits: records.into(),
        })?,
        format => report::audit::history(&records, &totals, format == AuditFormat::Markdown),
    };
    crate::cli::print_data(&text)
}
