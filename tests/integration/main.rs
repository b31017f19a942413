//! covshard's integration tests: one binary that runs the real `covshard` executable (and, where
//! a test needs them, real pytest, coverage.py and the CI linters) in temporary directories.

mod bench_data;
mod coverage_compat;
mod e2e;
mod history;
mod plan_outputs;
mod templates;
mod util;
