//! `covshard select`: the tests a change can affect, with their reasons.
//!
//! The resolution shared by `select`, `explain` and `plan` lives here too: which data file,
//! which base commit, which changes, which configuration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::borrow::Cow;

use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::config::Config;
use crate::coverage::CoverageDb;
use crate::diff::Since;
use crate::error::{Error, Result};
use crate::output;
use crate::selection::{self, Reason, Selection};

/// Arguments shared by every command that selects tests.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionArgs {
    /// The coverage.py data file of the base branch's full run.
    #[arg(long, default_value = ".coverage")]
    pub db: PathBuf,
    /// The commit the data file was recorded on (default: the one `covshard ingest` recorded).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Read the changes from a unified diff file (`-` for stdin) instead of running git.
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// The output of `pytest --collect-only -q`: tests covshard has never seen are selected.
    #[arg(long, value_name = "FILE")]
    pub collected: Option<PathBuf>,
    /// A configuration file (default: covshard.toml, else [tool.covshard] in pyproject.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Output format: `text` (ids and reasons), `lines` (ids only, for `pytest @file`), `json`.
    #[arg(long, value_enum, default_value_t = SelectFormat::Text)]
    pub format: SelectFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SelectFormat {
    Text,
    Lines,
    Json,
}

/// Everything a selection was made from, for reports.
pub struct Resolved {
    pub selection: Selection,
    pub base: Option<String>,
    pub config: Config,
    pub repo_root: PathBuf,
}

/// Resolve arguments and configuration, and run selection. `outputs` are files the command
/// writes (the plan), which are not changes to the project. `list_known`: list every known
/// test in the selection (else they are counted, and listed only under run-all).
pub fn resolve(
    args: &SelectionArgs,
    outputs: &[&Path],
    list_known: bool,
    ws: &Workspace,
    ui: &Ui,
) -> Result<Resolved> {
    let collected = args.collected.as_deref().map(read_collected).transpose()?;
    resolve_with(
        args,
        collected,
        Since::WorkingTree,
        outputs,
        list_known,
        ws,
        ui,
    )
}

/// [`resolve`] with the collected test list given (`audit` takes it from the run's reports)
/// rather than read from `--collected`, and the changes read `since` the base.
pub fn resolve_with(
    args: &SelectionArgs,
    collected: Option<Vec<String>>,
    since: Since,
    outputs: &[&Path],
    list_known: bool,
    ws: &Workspace,
    ui: &Ui,
) -> Result<Resolved> {
    let repo_root = ws.repo_root()?.to_path_buf();
    let (config, source) = ws.config(args.config.as_deref())?;
    if let crate::config::Source::File(path) = source {
        ui.detail(&format!("configuration: {}", path.display()));
    }
    let config = config.clone();
    let db = CoverageDb::open(&args.db)?;
    db.require_test_contexts()?;
    let recorded = crate::history::recorded_commit(db.connection())?;
    let base_rev = args.base.clone().or(recorded);
    let stored = crate::history::suite::open(db.connection())?;
    match &stored {
        Ok(suite) => ui.detail(&format!(
            "stored suite: {} known tests ({} test files)",
            suite.tests,
            suite.files.len()
        )),
        Err(why) => ui.detail(why.explain()),
    }
    // git, the contexts (on a connection of their own, unless ingest stored the suite) and
    // the history are read side by side.
    let source = match stored {
        Ok(stored) => Ok(stored),
        Err(why) => Err((db.reopen()?, why)),
    };
    let (changes, failed_last_run, suite) = std::thread::scope(|scope| {
        let changes = scope.spawn(|| changes_since(args, &repo_root, base_rev.as_deref(), since));
        let collected = collected.as_deref();
        let scan = source.map_err(|(second, why)| {
            let scan =
                scope.spawn(move || selection::SuiteScan::read(&second, collected, list_known));
            (scan, why)
        });
        let failed = crate::history::last_failed(db.connection());
        let joined = |what: &str| Error::other(format!("{what} failed"));
        let suite = match scan {
            Ok(stored) => Ok(selection::Suite::Stored(stored)),
            Err((scan, why)) => {
                let history =
                    selection::suite::history_census(db.connection(), collected, list_known);
                let scan = scan
                    .join()
                    .unwrap_or_else(|_| Err(joined("reading the contexts")));
                scan.and_then(|mut scan| {
                    scan.census.merge(history?);
                    Ok(selection::Suite::Scanned(Box::new(scan), why))
                })
            }
        };
        let changes = changes.join().unwrap_or_else(|_| Err(joined("git")));
        (changes, failed, suite)
    });
    let (failed_last_run, suite) = (failed_last_run?, suite?);
    let Changes {
        changes,
        base,
        tracked,
    } = changes?;
    // The index is exact only when git named every file that differs from the base.
    let import_index = match (&base, &tracked) {
        (Some(base), Some(_)) => match crate::python::index::summary(db.connection())? {
            Some((commit, files)) if &commit == base => {
                ui.detail(&format!("import index: {files} Python files at the base"));
                true
            }
            _ => {
                ui.detail("no import index for the base commit (`covshard ingest` records it): import-time changes read every Python file");
                false
            }
        },
        _ => false,
    };
    let request = selection::Request {
        db: &db,
        repo_root: &repo_root,
        base: base.clone(),
        changes,
        config: &config,
        collected,
        failed_last_run,
        list_known,
        tracked,
        import_index,
        own_files: [
            Some(args.db.as_path()),
            args.collected.as_deref(),
            args.diff.as_deref(),
        ]
        .into_iter()
        .flatten()
        .chain(outputs.iter().copied())
        .map(|own| ws.absolute(own))
        .collect(),
    };
    let spinner = ui.spinner("selecting tests");
    let selection = selection::select(&request, Some(suite));
    spinner.finish_and_clear();
    let selection = selection?;
    for warning in &selection.warnings {
        ui.warn(warning);
    }
    Ok(Resolved {
        selection,
        base,
        config,
        repo_root,
    })
}

/// What changed since the base.
struct Changes {
    changes: Vec<crate::diff::FileChange>,
    /// The base as a full commit id, when known.
    base: Option<String>,
    /// The working tree's files, when git listed them.
    tracked: Option<BTreeSet<String>>,
}

/// The changes from `--diff FILE`, or from git against the base.
fn changes_since(
    args: &SelectionArgs,
    repo_root: &Path,
    base_rev: Option<&str>,
    since: Since,
) -> Result<Changes> {
    match (&args.diff, base_rev) {
        (Some(diff), base) => Ok(Changes {
            changes: crate::diff::from_file(diff)?,
            base: base.and_then(|rev| crate::git::resolve_commit(repo_root, rev).ok()),
            tracked: None,
        }),
        (None, Some(rev)) => {
            let origin = if args.base.is_some() {
                "the base, given with --base"
            } else {
                "the base, recorded by `covshard ingest`"
            };
            let base = crate::git::resolve_commit_for(repo_root, rev, origin, "--base")?;
            let (changes, tracked) = crate::diff::from_git(repo_root, &base, since)?;
            Ok(Changes {
                changes,
                base: Some(base),
                tracked: Some(tracked),
            })
        }
        (None, None) => Err(Error::usage(format!(
            "no base commit for {}: covshard does not know which commit it was recorded on",
            args.db.display()
        ))
        .with_hint("pass --base REV (the commit of the full run), or record it with `covshard ingest --db FILE --commit REV`")),
    }
}

/// Node ids from `pytest --collect-only -q` output (summary and warning lines are skipped).
pub fn read_collected(path: &Path) -> Result<Vec<String>> {
    let text = crate::text::read(path)
        .map_err(|e| Error::input(path, "cannot read the collected test list").caused_by(e))?;
    let ids: BTreeSet<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| l.contains("::") && !l.starts_with(' ') && !l.starts_with('<'))
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(Error::input(path, "no test ids found")
            .with_hint("write it with `pytest --collect-only -q > FILE` (one node id a line)"));
    }
    Ok(ids.into_iter().collect())
}

/// The JSON output of `select`, borrowing from the selection.
pub fn select_output(resolved: &Resolved) -> output::Select<'_> {
    let s = &resolved.selection;
    output::Select {
        version: output::VERSION,
        base: resolved.base.as_deref().map(Cow::Borrowed),
        run_all: s.run_all,
        run_all_reasons: Cow::Borrowed(&s.run_all_reasons),
        tests: s.test_ids(),
        total: s.suite.total(),
        reasons: s
            .selected
            .iter()
            .map(|(id, reasons)| {
                let reasons = reasons.iter().map(Cow::Borrowed).collect();
                (Cow::Borrowed(id.as_str()), reasons)
            })
            .collect(),
        changed_files: Cow::Borrowed(&s.changed_files),
        warnings: Cow::Borrowed(&s.warnings),
    }
}

/// One line for people: `12 of 480 tests selected: 9 ran changed code, 3 test file changed`.
pub fn summary_line(selection: &Selection) -> String {
    let ids = selection.test_ids();
    if selection.run_all {
        let why: Vec<String> = selection
            .run_all_reasons
            .iter()
            .map(Reason::to_text)
            .collect();
        return format!(
            "every test selected ({} known): {}",
            selection.suite.total(),
            why.join("; ")
        );
    }
    let tally = selection.tally(&ids);
    let parts: Vec<String> = tally
        .by_rule
        .iter()
        .map(|(rule, n)| format!("{n} {}", rule.counted()))
        .collect();
    format!(
        "{} of {} known tests selected{}{}",
        tally.tests,
        selection.suite.total().max(tally.tests),
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

pub fn run(args: SelectArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    let resolved = resolve(&args.selection, &[], false, ws, ui)?;
    let s = &resolved.selection;
    match args.format {
        SelectFormat::Json => {
            crate::cli::print_data(&output::to_json(&select_output(&resolved))?)?;
        }
        SelectFormat::Lines => {
            let mut text = String::new();
            for id in s.test_ids() {
                text.push_str(&id);
                text.push('\n');
            }
            crate::cli::print_data(&text)?;
        }
        SelectFormat::Text => {
            let mut text = String::new();
            for id in s.test_ids() {
                text.push_str(&id);
                text.push('\n');
                for reason in s.selected.get(&id).into_iter().flatten() {
                    text.push_str(&format!("    {}\n", reason.to_text()));
                }
            }
            crate::cli::print_data(&text)?;
            for file in &s.changed_files {
                ui.detail(&format!(
                    "  {} ({:?}): {}",
                    file.path, file.kind, file.handling
                ));
            }
        }
    }
    ui.info(&summary_line(s));
    Ok(())
}
