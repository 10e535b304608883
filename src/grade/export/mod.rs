//! Grade reports, one file per format behind one small trait.

pub mod json;
pub mod table;

use super::Grade;

pub trait Export {
    /// Renders a graded answers file. `reveal` says whether expected answers
    /// may appear.
    fn render(&self, grade: &Grade, reveal: bool) -> String;
}

pub fn exporter(format: &str) -> Option<Box<dyn Export>> {
    match format {
        "text" | "table" => Some(Box::new(table::Table)),
        "json" => Some(Box::new(json::Json)),
        _ => None,
    }
}

/// How a submitted answer reads in a report.
pub fn answer_text(a: &Option<toml::Value>) -> String {
    match a {
        None => "-".into(),
        Some(toml::Value::String(s)) if s.trim().is_empty() => "-".into(),
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Array(items)) if items.is_empty() => "(none)".into(),
        Some(toml::Value::Array(items)) => {
            items.iter().map(|i| answer_text(&Some(i.clone()))).collect::<Vec<_>>().join(", ")
        }
        Some(toml::Value::Boolean(b)) => if *b { "yes" } else { "no" }.into(),
        Some(v) => v.to_string(),
    }
}
