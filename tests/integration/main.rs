//! covshard's integration tests: one binary that runs the real `covshard` executable (and, where
//! a test needs them, real pytest, coverage.py, Chromium and the CI linters) in temporary
//! directories.

mod audit;
mod bench_data;
mod coverage_compat;
mod crash;
mod e2e;
mod errors;
mod fuzz;
mod history;
mod plan_outputs;
mod raises;
mod report_html;
mod safety;
mod selection_rules;
mod stored_suite;
mod summaries;
mod templates;
#[path = "../../src/history/testutil.rs"]
#[allow(dead_code)]
mod testutil;
mod util;
mod windows_paths;
mod xdist;
