//! The command line: clap definitions, one file per subcommand, and the mapping from errors to
//! exit codes. Each subcommand resolves its raw arguments (plus configuration) and calls the
//! library; nothing here computes anything of its own.

use clap::{Parser, Subcommand};
use std::io::Write;

use crate::error::{Error, exit};
use crate::output::{ColorChoice, Ui};

pub mod demo;
pub mod durations;
pub mod explain;
pub mod info;
pub mod ingest;
pub mod plan;
pub mod report;
pub mod select;
pub mod tests;
pub mod tune;

#[derive(Debug, Parser)]
#[command(
    name = "covshard",
    version,
    about = "Run only the pytest tests a change can affect, in CI shards that finish together",
    long_about = "covshard reads the coverage.py data file of the base branch's last full run \
(recorded with `pytest --cov --cov-context=test`), selects the tests a change can affect, \
estimates their durations from the history stored in the same file, and packs them into \
balanced shards for parallel CI jobs."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// When to use colour on stderr.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Print only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail on stderr (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a coverage.py data file: version, mode, files, contexts, tests, recorded commit.
    Info(info::InfoArgs),
    /// Select the tests a change can affect, with the reason for each.
    Select(select::SelectArgs),
    /// Explain why a test is or is not selected: the rule, the changed lines, its coverage.
    Explain(explain::ExplainArgs),
    /// Print one shard's test ids from a plan, one a line, for `pytest @file`.
    Tests(tests::TestsArgs),
    /// Store the durations and outcomes of a CI run (JUnit XML, .test_durations, report log).
    Ingest(ingest::IngestArgs),
    /// Show the duration estimates: slowest tests, known vs unknown counts, totals.
    Durations(durations::DurationsArgs),
    /// Select, estimate and pack: write plan.json and print the CI matrix.
    Plan(plan::PlanArgs),
    /// Compare shard counts: predicted makespan, p50/p95, efficiency and runner time.
    Tune(tune::TuneArgs),
    /// Render a plan for people: a self-contained HTML page with a Gantt chart, or Markdown.
    Report(report::ReportArgs),
    /// Run the whole loop on a bundled example (needs git; no Python, no network).
    Demo(demo::DemoArgs),
}

/// Parse the command line, run the subcommand, print any error, and return the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = err.print();
            return code;
        }
    };
    let ui = Ui::from_args(&cli.global);
    let result = match cli.command {
        Command::Info(args) => info::run(args, &ui),
        Command::Select(args) => select::run(args, &ui),
        Command::Explain(args) => explain::run(args, &ui),
        Command::Tests(args) => tests::run(args, &ui),
        Command::Ingest(args) => ingest::run(args, &ui),
        Command::Durations(args) => durations::run(args, &ui),
        Command::Plan(args) => plan::run(args, &ui),
        Command::Tune(args) => tune::run(args, &ui),
        Command::Report(args) => report::run(args, &ui),
        Command::Demo(args) => demo::run(args, &ui),
    };
    match result {
        Ok(()) => exit::OK,
        Err(err) if is_broken_pipe(&err) => exit::OK,
        Err(err) => {
            ui.error(&err);
            err.exit_code()
        }
    }
}

/// A closed stdout (`covshard tests ... | head`) is not a failure.
fn is_broken_pipe(err: &Error) -> bool {
    matches!(err, Error::Write { problem, .. } if problem.contains("Broken pipe"))
}

/// Write data to stdout; a broken pipe becomes an error that `main` treats as success.
pub fn print_data(text: &str) -> crate::error::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::write("<stdout>", e.to_string()))
}
