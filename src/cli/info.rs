//! `covshard info`: what a coverage data file holds, and whether covshard can use it.

use std::path::PathBuf;

use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::coverage::paths::{self, Unmapped};
use crate::coverage::{ContextKind, CoverageDb, parse_context};
use crate::error::Result;
use crate::output::{ImportIndexInfo, Info};

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// The coverage.py data file.
    #[arg(long, default_value = ".coverage")]
    pub db: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InfoFormat::Text)]
    pub format: InfoFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InfoFormat {
    Text,
    Json,
}

pub fn gather(db: &CoverageDb, ws: &Workspace) -> Result<Info> {
    let contexts = db.contexts()?;
    let mut tests = std::collections::BTreeSet::new();
    let mut global_context = false;
    for record in &contexts {
        match parse_context(&record.name) {
            ContextKind::Test { node_id, .. } => {
                tests.insert(node_id);
            }
            ContextKind::Function { dotted } => {
                tests.insert(dotted);
            }
            ContextKind::Global => global_context = true,
            ContextKind::Other(_) => {}
        }
    }
    let (repository, unmapped_files) = match ws.repo_root() {
        Ok(root) => {
            let tracked = crate::git::tracked_files(root)?;
            let recorded: Vec<String> = db.files().iter().map(|f| f.path.clone()).collect();
            // The user's remap rules apply here as in selection; a broken config is reported
            // by the commands that need it, `info` still describes the data file.
            let remaps = crate::config::Config::load(root, None)
                .map(|(config, _)| config.paths.remap)
                .unwrap_or_default();
            let map = paths::map_paths(&recorded, &tracked, root.to_str(), &remaps);
            let unmapped = map
                .unmapped
                .iter()
                .map(|(path, why)| match why {
                    Unmapped::NoMatch => format!("{path} (no tracked file matches)"),
                    Unmapped::Ambiguous(c) => format!("{path} (ambiguous: {})", c.join(", ")),
                })
                .collect();
            (Some(root.display().to_string()), unmapped)
        }
        Err(_) => (None, Vec::new()),
    };
    let conn = db.connection();
    let history_runs = if crate::history::store::has_tables(conn)? {
        crate::history::store::runs(conn)?.len()
    } else {
        0
    };
    let import_index = crate::python::index::summary(conn)?
        .map(|(commit, files)| ImportIndexInfo { commit, files });
    let stored_suite = match crate::history::suite::open(conn)? {
        Ok(_) => "stored",
        Err(crate::history::suite::Unavailable::Stale) => "stale",
        Err(crate::history::suite::Unavailable::Missing) => "none",
    };
    let audits = crate::history::audits::list(conn)?;
    let audits = (!audits.is_empty()).then(|| crate::history::audits::totals(&audits));
    Ok(Info {
        version: crate::output::VERSION,
        history_runs,
        audits,
        recorded_commit: crate::history::recorded_commit(conn)?,
        import_index,
        stored_suite: stored_suite.into(),
        path: db.path().display().to_string(),
        coverage_version: db.coverage_version().map(str::to_string),
        mode: db.mode().as_str().into(),
        files: db.files().len(),
        contexts: contexts.len() as u64,
        tests: tests.len(),
        line_rows: db.line_row_count()?,
        has_test_contexts: !tests.is_empty(),
        global_context,
        unmapped_files,
        repository,
    })
}

pub fn run(args: InfoArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    let db = CoverageDb::open(&args.db)?;
    let info = gather(&db, ws)?;
    match args.format {
        InfoFormat::Json => crate::cli::print_data(&crate::output::to_json(&info)?),
        InfoFormat::Text => {
            let mut text = String::new();
            let mut line = |k: &str, v: String| text.push_str(&format!("{k:<18} {v}\n"));
            line("data file", info.path.clone());
            line(
                "coverage.py",
                info.coverage_version
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            );
            line("mode", info.mode.to_string());
            line("files", info.files.to_string());
            line("contexts", info.contexts.to_string());
            line("tests", info.tests.to_string());
            line("line rows", info.line_rows.to_string());
            line(
                "test contexts",
                if info.has_test_contexts { "yes" } else { "no" }.to_string(),
            );
            line(
                "repository",
                info.repository
                    .clone()
                    .unwrap_or_else(|| "(not in a git repository)".into()),
            );
            line("history", {
                let runs = match info.history_runs {
                    1 => "1 run".to_string(),
                    n => format!("{n} runs"),
                };
                match &info.recorded_commit {
                    Some(commit) => format!("{runs}, latest at {commit}"),
                    None => runs,
                }
            });
            line(
                "import index",
                match &info.import_index {
                    Some(index) => format!("{} Python files at {}", index.files, index.commit),
                    None => "none (`covshard ingest` records it)".to_string(),
                },
            );
            line(
                "stored suite",
                match info.stored_suite.as_ref() {
                    "stored" => "yes (selection reads no context it does not need)",
                    "stale" => "stale: contexts were added since (`covshard ingest` again)",
                    _ => "none (`covshard ingest` stores it)",
                }
                .to_string(),
            );
            if let Some(totals) = &info.audits {
                let sentence = crate::report::audit::totals_sentence(totals);
                line("audits", sentence.replacen("Over ", "", 1));
            }
            line("unmapped files", info.unmapped_files.len().to_string());
            for path in &info.unmapped_files {
                text.push_str(&format!("  {path}\n"));
            }
            crate::cli::print_data(&text)?;
            if !info.has_test_contexts {
                ui.warn("no per-test contexts: record the data with `pytest --cov=PKG --cov-context=test` so covshard can select tests");
            }
            Ok(())
        }
    }
}
