//! `covshard report --html`: one self-contained HTML file (no external scripts, styles or
//! fonts) with a Gantt chart of the shards drawn as SVG, each test a bar whose hover text
//! gives its id and estimate, the selection's reasons, and the slowest tests.

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::units::format_seconds;

/// Escape text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

/// A stable colour per test file, so a file's tests look alike across shards.
fn colour(file: &str) -> &'static str {
    let hash = file
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    PALETTE[hash as usize % PALETTE.len()]
}

/// The Gantt chart: one row per shard; overhead in grey, then each test in order.
fn gantt(plan: &Plan) -> String {
    let row_height = 26.0;
    let label_width = 90.0;
    let width = 1000.0;
    let scale_max = plan
        .shards
        .iter()
        .map(|s| s.predicted_seconds)
        .fold(plan.packing.makespan_seconds, f64::max)
        .max(1e-9);
    let px = |secs: f64| secs / scale_max * (width - label_width - 10.0);
    let height = row_height * plan.shards.len() as f64 + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="Gantt chart of the shards">"#
    );
    for (row, shard) in plan.shards.iter().enumerate() {
        let y = row as f64 * row_height + 4.0;
        let _ = write!(
            svg,
            r##"<text x="0" y="{:.1}" font-size="12" fill="#333">shard {}</text>"##,
            y + 15.0,
            shard.index
        );
        let overhead = plan.packing.shard_overhead_seconds;
        let w = px(overhead);
        let _ = write!(
            svg,
            r##"<rect x="{label_width:.1}" y="{y:.1}" width="{w:.1}" height="20" fill="#bbb"><title>overhead: {}</title></rect>"##,
            format_seconds(overhead)
        );
        // Bars start where the time so far ends: a minimum width for tiny tests must not push
        // a long shard past the axis.
        let mut elapsed = overhead;
        for test in &shard.tests {
            let x = label_width + px(elapsed);
            let w = px(test.seconds).max(0.5);
            let file = crate::nodeid::file_of(&test.id);
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="20" fill="{}" stroke="#fff" stroke-width="0.5"><title>{} — {} ({})</title></rect>"##,
                colour(file),
                escape(&test.id),
                format_seconds(test.seconds),
                escape(&test.estimate)
            );
            elapsed += test.seconds;
        }
    }
    let axis_y = row_height * plan.shards.len() as f64 + 20.0;
    let _ = write!(
        svg,
        r##"<line x1="{label_width}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999"/><text x="{label_width}" y="{:.1}" font-size="11" fill="#555">0</text><text x="{:.1}" y="{:.1}" font-size="11" fill="#555" text-anchor="end">{}</text>"##,
        axis_y - 8.0,
        width - 10.0,
        axis_y - 8.0,
        axis_y + 4.0,
        width - 10.0,
        axis_y + 4.0,
        format_seconds(scale_max)
    );
    svg.push_str("</svg>");
    svg
}

/// A bar chart of audits: the fraction each would have selected, red where one missed.
fn audit_chart(audits: &[crate::history::audits::AuditRecord]) -> String {
    const WIDTH: f64 = 18.0;
    const HEIGHT: f64 = 120.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"audits\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"fraction of tests selection would have run, per audited run\">",
        audits.len() as f64 * WIDTH + 40.0,
        HEIGHT + 20.0
    );
    let _ = write!(
        svg,
        "<line x1=\"30\" y1=\"{HEIGHT}\" x2=\"{}\" y2=\"{HEIGHT}\" stroke=\"#999\"/><text x=\"0\" y=\"12\" font-size=\"11\">100%</text><text x=\"10\" y=\"{HEIGHT}\" font-size=\"11\">0%</text>",
        audits.len() as f64 * WIDTH + 34.0
    );
    for (i, a) in audits.iter().enumerate() {
        let fraction = if a.run_all {
            1.0
        } else {
            a.fraction_selected()
        };
        let h = (fraction * (HEIGHT - 4.0)).max(1.0);
        let missed = a.misses().count();
        let colour = if missed > 0 { "#d62728" } else { "#1f77b4" };
        let commit = a.commit.as_deref().unwrap_or("?");
        let title = format!(
            "{}: {} of {} tests, {} failing, {} missed",
            &commit[..commit.len().min(10)],
            a.selected,
            a.tests,
            a.failing,
            missed
        );
        let _ = write!(
            svg,
            "<rect class=\"audit{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{}</title></rect>",
            if missed > 0 { " missed" } else { "" },
            34.0 + i as f64 * WIDTH,
            HEIGHT - h,
            WIDTH - 4.0,
            escape(&title)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The whole page.
pub fn render(plan: &Plan) -> String {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>covshard plan</title><style>body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:14px}th{background:#f5f5f5}code{font-size:13px}.muted{color:#666}</style></head><body>\n");
    html.push_str("<h1>covshard plan</h1>\n");
    let _ = writeln!(
        html,
        "<p>{}</p>",
        escape(&super::summary::selection_line(plan))
    );
    if let Some(base) = &plan.base {
        let _ = writeln!(
            html,
            "<p class=\"muted\">base commit <code>{}</code>{}</p>",
            escape(base),
            plan.head
                .as_ref()
                .map(|h| format!(", planned for <code>{}</code>", escape(h)))
                .unwrap_or_default()
        );
    }
    let p = &plan.packing;
    if plan.shards.is_empty() {
        html.push_str("<p><strong>No tests to run.</strong></p>\n");
    } else {
        let _ = writeln!(
            html,
            "<table><tr><th>shards</th><th>makespan</th><th>p50</th><th>p95</th><th>lower bound</th><th>efficiency</th><th>whole suite</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td></tr></table>",
            p.shard_count,
            format_seconds(p.makespan_seconds),
            format_seconds(p.p50_seconds),
            format_seconds(p.p95_seconds),
            format_seconds(p.lower_bound_seconds),
            p.efficiency * 100.0,
            p.full_suite_seconds
                .map(format_seconds)
                .unwrap_or_else(|| "—".into())
        );
        html.push_str("<h2>Shards</h2>\n");
        html.push_str(&gantt(plan));
        let overhead = if p.shard_overhead_seconds > 0.0 {
            format!(
                "Grey: each shard's fixed overhead ({}: checkout, install, collection). ",
                format_seconds(p.shard_overhead_seconds)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            html,
            "\n<p class=\"muted\">{overhead}One colour per test file; hover a bar for the test and its estimate.</p>"
        );
    }
    if !plan.selection.run_all_reasons.is_empty() || !plan.selection.changed_files.is_empty() {
        html.push_str("<h2>Why these tests</h2>\n<ul>\n");
        for r in &plan.selection.run_all_reasons {
            let _ = writeln!(html, "<li>whole suite: {}</li>", escape(&r.to_text()));
        }
        for f in &plan.selection.changed_files {
            let _ = writeln!(
                html,
                "<li><code>{}</code> ({:?}): {}</li>",
                escape(&f.path),
                f.kind,
                escape(&f.handling)
            );
        }
        html.push_str("</ul>\n");
    }
    if !plan.selection.by_rule.is_empty() {
        html.push_str("<table><tr><th>rule</th><th>tests</th></tr>\n");
        for (rule, n) in plan.selection.by_rule_counted() {
            let _ = writeln!(html, "<tr><td>{}</td><td>{n}</td></tr>", escape(rule));
        }
        html.push_str("</table>\n");
    }
    let mut slowest: Vec<&crate::plan::PlannedTest> =
        plan.shards.iter().flat_map(|s| &s.tests).collect();
    slowest.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.id.cmp(&b.id)));
    if !slowest.is_empty() {
        html.push_str("<h2>Slowest tests</h2>\n<table><tr><th>test</th><th>estimate</th><th>from</th><th>why</th></tr>\n");
        for t in slowest.iter().take(20) {
            let why = plan
                .selection
                .reasons
                .get(&t.id)
                .and_then(|r| r.first())
                .map(|r| r.to_text())
                .unwrap_or_default();
            let _ = writeln!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&t.id),
                format_seconds(t.seconds),
                escape(&t.estimate),
                escape(&why)
            );
        }
        html.push_str("</table>\n");
    }
    if !plan.audits.is_empty() {
        let totals = crate::history::audits::totals(&plan.audits);
        html.push_str("<h2>Audits of full runs</h2>\n");
        let _ = writeln!(
            html,
            "<p>{}.</p>",
            escape(&super::audit::totals_sentence(&totals))
        );
        html.push_str(&audit_chart(&plan.audits));
        html.push_str("\n<p class=\"muted\">One bar per audited full run of the main branch, oldest first: the share of its tests selection would have run. Red: selection would have missed a failing test.</p>\n");
    }
    let _ = writeln!(
        html,
        "<p class=\"muted\">{}</p>\n</body></html>",
        escape(&plan.generator)
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
