//! Reports for people: from a plan, the summary printed after `plan` (stderr), the same as
//! Markdown for the CI's job summary, and a self-contained HTML page with a Gantt chart; from
//! an audit, the same two forms ([`audit`]).

pub mod audit;
pub mod html;
pub mod summary;
