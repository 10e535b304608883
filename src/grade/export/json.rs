use super::Export;
use crate::grade::report::{ClassReport, GradedFile};

pub struct Json;

pub fn pretty<T: serde::Serialize>(v: &T) -> Result<String, String> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| format!("cannot write JSON: {e}"))?;
    s.push('\n');
    Ok(s)
}

impl Export for Json {
    fn single(&self, g: &GradedFile) -> Result<String, String> {
        pretty(g)
    }

    fn class(&self, r: &ClassReport) -> Result<String, String> {
        pretty(r)
    }
}
