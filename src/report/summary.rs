//! The plan summary: what was selected and why, in numbers, the shards as a table, and the
//! predicted makespan against the lower bound and against running the whole suite.

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::units::format_seconds;

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "212 of 4,810 tests: 180 ran changed code, 20 covshard has never seen it, ..."
pub fn selection_line(plan: &Plan) -> String {
    let s = &plan.selection;
    if !s.selective {
        let why = s
            .run_all_reasons
            .first()
            .map(|r| r.rule.describe())
            .unwrap_or("the whole suite was asked for (--all)");
        return format!(
            "{} tests: the whole suite, because {why}",
            thousands(s.selected)
        );
    }
    if s.run_all {
        let why: Vec<String> = s.run_all_reasons.iter().map(|r| r.to_text()).collect();
        return format!(
            "{} tests: the whole suite, because {}",
            thousands(s.selected),
            why.join("; ")
        );
    }
    let parts: Vec<String> = s
        .by_rule_counted()
        .into_iter()
        .map(|(rule, n)| format!("{} {rule}", thousands(n)))
        .collect();
    format!(
        "{} of {} tests{}{}",
        thousands(s.selected),
        thousands(s.total.max(s.selected)),
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

/// The text summary for stderr.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "covshard plan: {}", selection_line(plan));
    if plan.shards.is_empty() {
        out.push_str("no tests to run\n");
        return out;
    }
    let p = &plan.packing;
    let workers = if p.workers > 1 {
        format!(
            " x {} xdist workers (--dist {}, start-up {})",
            p.workers,
            p.dist.name(),
            format_seconds(p.worker_startup_seconds)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} shard(s){workers}, overhead {} each ({}); estimates: {} from history, {} from priors",
        p.shard_count,
        format_seconds(p.shard_overhead_seconds),
        p.shard_overhead_source,
        plan.estimates.known,
        plan.estimates.estimated
    );
    let _ = writeln!(out, "  shard  tests  predicted");
    for shard in &plan.shards {
        let _ = writeln!(
            out,
            "  {:>5}  {:>5}  {:>9}",
            shard.index,
            shard.tests.len(),
            format_seconds(shard.predicted_seconds)
        );
    }
    let _ = write!(
        out,
        "makespan {} (p50 {}, p95 {}), lower bound {}, efficiency {:.1}%",
        format_seconds(p.makespan_seconds),
        format_seconds(p.p50_seconds),
        format_seconds(p.p95_seconds),
        format_seconds(p.lower_bound_seconds),
        p.efficiency * 100.0
    );
    if let Some(full) = p.full_suite_seconds {
        let _ = write!(
            out,
            "; the whole suite would take at least {} on {} shard(s)",
            format_seconds(full),
            p.shard_count
        );
    }
    out.push('\n');
    out
}

/// The same as Markdown, for `$GITHUB_STEP_SUMMARY` and `--summary-markdown`.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::from("### covshard plan\n\n");
    let _ = writeln!(out, "{}\n", selection_line(plan));
    if plan.shards.is_empty() {
        out.push_str("No tests to run.\n");
        return out;
    }
    let p = &plan.packing;
    out.push_str("| | |\n|---|---|\n");
    let _ = writeln!(out, "| shards | {} |", p.shard_count);
    let _ = writeln!(
        out,
        "| predicted makespan | {} |",
        format_seconds(p.makespan_seconds)
    );
    let _ = writeln!(
        out,
        "| p50 / p95 | {} / {} |",
        format_seconds(p.p50_seconds),
        format_seconds(p.p95_seconds)
    );
    let _ = writeln!(
        out,
        "| lower bound | {} |",
        format_seconds(p.lower_bound_seconds)
    );
    let _ = writeln!(out, "| efficiency | {:.1}% |", p.efficiency * 100.0);
    if let Some(full) = p.full_suite_seconds {
        let _ = writeln!(
            out,
            "| whole suite on {} shard(s), at least | {} |",
            p.shard_count,
            format_seconds(full)
        );
    }
    out.push_str("\n| shard | tests | predicted |\n|---:|---:|---:|\n");
    for shard in &plan.shards {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            shard.index,
            shard.tests.len(),
            format_seconds(shard.predicted_seconds)
        );
    }
    if !plan.selection.changed_files.is_empty() {
        out.push_str("\n<details><summary>changed files</summary>\n\n| file | change | selects |\n|---|---|---|\n");
        for f in &plan.selection.changed_files {
            let _ = writeln!(
                out,
                "| `{}` | {:?} | {} |",
                f.path.replace('|', "\\|"),
                f.kind,
                f.handling
            );
        }
        out.push_str("\n</details>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(4810), "4,810");
        assert_eq!(thousands(212), "212");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
