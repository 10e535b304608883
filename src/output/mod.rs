//! Where output goes: the product to stdout, progress to stderr and only on a
//! terminal.

pub mod progress;

use std::io::{ErrorKind, Write};

/// Writes the product to stdout. A closed pipe (`distlab run 1 | head`) is not
/// an error worth a panic: the reader has all it wanted.
pub fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
