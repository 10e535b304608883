//! Rendering a run: the sheet (header, intro, timeline, questions) in
//! question or solve mode, the space-time diagram, the HTML report, and the
//! JSON view for tools.

pub mod diagram;
pub mod header;
pub mod html;
pub mod json;
pub mod sheet;
pub mod timeline;

use crate::sim::Label;
use std::io::IsTerminal;

/// How much of a run to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// Fill in every blank.
    pub solve: bool,
    /// Detail bits: 0 shows the protocol; each bit reveals one more layer of
    /// the mechanism (which layer is the model's to say; see `--help`).
    pub detail: u8,
}

impl View {
    /// A line at level 0 always shows; a line at level L shows when the
    /// detail bits include L's bits, so `--detail 3` is 1 and 2 together.
    pub fn shows(&self, level: u8) -> bool {
        level == 0 || self.detail & level == level
    }
}

/// A label as the student sees it: secret pieces are `?` until solved.
pub fn label_text(label: &Label, solve: bool) -> String {
    label.iter().map(|seg| if seg.secret && !solve { "?" } else { seg.text.as_str() }).collect()
}

/// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
pub fn stdout_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
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
