//! The built-in labs, compiled into the binary from labs/, and how a LAB
//! argument (`2`, `02`, `retry`, `02-retry` or a path) finds one.

use super::{load_str, Diag, Lab};

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/labs.rs"));

/// A built-in lab file: its file name and text.
pub struct Source {
    pub file: &'static str,
    pub text: &'static str,
}

pub fn builtin() -> impl Iterator<Item = Source> {
    LAB_FILES.iter().map(|(file, text)| Source { file, text })
}

/// Every built-in lab, loaded. A broken built-in lab is a bug in distlab, and
/// the test suite loads them all.
pub fn all() -> Result<Vec<Lab>, Diag> {
    builtin().map(|s| load_builtin(&s)).collect()
}

fn load_builtin(s: &Source) -> Result<Lab, Diag> {
    let mut lab = load_str(s.text, &format!("labs/{}", s.file))?;
    lab.builtin = true;
    Ok(lab)
}

fn names() -> String {
    builtin().map(|s| s.file.trim_end_matches(".toml").to_string()).collect::<Vec<_>>().join(", ")
}

/// Finds a lab by number, slug, `NN-slug`, or path to a .toml file.
pub fn resolve(spec: &str) -> Result<Lab, Diag> {
    resolve_with(spec, &[])
}

/// Finds a lab and applies `--set` overrides to it.
pub fn resolve_with(spec: &str, overrides: &[String]) -> Result<Lab, Diag> {
    let path = Path::new(spec);
    if spec.ends_with(".toml") || spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) {
        let text = std::fs::read(path).map_err(|e| Diag::whole_file(spec, format!("cannot read lab file: {e}")))?;
        let text = String::from_utf8(text).map_err(|_| Diag::whole_file(spec, "the lab file is not UTF-8 text"))?;
        return super::overrides::load_with(&text, spec, overrides);
    }
    let wanted = spec.trim().to_lowercase();
    let number: Option<u32> = wanted.parse().ok();
    for s in builtin() {
        let stem = s.file.trim_end_matches(".toml");
        let (num, slug) = stem.split_once('-').unwrap_or((stem, ""));
        let matches = number.is_some_and(|n| num.parse::<u32>().ok() == Some(n)) || wanted == slug || wanted == stem;
        if matches {
            if overrides.is_empty() {
                return load_builtin(&s);
            }
            let mut lab = super::overrides::load_with(s.text, &format!("labs/{}", s.file), overrides)?;
            lab.builtin = true;
            return Ok(lab);
        }
    }
    Err(Diag::whole_file(
        "distlab",
        format!("lab {spec} not found; labs are {} (see distlab list), or give a path to a .toml file", names()),
    ))
}
