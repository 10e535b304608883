//! Where a report goes: stdout, or `--output FILE` written atomically.

use crate::output::emit;
use anyhow::anyhow;
use std::io::Write;
use std::path::Path;

/// Writes `text` to `path` through a temporary file in the same folder and a
/// rename, so an interrupted run never leaves a half-written report.
pub fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |e: &dyn std::fmt::Display| anyhow!("{}: cannot write: {e}", path.display());
    let mut tmp = tempfile::Builder::new().prefix(".distlab-").suffix(".tmp").tempfile_in(dir).map_err(|e| fail(&e))?;
    // A temporary file is private (0600); a report is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| fail(&e))?;
    }
    tmp.write_all(text.as_bytes()).and_then(|_| tmp.as_file().sync_all()).map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// The product: to `--output FILE` when given, else stdout.
pub fn deliver(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(p) => write_atomic(p, text),
        None => Ok(emit(text)?),
    }
}
