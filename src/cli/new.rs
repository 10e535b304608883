use super::NewArgs;
use crate::lab::starter::{name_from_file, starter};
use crate::output::emit;
use anyhow::anyhow;
use std::io::Write;
use std::path::Path;

/// Writes a starter lab, never over an existing file.
pub fn new(a: &NewArgs) -> anyhow::Result<u8> {
    let path = &a.path;
    let name = path.display().to_string();
    if path.extension().is_none_or(|x| x != "toml") {
        return Err(anyhow!("{name}: a lab file ends in .toml, such as labs/07-my-lab.toml"));
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (number, slug) = name_from_file(&stem);
    let text = starter(&a.model, number, &slug, &name).map_err(anyhow::Error::msg)?;
    if path.exists() {
        return Err(anyhow!("{name} already exists; distlab new never overwrites a file: choose another name"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(anyhow!("{name}: the folder {} does not exist", dir.display()));
    }
    let fail = |e: &dyn std::fmt::Display| anyhow!("{name}: cannot write: {e}");
    let mut tmp = tempfile::Builder::new().prefix(".distlab-").suffix(".tmp").tempfile_in(dir).map_err(|e| fail(&e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| fail(&e))?;
    }
    tmp.write_all(text.as_bytes()).map_err(|e| fail(&e))?;
    // No-clobber: a file that appeared meanwhile is not replaced either.
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow!("{name} already exists; distlab new never overwrites a file: choose another name")
        } else {
            fail(&e.error)
        }
    })?;
    emit(&format!(
        "wrote {name}: lab {number:02}-{slug}, model {}\nnext: distlab validate {name}, then distlab run {name} --solve\n",
        a.model
    ))?;
    Ok(super::OK)
}
