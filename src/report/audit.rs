//! The audit for people: plain text for a terminal, Markdown for a CI job summary, for one
//! audit and for the stored record of them.

use std::fmt::Write as _;

use crate::audit::{Audit, LeftOut};
use crate::history::audits::{AuditRecord, MissKind, Totals};
use crate::units::format_seconds;

fn short(commit: Option<&str>) -> &str {
    match commit {
        Some(c) => &c[..c.len().min(10)],
        None => "(unknown commit)",
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "0%".into();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

/// "selection would have run 12 of 480 tests (2.5%), saving 3m10s of 3m20s (predicted 3m05s)"
pub fn selection_sentence(r: &AuditRecord) -> String {
    let run = if r.run_all {
        format!("every test ({})", r.tests)
    } else {
        format!(
            "{} of {} tests ({})",
            r.selected,
            r.tests,
            percent(r.selected, r.tests)
        )
    };
    format!(
        "selection would have run {run}, saving {} of {} of test time (predicted: {})",
        format_seconds(r.saved_seconds),
        format_seconds(r.seconds),
        format_seconds(r.predicted_saved_seconds)
    )
}

fn kind_words(kind: MissKind) -> &'static str {
    match kind {
        MissKind::Missed => "MISSED",
        MissKind::FailedAtBase => "failed at the base too",
        MissKind::Flaky => "flaky (failed and passed at one commit)",
    }
}

/// What a left-out test ran of the changed files, in one line.
fn ran_words(m: &LeftOut) -> String {
    let ran: Vec<String> = m
        .ran
        .iter()
        .filter(|f| !f.lines.is_empty())
        .map(|f| format!("{} lines {} ({})", f.path, f.lines, f.handling))
        .collect();
    if ran.is_empty() {
        "it ran no line of the changed files at the base".into()
    } else {
        format!("it ran {}", ran.join("; "))
    }
}

/// The counts of a record's left-out failures that do not count as misses.
fn excused(r: &AuditRecord) -> String {
    let count = |k| r.left_out.iter().filter(|(_, kind)| *kind == k).count();
    format!(
        "{} failed at the base too, {} flaky",
        count(MissKind::FailedAtBase),
        count(MissKind::Flaky)
    )
}

/// The plain-text report (stdout).
pub fn text(a: &Audit) -> String {
    let r = &a.record;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "covshard audit of {} against the baseline at {}",
        short(r.commit.as_deref()),
        short(r.base.as_deref())
    );
    let _ = writeln!(out, "  {}", selection_sentence(r));
    let misses = a.misses().count();
    let _ = writeln!(
        out,
        "  {} failing, {} left out by selection: {} missed, {}",
        r.failing,
        a.left_out.len(),
        misses,
        excused(r)
    );
    for m in &a.left_out {
        let _ = writeln!(
            out,
            "  {} {} ({}): {}",
            kind_words(m.kind),
            m.test,
            m.outcome.as_str(),
            ran_words(m)
        );
    }
    for reason in &a.run_all_reasons {
        let _ = writeln!(out, "  every test would have run: {}", reason.to_text());
    }
    if a.changed_files.is_empty() {
        let _ = writeln!(out, "  no change between the baseline and this commit");
    } else {
        let _ = writeln!(out, "  changed files:");
        for f in &a.changed_files {
            let _ = writeln!(out, "    {} ({:?}): {}", f.path, f.kind, f.handling);
        }
    }
    out
}

/// The Markdown report, for `$GITHUB_STEP_SUMMARY` and the like; `totals` adds the record.
pub fn markdown(a: &Audit, totals: Option<&Totals>) -> String {
    let r = &a.record;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### covshard audit: `{}` against the baseline at `{}`\n",
        short(r.commit.as_deref()),
        short(r.base.as_deref())
    );
    let mut sentence = selection_sentence(r);
    sentence.replace_range(..1, "S");
    let _ = writeln!(out, "{sentence}.\n");
    let misses: Vec<&LeftOut> = a.misses().collect();
    if misses.is_empty() {
        let _ = writeln!(
            out,
            "**No failing test would have been missed** ({} failing).\n",
            r.failing
        );
    } else {
        let _ = writeln!(
            out,
            "**{} failing test{} would have been missed:**\n",
            misses.len(),
            if misses.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "| test | outcome | why selection left it out |");
        let _ = writeln!(out, "|---|---|---|");
        for m in &misses {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                m.test.replace('|', "\\|"),
                m.outcome.as_str(),
                ran_words(m).replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    if a.left_out.len() > misses.len() {
        let _ = writeln!(
            out,
            "Left out but not counted as misses ({}):\n",
            excused(r)
        );
        for m in a.left_out.iter().filter(|m| m.kind != MissKind::Missed) {
            let _ = writeln!(out, "- `{}`: {}", m.test, kind_words(m.kind));
        }
        out.push('\n');
    }
    if r.run_all && !a.run_all_reasons.is_empty() {
        let why: Vec<String> = a.run_all_reasons.iter().map(|r| r.to_text()).collect();
        let _ = writeln!(out, "Every test would have run: {}.\n", why.join("; "));
    }
    if let Some(t) = totals {
        let _ = writeln!(out, "Stored record: {}.\n", totals_sentence(t));
    }
    out
}

/// "Over 14 audited runs: no miss; selection would have run 8.2% of the tests on average and
/// saved 5h of 6h of test time"
pub fn totals_sentence(t: &Totals) -> String {
    let misses = match t.misses {
        0 => "no miss".to_string(),
        n => format!(
            "{n} miss{} in {} run{}",
            if n == 1 { "" } else { "es" },
            t.audits_with_misses,
            if t.audits_with_misses == 1 { "" } else { "s" }
        ),
    };
    format!(
        "Over {} audited run{}: {misses}; selection would have run {:.1}% of the tests on average and saved {} of {} of test time",
        t.audits,
        if t.audits == 1 { "" } else { "s" },
        100.0 * t.mean_fraction_selected,
        format_seconds(t.saved_seconds),
        format_seconds(t.seconds)
    )
}

/// The stored record as a table, newest last; Markdown when `markdown`.
pub fn history(records: &[AuditRecord], totals: &Totals, markdown: bool) -> String {
    let mut out = String::new();
    if records.is_empty() {
        let _ = writeln!(
            out,
            "No audits recorded yet: run `covshard audit` after the ingest of a full run."
        );
        return out;
    }
    let rows = records.iter().map(|r| {
        [
            short(r.commit.as_deref()).to_string(),
            short(r.base.as_deref()).to_string(),
            if r.run_all {
                "all".to_string()
            } else {
                format!("{}/{}", r.selected, r.tests)
            },
            r.failing.to_string(),
            r.misses().count().to_string(),
            format_seconds(r.saved_seconds),
        ]
    });
    let header = ["commit", "base", "selected", "failing", "missed", "saved"];
    if markdown {
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let _ = writeln!(out, "\n{}.", totals_sentence(totals));
    } else {
        let _ = writeln!(
            out,
            "{:<10}  {:<10}  {:>13}  {:>7}  {:>6}  {:>8}",
            header[0], header[1], header[2], header[3], header[4], header[5]
        );
        for row in rows {
            let _ = writeln!(
                out,
                "{:<10}  {:<10}  {:>13}  {:>7}  {:>6}  {:>8}",
                row[0], row[1], row[2], row[3], row[4], row[5]
            );
        }
        let _ = writeln!(out, "{}.", totals_sentence(totals));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::RanFile;
    use crate::history::Outcome;

    fn audit(left_out: Vec<LeftOut>) -> Audit {
        let record = AuditRecord {
            commit: Some("0123456789abcdef".into()),
            base: Some("fedcba9876543210".into()),
            recorded_at: 0,
            tests: 200,
            selected: 20,
            run_all: false,
            failing: left_out.len() + 1,
            left_out: left_out.iter().map(|m| (m.test.clone(), m.kind)).collect(),
            seconds: 100.0,
            saved_seconds: 90.0,
            predicted_saved_seconds: 80.0,
        };
        Audit {
            record,
            left_out,
            changed_files: Vec::new(),
            run_all_reasons: Vec::new(),
        }
    }

    fn left_out(test: &str, kind: MissKind, ran: &[(&str, &str)]) -> LeftOut {
        LeftOut {
            test: test.into(),
            kind,
            outcome: Outcome::Failed,
            ran: ran
                .iter()
                .map(|(path, lines)| RanFile {
                    path: path.to_string(),
                    lines: lines.to_string(),
                    handling: "ignored by pattern".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn markdown_names_each_miss_and_escapes_table_cells() {
        let a = audit(vec![
            left_out("t.py::test[a|b]", MissKind::Missed, &[("src/m.py", "3-5")]),
            left_out("t.py::flaky", MissKind::Flaky, &[]),
        ]);
        let md = markdown(&a, None);
        assert!(
            md.contains("### covshard audit: `0123456789` against the baseline at `fedcba9876`")
        );
        assert!(
            md.contains("**1 failing test would have been missed:**"),
            "{md}"
        );
        assert!(
            md.contains(
                "| `t.py::test[a\\|b]` | failed | it ran src/m.py lines 3-5 (ignored by pattern) |"
            ),
            "{md}"
        );
        assert!(
            !md.contains("| `t.py::flaky`"),
            "a flaky test is not a miss: {md}"
        );
        assert!(md.contains("0 failed at the base too, 1 flaky"), "{md}");
        assert!(md.contains("- `t.py::flaky`: flaky"), "{md}");
        assert!(
            md.contains("Selection would have run 20 of 200 tests (10.0%)"),
            "{md}"
        );
    }

    #[test]
    fn no_miss_is_said_plainly_and_a_test_that_ran_nothing_changed_says_so() {
        let md = markdown(&audit(Vec::new()), None);
        assert!(
            md.contains("**No failing test would have been missed** (1 failing)."),
            "{md}"
        );
        let text = text(&audit(vec![left_out(
            "t.py::x",
            MissKind::Missed,
            &[("src/m.py", "")],
        )]));
        assert!(
            text.contains(
                "MISSED t.py::x (failed): it ran no line of the changed files at the base"
            ),
            "{text}"
        );
    }
}
