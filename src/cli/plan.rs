//! `covshard plan`: select, estimate and pack in one command; write `plan.json`, print the CI
//! matrix on stdout and a summary on stderr.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::select::{SelectionArgs, read_collected, resolve};
use crate::cli::settings::Workspace;
use crate::cli::ui::Ui;
use crate::config::{Config, GroupByChoice};
use crate::error::{Error, Result};
use crate::history::estimate::{EstimateOptions, Estimates};
use crate::packing::MonteCarloOptions;
use crate::packing::{Dist, Workers};
use crate::plan::Plan;
use crate::plan::build::{self, PackRequest, PlanInput};
use crate::plan::inputs;
use crate::plan::matrix::{self, CiSystem};
use crate::selection::{Reason, Rule, Selection};
use crate::units::{Seconds, ShardCount, WorkerCount};

/// The packing options shared by `plan` and `tune`.
#[derive(Debug, Clone, clap::Args)]
pub struct PackArgs {
    /// Number of shards, or `auto` to choose from --target, --max-shards and the overhead.
    #[arg(long, default_value = "auto")]
    pub shards: ShardCount,
    /// The wall time to aim for with `--shards auto` (default from configuration: 5m).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub target: Option<Seconds>,
    /// Never plan more shards than this (default from configuration: 64; capped by the CI).
    #[arg(long, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_shards: Option<usize>,
    /// Seconds each shard spends before its first test (default from configuration: 30s).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub shard_overhead: Option<Seconds>,
    /// Keep tests that share fixtures together (default from configuration: auto).
    #[arg(long, value_enum)]
    pub group_by: Option<GroupByChoice>,
    /// pytest-xdist worker processes in each shard (`pytest -n N`), or `auto` for the
    /// runner's cores, choosing the count that plans best (default from configuration: 1).
    #[arg(long, value_name = "N|auto")]
    pub workers: Option<WorkerCount>,
    /// pytest-xdist's `--dist` mode the shards run with (default from configuration: load).
    #[arg(long, value_enum, value_name = "MODE")]
    pub dist: Option<Dist>,
    /// Seconds until a shard's xdist workers run tests: their start-up and collection
    /// (default from configuration: 2s).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub worker_startup: Option<Seconds>,
    /// Plan the whole suite instead of selecting (the main branch's full run).
    #[arg(long)]
    pub all: bool,
    /// A pytest-split `.test_durations` file to estimate from when the data file holds no
    /// history (or there is no data file).
    #[arg(long, value_name = "FILE")]
    pub durations: Option<PathBuf>,
    /// Seed of the Monte Carlo estimate (the plan is the same for the same seed).
    #[arg(long, default_value_t = 0x00c0_5a4d, hide = true)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub pack: PackArgs,
    /// Where to write the plan.
    #[arg(long, default_value = "plan.json")]
    pub out: PathBuf,
    /// The matrix format printed on stdout.
    #[arg(long, value_enum, default_value_t = CiSystem::Github)]
    pub matrix: CiSystem,
    /// Append `matrix`, `has-tests` and `shard-count` to the file named by $GITHUB_OUTPUT.
    #[arg(long)]
    pub github_output: bool,
    /// Write the summary as Markdown to this file (for example "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub summary_markdown: Option<PathBuf>,
    /// With `--matrix gitlab`: the file in the repository that defines `.covshard-shard`.
    #[arg(long, default_value = ".gitlab/covshard-shard.yml")]
    pub gitlab_include: String,
    /// With `--matrix buildkite`: the command each parallel job runs.
    #[arg(
        long,
        default_value = "covshard tests --plan plan.json --shard auto > shard-tests.txt && pytest @shard-tests.txt"
    )]
    pub buildkite_command: String,
    /// With `--matrix buildkite`: files each parallel job uploads as artifacts when it ends,
    /// also when its tests fail (`;`-separated globs, Buildkite's `artifact_paths`).
    #[arg(long, value_name = "GLOBS")]
    pub buildkite_artifact_paths: Option<String>,
}

/// Everything needed to pack, resolved from arguments, configuration and files.
pub struct Prepared {
    pub selection: Selection,
    pub selective: bool,
    pub estimates: Estimates,
    pub statistic: crate::history::estimate::Statistic,
    pub collected: Option<BTreeSet<String>>,
    pub base: Option<String>,
    pub head: Option<String>,
    pub request: PackRequest,
}

/// Resolve selection (or the whole suite), estimates and the packing request.
pub fn prepare(
    selection_args: &SelectionArgs,
    pack: &PackArgs,
    ci: Option<CiSystem>,
    outputs: &[&Path],
    ws: &Workspace,
    ui: &Ui,
) -> Result<Prepared> {
    let (config, _) = ws.config(selection_args.config.as_deref())?;
    // Checked before any work: a wrong shard count fails at once.
    let (shards, max_shards) = shard_limits(pack, config, ci, ui)?;
    let collected: Option<BTreeSet<String>> = selection_args
        .collected
        .as_deref()
        .map(read_collected)
        .transpose()?
        .map(|v| v.into_iter().collect());
    let db = Some(selection_args.db.as_path()).filter(|db| db.is_file());
    let options = EstimateOptions {
        statistic: config.durations.statistic,
        default_seconds: config.durations.default_seconds,
    };
    let durations = pack.durations.as_deref();
    let (selection, selective, base, history) = if pack.all || db.is_none() {
        if db.is_none() {
            ui.warn(&format!(
                "no data file at {}: planning every known test without selection",
                selection_args.db.display()
            ));
        }
        // Both only read the data file, different tables of it: on a large suite reading the
        // history beside the suite halves the wait.
        let (whole, history) = std::thread::scope(|scope| {
            let history = scope.spawn(|| inputs::estimates(db, durations, &options));
            let whole = whole_suite(db, collected.as_ref(), pack, config, ws);
            let history = history.join().expect("reading the history does not panic");
            (whole, history)
        });
        let (selection, base) = whole?;
        for warning in &selection.warnings {
            ui.warn(warning);
        }
        (selection, false, base, history?)
    } else {
        let mut own: Vec<&Path> = outputs.to_vec();
        if let Some(d) = &pack.durations {
            own.push(d);
        }
        let resolved = resolve(selection_args, &own, true, ws, ui)?;
        let history = inputs::estimates(db, durations, &options)?;
        (resolved.selection, true, resolved.base, history)
    };
    let statistic = config.durations.statistic;
    let estimates = with_configured_setups(history, config, &selection, ui)?;
    let (workers, choose_workers) = workers(pack, config, ci);
    let (overhead, overhead_source) = match pack.shard_overhead {
        Some(s) => (s, "command line"),
        None if config.packing.shard_overhead
            != crate::config::PackingConfig::default().shard_overhead =>
        {
            (config.packing.shard_overhead, "configuration")
        }
        None => (config.packing.shard_overhead, "default"),
    };
    let head = ws
        .repo_root()
        .ok()
        .and_then(|root| crate::git::run(root, &["rev-parse", "HEAD"]).ok())
        .map(|out| String::from_utf8_lossy(&out).trim().to_string());
    Ok(Prepared {
        selection,
        selective,
        estimates,
        statistic,
        collected,
        base,
        head,
        request: PackRequest {
            shards,
            target_seconds: pack.target.unwrap_or(config.packing.target).0,
            max_shards,
            overhead_seconds: overhead.0,
            overhead_source,
            group_by: pack.group_by.unwrap_or(config.packing.group_by),
            workers,
            choose_workers,
            monte_carlo: MonteCarloOptions {
                seed: pack.seed,
                ..MonteCarloOptions::default()
            },
            compare_full_suite: true,
        },
    })
}

/// The xdist workers asked for, and whether `auto` lets the packer choose their count (up to
/// the runner's cores: `packing.runner_cores`, else the CI's standard runner, else this
/// machine's).
fn workers(pack: &PackArgs, config: &Config, ci: Option<CiSystem>) -> (Workers, bool) {
    let choice = pack.workers.unwrap_or(config.packing.workers);
    let (count, auto) = match choice {
        WorkerCount::Fixed(n) => (n, false),
        WorkerCount::Auto => {
            let ci = ci.or_else(|| CiSystem::from_env(|n| std::env::var(n).ok()));
            let cores = config
                .packing
                .runner_cores
                .or_else(|| ci.and_then(CiSystem::runner_cores))
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            (cores.max(1), true)
        }
    };
    let workers = Workers {
        count,
        dist: pack.dist.unwrap_or(config.packing.dist),
        startup: pack
            .worker_startup
            .unwrap_or(config.packing.worker_startup)
            .0,
    };
    (workers, auto)
}

/// The shard count asked for and the most shards allowed, within the CI's limit; the error
/// names the limit that applies (the CI's own is not something the user can raise).
fn shard_limits(
    pack: &PackArgs,
    config: &Config,
    ci: Option<CiSystem>,
    ui: &Ui,
) -> Result<(ShardCount, usize)> {
    if let ShardCount::Fixed(n) = pack.shards
        && let Some(ci) = ci
        && n > ci.max_jobs()
    {
        return Err(Error::usage(format!(
            "--shards {n} is more than {} allows: at most {} parallel jobs",
            ci.name(),
            ci.max_jobs()
        ))
        .with_hint(format!(
            "pass --shards {} or fewer; `--shards auto` stays within the limit by itself",
            ci.max_jobs()
        )));
    }
    let mut max_shards = pack.max_shards.unwrap_or(config.packing.max_shards).max(1);
    if let Some(ci) = ci
        && max_shards > ci.max_jobs()
    {
        ui.warn(&format!(
            "{} runs at most {} parallel jobs: --max-shards lowered to it",
            ci.name(),
            ci.max_jobs()
        ));
        max_shards = ci.max_jobs();
    }
    match pack.shards {
        ShardCount::Fixed(n) if n > max_shards => {
            let source = if pack.max_shards.is_some() {
                format!("--max-shards {max_shards}")
            } else {
                format!("the configured maximum of {max_shards} (packing.max_shards)")
            };
            Err(Error::usage(format!("--shards {n} is more than {source}"))
                .with_hint("lower --shards, or raise --max-shards"))
        }
        other => Ok((other, max_shards)),
    }
}

/// Every known test, for `--all` or when there is no data file to select with.
fn whole_suite(
    db: Option<&Path>,
    collected: Option<&BTreeSet<String>>,
    pack: &PackArgs,
    config: &Config,
    ws: &Workspace,
) -> Result<(Selection, Option<String>)> {
    let rootdir = config.paths.rootdir.as_deref().unwrap_or("");
    let root = ws.repo_root().unwrap_or(&ws.cwd);
    inputs::whole_suite(&inputs::WholeSuite {
        db,
        collected,
        durations: pack.durations.as_deref(),
        reason: Reason::new(if pack.all {
            Rule::WholeSuite
        } else {
            Rule::NoCoverageData
        }),
        roots: vec![
            crate::selection::gone::id_root(root, rootdir.trim_matches('/')),
            ws.cwd.clone(),
        ],
    })
}

/// The estimates read from the history, with its warning printed and the setup costs the
/// configuration gives laid over the measured ones.
fn with_configured_setups(
    (mut estimates, warning): (Estimates, Option<String>),
    config: &Config,
    selection: &Selection,
    ui: &Ui,
) -> Result<Estimates> {
    if let Some(warning) = warning {
        ui.warn(&warning);
    }
    let patterns = crate::config::setup_patterns(
        &config.packing.setup,
        Path::new("the covshard configuration"),
    )?;
    let configured = crate::plan::build::configured_setups(&patterns, &selection.known_tests);
    if !configured.is_empty() {
        ui.detail(&format!(
            "setup costs from configuration for {} groups",
            configured.len()
        ));
    }
    estimates.set_group_setups(configured);
    Ok(estimates)
}

/// How many audit records a plan carries for its report's chart.
const AUDITS_IN_PLAN: usize = 30;

pub fn run(args: PlanArgs, ws: &Workspace, ui: &Ui) -> Result<()> {
    // Checked before any work, so a failing setup job prints no matrix and writes no plan.
    let github_output = if args.github_output {
        let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
            return Err(Error::usage(
                "--github-output needs $GITHUB_OUTPUT, which GitHub Actions sets",
            )
            .with_hint("drop --github-output outside GitHub Actions"));
        };
        Some(PathBuf::from(path))
    } else {
        None
    };
    let outputs: Vec<&Path> = [Some(args.out.as_path()), args.summary_markdown.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let prepared = prepare(
        &args.selection,
        &args.pack,
        Some(args.matrix),
        &outputs,
        ws,
        ui,
    )?;
    let input = PlanInput {
        selection: &prepared.selection,
        selective: prepared.selective,
        estimates: &prepared.estimates,
        statistic: prepared.statistic,
        collected: prepared.collected.as_ref(),
        base: prepared.base.clone(),
        head: prepared.head.clone(),
    };
    let spinner = ui.spinner("packing shards");
    let plan = build::make_plan(&input, &prepared.request);
    spinner.finish_and_clear();
    let mut plan = plan?;
    if args.selection.db.is_file() {
        let conn = crate::history::open_read(&args.selection.db)?;
        plan.audits = crate::history::audits::newest(&conn, AUDITS_IN_PLAN)?;
    }
    plan.write(&args.out)?;
    emit(&plan, &args, github_output.as_deref(), ui)
}

/// Print the matrix, write the CI outputs and the summaries.
fn emit(plan: &Plan, args: &PlanArgs, github_output: Option<&Path>, ui: &Ui) -> Result<()> {
    let shards = plan.shards.len();
    let has_tests = shards > 0;
    let stdout = match args.matrix {
        CiSystem::Github => format!("{}\n", matrix::github_matrix(shards)),
        CiSystem::Gitlab => matrix::gitlab_child_pipeline(shards, &args.gitlab_include),
        CiSystem::Buildkite => matrix::buildkite_pipeline(
            shards,
            &args.buildkite_command,
            args.buildkite_artifact_paths.as_deref(),
        ),
        CiSystem::Circleci => format!("{}\n", matrix::circleci_parameters(shards)),
    };
    // Files first: a job that fails on them must not also print a matrix a later step reads.
    if let Some(path) = github_output {
        append(path, &matrix::github_outputs(shards, has_tests))?;
    }
    let markdown = crate::report::summary::markdown(plan);
    if let Some(path) = &args.summary_markdown {
        append(path, &markdown)?;
    }
    crate::cli::print_data(&stdout)?;
    ui.info(&crate::report::summary::text(plan));
    ui.detail(&format!("plan written to {}", args.out.display()));
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| {
            Error::write(path, e.to_string()).with_hint(format!(
                "check that {} can be written: a file path (not a directory) in a writable directory",
                path.display()
            ))
        })
}
