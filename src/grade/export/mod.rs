//! Report formats, one file each behind one small trait. Every format renders
//! the report model in [`super::report`], where the reveal policy has
//! already removed what must not be shown.

pub mod csv;
pub mod gradescope;
pub mod json;
pub mod junit;
pub mod table;

use super::report::{ClassReport, GradedFile};

/// The formats of `check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people (also `text`).
    #[value(alias = "text")]
    Table,
    /// Full detail, for tools and for `check --merge`.
    Json,
    /// One row per student (or per question for a single file).
    Csv,
    /// JUnit XML: one testcase per question.
    Junit,
    /// Gradescope's results.json, for a single submission.
    Gradescope,
}

pub trait Export {
    /// One graded answers file.
    fn single(&self, g: &GradedFile) -> Result<String, String>;
    /// A class: students × labs. An error means the format cannot hold one.
    fn class(&self, r: &ClassReport) -> Result<String, String>;
}

pub fn exporter(format: Format) -> Box<dyn Export> {
    match format {
        Format::Table => Box::new(table::Table),
        Format::Json => Box::new(json::Json),
        Format::Csv => Box::new(csv::Csv),
        Format::Junit => Box::new(junit::Junit),
        Format::Gradescope => Box::new(gradescope::Gradescope),
    }
}

/// `wrong`, `partly right` or `right`, as a verdict reads without the answer.
pub fn verdict_word(score: f64, correct: bool) -> &'static str {
    if correct {
        "right"
    } else if score > 0.0 {
        "partly right"
    } else {
        "wrong"
    }
}
