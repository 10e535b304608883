//! Progress bars: drawn on stderr when it is a terminal, hidden otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let style =
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}").unwrap_or_else(|_| ProgressStyle::default_bar());
    let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let style = if colour { style.progress_chars("█▉ ") } else { style.progress_chars("#> ") };
    ProgressBar::new(len).with_style(style).with_message(what.to_string())
}
