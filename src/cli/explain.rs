//! `covshard explain TEST_ID`: why a test is, or is not, selected.
//!
//! For a selected test: each reason (rule, changed file and lines, the function or import
//! chain that connects them) with the changed source lines. For a test that is not selected:
//! what it ran of the changed files, so a person can check that nothing was missed.

use std::collections::BTreeSet;

use crate::cli::select::{SelectionArgs, resolve};
use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::coverage::CoverageDb;
use crate::error::Result;
use crate::selection::compact_ranges;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The pytest node id (or test file path) to explain.
    pub test_id: String,
}

pub fn run(args: ExplainArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    let resolved = resolve(&args.selection, &[], true, ws, ui)?;
    let s = &resolved.selection;
    let test = args.test_id.trim();
    let mut text = String::new();
    let known = s.known_tests.contains(test)
        || s.known_tests
            .iter()
            .any(|t| crate::nodeid::file_of(t) == test);
    let reasons = s.reasons_for(test);
    if s.run_all {
        text.push_str(&format!(
            "{} SELECTED: the whole suite runs\n",
            ui.bold(test)
        ));
        for reason in &s.run_all_reasons {
            text.push_str(&format!("  - {}\n", reason.to_text()));
        }
    } else if reasons.is_empty() {
        text.push_str(&format!("{} NOT SELECTED\n", ui.bold(test)));
        if !known {
            text.push_str("  covshard has never seen this test: it is in no coverage context and no durations history.\n  Pass the collected test list with --collected so that new tests are selected.\n");
        }
    } else {
        text.push_str(&format!("{} SELECTED\n", ui.bold(test)));
    }
    for (id, reasons) in &reasons {
        let via = if id == test {
            String::new()
        } else {
            format!(" (as part of `{id}`)")
        };
        for reason in reasons {
            text.push_str(&format!("  - {}{via}\n", reason.to_text()));
            if let (Some(file), false) = (&reason.file, reason.lines.is_empty()) {
                text.push_str(&source_excerpt(&resolved, file, &reason.lines));
            }
        }
    }
    // What the test ran of each changed file (from its own contexts).
    let db = CoverageDb::open(&args.selection.db)?;
    let coverage = coverage_of_changes(&db, &resolved, test)?;
    if !coverage.is_empty() {
        text.push_str("  its coverage of the changed files (base commit):\n");
        for line in coverage {
            text.push_str(&format!("    {line}\n"));
        }
    }
    if s.changed_files.is_empty() {
        text.push_str("  no changes between the base commit and the working tree\n");
    } else {
        text.push_str("  changed files:\n");
        for file in &s.changed_files {
            text.push_str(&format!(
                "    {} ({:?}): {}\n",
                file.path, file.kind, file.handling
            ));
        }
    }
    crate::cli::print_data(&text)
}

/// A few lines of the base version around the changed lines, numbered.
fn source_excerpt(resolved: &crate::cli::select::Resolved, file: &str, lines: &str) -> String {
    let Some(base) = &resolved.base else {
        return String::new();
    };
    let Ok(bytes) = crate::git::run(&resolved.repo_root, &["show", &format!("{base}:{file}")])
    else {
        return String::new();
    };
    let source = String::from_utf8_lossy(&bytes);
    let wanted: BTreeSet<u32> = lines
        .split(',')
        .filter_map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))
        })
        .flat_map(|(a, b)| a..=b)
        .take(8)
        .collect();
    let mut out = String::new();
    let show: BTreeSet<u32> = wanted
        .iter()
        .flat_map(|&l| l.saturating_sub(1).max(1)..=l + 1)
        .collect();
    for (index, line) in source.lines().enumerate() {
        let number = index as u32 + 1;
        if show.contains(&number) {
            let mark = if wanted.contains(&number) { ">" } else { " " };
            out.push_str(&format!("      {mark}{number:>5} | {line}\n"));
        }
    }
    out
}

fn coverage_of_changes(
    db: &CoverageDb,
    resolved: &crate::cli::select::Resolved,
    test: &str,
) -> Result<Vec<String>> {
    let changed: Vec<&str> = resolved
        .selection
        .changed_files
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    Ok(db
        .lines_run_by(test, &changed)?
        .into_iter()
        .map(|(path, lines)| {
            if lines.is_empty() {
                format!("{path}: ran no line")
            } else {
                format!("{path}: ran lines {}", compact_ranges(lines))
            }
        })
        .collect())
}
