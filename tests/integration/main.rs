//! covshard's integration tests: one binary that runs the real `covshard` executable (and, where
//! a test needs them, real pytest, coverage.py and the CI linters) in temporary directories.

mod coverage_compat;
mod errors;
mod report_html;
mod templates;
mod util;
