//! The floor under `covshard select`: the time a minimal program takes to read the rows a
//! change needs from the data file, which no selector can go below.
//!
//!     cargo run --release --example floor -- --db .coverage --diff changes.diff [--root R]
//!
//! Opens the data file read-only, finds the changed files (the old side of each file of the
//! diff, under the recorded root), reads every `line_bits` row of them (context id and
//! numbits), and prints what it read and how long it took (best of `--repeat` runs, each on a
//! fresh connection). No test names, no git, no parsing: just the rows.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use clap::Parser;
use rusqlite::{Connection, OpenFlags};

#[derive(Debug, Parser)]
struct Args {
    /// The coverage.py data file.
    #[arg(long)]
    db: std::path::PathBuf,
    /// A unified diff (`git diff BASE`): its old-side paths are the files read.
    #[arg(long)]
    diff: std::path::PathBuf,
    /// The root the data file recorded paths under.
    #[arg(long, default_value = "/home/runner/work/proj/proj")]
    root: String,
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let diff = std::fs::read_to_string(&args.diff)?;
    let paths: Vec<String> = diff
        .lines()
        .filter_map(|l| l.strip_prefix("--- a/"))
        .map(|p| format!("{}/{p}", args.root))
        .collect();
    let mut best = f64::INFINITY;
    let (mut rows, mut bytes) = (0usize, 0usize);
    for _ in 0..args.repeat.max(1) {
        let start = Instant::now();
        let conn = Connection::open_with_flags(&args.db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut file = conn.prepare("SELECT id FROM file WHERE path = ?1")?;
        let mut read =
            conn.prepare("SELECT context_id, numbits FROM line_bits WHERE file_id = ?1")?;
        (rows, bytes) = (0, 0);
        for path in &paths {
            let Ok(id) = file.query_row([path], |r| r.get::<_, i64>(0)) else {
                continue;
            };
            let mut found = read.query([id])?;
            while let Some(row) = found.next()? {
                let _context: i64 = row.get(0)?;
                bytes += row.get_ref(1)?.as_blob()?.len();
                rows += 1;
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{} files, {rows} rows, {bytes} bytes of numbits: best of {} {:.1} ms",
        paths.len(),
        args.repeat.max(1),
        best * 1000.0
    );
    Ok(())
}
