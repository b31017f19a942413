//! The HTML report renders in a real browser: a plan from the fixture data, `covshard report
//! --html`, a screenshot from headless Chromium (Debian's `chromium`, which `.ci/run` installs),
//! and a look at the pixels. The page must also be self-contained: it is opened from CI
//! artifacts, often offline, and must not call out to anything.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::util::{covshard, fixtures, run_ok, tool};

/// The Gantt chart's palette (src/report/html.rs): seeing these proves the SVG was drawn.
const PALETTE: [[u8; 3]; 8] = [
    [0x4e, 0x79, 0xa7],
    [0xf2, 0x8e, 0x2b],
    [0x59, 0xa1, 0x4f],
    [0xe1, 0x57, 0x59],
    [0x76, 0xb7, 0xb2],
    [0xed, 0xc9, 0x48],
    [0xb0, 0x7a, 0xa1],
    [0x9c, 0x75, 0x5f],
];

fn make_report(dir: &Path) -> String {
    let data = fixtures().join("data");
    // No overhead, so the tests' bars fill the chart instead of a grey block.
    run_ok(
        covshard()
            .current_dir(dir)
            .env("GIT_CEILING_DIRECTORIES", dir)
            .env_remove("GITHUB_OUTPUT")
            .args([
                "plan",
                "--all",
                "--shards",
                "3",
                "--shard-overhead",
                "0s",
                "-q",
            ])
            .arg("--db")
            .arg(data.join("lines.coverage"))
            .arg("--durations")
            .arg(data.join(".test_durations"))
            .args(["--out", "plan.json"]),
    );
    run_ok(covshard().current_dir(dir).args([
        "report",
        "--plan",
        "plan.json",
        "--html",
        "report.html",
    ]));
    std::fs::read_to_string(dir.join("report.html")).unwrap()
}

#[test]
fn html_report_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let html = make_report(dir.path());
    let lower = html.to_lowercase();
    for forbidden in [
        "<script src",
        "<link",
        "@import",
        "@font-face",
        "url(",
        "http://",
        "https://",
        "//fonts.",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the report refers to something outside itself: {forbidden}"
        );
    }
    assert!(html.contains("<svg"), "no Gantt chart");
    // Every shard is a row, every test a bar with its id as hover text.
    for k in 1..=3 {
        assert!(html.contains(&format!(">shard {k}</text>")), "shard {k}");
    }
    assert!(html.contains("<title>tests/checkout/test_checkout.py::test_slow_end_to_end"));
}

/// Screenshot a page in headless Chromium and count its pixels by colour; `None` without
/// Chromium.
fn screenshot(page: &Path) -> Option<BTreeMap<[u8; 3], usize>> {
    let chromium = tool("COVSHARD_CHROMIUM", "Chromium")?;
    let dir = page.parent().unwrap();
    let png = dir.join("report.png");
    let profile = dir.join("profile");
    let out = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    assert!(
        png.is_file(),
        "Chromium wrote no screenshot ({})\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = &buf[..info.buffer_size()];
    let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
    for px in pixels.chunks_exact(channels) {
        *counts.entry([px[0], px[1], px[2]]).or_default() += 1;
    }
    Some(counts)
}

#[test]
fn html_report_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    make_report(dir.path());
    let Some(counts) = screenshot(&dir.path().join("report.html")) else {
        return;
    };
    let total = 1200 * 900;
    let background = counts.get(&[255, 255, 255]).copied().unwrap_or(0);
    // A blank page (or an error page) is nearly all one colour; this one has text and bars.
    assert!(
        background < total * 97 / 100,
        "the screenshot is {}% white",
        background * 100 / total
    );
    assert!(counts.len() > 50, "only {} colours", counts.len());
    let bar_colours = PALETTE
        .iter()
        .filter(|c| counts.get(*c).copied().unwrap_or(0) > 100)
        .count();
    assert!(
        bar_colours >= 3,
        "only {bar_colours} of the chart's colours are on screen: the Gantt chart did not render"
    );
}

/// A plan whose data file holds audits shows them as a bar chart: one bar per audited run,
/// red where selection would have missed a failing test.
#[test]
fn audit_chart_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    make_report(dir.path());
    let plan_path = dir.path().join("plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    // No shards, so that the chart is near the top of the page.
    plan["shards"] = serde_json::json!([]);
    let audit = |commit: &str, selected: usize, missed: &[&str]| {
        serde_json::json!({
            "commit": commit, "base": "b", "recorded_at": 1, "tests": 100,
            "selected": selected, "run_all": false, "failing": missed.len(),
            "left_out": missed.iter().map(|t| (t, "missed")).collect::<Vec<_>>(),
            "seconds": 100.0, "saved_seconds": 100.0 - selected as f64,
            "predicted_saved_seconds": 90.0,
        })
    };
    plan["audits"] = serde_json::json!([
        audit("c1", 40, &[]),
        audit("c2", 80, &["t.py::x"]),
        audit("c3", 60, &[]),
    ]);
    std::fs::write(&plan_path, serde_json::to_string(&plan).unwrap()).unwrap();
    // The plan reads back into its strict types with the audits.
    let typed = covshard::plan::Plan::read(&plan_path).unwrap();
    assert_eq!(typed.audits.len(), 3);
    run_ok(covshard().current_dir(dir.path()).args([
        "report",
        "--plan",
        "plan.json",
        "--html",
        "report.html",
    ]));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(html.matches("<rect class=\"audit").count(), 3, "{html}");
    assert_eq!(html.matches("<rect class=\"audit missed\"").count(), 1);
    assert!(
        html.contains("Over 3 audited runs: 1 miss in 1 run"),
        "{html}"
    );
    let Some(counts) = screenshot(&dir.path().join("report.html")) else {
        return;
    };
    let blue = counts.get(&[0x1f, 0x77, 0xb4]).copied().unwrap_or(0);
    let red = counts.get(&[0xd6, 0x27, 0x28]).copied().unwrap_or(0);
    // Bars of 14 px by 40 to 80% of 116 px: hundreds of pixels each.
    assert!(
        blue > 500,
        "{blue} blue pixels: the audit bars did not render"
    );
    assert!(
        red > 500,
        "{red} red pixels: the missed run's bar did not render"
    );
}
