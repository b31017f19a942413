//! `cargo run --release --example generate -- --size large`: write a benchmark data set.
//!
//! A thin command line over [`datagen`] (benchmarks/generate/lib.rs), which the integration tests
//! also include. Data sets go to `benchmarks/data/<size>` by default (gitignored); the generator
//! refuses to write into a non-empty directory, so a stale data set is never half overwritten.

#[path = "lib.rs"]
mod datagen;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Generate a realistic covshard benchmark data set")]
struct Args {
    /// small (1,000 tests), medium (10,000), large (50,000), huge (1,000,000), params (64,000
    /// parametrized tests of a 20-module library), ingest (100,000 light tests).
    #[arg(long, default_value = "small")]
    size: String,
    /// Output directory (default: benchmarks/data/<size>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Skip the git repository and the edit branches (coverage and reports only).
    #[arg(long)]
    no_git: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut spec = datagen::Spec::preset(&args.size).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown size `{}`: use small, medium, large, huge, params or ingest",
            args.size
        )
    })?;
    if let Some(seed) = args.seed {
        spec.seed = seed;
    }
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("benchmarks/data")
            .join(spec.name)
    });
    let start = Instant::now();
    let summary = datagen::generate(&spec, &out, !args.no_git)?;
    eprintln!(
        "{}: {} files, {} test files, {} tests, {} contexts, {} line_bits rows, {:.0} s of tests; {:.1} s to generate",
        out.display(),
        summary.files,
        summary.test_files,
        summary.tests,
        summary.contexts,
        summary.line_bits_rows,
        summary.total_seconds,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
