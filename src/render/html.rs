//! The HTML report (placeholder while the diagram settles).
use super::View;
use crate::lab::{Injection, Lab, Solved};
use std::path::Path;

pub fn run_report(_lab: &Lab, _s: &Solved, _inj: &Injection, _view: View) -> String {
    String::new()
}

pub fn write(_path: &Path, _page: &str) -> anyhow::Result<()> {
    Ok(())
}

pub fn inject_report(_lab: &Lab, _b: &Solved, _f: &Solved, _inj: &Injection, _view: View) -> String {
    String::new()
}
