//! `covshard durations`: what covshard knows about test durations, from the history in the data
//! file: the slowest tests, how many tests have history and how many rely on priors, totals,
//! and measured group setup costs. Reads the data file read-only.

use std::path::PathBuf;

use crate::cli::ui::Ui;
use crate::coverage::CoverageDb;
use crate::error::Result;
use crate::history::estimate::{EstimateOptions, Estimates, Source, Statistic};
use crate::output::{Durations, SlowTest};

/// Version of the JSON output; bumped on incompatible changes.

#[derive(Debug, clap::Args)]
pub struct DurationsArgs {
    /// The coverage.py data file holding the history.
    #[arg(long, default_value = ".coverage")]
    pub db: PathBuf,
    /// How many of the slowest tests to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DurationsFormat::Text)]
    pub format: DurationsFormat,
    /// The per-test statistic of the kept samples.
    #[arg(long, value_enum, default_value_t = Statistic::Median)]
    pub statistic: Statistic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurationsFormat {
    Text,
    Json,
}

pub fn gather(db: &CoverageDb, args: &DurationsArgs) -> Result<Durations> {
    let conn = db.connection();
    let options = EstimateOptions {
        statistic: args.statistic,
        ..EstimateOptions::default()
    };
    let estimates = Estimates::load(conn, &options)?;
    let mut ids = db.test_ids()?;
    ids.extend(estimates.known().keys().cloned());
    let mut all: Vec<SlowTest> = ids
        .iter()
        .map(|id| {
            let e = estimates.for_test(id);
            SlowTest {
                node_id: id.clone(),
                seconds: e.seconds,
                samples: e.samples.len(),
                source: e.source,
            }
        })
        .collect();
    let (mut known, mut unknown, mut known_s, mut unknown_s) = (0, 0, 0.0, 0.0);
    for s in &all {
        if s.source == Source::Known {
            known += 1;
            known_s += s.seconds;
        } else {
            unknown += 1;
            unknown_s += s.seconds;
        }
    }
    all.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| a.node_id.cmp(&b.node_id))
    });
    all.truncate(args.top);
    let mut group_setup: Vec<(String, f64)> = estimates
        .setup_costs()
        .iter()
        .filter(|(_, s)| **s > 0.0)
        .map(|(g, s)| (g.clone(), *s))
        .collect();
    group_setup.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    group_setup.truncate(args.top);
    Ok(Durations {
        version: crate::output::VERSION,
        statistic: args.statistic,
        runs: crate::history::store::runs(conn)?.len(),
        recorded_commit: crate::history::recorded_commit(conn)?,
        known,
        unknown,
        known_seconds: known_s,
        unknown_seconds: unknown_s,
        total_seconds: known_s + unknown_s,
        slowest: all,
        group_setup,
    })
}

fn source_label(source: Source) -> &'static str {
    match source {
        Source::Known => "history",
        Source::FilePrior => "file prior",
        Source::FolderPrior => "folder prior",
        Source::SuitePrior => "suite prior",
        Source::Default => "default",
    }
}

pub fn run(args: DurationsArgs, ui: &Ui) -> Result<()> {
    let db = CoverageDb::open(&args.db)?;
    let report = gather(&db, &args)?;
    if report.runs == 0 {
        ui.warn(&format!(
            "{} holds no durations history yet: every estimate is a default",
            args.db.display()
        ));
    }
    match args.format {
        DurationsFormat::Json => crate::cli::print_data(&crate::output::to_json(&report)?),
        DurationsFormat::Text => {
            let mut text = String::new();
            text.push_str(&format!(
                "runs {}  recorded commit {}\n",
                report.runs,
                report.recorded_commit.as_deref().unwrap_or("(none)")
            ));
            text.push_str(&format!(
                "known {} tests, {:.1}s  unknown {} tests, {:.1}s (estimated)  total {:.1}s\n",
                report.known,
                report.known_seconds,
                report.unknown,
                report.unknown_seconds,
                report.total_seconds
            ));
            text.push_str(
                &format!(
                    "\nslowest {} ({:?}):\n",
                    report.slowest.len(),
                    report.statistic
                )
                .to_lowercase(),
            );
            for s in &report.slowest {
                text.push_str(&format!(
                    "{:>10.3}s  {:<12} {:>3}  {}\n",
                    s.seconds,
                    source_label(s.source),
                    s.samples,
                    s.node_id
                ));
            }
            if !report.group_setup.is_empty() {
                text.push_str("\ngroup setup costs:\n");
                for (group, seconds) in &report.group_setup {
                    text.push_str(&format!("{seconds:>10.3}s  {group}\n"));
                }
            }
            crate::cli::print_data(&text)
        }
    }
}
