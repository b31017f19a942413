//! `covshard tests --plan plan.json --shard K`: one shard's test ids, one a line, for
//! `pytest @file` (pytest reads arguments from a file prefixed with `@`, so long lists never hit
//! the argv limit).

use std::path::PathBuf;

use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::units::ShardIndex;

#[derive(Debug, clap::Args)]
pub struct TestsArgs {
    /// The plan written by `covshard plan --out`.
    #[arg(long, default_value = "plan.json")]
    pub plan: PathBuf,
    /// Which shard, from 1 (`K` or `K/N`), or `auto` to read it from the CI's variables.
    #[arg(long)]
    pub shard: ShardIndex,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestsFormat::Lines)]
    pub format: TestsFormat,
    /// Do not check that the plan was made for the commit checked out here.
    #[arg(long)]
    pub any_commit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestsFormat {
    /// One id a line (for `pytest @file`), in the plan's order.
    Lines,
    Json,
    /// The pytest options the plan was made for, on one line: `-n N --dist MODE` when its
    /// shards run pytest-xdist workers, nothing otherwise (`pytest $(covshard tests --format
    /// args ...) @ids`).
    Args,
}

pub fn run(args: TestsArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    let plan = Plan::read(&args.plan)?;
    let count = plan.shards.len();
    let index = match args.shard {
        ShardIndex::Number(k, total) => {
            if let Some(total) = total
                && total != count.max(1)
            {
                return Err(Error::usage(format!(
                    "--shard {k}/{total} names {total} shards, but the plan has {count} shard(s)"
                ))
                .with_hint("take the shard count from the plan's matrix (the `shard-count` output of `covshard plan`)"));
            }
            k
        }
        ShardIndex::Auto => {
            let (k, total) = crate::plan::matrix::shard_from_env(|n| std::env::var(n).ok())?;
            if let Some(total) = total
                && total != count.max(1)
            {
                return Err(Error::usage(format!(
                    "the CI runs {total} parallel jobs but the plan has {count} shard(s)"
                ))
                .with_hint("set the job's parallelism from the plan's shard count (the `shard-count` output of `covshard plan`)"));
            }
            k
        }
    };
    if !args.any_commit {
        check_commit(&plan, &args.plan, ws)?;
    }
    if count == 0 {
        // Nothing selected: the workflow should have skipped this job; an empty list is honest.
        ui.warn("the plan selects no tests: nothing to run");
        return Ok(());
    }
    let Some(shard) = plan.shards.get(index.wrapping_sub(1)) else {
        return Err(Error::usage(format!(
            "shard {index} does not exist: the plan has {count} shard(s), numbered 1 to {count}"
        ))
        .with_hint("pass --shard with a number from the plan's matrix"));
    };
    let text = match args.format {
        TestsFormat::Lines => {
            let mut text = String::new();
            for test in &shard.tests {
                text.push_str(&test.id);
                text.push('\n');
            }
            text
        }
        TestsFormat::Args => {
            let args = plan.packing.pytest_args();
            if args.is_empty() {
                String::new()
            } else {
                format!("{}\n", args.join(" "))
            }
        }
        TestsFormat::Json => crate::output::to_json(&crate::output::ShardTests {
            version: crate::output::VERSION,
            shard: index,
            of: count,
            predicted_seconds: shard.predicted_seconds,
            pytest_args: plan.packing.pytest_args(),
            tests: shard.tests.iter().map(|t| t.id.as_str().into()).collect(),
        })?,
    };
    crate::cli::print_data(&text)?;
    ui.info(&format!(
        "shard {index}/{count}: {} test id(s), predicted {}",
        shard.tests.len(),
        crate::units::format_seconds(shard.predicted_seconds)
    ));
    Ok(())
}

/// A plan made for another commit would run the wrong tests: refuse it.
fn check_commit(plan: &Plan, path: &std::path::Path, ws: &Workspace) -> Result<()> {
    let Some(planned) = &plan.head else {
        return Ok(());
    };
    let Ok(head) = crate::git::run(&ws.cwd, &["rev-parse", "HEAD"]) else {
        return Ok(()); // not a checkout: nothing to compare with
    };
    let head = String::from_utf8_lossy(&head).trim().to_string();
    if &head != planned {
        return Err(Error::input(
            path,
            format!("the plan was made for commit {planned}, but {head} is checked out"),
        )
        .with_hint("use the plan from this pipeline's setup job, or pass --any-commit if the difference is intended"));
    }
    Ok(())
}
