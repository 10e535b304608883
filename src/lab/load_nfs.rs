//! The `nfs` model's table: the script notation and the server's starting
//! files, with errors positioned at the offending word inside a string.

use super::schema::NfsSection;
use super::{Diag, Loader};
use crate::models::{nfs, ModelConfig};

impl Loader<'_> {
    pub(super) fn nfs(&self, m: &NfsSection) -> Result<ModelConfig, Diag> {
        let mut p = nfs::Params::default();
        if let Some(c) = &m.clients {
            p.clients = self.positive(c, "clients", 8)? as usize;
        }
        let layout = &mut p.layout;
        if let Some(b) = &m.block_size {
            layout.block_size = self.positive(b, "block_size", 64)? as usize;
        }
        if let Some(n) = &m.inodes {
            layout.inodes = self.positive(n, "inodes", 64)? as usize;
            if layout.inodes < 2 {
                return Err(self.err(n, "inodes must be from 2 (the root and one file) to 64"));
            }
        }
        if let Some(n) = &m.data_blocks {
            layout.data_blocks = self.positive(n, "data_blocks", 256)? as usize;
        }
        // Clients never give up, so a tiny timeout would make a long outage
        // cost millions of events.
        for (d, key) in [(&m.timeout, "timeout"), (&m.sync, "sync")] {
            if let Some(d) = d.as_ref().filter(|d| d.get_ref().0 < crate::sim::MS) {
                return Err(self.err(d, format!("{key} must be at least 1ms, not {}", d.get_ref())));
            }
        }
        p.timeout = m.timeout.as_ref().map_or(p.timeout, |d| d.get_ref().0);
        p.sync = m.sync.as_ref().map_or(p.sync, |d| d.get_ref().0);
        p.attr_timeout = m.attr_timeout.map_or(p.attr_timeout, |d| d.0);
        p.reboot = m.reboot.map_or(p.reboot, |d| d.0);
        p.unsafe_writes = m.unsafe_writes;

        let steps = m.script.get_ref();
        if steps.is_empty() || steps.len() > 500 {
            return Err(self.err(&m.script, format!("script must list from 1 to 500 steps; {}", nfs::STEP_HELP)));
        }
        for s in steps {
            let step = nfs::parse_step(s.get_ref(), p.clients).map_err(|e| self.err_inside(s, e.at, &e.message))?;
            p.script.push(step);
        }
        nfs::check_script(&p.script, p.clients).map_err(|(i, msg)| self.err(&steps[i], msg))?;

        if let Some(files) = &m.files {
            for (path, content) in files.get_ref() {
                nfs::check_path(path).map_err(|e| self.err(files, format!("files: {e}")))?;
                if content.get_ref().len() > nfs::MAX_DATA {
                    return Err(self.err(content, format!("a starting file holds at most {} bytes", nfs::MAX_DATA)));
                }
                p.files.push((path.clone(), content.get_ref().as_bytes().to_vec()));
            }
            p.check_files().map_err(|e| self.err(files, format!("files: {e}")))?;
        }
        Ok(ModelConfig::Nfs(p))
    }
}
