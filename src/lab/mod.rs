//! Labs: the file format (strict, positioned errors), resolving a lab by
//! number, slug or path, and turning a lab plus seed and injected faults into
//! a scenario.

pub mod catalog;
pub mod diag;
pub mod explore;
pub mod faults;
mod load_nfs;
pub mod overrides;
mod quorum;
pub mod schema;
pub mod starter;
pub mod tune;
pub mod validate;
pub mod variant;

pub use catalog::{resolve, resolve_with, Source};
pub use diag::Diag;
pub use faults::FaultDef;
pub use schema::LabKind;
pub use tune::TuneSpec;

use crate::models::{afs, checksum::Algo, datagram, integrity, pb, reliable, rpc, ModelConfig, Scenario, MODEL_NAMES};
use crate::questions::{Expr, ExprOp, Kind, Question};
use crate::sim::{Dur, LinkConfig, NodeId, Time, MS, SEC};
use schema::*;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use toml::Spanned;

#[derive(Clone, Debug, PartialEq)]
pub struct Lab {
    pub number: u32,
    pub slug: String,
    pub title: String,
    pub kind: LabKind,
    pub seed: u64,
    pub intro: String,
    pub duration: Time,
    pub model: ModelConfig,
    pub link: LinkConfig,
    pub links: Vec<((NodeId, NodeId), LinkConfig)>,
    pub faults: Vec<FaultDef>,
    pub questions: Vec<Question>,
    /// Invariants every run must keep, by name.
    pub invariants: Vec<String>,
    pub explore: ExploreSpace,
    /// A tune lab's parameters, seeds and goals (None for other kinds).
    pub tune: Option<TuneSpec>,
    /// Where it came from, as errors and hints name it.
    pub file: String,
    /// True when it came from the built-in catalogue (so `run 2` finds it).
    pub builtin: bool,
    /// The `--set KEY=VALUE` overrides it was loaded with, as given.
    pub overrides: Vec<String>,
    /// The lab file's text before any override, for what-if questions.
    pub source: String,
}

/// The kinds of fault exploration may draw.
pub const FAULT_KINDS: &[&str] = &["crash", "partition", "burst", "duplicate", "corrupt"];

/// What `inject --explore` may draw: fault kinds, how many at once, and until
/// when (None: until the fault-free run ends).
#[derive(Clone, Debug, PartialEq)]
pub struct ExploreSpace {
    pub faults: Vec<String>,
    pub max_faults: u32,
    pub horizon: Option<Time>,
}

/// Extra faults for one run, from `inject` flags or a plan file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Injection {
    pub drop: Option<f64>,
    pub duplicate: Option<f64>,
    pub latency: Option<crate::sim::Latency>,
    pub faults: Vec<FaultDef>,
}

impl Injection {
    pub fn is_empty(&self) -> bool {
        *self == Injection::default()
    }

    pub fn describe(&self, names: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = self.drop {
            out.push(format!("drop {p} (all links)"));
        }
        if let Some(p) = self.duplicate {
            out.push(format!("duplicate {p} (all links)"));
        }
        if let Some(l) = self.latency {
            out.push(format!("latency {} (all links)", l.describe()));
        }
        out.extend(self.faults.iter().map(|f| f.describe(names)));
        out
    }
}

impl Lab {
    /// `02-retry`.
    pub fn code(&self) -> String {
        format!("{:02}-{}", self.number, self.slug)
    }

    /// How to name this lab on the command line.
    pub fn cli_name(&self) -> String {
        if self.builtin {
            self.number.to_string()
        } else {
            shell_word(&self.file)
        }
    }

    /// The lab's name plus its `--set` flags: what reproduces this run.
    pub fn cli_name_with_overrides(&self) -> String {
        let mut s = self.cli_name();
        for o in &self.overrides {
            s.push_str(&format!(" --set {}", shell_word(o)));
        }
        s
    }

    pub fn node_names(&self) -> Vec<String> {
        self.model.node_names()
    }

    pub fn scenario(&self, seed: u64, inj: &Injection) -> Scenario {
        let patch = |c: &LinkConfig| {
            let mut c = c.clone();
            if let Some(p) = inj.drop {
                c.drop = p;
            }
            if let Some(p) = inj.duplicate {
                c.duplicate = p;
            }
            if let Some(l) = inj.latency {
                c.latency = l;
            }
            c
        };
        let faults: Vec<&FaultDef> = self.faults.iter().chain(&inj.faults).collect();
        Scenario {
            seed,
            model: self.model.clone(),
            link: patch(&self.link),
            links: self.links.iter().map(|(k, c)| (*k, patch(c))).collect(),
            partitions: faults.iter().filter_map(|f| f.partition()).collect(),
            bursts: faults.iter().filter_map(|f| f.burst()).collect(),
            node_faults: faults.iter().filter_map(|f| f.node_fault()).collect(),
            until: self.duration,
            invariants: self.invariants.clone(),
        }
    }
}

/// A finished run with every question answered.
pub struct Solved {
    pub scenario: Scenario,
    pub outcome: crate::models::Outcome,
    pub answers: Vec<(Question, crate::questions::Value)>,
}

impl Lab {
    /// Runs the lab and answers every question from the run. An error here
    /// means the lab's own questions do not fit its model's facts.
    pub fn solve(&self, seed: u64, inj: &Injection) -> Result<Solved, String> {
        let scenario = self.scenario(seed, inj);
        let outcome = crate::models::run(&scenario);
        // What-if questions run the same seed and faults under more overrides.
        let mut what_ifs: std::collections::BTreeMap<&[String], crate::questions::Facts> = Default::default();
        let mut answers = Vec::new();
        for q in &self.questions {
            let facts = if q.answer.under.is_empty() {
                &outcome.facts
            } else {
                if !what_ifs.contains_key(q.answer.under.as_slice()) {
                    let all: Vec<String> = self.overrides.iter().chain(&q.answer.under).cloned().collect();
                    let lab = overrides::load_with(&self.source, &self.file, &all)
                        .map_err(|d| format!("{}: question `{}`: {d}", self.file, q.id))?;
                    let facts = crate::models::run(&lab.scenario(seed, inj)).facts;
                    what_ifs.insert(q.answer.under.as_slice(), facts);
                }
                &what_ifs[q.answer.under.as_slice()]
            };
            let v = q.expected(facts).map_err(|e| format!("{}: {e}", self.file))?;
            answers.push((q.clone(), v));
        }
        Ok(Solved { scenario, outcome, answers })
    }
}

/// Quotes a word for a shell when it needs quoting.
fn shell_word(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "._-=/:@,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Loads and validates a lab from its text. `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Lab, Diag> {
    load_inner(text, file, true)
}

fn load_inner(text: &str, file: &str, top: bool) -> Result<Lab, Diag> {
    let probe: Probe = toml::from_str(text).map_err(|e| Diag::from_toml(file, text, &e))?;
    let name = probe.model.and_then(|m| m.name).ok_or_else(|| {
        Diag::whole_file(file, format!("missing [model] table with a `name` (one of {})", MODEL_NAMES.join(", ")))
    })?;
    let ctx = Loader { file, text, top };
    match name.get_ref().as_str() {
        "datagram" => ctx.load::<DatagramSection>(|c, m| c.datagram(m)),
        "reliable" => ctx.load::<ReliableSection>(|c, m| c.reliable(m)),
        "rpc" => ctx.load::<RpcSection>(|c, m| c.rpc(m)),
        "nfs" => ctx.load::<NfsSection>(|c, m| c.nfs(m)),
        "afs" => ctx.load::<AfsSection>(|c, m| c.afs(m)),
        "integrity" => ctx.load::<IntegritySection>(|c, m| c.integrity(m)),
        "primary-backup" => ctx.load::<PbSection>(|c, m| c.pb(m)),
        "quorum" => ctx.load::<QuorumSection>(|c, m| c.quorum(m)),
        other => {
            let hint = diag::suggest(other, MODEL_NAMES.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            Err(ctx.err(&name, format!("unknown model `{other}`; {hint}models are {}", MODEL_NAMES.join(", "))))
        }
    }
}

/// Loads an injection plan file against a lab.
pub fn load_plan(text: &str, file: &str, lab: &Lab) -> Result<Injection, Diag> {
    let plan: PlanFile = toml::from_str(text).map_err(|e| Diag::from_toml(file, text, &e))?;
    let ctx = Loader { file, text, top: false };
    let names = lab.node_names();
    let disks = lab.model.disk_blocks();
    let faults = plan.fault.iter().map(|f| ctx.fault(f, &names, &disks)).collect::<Result<_, _>>()?;
    Ok(Injection {
        drop: plan.drop.map(|p| p.0),
        duplicate: plan.duplicate.map(|p| p.0),
        latency: plan.latency.map(|l| l.0),
        faults,
    })
}

struct Loader<'a> {
    file: &'a str,
    text: &'a str,
    /// False while checking a what-if, so what-ifs are not checked forever.
    top: bool,
}

impl Loader<'_> {
    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> Diag {
        Diag::at(self.file, self.text, Some(at.span()), message)
    }

    fn load<P: DeserializeOwned>(&self, model: impl Fn(&Self, &P) -> Result<ModelConfig, Diag>) -> Result<Lab, Diag> {
        let f: LabFile<P> = toml::from_str(self.text).map_err(|e| Diag::from_toml(self.file, self.text, &e))?;
        let model = model(self, &f.model)?;
        self.finish(f, model)
    }

    fn positive(&self, v: &Spanned<u32>, what: &str, max: u32) -> Result<u32, Diag> {
        let n = *v.get_ref();
        if n == 0 || n > max {
            return Err(self.err(v, format!("{what} must be from 1 to {max}, not {n}")));
        }
        Ok(n)
    }

    fn datagram(&self, m: &DatagramSection) -> Result<ModelConfig, Diag> {
        Ok(ModelConfig::Datagram(datagram::Params {
            messages: self.positive(&m.messages, "messages", 1000)?,
            interval: m.interval.0,
        }))
    }

    fn reliable(&self, m: &ReliableSection) -> Result<ModelConfig, Diag> {
        let backoff = match &m.backoff {
            Some(b) if !(1.0..=10.0).contains(b.get_ref()) => {
                return Err(self.err(b, format!("backoff must be from 1 (no backoff) to 10, not {}", b.get_ref())))
            }
            Some(b) => *b.get_ref(),
            None => 1.0,
        };
        if m.timeout.get_ref().0 == 0 {
            return Err(self.err(&m.timeout, "timeout must be longer than 0ms"));
        }
        if *m.max_retries.get_ref() > 100 {
            return Err(self.err(&m.max_retries, "max_retries must be at most 100"));
        }
        Ok(ModelConfig::Reliable(reliable::Params {
            messages: self.positive(&m.messages, "messages", 1000)?,
            timeout: m.timeout.get_ref().0,
            max_retries: *m.max_retries.get_ref(),
            backoff,
        }))
    }

    fn rpc(&self, m: &RpcSection) -> Result<ModelConfig, Diag> {
        let ops = m
            .calls
            .get_ref()
            .iter()
            .map(|c| rpc::Op::parse(c.get_ref()).map_err(|e| self.err(c, e)))
            .collect::<Result<Vec<_>, _>>()?;
        if ops.is_empty() || ops.len() > 1000 {
            return Err(self.err(&m.calls, "calls must list from 1 to 1000 operations"));
        }
        let semantics = rpc::Semantics::parse(m.semantics.get_ref()).ok_or_else(|| {
            self.err(
                &m.semantics,
                format!("unknown semantics `{}`: use {}", m.semantics.get_ref(), rpc::Semantics::ACCEPTED),
            )
        })?;
        if m.timeout.get_ref().0 == 0 {
            return Err(self.err(&m.timeout, "timeout must be longer than 0ms"));
        }
        if *m.max_retries.get_ref() > 100 {
            return Err(self.err(&m.max_retries, "max_retries must be at most 100"));
        }
        Ok(ModelConfig::Rpc(rpc::Params {
            ops,
            semantics,
            durable_table: m.durable_table,
            timeout: m.timeout.get_ref().0,
            max_retries: *m.max_retries.get_ref(),
            work: m.work.0,
            working_ack: m.working_ack,
            reboot: m.reboot.map_or(50_000, |d| d.0),
        }))
    }

    /// An error at a byte offset inside a string value. The offset is exact
    /// when the value is written plainly in quotes (no escapes); otherwise
    /// the error points at the value's start.
    fn err_inside(&self, at: &Spanned<String>, offset: usize, message: impl Into<String>) -> Diag {
        let span = at.span();
        let raw = self.text.get(span.clone()).unwrap_or("");
        let value = at.get_ref();
        let plain = raw.len() == value.len() + 2 && raw.get(1..raw.len() - 1) == Some(value.as_str());
        let start = if plain { span.start + 1 + offset.min(value.len()) } else { span.start };
        Diag::at(self.file, self.text, Some(start..start), message)
    }

    fn afs(&self, m: &AfsSection) -> Result<ModelConfig, Diag> {
        let files = match &m.files {
            Some(f) => self.positive(f, "files", u32::from(afs::MAX_FILES))? as u8,
            None => 1,
        };
        let given = m.actions.as_ref().filter(|a| !a.get_ref().trim().is_empty());
        let workload = match given {
            Some(a) => afs::Workload::Given(
                afs::parse_actions(a.get_ref(), files)
                    .map_err(|e| self.err_inside(a, e.offset, format!("actions: {}", e.message)))?,
            ),
            None => afs::Workload::Random {
                clients: match &m.clients {
                    Some(c) => self.positive(c, "clients", afs::MAX_CLIENTS as u32)?,
                    None => 2,
                },
                steps: match &m.steps {
                    Some(s) => self.positive(s, "steps", afs::MAX_STEPS)?,
                    None => 2,
                },
                read_ratio: m.read_ratio.map_or(0.5, |p| p.0),
            },
        };
        let clients = match &workload {
            afs::Workload::Given(a) => a.len(),
            afs::Workload::Random { clients, .. } => *clients as usize,
        };
        let schedule = match &m.schedule {
            Some(s) => afs::parse_schedule(s.get_ref(), clients)
                .map_err(|e| self.err_inside(s, e.offset, format!("schedule: {}", e.message)))?,
            None => Vec::new(),
        };
        let duration = |d: &Option<Spanned<crate::sim::Dur>>, what: &str, default: Time| match d {
            Some(d) if d.get_ref().0 == 0 => Err(self.err(d, format!("{what} must be longer than 0ms"))),
            Some(d) => Ok(d.get_ref().0),
            None => Ok(default),
        };
        let max_retries = match &m.max_retries {
            Some(r) if *r.get_ref() > 100 => return Err(self.err(r, "max_retries must be at most 100")),
            Some(r) => *r.get_ref(),
            None => 5,
        };
        Ok(ModelConfig::Afs(afs::Params {
            files,
            workload,
            schedule,
            interval: duration(&m.interval, "interval", 100 * crate::sim::MS)?,
            timeout: duration(&m.timeout, "timeout", 50 * crate::sim::MS)?,
            max_retries,
            reboot: m.reboot.map_or(50 * crate::sim::MS, |d| d.0),
            revalidate: m.revalidate.unwrap_or(true),
        }))
    }

    fn integrity(&self, m: &IntegritySection) -> Result<ModelConfig, Diag> {
        let blocks = self.positive(&m.blocks, "blocks", 64)? as usize;
        let block_size = match &m.block_size {
            Some(s) => self.positive(s, "block_size", 64)? as usize,
            None => 4,
        };
        let name = m.checksum.get_ref();
        let checksum = Algo::parse(name).ok_or_else(|| {
            let hint = diag::suggest(name, Algo::NAMES.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            self.err(&m.checksum, format!("unknown checksum `{name}`; {hint}use one of {}", Algo::NAMES.join(", ")))
        })?;
        let data = match &m.data {
            Some(d) if d.get_ref().0.len() > blocks * block_size => {
                return Err(self.err(
                    d,
                    format!(
                        "data has {} bytes, but {blocks} blocks of {block_size} bytes hold {}: give fewer bytes or raise blocks or block_size",
                        d.get_ref().0.len(),
                        blocks * block_size
                    ),
                ))
            }
            Some(d) => Some(d.get_ref().0.clone()),
            None => None,
        };
        let at = |v: &Option<Spanned<Dur>>, default: Time| v.as_ref().map_or(default, |d| d.get_ref().0);
        let write_at = at(&m.write_at, 10 * MS);
        let read_at = at(&m.read_at, 100 * MS);
        let scrub_at = m.scrub_at.as_ref().map(|d| d.get_ref().0);
        for (key, value, when) in [("read_at", &m.read_at, Some(read_at)), ("scrub_at", &m.scrub_at, scrub_at)] {
            let Some(when) = when.filter(|t| *t <= write_at) else { continue };
            if let Some(spot) = value.as_ref().or(m.write_at.as_ref()) {
                return Err(self.err(
                    spot,
                    format!(
                        "{key} ({}) must come after write_at ({}): before it there is no data",
                        Dur(when),
                        Dur(write_at)
                    ),
                ));
            }
        }
        let timeout = at(&m.timeout, 50 * MS);
        if let Some(t) = m.timeout.as_ref().filter(|t| t.get_ref().0 == 0) {
            return Err(self.err(t, "timeout must be longer than 0ms"));
        }
        Ok(ModelConfig::Integrity(integrity::Params {
            blocks,
            block_size,
            data,
            checksum,
            address: m.address.unwrap_or(true),
            write_at,
            read_at,
            scrub_at,
            timeout,
        }))
    }

    fn pb(&self, m: &PbSection) -> Result<ModelConfig, Diag> {
        let replication = pb::Replication::parse(m.replication.get_ref()).ok_or_else(|| {
            self.err(
                &m.replication,
                format!("unknown replication `{}`: use {}", m.replication.get_ref(), pb::Replication::ACCEPTED),
            )
        })?;
        let heartbeat = m.heartbeat.get_ref().0;
        if heartbeat == 0 {
            return Err(self.err(&m.heartbeat, "heartbeat must be longer than 0ms"));
        }
        // Anything shorter than a heartbeat would declare a healthy peer dead.
        if m.timeout.get_ref().0 <= heartbeat {
            return Err(
                self.err(&m.timeout, format!("timeout must be longer than the heartbeat ({})", m.heartbeat.get_ref()))
            );
        }
        let lease = match &m.lease {
            Some(l) if !m.view_service => {
                return Err(self.err(l, "`lease` comes from the view service: set view_service = true, or remove it"))
            }
            Some(l) if l.get_ref().0 <= heartbeat => {
                return Err(self.err(
                    l,
                    format!(
                        "lease must be longer than the heartbeat ({}), or it lapses between renewals",
                        m.heartbeat.get_ref()
                    ),
                ))
            }
            Some(l) => l.get_ref().0,
            None => m.timeout.get_ref().0,
        };
        if m.client_timeout.get_ref().0 == 0 {
            return Err(self.err(&m.client_timeout, "client_timeout must be longer than 0ms"));
        }
        if m.primary_at.len() > 20 {
            return Err(self.err(&m.primary_at[20], "primary_at lists at most 20 times"));
        }
        let mut primary_at: Vec<Time> = Vec::new();
        for t in &m.primary_at {
            if primary_at.contains(&t.get_ref().0) {
                return Err(self.err(t, format!("{} is listed twice in primary_at", t.get_ref())));
            }
            primary_at.push(t.get_ref().0);
        }
        Ok(ModelConfig::PrimaryBackup(pb::Params {
            replication,
            view_service: m.view_service,
            writes: self.positive(&m.writes, "writes", 200)?,
            interval: m.interval.0,
            heartbeat,
            timeout: m.timeout.get_ref().0,
            lease,
            client_timeout: m.client_timeout.get_ref().0,
            reboot: m.reboot.map(|d| d.0),
            primary_at,
        }))
    }

    fn node(&self, name: &Spanned<String>, names: &[String]) -> Result<NodeId, Diag> {
        faults::node_id(names, name.get_ref()).map_err(|e| self.err(name, e))
    }

    fn fault(&self, f: &FaultSection, names: &[String], disks: &[usize]) -> Result<FaultDef, Diag> {
        let at = f.at.get_ref().0;
        let kinds = [
            f.crash.is_some(),
            f.restart.is_some(),
            f.partition.is_some(),
            f.corrupt.is_some(),
            f.lse.is_some(),
            f.drop.is_some() || f.duplicate.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(self.err(&f.at, "a [[fault]] needs exactly one of `crash = \"node\"`, `restart = \"node\"`, `partition = [[\"a\"], [\"b\"]]`, `corrupt = \"node:block\"`, `lse = \"node:block\"` or a burst (`drop = 0.9` and/or `duplicate = 0.5`, with `until`)"));
        }
        if let Some(until) = &f.until {
            if f.partition.is_none() && f.drop.is_none() && f.duplicate.is_none() {
                return Err(self.err(
                    until,
                    "`until` belongs to partitions and bursts; a crash lasts until a `restart` fault (or the model's reboot)",
                ));
            }
        }
        if f.drop.is_some() || f.duplicate.is_some() {
            let Some(until) = &f.until else {
                return Err(self.err(&f.at, "a burst needs `until`, when it ends"));
            };
            if until.get_ref().0 <= at {
                return Err(self.err(until, "the burst must end after it starts: `until` must come after `at`"));
            }
            let (drop, duplicate) = (f.drop.map_or(0.0, |p| p.0), f.duplicate.map_or(0.0, |p| p.0));
            return Ok(FaultDef::Burst { drop, duplicate, at, until: until.get_ref().0 });
        }
        if f.oneway.is_some() && f.partition.is_none() {
            return Err(self.err(&f.at, "`oneway` belongs to partitions"));
        }
        if let Some(k) = &f.kind {
            if f.corrupt.is_none() {
                return Err(self.err(k, "`kind` belongs to `corrupt` faults"));
            }
        }
        if let Some(spec) = f.corrupt.as_ref().or(f.lse.as_ref()) {
            let (node, block) = faults::parse_block(spec.get_ref(), names, disks).map_err(|e| self.err(spec, e))?;
            let kind = match (&f.kind, f.lse.is_some()) {
                (_, true) => crate::sim::Corruption::Latent,
                (None, false) => crate::sim::Corruption::BitFlip,
                (Some(k), false) => crate::sim::Corruption::parse(k.get_ref())
                    .filter(|k| *k != crate::sim::Corruption::Latent)
                    .ok_or_else(|| {
                        self.err(
                            k,
                            format!(
                                "unknown corruption kind `{}`: use bitflip, swap, misdirect or lostwrite (or an `lse` fault)",
                                k.get_ref()
                            ),
                        )
                    })?,
            };
            return Ok(FaultDef::Corrupt { node, block, kind, at });
        }
        if let Some(n) = &f.crash {
            return Ok(FaultDef::Crash { node: self.node(n, names)?, at });
        }
        if let Some(n) = &f.restart {
            return Ok(FaultDef::Restart { node: self.node(n, names)?, at });
        }
        let Some(groups) = &f.partition else { unreachable!("checked above") };
        let [left, right] = groups.get_ref().as_slice() else {
            return Err(self.err(groups, "a partition has exactly two sides: partition = [[\"a\"], [\"b\", \"c\"]]"));
        };
        let side = |g: &Vec<Spanned<String>>| -> Result<Vec<NodeId>, Diag> {
            if g.is_empty() {
                return Err(self.err(groups, "one side of the partition is empty"));
            }
            g.iter().map(|n| self.node(n, names)).collect()
        };
        let (from, to) = (side(left)?, side(right)?);
        if let Some(n) = from.iter().find(|n| to.contains(n)) {
            return Err(self.err(groups, format!("node `{}` is on both sides of the partition", names[*n])));
        }
        let Some(until) = &f.until else {
            return Err(self.err(&f.at, "a partition needs `until`, when it heals"));
        };
        if until.get_ref().0 <= at {
            return Err(self.err(
                until,
                format!(
                    "the partition heals at {} but starts at {}: `until` must come after `at`",
                    until.get_ref(),
                    f.at.get_ref()
                ),
            ));
        }
        Ok(FaultDef::Partition { from, to, two_way: !f.oneway.unwrap_or(false), at, until: until.get_ref().0 })
    }

    fn link(&self, base: &LinkConfig, l: &Option<LatencySpec>, drop: Option<Prob>, dup: Option<Prob>) -> LinkConfig {
        LinkConfig {
            latency: l.map_or(base.latency, |l| l.0),
            drop: drop.map_or(base.drop, |p| p.0),
            duplicate: dup.map_or(base.duplicate, |p| p.0),
        }
    }

    /// A what-if's overrides: each must make a valid lab on its own.
    fn under(&self, e: &ExprSection) -> Result<Vec<String>, Diag> {
        let Some(under) = &e.under else { return Ok(Vec::new()) };
        if under.get_ref().is_empty() {
            return Err(self.err(under, "`under` lists at least one KEY=VALUE override"));
        }
        if self.top {
            if let Err(d) = overrides::load_nested(self.text, self.file, under.get_ref()) {
                return Err(self.err(under, format!("this what-if does not make a valid lab: {}", d.message)));
            }
        }
        Ok(under.get_ref().clone())
    }

    fn question(&self, q: &QuestionSection, facts: &[&str]) -> Result<Question, Diag> {
        let kind = match q.kind.get_ref().as_str() {
            "number" => Kind::Number { tolerance: q.tolerance.unwrap_or(0.0) },
            "text" => Kind::Text,
            "list" => Kind::List,
            "set" => Kind::Set,
            "yesno" => Kind::YesNo,
            other => {
                let hint = diag::suggest(other, ["number", "text", "list", "set", "yesno"])
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                return Err(
                    self.err(&q.kind, format!("unknown question kind `{other}`; {hint}kinds are {}", Kind::ACCEPTED))
                );
            }
        };
        if q.tolerance.is_some_and(|t| !matches!(kind, Kind::Number { .. }) || t < 0.0) {
            return Err(self.err(&q.kind, "`tolerance` is for number questions, and cannot be negative"));
        }
        if q.partial && !matches!(kind, Kind::List | Kind::Set) {
            return Err(self.err(&q.kind, "`partial` credit is for list and set questions"));
        }
        let e = q.answer.get_ref();
        let fact = e.fact.get_ref();
        if !facts.contains(&fact.as_str()) {
            let hint =
                diag::suggest(fact, facts.iter().copied()).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
            return Err(
                self.err(&e.fact, format!("this model has no fact `{fact}`; {hint}its facts are {}", facts.join(", ")))
            );
        }
        let op = match &e.op {
            Some(op) => Some(ExprOp::parse(op.get_ref()).ok_or_else(|| {
                self.err(op, format!("unknown op `{}`: use one of {}", op.get_ref(), ExprOp::NAMES.join(", ")))
            })?),
            None => None,
        };
        let key = e.key.as_ref().map(|k| match k {
            KeySection::Name(s) => s.clone(),
            KeySection::Position(n) => n.to_string(),
        });
        Ok(Question {
            id: q.id.get_ref().clone(),
            ask: q.ask.trim().to_string(),
            kind,
            answer: Expr { fact: fact.clone(), key, op, under: self.under(e)? },
            points: q.points,
            partial: q.partial,
        })
    }

    fn finish<P>(&self, f: LabFile<P>, model: ModelConfig) -> Result<Lab, Diag> {
        let names = model.node_names();
        let slug = f.slug.get_ref();
        if slug.is_empty() || !slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(self.err(&f.slug, "a slug is lowercase letters, digits and dashes, such as \"lost-messages\""));
        }
        if *f.number.get_ref() > 99 {
            return Err(self.err(&f.number, "lab numbers run from 0 to 99"));
        }
        let net = &f.network;
        let default = LinkConfig::default();
        let link = self.link(&default, &net.latency, net.drop, net.duplicate);
        let mut links = Vec::new();
        for l in &net.link {
            let key = (self.node(&l.from, &names)?, self.node(&l.to, &names)?);
            if key.0 == key.1 {
                return Err(self.err(&l.to, "a link joins two different nodes"));
            }
            if links.iter().any(|(k, _)| *k == key) {
                return Err(
                    self.err(&l.to, format!("the link {} -> {} is configured twice", l.from.get_ref(), l.to.get_ref()))
                );
            }
            links.push((key, self.link(&link, &l.latency, l.drop, l.duplicate)));
        }
        let disks = model.disk_blocks();
        let faults = f.fault.iter().map(|x| self.fault(x, &names, &disks)).collect::<Result<Vec<_>, _>>()?;
        let facts = model.fact_names();
        let mut seen = BTreeSet::new();
        let mut questions = Vec::new();
        for q in &f.question {
            if !seen.insert(q.id.get_ref().clone()) {
                return Err(self.err(&q.id, format!("question id `{}` is used twice", q.id.get_ref())));
            }
            let id = q.id.get_ref();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(self.err(&q.id, "a question id is letters, digits, `_` and `-`, such as \"q1\""));
            }
            questions.push(self.question(q, facts)?);
        }
        let known = model.invariants();
        let mut invariants: Vec<String> = Vec::new();
        for inv in &f.invariant {
            let name = inv.name.get_ref();
            if !known.iter().any(|(n, _)| n == name) {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                let hint = diag::suggest(name, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                let list = if names.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("its invariants are {}", names.join(", "))
                };
                return Err(
                    self.err(&inv.name, format!("model {} has no invariant `{name}`; {hint}{list}", model.name()))
                );
            }
            if invariants.contains(name) {
                return Err(self.err(&inv.name, format!("invariant `{name}` is declared twice")));
            }
            invariants.push(name.clone());
        }
        let has_disk = model.disk_blocks().iter().any(|b| *b > 0);
        let default_kinds: Vec<String> =
            FAULT_KINDS.iter().filter(|k| **k != "corrupt" || has_disk).map(|k| k.to_string()).collect();
        let explore = match &f.explore {
            None => ExploreSpace { faults: default_kinds, max_faults: 3, horizon: None },
            Some(e) => {
                let mut kinds = Vec::new();
                for k in e.faults.iter().flatten() {
                    if !FAULT_KINDS.contains(&k.get_ref().as_str()) {
                        let hint = diag::suggest(k.get_ref(), FAULT_KINDS.iter().copied())
                            .map(|s| format!("did you mean `{s}`? "))
                            .unwrap_or_default();
                        return Err(self.err(
                            k,
                            format!("unknown fault kind `{}`; {hint}kinds are {}", k.get_ref(), FAULT_KINDS.join(", ")),
                        ));
                    }
                    if k.get_ref() == "corrupt" && !has_disk {
                        return Err(self.err(k, "`corrupt` needs a node with a disk, and this model has none"));
                    }
                    kinds.push(k.get_ref().clone());
                }
                if e.faults.as_ref().is_some_and(|f| f.is_empty()) {
                    return Err(self.err(&f.number, "[explore] faults is empty: list at least one kind"));
                }
                let max_faults = match &e.max_faults {
                    Some(m) if *m.get_ref() == 0 || *m.get_ref() > 20 => {
                        return Err(self.err(m, "max_faults must be from 1 to 20"))
                    }
                    Some(m) => *m.get_ref(),
                    None => 3,
                };
                let horizon = match &e.horizon {
                    Some(h) if h.get_ref().0 == 0 => return Err(self.err(h, "horizon must be longer than 0ms")),
                    Some(h) => Some(h.get_ref().0),
                    None => None,
                };
                ExploreSpace { faults: if kinds.is_empty() { default_kinds } else { kinds }, max_faults, horizon }
            }
        };
        let tune = self.tune(&f.kind, f.tune.as_ref(), &model, f.seed, f.question.first().map(|q| &q.id))?;
        let duration = match &f.duration {
            Some(d) if d.get_ref().0 == 0 => return Err(self.err(d, "duration must be longer than 0ms")),
            Some(d) => d.get_ref().0,
            None => 60 * SEC,
        };
        if let Some(last) = model.last_step_at().filter(|t| *t >= duration) {
            let message = format!(
                "the workload's last step is due at {}, but the run lasts only {}: raise `duration` or lower the model's `interval` or workload",
                crate::sim::fmt_time(last),
                crate::sim::fmt_time(duration)
            );
            return Err(match &f.duration {
                Some(d) => self.err(d, message),
                None => Diag::whole_file(self.file, message),
            });
        }
        Ok(Lab {
            number: *f.number.get_ref(),
            slug: slug.clone(),
            title: f.title,
            kind: *f.kind.get_ref(),
            seed: f.seed,
            intro: f.intro.trim().to_string(),
            duration,
            model,
            link,
            links,
            faults,
            questions,
            invariants,
            explore,
            tune,
            file: self.file.to_string(),
            builtin: false,
            overrides: Vec::new(),
            source: self.text.to_string(),
        })
    }
}
