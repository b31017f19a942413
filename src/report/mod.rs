//! Reports for people, made from a plan alone: the summary printed after `plan` (stderr), the
//! same as Markdown for the CI's job summary, and a self-contained HTML page with a Gantt chart.

pub mod html;
pub mod summary;
