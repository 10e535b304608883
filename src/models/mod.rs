//! The built-in models, one file per family. Each is a sans-IO state machine
//! (see [`crate::sim::Model`]); this module runs whichever one a scenario
//! names and erases its types, so rendering and grading need not know it.

pub mod afs;
pub mod checksum;
pub mod datagram;
pub mod integrity;
pub mod nfs;
pub mod pb;
pub mod quorum;
pub mod reliable;
pub mod rpc;

use crate::questions::Facts;
use crate::sim::{
    fmt_time, Burst, Entry, Event, Label, LinkConfig, Model, MsgId, Network, NodeFault, NodeId, Partition, Run, Stats,
    Time, World,
};
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq)]
pub enum ModelConfig {
    Datagram(datagram::Params),
    Reliable(reliable::Params),
    Rpc(rpc::Params),
    Afs(afs::Params),
    Nfs(nfs::Params),
    Integrity(integrity::Params),
    PrimaryBackup(pb::Params),
    Quorum(quorum::Params),
}

/// The model names a lab file may use, in catalogue order.
pub const MODEL_NAMES: &[&str] =
    &["datagram", "reliable", "rpc", "nfs", "afs", "integrity", "primary-backup", "quorum"];

/// Everything one run needs: the lab after seed, overrides and faults.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub seed: u64,
    pub model: ModelConfig,
    pub link: LinkConfig,
    pub links: Vec<((NodeId, NodeId), LinkConfig)>,
    pub partitions: Vec<Partition>,
    pub bursts: Vec<Burst>,
    pub node_faults: Vec<NodeFault>,
    pub until: Time,
    /// The invariants to check, by name.
    pub invariants: Vec<String>,
}

/// An invariant that did not hold, and the event where it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: String,
    pub time: Time,
    pub what: String,
}

/// A model's invariants: (name, what it promises).
pub type Invariants = &'static [(&'static str, &'static str)];

/// A finished run with the model's types erased: messages are labels.
pub struct Outcome {
    pub nodes: Vec<String>,
    pub trace: Vec<Entry<Label>>,
    pub facts: Facts,
    /// The declared invariants that broke, in the order the lab declares them.
    pub violations: Vec<Violation>,
    pub end: Time,
    pub stats: Stats,
    /// Messages whose send is itself an answer, shown only in solve mode (see
    /// [`Model::msg_view`]). Their detail level is in the trace.
    pub outcome_msgs: BTreeSet<MsgId>,
}

impl ModelConfig {
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Datagram(_) => "datagram",
            ModelConfig::Reliable(_) => "reliable",
            ModelConfig::Rpc(_) => "rpc",
            ModelConfig::Afs(_) => "afs",
            ModelConfig::Nfs(_) => "nfs",
            ModelConfig::Integrity(_) => "integrity",
            ModelConfig::PrimaryBackup(_) => "primary-backup",
            ModelConfig::Quorum(_) => "quorum",
        }
    }

    pub fn node_names(&self) -> Vec<String> {
        match self {
            ModelConfig::Datagram(p) => p.node_names(),
            ModelConfig::Reliable(p) => p.node_names(),
            ModelConfig::Rpc(p) => p.node_names(),
            ModelConfig::Quorum(p) => p.node_names(),
            ModelConfig::PrimaryBackup(p) => p.node_names(),
            ModelConfig::Integrity(p) => p.node_names(),
            ModelConfig::Nfs(p) => p.node_names(),
            ModelConfig::Afs(p) => p.node_names(),
        }
    }

    /// When the last step of a model with a timed workload is due, so a lab
    /// can refuse a `duration` that would cut it short.
    pub fn last_step_at(&self) -> Option<Time> {
        match self {
            ModelConfig::Afs(p) => Some(p.last_step_at()),
            _ => None,
        }
    }

    /// Each node's disk size in blocks (0: no disk), in node order.
    pub fn disk_blocks(&self) -> Vec<usize> {
        let n = self.node_names().len();
        match self {
            ModelConfig::Datagram(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
            ModelConfig::Reliable(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
            ModelConfig::Rpc(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
            // AFS keeps its files in the engine's durable state, not on a block disk.
            ModelConfig::Afs(_) => vec![0; n],
            ModelConfig::Nfs(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
            ModelConfig::Integrity(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
            ModelConfig::PrimaryBackup(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
            ModelConfig::Quorum(p) => (0..n).map(|i| p.disk_blocks(i)).collect(),
        }
    }

    pub fn fact_names(&self) -> &'static [&'static str] {
        fact_names(self.name())
    }

    pub fn invariants(&self) -> Invariants {
        match self {
            ModelConfig::Datagram(_) => datagram::INVARIANTS,
            ModelConfig::Reliable(_) => reliable::INVARIANTS,
            ModelConfig::Rpc(_) => rpc::INVARIANTS,
            ModelConfig::Afs(_) => afs::INVARIANTS,
            ModelConfig::Nfs(_) | ModelConfig::Integrity(_) => &[],
            ModelConfig::PrimaryBackup(_) => pb::INVARIANTS,
            ModelConfig::Quorum(_) => quorum::INVARIANTS,
        }
    }

    /// The parameters, as the header of every run echoes them.
    pub fn describe(&self) -> String {
        match self {
            ModelConfig::Datagram(p) => format!("messages={} interval={}", p.messages, fmt_time(p.interval)),
            ModelConfig::Reliable(p) => format!(
                "messages={} timeout={} max_retries={} backoff={}",
                p.messages,
                fmt_time(p.timeout),
                p.max_retries,
                p.backoff
            ),
            ModelConfig::Rpc(p) => {
                let ops: Vec<String> = p.ops.iter().map(|o| o.to_string()).collect();
                format!(
                    "semantics={} durable_table={} timeout={} max_retries={} work={} working_ack={} reboot={}\n  calls: {}",
                    p.semantics,
                    p.durable_table,
                    fmt_time(p.timeout),
                    p.max_retries,
                    fmt_time(p.work),
                    p.working_ack,
                    fmt_time(p.reboot),
                    ops.join(", ")
                )
            }
            ModelConfig::Afs(p) => p.describe(),
            ModelConfig::Nfs(p) => p.describe(),
            ModelConfig::Integrity(p) => integrity_params(p),
            ModelConfig::PrimaryBackup(p) => {
                let mut s = format!(
                    "replication={} view_service={} writes={} interval={} heartbeat={} timeout={}",
                    p.replication,
                    p.view_service,
                    p.writes,
                    fmt_time(p.interval),
                    fmt_time(p.heartbeat),
                    fmt_time(p.timeout)
                );
                if p.view_service {
                    s.push_str(&format!(" lease={}", fmt_time(p.lease)));
                }
                s.push_str(&format!(" client_timeout={}", fmt_time(p.client_timeout)));
                if let Some(r) = p.reboot {
                    s.push_str(&format!(" reboot={}", fmt_time(r)));
                }
                s
            }
            ModelConfig::Quorum(p) => format!(
                "n={} r={} w={} read_repair={} timeout={} think={}\n  workload: {}",
                p.n,
                p.r,
                p.w,
                p.read_repair,
                fmt_time(p.timeout),
                fmt_time(p.think),
                p.describe_workload()
            ),
        }
    }
}

fn integrity_params(p: &integrity::Params) -> String {
    let data = match &p.data {
        Some(d) => d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        None => "random".to_string(),
    };
    let scrub = p.scrub_at.map_or("never".to_string(), fmt_time);
    format!(
        "blocks={} block_size={} data={data} checksum={} address={}\n  write_at={} read_at={} scrub_at={scrub} timeout={}",
        p.blocks,
        p.block_size,
        p.checksum,
        p.address,
        fmt_time(p.write_at),
        fmt_time(p.read_at),
        fmt_time(p.timeout)
    )
}

/// What a model shows between the intro and the timeline: lab 06's data in
/// decimal, hex and binary. Empty for the other models.
pub fn preface(sc: &Scenario, out: &Outcome, solve: bool) -> String {
    match &sc.model {
        ModelConfig::Integrity(p) => integrity::preface(p, &out.facts, solve),
        _ => String::new(),
    }
}

pub fn fact_names(model: &str) -> &'static [&'static str] {
    match model {
        "datagram" => datagram::FACTS,
        "reliable" => reliable::FACTS,
        "rpc" => rpc::FACTS,
        "afs" => afs::FACTS,
        "nfs" => nfs::FACTS,
        "integrity" => integrity::FACTS,
        "primary-backup" => pb::FACTS,
        "quorum" => quorum::FACTS,
        _ => &[],
    }
}

pub fn run(sc: &Scenario) -> Outcome {
    match &sc.model {
        ModelConfig::Datagram(p) => run_model(p, sc, datagram::facts, datagram::violations, true),
        ModelConfig::Reliable(p) => run_model(p, sc, reliable::facts, reliable::violations, true),
        ModelConfig::Rpc(p) => run_model(p, sc, rpc::facts, rpc::violations, true),
        ModelConfig::Afs(p) => run_model(&afs::Afs::new(p, sc.seed), sc, afs::facts, afs::violations, true),
        ModelConfig::Nfs(p) => run_model(p, sc, nfs::facts, no_violations, true),
        ModelConfig::Integrity(p) => run_model(p, sc, integrity::facts, no_violations, true),
        ModelConfig::PrimaryBackup(p) => run_model(p, sc, pb::facts, pb::violations, true),
        ModelConfig::Quorum(p) => {
            let mut out = run_model(p, sc, quorum::facts, quorum::violations, true);
            quorum::rerun_facts(p, sc, &mut out.facts);
            out
        }
    }
}

/// Runs a scenario only to check its invariants: no facts, no labels. This is
/// what fault exploration runs thousands of times.
pub fn check(sc: &Scenario) -> Vec<Violation> {
    match &sc.model {
        ModelConfig::Datagram(p) => run_model(p, sc, datagram::facts, datagram::violations, false),
        ModelConfig::Reliable(p) => run_model(p, sc, reliable::facts, reliable::violations, false),
        ModelConfig::Rpc(p) => run_model(p, sc, rpc::facts, rpc::violations, false),
        ModelConfig::Afs(p) => run_model(&afs::Afs::new(p, sc.seed), sc, afs::facts, afs::violations, false),
        ModelConfig::Nfs(p) => run_model(p, sc, nfs::facts, no_violations, false),
        ModelConfig::Integrity(p) => run_model(p, sc, integrity::facts, no_violations, false),
        ModelConfig::PrimaryBackup(p) => run_model(p, sc, pb::facts, pb::violations, false),
        ModelConfig::Quorum(p) => run_model(p, sc, quorum::facts, quorum::violations, false),
    }
    .violations
}

/// For models that declare no invariants.
fn no_violations<M: Model>(_: &M, _: &Run<M>) -> Vec<Violation> {
    Vec::new()
}

type FactsFn<M> = fn(&M, &Run<M>) -> Facts;
type CheckFn<M> = fn(&M, &Run<M>) -> Vec<Violation>;

fn run_model<M: Model>(model: &M, sc: &Scenario, facts: FactsFn<M>, check: CheckFn<M>, full: bool) -> Outcome {
    let nodes = model.node_names();
    let mut network = Network::new(sc.seed, nodes.clone(), sc.link.clone());
    network.links = sc.links.clone();
    network.partitions = sc.partitions.clone();
    network.bursts = sc.bursts.clone();
    let mut world = World::new(model, sc.seed, network);
    for fault in &sc.node_faults {
        world.schedule(fault);
    }
    let run = world.run(sc.until);
    let found = if sc.invariants.is_empty() { Vec::new() } else { check(model, &run) };
    let violations =
        sc.invariants.iter().filter_map(|name| found.iter().find(|v| &v.invariant == name).cloned()).collect();
    if !full {
        return Outcome {
            nodes,
            trace: Vec::new(),
            facts: Facts::new(),
            violations,
            end: run.end,
            stats: run.stats,
            outcome_msgs: BTreeSet::new(),
        };
    }
    let facts = facts(model, &run);
    let trace = run.trace.iter().map(|e| erase(model, e)).collect();
    let outcome_msgs = run
        .trace
        .iter()
        .filter_map(|e| match &e.event {
            Event::Send { id, msg, .. } if model.msg_view(msg).1 => Some(*id),
            _ => None,
        })
        .collect();
    Outcome { nodes, trace, facts, violations, end: run.end, stats: run.stats, outcome_msgs }
}

fn erase<M: Model>(model: &M, e: &Entry<M::Msg>) -> Entry<Label> {
    let event = match &e.event {
        Event::Send { from, to, id, level, msg, fate } => {
            Event::Send { from: *from, to: *to, id: *id, level: *level, msg: model.label(msg), fate: *fate }
        }
        Event::Deliver { from, to, id, copy, level, msg } => {
            Event::Deliver { from: *from, to: *to, id: *id, copy: *copy, level: *level, msg: model.label(msg) }
        }
        Event::DropAtDown { from, to, id, copy, level, msg } => {
            Event::DropAtDown { from: *from, to: *to, id: *id, copy: *copy, level: *level, msg: model.label(msg) }
        }
        Event::Timer { node, id, level, label } => {
            Event::Timer { node: *node, id: *id, level: *level, label: label.clone() }
        }
        Event::Crash { node } => Event::Crash { node: *node },
        Event::Restart { node } => Event::Restart { node: *node },
        Event::Partition { index, begin } => Event::Partition { index: *index, begin: *begin },
        Event::Call { node, label } => Event::Call { node: *node, label: label.clone() },
        Event::Return { node, label } => Event::Return { node: *node, label: label.clone() },
        Event::Note { node, level, outcome, label } => {
            Event::Note { node: *node, level: *level, outcome: *outcome, label: label.clone() }
        }
    };
    Entry { time: e.time, event }
}
