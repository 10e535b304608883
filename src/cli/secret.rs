//! The course secret for student variants: `--secret-file FILE`, else the
//! `DISTLAB_SECRET` environment variable, else none (the public derivation,
//! with a warning when a variant is actually derived).

use crate::lab::variant::Secret;
use anyhow::anyhow;
use std::path::Path;

pub const ENV: &str = "DISTLAB_SECRET";

pub fn load(file: Option<&Path>) -> anyhow::Result<Secret> {
    if let Some(f) = file {
        let bytes = std::fs::read(f).map_err(|e| anyhow!("{}: cannot read the secret file: {e}", f.display()))?;
        return Secret::new(&bytes).map_err(|e| anyhow!("{}: {e}; put the course secret in it", f.display()));
    }
    match std::env::var_os(ENV) {
        Some(v) => Secret::new(v.as_encoded_bytes())
            .map_err(|e| anyhow!("{ENV} is set but {e}; set it to the course secret, or unset it")),
        None => Ok(Secret::public()),
    }
}

/// Says on stderr that variants are public, once per command.
pub fn warn_if_public(secret: &Secret) {
    if secret.is_public() {
        eprintln!(
            "warning: no course secret ({ENV} or --secret-file FILE): student variants use the public derivation, which anyone can recompute"
        );
    }
}
