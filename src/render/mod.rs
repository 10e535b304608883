//! Rendering a run: the sheet (header, intro, timeline, questions) in
//! question or solve mode, and the JSON view for tools.

pub mod header;
pub mod json;
pub mod sheet;
pub mod timeline;

/// How much of a run to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// Fill in every blank.
    pub solve: bool,
    /// 0 shows the protocol; higher levels reveal more of the mechanism.
    pub detail: u8,
}

/// Wraps prose at a fixed width, so output never depends on the terminal.
pub fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    for para in text.split("\n\n") {
        let joined = para.split_whitespace().collect::<Vec<_>>().join(" ");
        if joined.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let opts = textwrap::Options::new(78).initial_indent(indent).subsequent_indent(indent);
        for line in textwrap::wrap(&joined, opts) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
