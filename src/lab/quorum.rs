//! Loading the `quorum` model's section: quorum sizes checked against N, and
//! a workload that is either scripted or random, never both.

use super::diag::suggest;
use super::schema::QuorumSection;
use super::{Diag, Loader};
use crate::models::quorum::{OpKind, Params, Workload};
use crate::models::ModelConfig;
use crate::sim::MS;

/// Replicas and clients are columns of the timeline: keep them readable.
const MAX_REPLICAS: u32 = 9;
const MAX_CLIENTS: u32 = 9;
const MAX_OPS: u32 = 100;

impl Loader<'_> {
    pub(super) fn quorum(&self, m: &QuorumSection) -> Result<ModelConfig, Diag> {
        let n = self.positive(&m.n, "n (the number of replicas)", MAX_REPLICAS)?;
        for (q, key) in [(&m.r, "r"), (&m.w, "w")] {
            let v = *q.get_ref();
            if v == 0 || v > n {
                return Err(self.err(q, format!("{key} must be from 1 to n ({n}), not {v}")));
            }
        }
        if m.timeout.get_ref().0 == 0 {
            return Err(self.err(&m.timeout, "timeout must be longer than 0ms"));
        }
        let workload = match &m.workload {
            Some(list) => {
                let both = "give either `workload` (scripted) or `clients` and `operations` (random), not both";
                if let Some(c) = &m.clients {
                    return Err(self.err(c, both));
                }
                if let Some(o) = &m.operations {
                    return Err(self.err(o, both));
                }
                if m.read_ratio.is_some() {
                    return Err(self.err(
                        list,
                        "`read_ratio` belongs to a random workload (`clients`, `operations`), not to `workload`",
                    ));
                }
                let clients = list.get_ref();
                if clients.is_empty() || clients.len() > MAX_CLIENTS as usize {
                    return Err(self.err(
                        list,
                        format!("workload lists one string of operations per client: from 1 to {MAX_CLIENTS} clients"),
                    ));
                }
                let mut scripted = Vec::new();
                for (c, ops) in clients.iter().enumerate() {
                    let mut kinds = Vec::new();
                    for word in ops.get_ref().split([' ', ',']).filter(|w| !w.is_empty()) {
                        let kind = OpKind::parse(word).ok_or_else(|| {
                            let hint = suggest(word, ["read", "write"])
                                .map(|s| format!("did you mean `{s}`? "))
                                .unwrap_or_default();
                            self.err(
                                ops,
                                format!("unknown operation `{word}` for client c{c}; {hint}use {}", OpKind::ACCEPTED),
                            )
                        })?;
                        kinds.push(kind);
                    }
                    if kinds.is_empty() || kinds.len() > MAX_OPS as usize {
                        return Err(self.err(
                            ops,
                            format!("client c{c} needs from 1 to {MAX_OPS} operations, such as \"write read\""),
                        ));
                    }
                    scripted.push(kinds);
                }
                Workload::Scripted(scripted)
            }
            None => {
                let Some(operations) = &m.operations else {
                    if let Some(c) = &m.clients {
                        return Err(self.err(c, "a random workload needs `operations` too: how many each client makes"));
                    }
                    return Err(Diag::whole_file(self.file, "the quorum model needs a workload: `workload = [\"write read\", \"read write\"]` (one string per client), or `clients`, `operations` and `read_ratio` for a random one"));
                };
                let clients = match &m.clients {
                    Some(c) => self.positive(c, "clients", MAX_CLIENTS)?,
                    None => 1,
                };
                Workload::Random {
                    clients: clients as usize,
                    operations: self.positive(operations, "operations", MAX_OPS)? as usize,
                    read_ratio: m.read_ratio.map_or(0.5, |p| p.0),
                }
            }
        };
        Ok(ModelConfig::Quorum(Params {
            n: n as usize,
            r: *m.r.get_ref() as usize,
            w: *m.w.get_ref() as usize,
            read_repair: m.read_repair,
            timeout: m.timeout.get_ref().0,
            think: m.think.map_or(20 * MS, |d| d.0),
            workload,
        }))
    }
}
