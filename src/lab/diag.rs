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
        if self.file.is_empty() {
            write!(f, "{}", self.message)
        } else if self.line == 0 {
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

/// Where an error sits: the table header (`[network]`, `[[question]]`) in
/// force at an offset, and whether the offset is on a header line itself.
fn section_at(text: &str, offset: usize) -> Section {
    let offset = offset.min(text.len());
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let upto = text.get(..line_end).unwrap_or("");
    for (i, line) in upto.lines().rev().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let end = t.rfind(']').map_or(t.len(), |i| i + 1);
            return Section { header: t[..end].to_string(), on_header: i == 0 };
        }
    }
    Section::default()
}

#[derive(Default)]
struct Section {
    header: String,
    on_header: bool,
}

impl Section {
    /// The table a key belongs to. An unknown key reported on a header line
    /// is that header's own name, which belongs to the parent table.
    fn place(&self, unknown_key: bool) -> String {
        let mut header = self.header.as_str();
        let parent;
        if unknown_key && self.on_header {
            let name = header.trim_matches(|c| c == '[' || c == ']');
            parent = name.rsplit_once('.').map(|(p, _)| format!("[{p}]")).unwrap_or_default();
            header = &parent;
        }
        if header.is_empty() {
            " at the top level".to_string()
        } else {
            format!(" in {header}")
        }
    }
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn reword(msg: &str, section: &Section) -> String {
    for (prefix, noun) in [("unknown field", "key"), ("unknown variant", "value")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let names = backticked(rest);
            let Some((given, accepted)) = names.split_first() else { break };
            let mut out = if noun == "key" {
                format!("unknown key `{given}`{}", section.place(true))
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
            return format!("missing key `{name}`{}", section.place(false));
        }
    }
    // serde names Rust types; say what a lab author would write instead.
    let mut out = msg.to_string();
    for (rust, plain) in [
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        out = out.replace(rust, plain);
    }
    if let Some(i) = out.find("expected struct ") {
        out.truncate(i);
        out.push_str("expected a table, such as { key = \"value\" }");
    }
    out
}

/// The closest candidate, if it is close enough to be a likely typo.
pub fn suggest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).max(1) + 1;
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|c| (edit_distance(given, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // `retries` for `max_retries`, `recv` for `receiver`: a part of the name.
    close.or_else(|| {
        let g = given.to_lowercase();
        let mut parts =
            candidates.iter().filter(|c| g.len() >= 3 && (c.contains(g.as_str()) || c.starts_with(&g[..3])));
        match (parts.next(), parts.next()) {
            (Some(one), None) => Some(*one),
            _ => None,
        }
    })
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
        assert_eq!(suggest("retries", ["max_retries", "timeout"]), Some("max_retries"));
        assert_eq!(suggest("recv", ["sender", "receiver"]), Some("receiver"));
    }

    #[test]
    fn errors_name_the_table_they_are_in() {
        let text = "[network]\ndrop = 0.1\n\n[[question]]\nid = \"q\"\n";
        let header = text.find("[[question]]").unwrap();
        assert_eq!(reword("missing field `ask`", &section_at(text, header)), "missing key `ask` in [[question]]");
        let plan = "drop = 0.1\n[network]\n";
        let msg = reword("unknown field `network`, expected `drop`", &section_at(plan, plan.find("network").unwrap()));
        assert!(msg.starts_with("unknown key `network` at the top level"), "{msg}");
        assert_eq!(
            reword("invalid type: string \"x\", expected u32", &Section::default()),
            "invalid type: string \"x\", expected a whole number, 0 or more"
        );
    }
}
