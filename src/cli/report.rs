//! `covshard report --plan plan.json --html report.html`: the plan for people, as one
//! self-contained HTML page (or Markdown on stdout).

use std::path::PathBuf;

use crate::cli::ui::Ui;
use crate::error::Result;
use crate::plan::{Plan, write_atomically};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The plan written by `covshard plan --out`.
    #[arg(long, default_value = "plan.json")]
    pub plan: PathBuf,
    /// Write the HTML report here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the Markdown summary on stdout.
    #[arg(long)]
    pub markdown: bool,
}

pub fn run(args: ReportArgs, ui: &Ui) -> Result<()> {
    if args.html.is_none() && !args.markdown {
        return Err(
            crate::Error::usage("nothing to do: pass --html FILE and/or --markdown")
                .with_hint("covshard report --plan plan.json --html report.html"),
        );
    }
    let plan = Plan::read(&args.plan)?;
    if let Some(path) = &args.html {
        write_atomically(path, crate::report::html::render(&plan).as_bytes())?;
        ui.info(&format!("report written to {}", path.display()));
    }
    if args.markdown {
        crate::cli::print_data(&crate::report::summary::markdown(&plan))?;
    }
    Ok(())
}
