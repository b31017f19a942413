//! The command line: clap definitions, one file per subcommand, and the mapping from errors to
//! exit codes. Each subcommand resolves its raw arguments (plus configuration) and calls the
//! library; nothing here computes anything of its own.

use clap::{Parser, Subcommand};
use std::io::Write;

use crate::cli::ui::{ColorChoice, Ui};
use crate::error::{Error, exit};

pub mod audit;
pub mod demo;
pub mod durations;
pub mod explain;
pub mod info;
pub mod ingest;
pub mod plan;
pub mod report;
pub mod select;
pub mod settings;
pub mod shard_tests;
pub mod tune;
pub mod ui;

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
    Tests(shard_tests::TestsArgs),
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
    /// On a full run: would selection have let a failing test through? Stores the answer.
    Audit(audit::AuditArgs),
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
    let result = settings::Workspace::here().and_then(|ws| match cli.command {
        Command::Info(args) => info::run(args, &ws, &ui),
        Command::Select(args) => select::run(args, &ws, &ui),
        Command::Explain(args) => explain::run(args, &ws, &ui),
        Command::Tests(args) => shard_tests::run(args, &ws, &ui),
        Command::Ingest(args) => ingest::run(args, &ws, &ui),
        Command::Durations(args) => durations::run(args, &ui),
        Command::Plan(args) => plan::run(args, &ws, &ui),
        Command::Tune(args) => tune::run(args, &ws, &ui),
        Command::Report(args) => report::run(args, &ui),
        Command::Audit(args) => audit::run(args, &ws, &ui),
        Command::Demo(args) => demo::run(args, &ui),
    });
    match result {
        Ok(()) => exit::OK,
        Err(Error::StdoutClosed) => exit::OK,
        Err(err) => {
            ui.error(&err);
            err.exit_code()
        }
    }
}

/// Write data to stdout; a closed stdout becomes [`Error::StdoutClosed`], which `main` treats
/// as success.
pub fn print_data(text: &str) -> crate::error::Result<()> {
    write_data(&mut std::io::stdout().lock(), text)
}

/// [`print_data`] to any writer (tests give it one that fails).
fn write_data(out: &mut impl Write, text: &str) -> crate::error::Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Error::StdoutClosed,
            _ => Error::write("<stdout>", e.to_string()),
        })
}

#[cfg(test)]
mod stdout_tests {
    use super::*;

    /// A writer whose every write fails with the given kind.
    struct Failing(std::io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(self.0, "refused"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn only_a_closed_stdout_is_success() {
        let closed = write_data(&mut Failing(std::io::ErrorKind::BrokenPipe), "x\n").unwrap_err();
        assert!(matches!(closed, Error::StdoutClosed), "{closed:?}");
        assert_eq!(closed.exit_code(), exit::OK);
        let full = write_data(&mut Failing(std::io::ErrorKind::StorageFull), "x\n").unwrap_err();
        assert_eq!(full.exit_code(), exit::WRITE);
        // Another file's write error stays a write error, whatever its text says: a broken
        // pipe on `$GITHUB_OUTPUT` loses the matrix and must fail the job.
        let output = Error::write("/tmp/github_output", "Broken pipe (os error 32)");
        assert_eq!(output.exit_code(), exit::WRITE);
    }
}
