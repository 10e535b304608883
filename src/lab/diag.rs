//! Diagnostics for lab and answers files: one line naming file:line:col and
//! saying what would be accepted.

use std::fmt;
use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
        }
    }
}

impl std::error::Error for Diag {}

impl Diag {
    pub fn whole_file(file: &str, message: impl Into<String>) -> Diag {
        Diag { file: file.to_string(), line: 0, col: 0, message: message.into() }
    }

    pub fn at(file: &str, text: &str, span: Option<Range<usize>>, message: impl Into<String>) -> Diag {
        let (line, col) = match span {
            Some(r) => line_col(text, r.start),
            None => (0, 0),
        };
        Diag { file: file.to_string(), line, col, message: message.into() }
    }

    /// Turns a TOML or serde error into a diagnostic, rewording serde's
    /// messages into ours (unknown keys get a suggestion and the table they
    /// are in).
    pub fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> Diag {
        let span = err.span();
        let section = span.as_ref().map(|r| section_at(text, r.start)).unwrap_or_default();
        // toml's messages can run over several lines; ours are one.
        let flat: Vec<&str> = err.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let message = reword(&flat.join(": "), &section);
        Diag::at(file, text, span, message)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// The table header (`[network]`, `[[question]]`) in force at an offset.
fn section_at(text: &str, offset: usize) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    for line in before.lines().rev() {
        let t = line.trim();
        if t.starts_with('[') {
            let end = t.rfind(']').map_or(t.len(), |i| i + 1);
            return t[..end].to_string();
        }
    }
    String::new()
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn reword(msg: &str, section: &str) -> String {
    let place = if section.is_empty() { " at the top level".to_string() } else { format!(" in {section}") };
    for (prefix, noun) in [("unknown field", "key"), ("unknown variant", "value")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let names = backticked(rest);
            let Some((given, accepted)) = names.split_first() else { break };
            let mut out = if noun == "key" {
                format!("unknown key `{given}`{place}")
            } else {
                format!("unknown value `{given}`")
            };
            if let Some(best) = suggest(given, accepted.iter().map(String::as_str)) {
                out.push_str(&format!("; did you mean `{best}`?"));
            }
            if accepted.is_empty() {
                out.push_str(" (this table takes no keys)");
            } else {
                out.push_str(&format!(" (accepted: {})", accepted.join(", ")));
            }
            return out;
        }
    }
    if let Some(rest) = msg.strip_prefix("missing field") {
        if let Some(name) = backticked(rest).first() {
            return format!("missing key `{name}`{place}");
        }
    }
    msg.to_string()
}

/// The closest candidate, if it is close enough to be a likely typo.
pub fn suggest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .map(|c| (edit_distance(given, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let text = "a = 1\nbc = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 8), (2, 3));
    }

    #[test]
    fn unknown_keys_get_a_suggestion_and_their_table() {
        let text = "[network]\ndorp = 0.3\n";
        let msg = reword("unknown field `dorp`, expected one of `latency`, `drop`, `duplicate`", &section_at(text, 12));
        assert_eq!(msg, "unknown key `dorp` in [network]; did you mean `drop`? (accepted: latency, drop, duplicate)");
        assert_eq!(suggest("zzzz", ["drop"]), None);
    }
}
