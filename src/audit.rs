//! `covshard audit`: on a full run of the main branch, where every test runs anyway, what
//! selection would have chosen for the change since the previous baseline, held against what
//! actually failed. It answers the question a team asks before turning selection on ("would
//! it ever have let a failing test through on our code?") from its own history.
//!
//! The selection is made by the caller, with the same rules and configuration as `select`;
//! this module compares it with the run's outcomes, tells real misses from failures that do
//! not follow the change (the test failed at the base too, or is flaky: it failed and passed
//! at one commit), says for each miss what it ran of the changed files and how each of them
//! was handled, and adds up the test time selection would have saved, measured (the run's
//! reports) and predicted (the baseline's history).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::coverage::CoverageDb;
use crate::error::Result;
use crate::history::audits::{AuditRecord, MissKind};
use crate::history::estimate::Estimates;
use crate::history::{Outcome, Sample, store};
use crate::selection::{ChangedFile, Reason, Selection, compact_ranges};

/// What an audit compares.
pub struct Request<'a> {
    /// What `select` would have chosen on the baseline for the change from its commit to the
    /// audited one.
    pub selection: &'a Selection,
    /// The audited run's tests, one sample each (merged reports).
    pub run: &'a [Sample],
    /// The baseline: its contexts tell what a left-out test ran, its history the predicted
    /// durations, the failures at the base and flaky tests.
    pub baseline: &'a CoverageDb,
    /// The audited run's data file, whose history (carried from the baseline, and the run
    /// itself once ingested) also tells flaky tests.
    pub current: Option<&'a Connection>,
    pub estimates: &'a Estimates,
    pub commit: Option<String>,
    pub base: Option<String>,
    /// Unix seconds.
    pub recorded_at: i64,
}

/// A failing test that selection would have left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeftOut {
    pub test: String,
    pub kind: MissKind,
    pub outcome: Outcome,
    /// What it ran of each changed file at the base, and how selection handled that file.
    pub ran: Vec<RanFile>,
}

/// One changed file, as a left-out test saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RanFile {
    pub path: String,
    /// The lines it ran (`3-5,9`); empty when it ran none.
    pub lines: String,
    /// The rule that applied to the file.
    pub handling: String,
}

/// The result of one audit.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub record: AuditRecord,
    /// Every failing test selection would have left out, real misses first, then by id.
    pub left_out: Vec<LeftOut>,
    pub changed_files: Vec<ChangedFile>,
    /// Why every test would have run, under run-all.
    pub run_all_reasons: Vec<Reason>,
}

impl Audit {
    pub fn misses(&self) -> impl Iterator<Item = &LeftOut> {
        self.left_out.iter().filter(|m| m.kind == MissKind::Missed)
    }
}

/// Compare the selection with the run.
pub fn audit(req: &Request<'_>) -> Result<Audit> {
    let s = req.selection;
    let selected = |id: &str| s.run_all || !s.reasons_for(id).is_empty();
    let mut record = AuditRecord {
        commit: req.commit.clone(),
        base: req.base.clone(),
        recorded_at: req.recorded_at,
        tests: req.run.len(),
        selected: 0,
        run_all: s.run_all,
        failing: 0,
        left_out: Vec::new(),
        seconds: 0.0,
        saved_seconds: 0.0,
        predicted_saved_seconds: 0.0,
    };
    let mut failing_left_out = Vec::new();
    for sample in req.run {
        record.seconds += sample.duration;
        let failing = sample.outcome.is_failure();
        record.failing += usize::from(failing);
        if selected(&sample.node_id) {
            record.selected += 1;
            continue;
        }
        record.saved_seconds += sample.duration;
        record.predicted_saved_seconds += req.estimates.for_test(&sample.node_id).seconds;
        if failing {
            failing_left_out.push(sample);
        }
    }
    let ids: Vec<&str> = failing_left_out
        .iter()
        .map(|s| s.node_id.as_str())
        .collect();
    let mut history = outcomes_by_commit(req.baseline.connection(), &ids)?;
    if let Some(current) = req.current {
        for (id, by_commit) in outcomes_by_commit(current, &ids)? {
            let mine = history.entry(id).or_default();
            for (commit, seen) in by_commit {
                mine.entry(commit).or_default().extend(seen);
            }
        }
    }
    let changed: Vec<&str> = s.changed_files.iter().map(|c| c.path.as_str()).collect();
    let mut left_out = Vec::new();
    for sample in failing_left_out {
        let seen = history.get(&sample.node_id);
        let kind = classify(seen, req.base.as_deref());
        let ran = req
            .baseline
            .lines_run_by(&sample.node_id, &changed)?
            .into_iter()
            .map(|(path, lines)| RanFile {
                handling: s
                    .changed_files
                    .iter()
                    .find(|c| c.path == path)
                    .map(|c| c.handling.clone())
                    .unwrap_or_default(),
                lines: compact_ranges(lines),
                path,
            })
            .collect();
        left_out.push(LeftOut {
            test: sample.node_id.clone(),
            kind,
            outcome: sample.outcome,
            ran,
        });
    }
    left_out.sort_by(|a, b| (a.kind, &a.test).cmp(&(b.kind, &b.test)));
    record.left_out = left_out.iter().map(|m| (m.test.clone(), m.kind)).collect();
    record.left_out.sort();
    Ok(Audit {
        record,
        left_out,
        changed_files: s.changed_files.clone(),
        run_all_reasons: s.run_all_reasons.clone(),
    })
}

/// A test that both failed and passed at one commit is flaky; one that failed at the base
/// commit (and never passed there) was broken before the change. Either way the failure is
/// not the change's doing.
fn classify(
    seen: Option<&BTreeMap<Option<String>, BTreeSet<Outcome>>>,
    base: Option<&str>,
) -> MissKind {
    let Some(seen) = seen else {
        return MissKind::Missed;
    };
    let failed = |o: &BTreeSet<Outcome>| o.iter().any(|o| o.is_failure());
    // Runs recorded without a commit are not known to share one.
    if seen
        .iter()
        .any(|(commit, o)| commit.is_some() && failed(o) && o.contains(&Outcome::Passed))
    {
        return MissKind::Flaky;
    }
    if let Some(at_base) = base.and_then(|b| seen.get(&Some(b.to_string())))
        && failed(at_base)
    {
        return MissKind::FailedAtBase;
    }
    MissKind::Missed
}

/// Each test's outcomes in the stored history, by the commit of the run.
type OutcomesByCommit = BTreeMap<String, BTreeMap<Option<String>, BTreeSet<Outcome>>>;

fn outcomes_by_commit(conn: &Connection, ids: &[&str]) -> Result<OutcomesByCommit> {
    let mut out = OutcomesByCommit::new();
    if ids.is_empty() || !store::has_tables(conn)? {
        return Ok(out);
    }
    let err = store::sql_err(conn);
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.commit_id, s.outcome FROM covshard_test AS t
             JOIN covshard_sample AS s ON s.test_id = t.id
             JOIN covshard_run AS r ON r.id = s.run_id
             WHERE t.node_id = ?1",
        )
        .map_err(&err)?;
    for id in ids {
        let rows = stmt
            .query_map([id], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        for row in rows {
            let (commit, outcome) = row.map_err(&err)?;
            if let Some(outcome) = Outcome::parse(&outcome) {
                out.entry(id.to_string())
                    .or_default()
                    .entry(commit)
                    .or_default()
                    .insert(outcome);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(entries: &[(&str, &[Outcome])]) -> BTreeMap<Option<String>, BTreeSet<Outcome>> {
        entries
            .iter()
            .map(|(c, o)| (Some(c.to_string()), o.iter().copied().collect()))
            .collect()
    }

    #[test]
    fn a_failure_is_a_miss_unless_it_failed_at_the_base_or_is_flaky() {
        use Outcome::*;
        assert_eq!(classify(None, Some("b")), MissKind::Missed);
        let passed_before = seen(&[("b", &[Passed]), ("a", &[Passed])]);
        assert_eq!(classify(Some(&passed_before), Some("b")), MissKind::Missed);
        let broken_before = seen(&[("b", &[Error])]);
        assert_eq!(
            classify(Some(&broken_before), Some("b")),
            MissKind::FailedAtBase
        );
        // Failed at another commit only: still the change's doing.
        assert_eq!(classify(Some(&broken_before), Some("c")), MissKind::Missed);
        let flaky = seen(&[("a", &[Failed, Passed]), ("b", &[Passed])]);
        assert_eq!(classify(Some(&flaky), Some("b")), MissKind::Flaky);
        // Failed and passed at the base itself: flaky, not broken before.
        let flaky_at_base = seen(&[("b", &[Failed, Passed])]);
        assert_eq!(classify(Some(&flaky_at_base), Some("b")), MissKind::Flaky);
        // Skipped and failed at one commit is not flaky.
        let skipped = seen(&[("a", &[Failed, Skipped])]);
        assert_eq!(classify(Some(&skipped), Some("b")), MissKind::Missed);
        // Runs without a commit are not one commit.
        let unknown: BTreeMap<Option<String>, BTreeSet<Outcome>> =
            [(None, [Failed, Passed].into())].into();
        assert_eq!(classify(Some(&unknown), Some("b")), MissKind::Missed);
    }
}
