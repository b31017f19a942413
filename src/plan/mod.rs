//! The plan, in one place: [`inputs`] gathers what it is made from besides a selection (the
//! whole suite, the estimates), [`build`] ties selection, estimates and packing together,
//! [`format`](mod@format) is `plan.json` (what `covshard plan` writes and `tests` and `report`
//! read), and [`matrix`] is what each CI system needs to run the shards as parallel jobs.

pub mod build;
pub mod format;
pub mod inputs;
pub mod matrix;

pub use format::*;
