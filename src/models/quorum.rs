//! Lab 08: quorum replication. N replicas hold one register. A client writes
//! in two phases: it asks R replicas for their versions, picks a version
//! above the highest it heard, then sends the value to every replica and
//! succeeds once W have stored it. A read asks every replica and returns the
//! highest-versioned value among the first R replies; with read repair it
//! writes that value back to the repliers that were behind.
//!
//! Versions are (counter, client): asking a read quorum before writing makes
//! a write that begins after another was acknowledged pick a higher counter
//! whenever R + W > N, because the two quorums share a replica.

use crate::models::{ModelConfig, Scenario, Violation};
use crate::questions::{Facts, Value};
use crate::sim::{fmt_time, secret, shown, Ctx, Durable, Label, Model, NodeId, Run, Time, TimerId, MS};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Read,
    Write,
}

impl OpKind {
    pub const ACCEPTED: &'static str = "read or write";

    pub fn parse(word: &str) -> Option<OpKind> {
        match word {
            "read" => Some(OpKind::Read),
            "write" => Some(OpKind::Write),
            _ => None,
        }
    }

    fn code(self) -> char {
        match self {
            OpKind::Read => 'r',
            OpKind::Write => 'w',
        }
    }
}

/// Operation `number`'s name: writes are `w3`, reads `rd4` (`r` names replicas).
pub fn op_name(number: u32, kind: OpKind) -> String {
    match kind {
        OpKind::Write => format!("w{number}"),
        OpKind::Read => format!("rd{number}"),
    }
}

/// The value write `w3` writes: every value is unique, so a read's value says
/// which write it saw.
pub fn value_of(write: u32) -> i64 {
    write as i64 * 10
}

#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// Each client's operations, in order.
    Scripted(Vec<Vec<OpKind>>),
    /// Each client draws `operations` operations from its own stream, each a
    /// read with probability `read_ratio`.
    Random { clients: usize, operations: usize, read_ratio: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub n: usize,
    pub r: usize,
    pub w: usize,
    pub read_repair: bool,
    /// How long each phase of an operation waits for its quorum.
    pub timeout: Time,
    /// The longest pause before each operation (drawn uniformly from 0..=think).
    pub think: Time,
    pub workload: Workload,
}

pub const FACTS: &[&str] = &[
    "read_values",
    "read_results",
    "read_versions",
    "write_versions",
    "acked_writes",
    "failed_writes",
    "failed_reads",
    "stale_reads",
    "stale_count",
    "failed_write_seen",
    "repairs",
    "repaired",
    "final_values",
    "final_versions",
    "smallest_r_without_stale",
];

pub const INVARIANTS: crate::models::Invariants = &[
    ("reads-latest", "every read returns the latest write acknowledged before it began"),
    ("no-failed-write-visible", "no read returns the value of a write its client reported as failed"),
];

/// A logical timestamp: a counter, then the writing client's number to break
/// ties. (0, 0) is the initial value's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub counter: u32,
    pub client: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.counter == 0 {
            write!(f, "v0")
        } else {
            write!(f, "v{}.c{}", self.counter, self.client)
        }
    }
}

/// What a replica holds: a version and the write that stored it (0: the
/// initial value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub version: Version,
    pub write: u32,
}

impl Cell {
    pub fn value(&self) -> i64 {
        value_of(self.write)
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value(), self.version)
    }
}

#[derive(Clone, Debug)]
pub enum Msg {
    Ask { op: u32, replica: usize },
    Version { op: u32, replica: usize, version: Version },
    Put { op: u32, replica: usize, cell: Cell },
    Ack { op: u32, replica: usize },
    Get { op: u32, replica: usize },
    Value { op: u32, replica: usize, cell: Cell },
    Repair { op: u32, replica: usize, cell: Cell },
}

pub enum Node {
    Client(Client),
    Replica(Replica),
}

pub struct Client {
    index: usize,
    ops: Vec<OpKind>,
    next: usize,
    /// The counter of this client's last write.
    counter: u32,
    current: Option<Op>,
    /// Finished reads, so replies that come late can still drive repairs.
    reads: BTreeMap<u32, ReadState>,
}

/// What a finished read knows: the newest cell any replica sent it, and what
/// each replica that answered holds, as far as the client knows.
struct ReadState {
    newest: Cell,
    heard: BTreeMap<usize, Cell>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ask,
    Put,
    Get,
}

impl Phase {
    fn code(self) -> u64 {
        match self {
            Phase::Ask => 1,
            Phase::Put => 2,
            Phase::Get => 3,
        }
    }
}

struct Op {
    number: u32,
    kind: OpKind,
    phase: Phase,
    /// The replicas heard from in this phase, and what they said (an ask's
    /// reply is a cell with only a version; an ack's the written cell).
    replies: BTreeMap<usize, Cell>,
    timer: TimerId,
    /// A write's cell once its version is chosen.
    cell: Cell,
}

pub struct Replica {
    index: usize,
    cell: Cell,
}

pub enum Obs {
    Start { op: u32, kind: OpKind },
    Versioned { op: u32, version: Version },
    Acked { op: u32 },
    WriteFailed { op: u32 },
    Returned { op: u32, cell: Cell },
    ReadFailed { op: u32 },
    RepairSent { op: u32, replica: usize },
    Stored { replica: usize, cell: Cell, repair: bool },
}

const THINK: u64 = 0;

fn replica_name(j: usize) -> String {
    format!("r{j}")
}

fn cell_text(cell: &Cell) -> String {
    cell.to_string()
}

impl Params {
    pub fn clients(&self) -> usize {
        match &self.workload {
            Workload::Scripted(s) => s.len(),
            Workload::Random { clients, .. } => *clients,
        }
    }

    fn ops_of(&self, client: usize) -> usize {
        match &self.workload {
            Workload::Scripted(s) => s.get(client).map_or(0, Vec::len),
            Workload::Random { operations, .. } => *operations,
        }
    }

    /// Operations are numbered client by client: c0's first, then c1's.
    fn first_op(&self, client: usize) -> u32 {
        1 + (0..client).map(|c| self.ops_of(c)).sum::<usize>() as u32
    }

    fn replica_node(&self, j: usize) -> NodeId {
        self.clients() + j
    }

    pub fn node_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.clients()).map(|c| format!("c{c}")).collect();
        names.extend((0..self.n).map(replica_name));
        names
    }

    pub fn disk_blocks(&self, _node: NodeId) -> usize {
        0
    }

    /// The scripted operations with their names, for the header.
    pub fn describe_workload(&self) -> String {
        match &self.workload {
            Workload::Scripted(s) => s
                .iter()
                .enumerate()
                .map(|(c, ops)| {
                    let first = self.first_op(c);
                    let names: Vec<String> =
                        ops.iter().enumerate().map(|(k, kind)| op_name(first + k as u32, *kind)).collect();
                    format!("c{c}: {}", names.join(" "))
                })
                .collect::<Vec<_>>()
                .join("; "),
            Workload::Random { clients, operations, read_ratio } => {
                format!("random: {clients} client(s) × {operations} operations, read_ratio {read_ratio}")
            }
        }
    }

    fn pause(&self, ctx: &mut Ctx<Self>) -> Time {
        if self.think % MS == 0 {
            MS * ctx.rng.range_inclusive(0, self.think / MS)
        } else {
            ctx.rng.range_inclusive(0, self.think)
        }
    }

    fn next_op(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        if c.next >= c.ops.len() {
            ctx.note(1, vec![shown(format!("c{}: workload done", c.index))]);
            return;
        }
        let pause = self.pause(ctx);
        ctx.set_timer(pause, THINK);
    }

    fn begin(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        let Some(kind) = c.ops.get(c.next).copied() else { return };
        let number = self.first_op(c.index) + c.next as u32;
        c.next += 1;
        ctx.persist("next", c.next.to_string());
        ctx.observe(Obs::Start { op: number, kind });
        let name = op_name(number, kind);
        let phase = match kind {
            OpKind::Write => {
                ctx.call(vec![shown(format!("call {name}: write {}", value_of(number)))]);
                for j in 0..self.n {
                    ctx.send(self.replica_node(j), Msg::Ask { op: number, replica: j });
                }
                Phase::Ask
            }
            OpKind::Read => {
                ctx.call(vec![shown(format!("call {name}: read"))]);
                for j in 0..self.n {
                    ctx.send(self.replica_node(j), Msg::Get { op: number, replica: j });
                }
                Phase::Get
            }
        };
        let timer = ctx.set_timer(self.timeout, timer_tag(number, phase));
        c.current = Some(Op { number, kind, phase, replies: BTreeMap::new(), timer, cell: Cell::default() });
    }

    /// Finishes the current operation and schedules the next.
    fn finish(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        if let Some(op) = c.current.take() {
            ctx.cancel_timer(op.timer);
        }
        self.next_op(c, ctx);
    }

    fn on_client_message(&self, c: &mut Client, msg: Msg, ctx: &mut Ctx<Self>) {
        let (op_number, replica, phase, cell) = match msg {
            Msg::Version { op, replica, version } => (op, replica, Phase::Ask, Cell { version, write: 0 }),
            Msg::Ack { op, replica } => (op, replica, Phase::Put, Cell::default()),
            Msg::Value { op, replica, cell } => (op, replica, Phase::Get, cell),
            _ => return,
        };
        let rname = replica_name(replica);
        let current = c.current.as_mut().filter(|o| o.number == op_number && o.phase == phase);
        let Some(op) = current else {
            self.late_reply(c, op_number, replica, phase, cell, ctx);
            return;
        };
        let name = op_name(op.number, op.kind);
        if op.replies.insert(replica, cell).is_some() {
            ctx.outcome(1, vec![shown(format!("{name}: {rname} again (a copy): ignored"))]);
            return;
        }
        let need = if phase == Phase::Put { self.w } else { self.r };
        let what = match phase {
            Phase::Ask => "version",
            Phase::Put => "ack",
            Phase::Get => "reply",
        };
        ctx.outcome(1, vec![shown(format!("{name}: {what} {}/{need} ({rname})", op.replies.len()))]);
        if op.replies.len() < need {
            return;
        }
        match phase {
            Phase::Ask => {
                let highest = op.replies.values().map(|c| c.version).max().unwrap_or_default();
                // Above the client's own last counter too, so no two of its
                // writes ever share a version, even when a quorum missed one.
                let counter = highest.counter.max(c.counter).saturating_add(1);
                c.counter = counter;
                ctx.persist("counter", counter.to_string());
                let version = Version { counter, client: c.index as u32 };
                op.cell = Cell { version, write: op.number };
                ctx.observe(Obs::Versioned { op: op.number, version });
                ctx.outcome(0, vec![shown(format!("{name} writes as {version} (saw {highest})"))]);
                ctx.cancel_timer(op.timer);
                op.phase = Phase::Put;
                op.replies.clear();
                for j in 0..self.n {
                    ctx.send(self.replica_node(j), Msg::Put { op: op.number, replica: j, cell: op.cell });
                }
                op.timer = ctx.set_timer(self.timeout, timer_tag(op.number, Phase::Put));
            }
            Phase::Put => {
                let by: Vec<String> = op.replies.keys().map(|j| replica_name(*j)).collect();
                ctx.observe(Obs::Acked { op: op.number });
                ctx.ret(vec![shown(format!("{name} done: ")), secret(format!("acked by {}", by.join(", ")))]);
                self.finish(c, ctx);
            }
            Phase::Get => {
                let (number, replies) = (op.number, op.replies.clone());
                // Versions are unique to a write, so the newest is unambiguous.
                let best = replies.values().copied().max_by_key(|c| c.version).unwrap_or_default();
                ctx.observe(Obs::Returned { op: number, cell: best });
                ctx.ret(vec![shown(format!("{name} returns ")), secret(cell_text(&best))]);
                let mut read = ReadState { newest: best, heard: replies };
                self.repair_behind(number, &mut read, ctx);
                c.reads.insert(number, read);
                self.finish(c, ctx);
            }
        }
    }

    /// With read repair: sends the newest cell the read has seen to every
    /// replica that answered with an older one.
    fn repair_behind(&self, op: u32, read: &mut ReadState, ctx: &mut Ctx<Self>) {
        if !self.read_repair {
            return;
        }
        let newest = read.newest;
        for (j, had) in read.heard.iter_mut() {
            if had.version < newest.version {
                ctx.observe(Obs::RepairSent { op, replica: *j });
                ctx.send(self.replica_node(*j), Msg::Repair { op, replica: *j, cell: newest });
                *had = newest;
            }
        }
    }

    /// A reply for an operation that has moved on. A finished read still
    /// learns from it: a newer cell means the replicas it heard before are
    /// behind, an older one that this replica is. Anything else is ignored.
    fn late_reply(&self, c: &mut Client, op: u32, replica: usize, phase: Phase, cell: Cell, ctx: &mut Ctx<Self>) {
        let rname = replica_name(replica);
        if let (Phase::Get, true, Some(read)) = (phase, self.read_repair, c.reads.get_mut(&op)) {
            if read.heard.insert(replica, cell).is_none() {
                if cell.version > read.newest.version {
                    read.newest = cell;
                }
                let behind: Vec<String> = read
                    .heard
                    .iter()
                    .filter(|(_, had)| had.version < read.newest.version)
                    .map(|(j, _)| replica_name(*j))
                    .collect();
                let then = if behind.is_empty() { String::new() } else { format!(": repair {}", behind.join(", ")) };
                ctx.outcome(1, vec![shown(format!("rd{op}: late {cell} from {rname}{then}"))]);
                self.repair_behind(op, read, ctx);
                return;
            }
        }
        let kind = if phase == Phase::Get { OpKind::Read } else { OpKind::Write };
        ctx.outcome(1, vec![shown(format!("{}: late reply from {rname}: ignored", op_name(op, kind)))]);
    }

    fn on_replica_message(&self, s: &mut Replica, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        let me = s.index;
        match msg {
            Msg::Ask { op, .. } => ctx.send(from, Msg::Version { op, replica: me, version: s.cell.version }),
            Msg::Get { op, .. } => ctx.send(from, Msg::Value { op, replica: me, cell: s.cell }),
            Msg::Put { op, cell, .. } => {
                self.store(s, cell, false, ctx);
                ctx.send(from, Msg::Ack { op, replica: me });
            }
            Msg::Repair { cell, .. } => self.store(s, cell, true, ctx),
            _ => {}
        }
    }

    /// Keeps a cell only if it is newer than what the replica holds.
    fn store(&self, s: &mut Replica, cell: Cell, repair: bool, ctx: &mut Ctx<Self>) {
        let how = if repair { "repair" } else { "put" };
        if cell.version <= s.cell.version {
            let why = if cell.version == s.cell.version { "already held" } else { "older: ignored" };
            ctx.outcome(1, vec![shown(format!("{how} {}: {why}", cell.version))]);
            return;
        }
        ctx.outcome(1, vec![shown(format!("{how}: store {} (was {})", cell_text(&cell), cell_text(&s.cell)))]);
        s.cell = cell;
        ctx.persist("cell", format!("{} {} {}", cell.version.counter, cell.version.client, cell.write));
        ctx.observe(Obs::Stored { replica: s.index, cell, repair });
        ctx.outcome(4, vec![shown(format!("holds {}", cell_text(&cell)))]);
    }
}

fn timer_tag(op: u32, phase: Phase) -> u64 {
    ((op as u64) << 2) | phase.code()
}

fn parse_cell(text: &str) -> Option<Cell> {
    let parts: Vec<u32> = text.split(' ').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    match parts.as_slice() {
        [counter, client, write] => {
            Some(Cell { version: Version { counter: *counter, client: *client }, write: *write })
        }
        _ => None,
    }
}

impl Model for Params {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        Params::node_names(self)
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        let clients = self.clients();
        if node >= clients {
            ctx.persist("cell", "0 0 0");
            return Node::Replica(Replica { index: node - clients, cell: Cell::default() });
        }
        let ops: Vec<OpKind> = match &self.workload {
            Workload::Scripted(s) => s[node].clone(),
            Workload::Random { operations, read_ratio, .. } => (0..*operations)
                .map(|_| if ctx.rng.chance(*read_ratio) { OpKind::Read } else { OpKind::Write })
                .collect(),
        };
        // Drawn ops are durable, so a restarted client goes on with the same workload.
        ctx.persist("ops", ops.iter().map(|k| k.code()).collect::<String>());
        ctx.persist("next", "0");
        let mut c = Client { index: node, ops, next: 0, counter: 0, current: None, reads: BTreeMap::new() };
        self.next_op(&mut c, ctx);
        Node::Client(c)
    }

    fn on_message(&self, state: &mut Node, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match state {
            Node::Client(c) => self.on_client_message(c, msg, ctx),
            Node::Replica(s) => self.on_replica_message(s, from, msg, ctx),
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        let Node::Client(c) = state else { return };
        if tag == THINK {
            self.begin(c, ctx);
            return;
        }
        let Some(op) = c.current.as_ref().filter(|o| timer_tag(o.number, o.phase) == tag) else { return };
        let name = op_name(op.number, op.kind);
        let (got, need, what) = match op.phase {
            Phase::Ask => (op.replies.len(), self.r, "versions"),
            Phase::Put => (op.replies.len(), self.w, "acks"),
            Phase::Get => (op.replies.len(), self.r, "replies"),
        };
        let number = op.number;
        ctx.observe(if op.kind == OpKind::Write {
            Obs::WriteFailed { op: number }
        } else {
            Obs::ReadFailed { op: number }
        });
        ctx.ret(vec![shown(format!("{name} FAILS: ")), secret(format!("{got} of {need} {what}"))]);
        c.current = None;
        self.next_op(c, ctx);
    }

    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        let clients = self.clients();
        if node >= clients {
            let cell = durable.get("cell").and_then(|t| parse_cell(t)).unwrap_or_default();
            ctx.note(0, vec![shown("reboot: kept "), secret(cell_text(&cell)), shown(" from disk")]);
            return Node::Replica(Replica { index: node - clients, cell });
        }
        let ops: Vec<OpKind> = durable
            .get("ops")
            .map(|t| t.chars().map(|ch| if ch == 'r' { OpKind::Read } else { OpKind::Write }).collect())
            .unwrap_or_default();
        let next: usize = durable.get("next").and_then(|t| t.parse().ok()).unwrap_or(0);
        let counter: u32 = durable.get("counter").and_then(|t| t.parse().ok()).unwrap_or(0);
        ctx.note(0, vec![shown("reboot: any operation in progress is abandoned")]);
        let mut c = Client { index: node, ops, next, counter, current: None, reads: BTreeMap::new() };
        self.next_op(&mut c, ctx);
        Node::Client(c)
    }

    fn label(&self, msg: &Msg) -> Label {
        let r = |j: &usize| replica_name(*j);
        match msg {
            Msg::Ask { op, replica } => vec![shown(format!("{}: w{op} version?", r(replica)))],
            Msg::Version { op, replica, version } => {
                vec![shown(format!("{}: w{op} sees ", r(replica))), secret(version.to_string())]
            }
            Msg::Put { op, replica, cell } => {
                vec![shown(format!("{}: put w{op} ", r(replica))), secret(cell.version.to_string())]
            }
            Msg::Ack { op, replica } => vec![shown(format!("{}: ack w{op}", r(replica)))],
            Msg::Get { op, replica } => vec![shown(format!("{}: get rd{op}", r(replica)))],
            Msg::Value { op, replica, cell } => {
                vec![shown(format!("{}: rd{op} = ", r(replica))), secret(cell_text(cell))]
            }
            Msg::Repair { replica, cell, .. } => {
                vec![shown(format!("{}: repair ", r(replica))), secret(cell_text(cell))]
            }
        }
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        if tag == THINK {
            return (2, vec![shown("pause over: next operation")]);
        }
        let op = (tag >> 2) as u32;
        let name = if tag & 3 == Phase::Get.code() { op_name(op, OpKind::Read) } else { op_name(op, OpKind::Write) };
        (2, vec![shown(format!("timeout {name}"))])
    }
}

/// One operation as the run saw it. `start` and `end` are positions in the
/// run's observations, so "before" is exact even at equal times.
#[derive(Clone, Debug)]
struct OpRec {
    kind: OpKind,
    start: Option<(usize, Time)>,
    end: Option<(usize, Time, End)>,
    version: Option<Version>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Acked,
    Failed,
    Returned(Cell),
}

fn records(p: &Params, run: &Run<Params>) -> BTreeMap<u32, OpRec> {
    let mut ops: BTreeMap<u32, OpRec> = BTreeMap::new();
    if let Workload::Scripted(s) = &p.workload {
        for (c, list) in s.iter().enumerate() {
            for (k, kind) in list.iter().enumerate() {
                let rec = OpRec { kind: *kind, start: None, end: None, version: None };
                ops.insert(p.first_op(c) + k as u32, rec);
            }
        }
    }
    for (i, (t, _, obs)) in run.observations.iter().enumerate() {
        let blank = |kind| OpRec { kind, start: None, end: None, version: None };
        match obs {
            Obs::Start { op, kind } => ops.entry(*op).or_insert_with(|| blank(*kind)).start = Some((i, *t)),
            Obs::Versioned { op, version } => {
                if let Some(r) = ops.get_mut(op) {
                    r.version = Some(*version);
                }
            }
            Obs::Acked { op } | Obs::WriteFailed { op } | Obs::ReadFailed { op } | Obs::Returned { op, .. } => {
                let end = match obs {
                    Obs::Acked { .. } => End::Acked,
                    Obs::Returned { cell, .. } => End::Returned(*cell),
                    _ => End::Failed,
                };
                if let Some(r) = ops.get_mut(op) {
                    r.end = Some((i, *t, end));
                }
            }
            Obs::RepairSent { .. } | Obs::Stored { .. } => {}
        }
    }
    ops
}

/// A stale read: it returned the value of `returned` (0: the initial value)
/// although `newer` had been acknowledged before it began, and `newer` began
/// after `returned` was acknowledged: the value had already been overwritten.
/// A failed or unfinished write has no acknowledgement, so it may have taken
/// effect at any time: returning its value is never stale.
struct Stale {
    read: u32,
    returned: u32,
    newer: u32,
}

fn stale_reads(ops: &BTreeMap<u32, OpRec>) -> Vec<Stale> {
    let acked = |n: u32| match ops.get(&n) {
        Some(OpRec { end: Some((i, _, End::Acked)), .. }) => Some(*i),
        _ => None,
    };
    let mut out = Vec::new();
    for (n, rec) in ops {
        let (Some((began, _)), Some((_, _, End::Returned(cell)))) = (rec.start, rec.end) else { continue };
        let returned_ack = if cell.write == 0 { Some(0) } else { acked(cell.write) };
        let Some(returned_ack) = returned_ack else { continue };
        // The newest overwriting write by acknowledgement, to name in messages.
        let newer = ops
            .iter()
            .filter_map(|(m, w)| {
                let ack = acked(*m)?;
                let (start, _) = w.start?;
                let overwrites = cell.write == 0 || start > returned_ack;
                (*m != cell.write && ack < began && overwrites).then_some((ack, *m))
            })
            .max();
        if let Some((_, newer)) = newer {
            out.push(Stale { read: *n, returned: cell.write, newer });
        }
    }
    out
}

fn describe_stale(s: &Stale, ops: &BTreeMap<u32, OpRec>) -> String {
    let at = |n: u32, end: bool| {
        ops.get(&n)
            .and_then(|r| if end { r.end.map(|e| e.1) } else { r.start.map(|s| s.1) })
            .map_or("?".to_string(), fmt_time)
    };
    let what = if s.returned == 0 {
        "the initial value 0".to_string()
    } else {
        format!("{} (w{}'s value)", value_of(s.returned), s.returned)
    };
    format!(
        "rd{} returned {what}, but w{} ({}) was acknowledged at {}, before rd{} began at {}",
        s.read,
        s.newer,
        value_of(s.newer),
        at(s.newer, true),
        s.read,
        at(s.read, false)
    )
}

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let ops = records(p, run);
    let stale = stale_reads(&ops);
    let reads: Vec<(u32, &OpRec)> = ops.iter().filter(|(_, r)| r.kind == OpKind::Read).map(|(n, r)| (*n, r)).collect();
    let writes: Vec<(u32, &OpRec)> =
        ops.iter().filter(|(_, r)| r.kind == OpKind::Write).map(|(n, r)| (*n, r)).collect();
    let returned = |r: &OpRec| match r.end {
        Some((_, _, End::Returned(cell))) => Some(cell),
        _ => None,
    };
    let failed = |r: &OpRec| matches!(r.end, Some((_, _, End::Failed)));
    let rname = |n: u32| op_name(n, OpKind::Read);
    let wname = |n: u32| op_name(n, OpKind::Write);
    let failed_writes: BTreeSet<u32> = writes.iter().filter(|(_, r)| failed(r)).map(|(n, _)| *n).collect();

    let mut f = Facts::new();
    f.insert(
        "read_values".into(),
        Value::Map(
            reads
                .iter()
                .map(|(n, r)| (rname(*n), returned(r).map_or(Value::Null, |c| Value::Int(c.value()))))
                .collect(),
        ),
    );
    f.insert(
        "read_results".into(),
        Value::List(
            reads
                .iter()
                .map(|(_, r)| match (returned(r), failed(r)) {
                    (Some(c), _) => Value::Int(c.value()),
                    (None, true) => Value::text("failed"),
                    (None, false) => Value::text("unfinished"),
                })
                .collect(),
        ),
    );
    f.insert(
        "read_versions".into(),
        Value::Map(
            reads
                .iter()
                .map(|(n, r)| (rname(*n), returned(r).map_or(Value::Null, |c| Value::text(c.version.to_string()))))
                .collect(),
        ),
    );
    f.insert(
        "write_versions".into(),
        Value::Map(
            writes
                .iter()
                .map(|(n, r)| (wname(*n), r.version.map_or(Value::Null, |v| Value::text(v.to_string()))))
                .collect(),
        ),
    );
    f.insert(
        "acked_writes".into(),
        Value::texts(writes.iter().filter(|(_, r)| matches!(r.end, Some((_, _, End::Acked)))).map(|(n, _)| wname(*n))),
    );
    f.insert("failed_writes".into(), Value::texts(failed_writes.iter().map(|n| wname(*n))));
    f.insert("failed_reads".into(), Value::texts(reads.iter().filter(|(_, r)| failed(r)).map(|(n, _)| rname(*n))));
    f.insert("stale_reads".into(), Value::texts(stale.iter().map(|s| rname(s.read))));
    f.insert("stale_count".into(), Value::Int(stale.len() as i64));
    f.insert(
        "failed_write_seen".into(),
        Value::texts(
            reads
                .iter()
                .filter(|(_, r)| returned(r).is_some_and(|c| failed_writes.contains(&c.write)))
                .map(|(n, _)| rname(*n)),
        ),
    );
    let mut repairs = 0;
    let mut repaired = BTreeSet::new();
    for (_, _, obs) in &run.observations {
        match obs {
            Obs::RepairSent { .. } => repairs += 1,
            Obs::Stored { replica, repair: true, .. } => {
                repaired.insert(*replica);
            }
            _ => {}
        }
    }
    f.insert("repairs".into(), Value::Int(repairs));
    f.insert("repaired".into(), Value::texts(repaired.iter().map(|j| replica_name(*j))));
    let clients = p.clients();
    let finals: Vec<(String, Cell)> = (0..p.n)
        .map(|j| {
            let cell = run.durable.get(clients + j).and_then(|d| d.get("cell")).and_then(|t| parse_cell(t));
            (replica_name(j), cell.unwrap_or_default())
        })
        .collect();
    f.insert(
        "final_values".into(),
        Value::Map(finals.iter().map(|(k, c)| (k.clone(), Value::Int(c.value()))).collect()),
    );
    f.insert(
        "final_versions".into(),
        Value::Map(finals.iter().map(|(k, c)| (k.clone(), Value::text(c.version.to_string()))).collect()),
    );
    f
}

/// Adds the facts that need other runs of the same scenario: the smallest R
/// (with W, N and everything else unchanged) whose run has no stale read.
/// Runs are deterministic, so this is computed, not guessed.
pub fn rerun_facts(p: &Params, sc: &Scenario, facts: &mut Facts) {
    let smallest = (1..=p.n).find(|&r| {
        if r == p.r {
            return facts.get("stale_count") == Some(&Value::Int(0));
        }
        let model = ModelConfig::Quorum(Params { r, ..p.clone() });
        let other = Scenario { model, invariants: vec!["reads-latest".into()], ..sc.clone() };
        super::check(&other).is_empty()
    });
    facts.insert("smallest_r_without_stale".into(), smallest.map_or(Value::Null, |r| Value::Int(r as i64)));
}

pub fn violations(p: &Params, run: &Run<Params>) -> Vec<Violation> {
    let ops = records(p, run);
    let mut out = Vec::new();
    let end_time = |n: u32| ops.get(&n).and_then(|r| r.end).map_or(0, |e| e.1);
    // The first stale read to return.
    let stale = stale_reads(&ops);
    if let Some(s) = stale.iter().min_by_key(|s| ops.get(&s.read).and_then(|r| r.end).map(|e| e.0)) {
        out.push(Violation { invariant: "reads-latest".into(), time: end_time(s.read), what: describe_stale(s, &ops) });
    }
    // The break is the later of the read's return and the write's failure.
    let seen = ops
        .iter()
        .filter_map(|(n, r)| match r.end {
            Some((_, t, End::Returned(cell))) if cell.write != 0 => {
                let w = ops.get(&cell.write)?;
                matches!(w.end, Some((_, _, End::Failed))).then(|| (t.max(end_time(cell.write)), *n, cell.write))
            }
            _ => None,
        })
        .min();
    if let Some((time, read, write)) = seen {
        let what = format!("rd{read} returned {} from w{write}, which its client reported as failed", value_of(write));
        out.push(Violation { invariant: "no-failed-write-visible".into(), time, what });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Latency, LinkConfig, Network, NodeFault, Partition, World};

    fn params(n: usize, r: usize, w: usize, workload: &[&str]) -> Params {
        let scripted = workload
            .iter()
            .map(|s| s.split_whitespace().map(|w| OpKind::parse(w).expect("read or write")).collect())
            .collect();
        Params { n, r, w, read_repair: false, timeout: 50 * MS, think: 0, workload: Workload::Scripted(scripted) }
    }

    fn constant(ms: Time) -> LinkConfig {
        LinkConfig { latency: Latency::Constant(ms * MS), drop: 0.0, duplicate: 0.0 }
    }

    fn run_with(p: &Params, net: Network, faults: &[NodeFault]) -> Run<Params> {
        let mut world = World::new(p, 1, net);
        for f in faults {
            world.schedule(f);
        }
        world.run(10_000 * MS)
    }

    fn run(p: &Params, link: LinkConfig) -> (Run<Params>, Facts) {
        let net = Network::new(1, p.node_names(), link);
        let run = run_with(p, net, &[]);
        let f = facts(p, &run);
        (run, f)
    }

    #[test]
    fn versions_order_by_counter_then_client() {
        let a = Version { counter: 2, client: 0 };
        let b = Version { counter: 1, client: 5 };
        let c = Version { counter: 2, client: 1 };
        assert!(a > b && c > a && Version::default() < b);
        assert_eq!(a.to_string(), "v2.c0");
        assert_eq!(Version::default().to_string(), "v0");
        assert_eq!(parse_cell("3 1 7"), Some(Cell { version: Version { counter: 3, client: 1 }, write: 7 }));
        assert_eq!(parse_cell("3 x 7"), None);
    }

    #[test]
    fn operations_are_numbered_client_by_client() {
        let p = params(3, 2, 2, &["write read", "read write write"]);
        assert_eq!(p.node_names(), ["c0", "c1", "r0", "r1", "r2"]);
        assert_eq!(p.describe_workload(), "c0: w1 rd2; c1: rd3 w4 w5");
    }

    #[test]
    fn a_clean_network_reads_back_what_was_written() {
        // Write then read, 10ms each way: the write asks versions (20ms),
        // puts (20ms), and the read then sees it everywhere.
        let p = params(3, 2, 2, &["write read write read"]);
        let (_, f) = run(&p, constant(10));
        assert_eq!(f["read_results"], Value::List(vec![Value::Int(10), Value::Int(30)]));
        assert_eq!(f["write_versions"].to_string(), "w1=v1.c0, w3=v2.c0");
        assert_eq!(f["stale_reads"], Value::List(vec![]));
        assert_eq!(f["final_values"].to_string(), "r0=30, r1=30, r2=30");
    }

    #[test]
    fn a_replica_keeps_only_newer_versions_and_acks_anyway() {
        let p = params(1, 1, 1, &["read"]);
        let mut s = Replica { index: 0, cell: Cell { version: Version { counter: 2, client: 1 }, write: 4 } };
        let (mut rng, disk, mut next) = (crate::sim::Stream::new(1, "t"), detached_disk(), 0);
        let mut ctx = Ctx::<Params>::detached(0, 3, &mut rng, &disk, &mut next);
        let older = Cell { version: Version { counter: 1, client: 3 }, write: 9 };
        p.on_replica_message(&mut s, 0, Msg::Put { op: 9, replica: 0, cell: older }, &mut ctx);
        assert_eq!(s.cell.write, 4, "an older put is not stored");
        let newer = Cell { version: Version { counter: 3, client: 0 }, write: 7 };
        p.on_replica_message(&mut s, 0, Msg::Put { op: 7, replica: 0, cell: newer }, &mut ctx);
        assert_eq!(s.cell, newer);
        let acks =
            ctx.effects().iter().filter(|e| matches!(e, crate::sim::Effect::Send { msg: Msg::Ack { .. }, .. })).count();
        assert_eq!(acks, 2, "both puts are acknowledged");
    }

    fn sent(ctx: &Ctx<Params>) -> Vec<(NodeId, String)> {
        ctx.effects()
            .iter()
            .filter_map(|e| match e {
                crate::sim::Effect::Send { to, msg } => {
                    Some((*to, crate::sim::plain(&params(1, 1, 1, &["read"]).label(msg))))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_write_versions_itself_above_all_it_heard_and_its_own_last_write() {
        // Clients c0, c1; replicas are nodes 2, 3, 4. c1's first op is w2.
        let p = params(3, 2, 2, &["write", "write"]);
        let (mut rng, disk, mut next) = (crate::sim::Stream::new(1, "t"), detached_disk(), 0);
        let mut ctx = Ctx::<Params>::detached(0, 1, &mut rng, &disk, &mut next);
        let mut c =
            Client { index: 1, ops: vec![OpKind::Write], next: 0, counter: 5, current: None, reads: BTreeMap::new() };
        p.begin(&mut c, &mut ctx);
        assert_eq!(
            sent(&ctx),
            [(2, "r0: w2 version?".into()), (3, "r1: w2 version?".into()), (4, "r2: w2 version?".into())]
        );
        let v = |counter, client| Version { counter, client };
        p.on_client_message(&mut c, Msg::Version { op: 2, replica: 0, version: v(3, 0) }, &mut ctx);
        assert_eq!(sent(&ctx).len(), 3, "one version of R = 2 is not enough");
        p.on_client_message(&mut c, Msg::Version { op: 2, replica: 2, version: v(2, 1) }, &mut ctx);
        // Its own last counter (5) beats the 3 it heard.
        assert_eq!(
            &sent(&ctx)[3..],
            [(2, "r0: put w2 v6.c1".into()), (3, "r1: put w2 v6.c1".into()), (4, "r2: put w2 v6.c1".into())]
        );
        assert_eq!(c.counter, 6);
        p.on_client_message(&mut c, Msg::Ack { op: 2, replica: 1 }, &mut ctx);
        p.on_client_message(&mut c, Msg::Ack { op: 2, replica: 1 }, &mut ctx);
        assert!(c.current.is_some(), "a network copy of an ack does not count twice");
        p.on_client_message(&mut c, Msg::Ack { op: 2, replica: 0 }, &mut ctx);
        assert!(c.current.is_none(), "W = 2 acks: done");
        let acked = ctx.effects().iter().any(|e| matches!(e, crate::sim::Effect::Observe(Obs::Acked { op: 2 })));
        assert!(acked);
    }

    #[test]
    fn a_read_returns_the_newest_of_r_replies_and_repairs_the_older_repliers() {
        let p = Params { read_repair: true, ..params(3, 2, 2, &["read"]) };
        let (mut rng, disk, mut next) = (crate::sim::Stream::new(1, "t"), detached_disk(), 0);
        let mut ctx = Ctx::<Params>::detached(0, 0, &mut rng, &disk, &mut next);
        let mut c =
            Client { index: 0, ops: vec![OpKind::Read], next: 0, counter: 0, current: None, reads: BTreeMap::new() };
        p.begin(&mut c, &mut ctx);
        let old = Cell { version: Version { counter: 1, client: 0 }, write: 4 };
        let new = Cell { version: Version { counter: 2, client: 1 }, write: 7 };
        p.on_client_message(&mut c, Msg::Value { op: 1, replica: 2, cell: old }, &mut ctx);
        p.on_client_message(&mut c, Msg::Value { op: 1, replica: 0, cell: new }, &mut ctx);
        let returned = ctx.effects().iter().find_map(|e| match e {
            crate::sim::Effect::Observe(Obs::Returned { cell, .. }) => Some(*cell),
            _ => None,
        });
        assert_eq!(returned, Some(new));
        assert_eq!(&sent(&ctx)[3..], [(3, "r2: repair 70 v2.c1".into())]);
        // The third reply comes late and is behind too: it is repaired as well.
        p.on_client_message(&mut c, Msg::Value { op: 1, replica: 1, cell: Cell::default() }, &mut ctx);
        assert_eq!(&sent(&ctx)[4..], [(2, "r1: repair 70 v2.c1".into())]);
    }

    fn detached_disk() -> crate::sim::Disk {
        crate::sim::Disk::new(0, crate::sim::Stream::new(1, "d"))
    }

    /// r2 is down while w1 is written and comes back with the initial value;
    /// it is also the replica closest to c0, so it answers a read first.
    fn r2_missed_w1(p: &Params) -> (Network, Vec<NodeFault>) {
        let mut net = Network::new(1, p.node_names(), constant(10));
        net.links.push(((0, 3), constant(1)));
        net.links.push(((3, 0), constant(1)));
        (net, vec![NodeFault::Crash { node: 3, at: 0 }, NodeFault::Restart { node: 3, at: 35 * MS }])
    }

    fn scenario(p: &Params) -> Scenario {
        let (net, faults) = r2_missed_w1(p);
        Scenario {
            seed: 1,
            model: ModelConfig::Quorum(p.clone()),
            link: net.default.clone(),
            links: net.links.clone(),
            partitions: Vec::new(),
            bursts: Vec::new(),
            node_faults: faults,
            until: 10_000 * MS,
            invariants: vec!["reads-latest".into(), "no-failed-write-visible".into()],
        }
    }

    #[test]
    fn r_plus_w_at_most_n_reads_stale_and_r_plus_w_above_n_does_not() {
        // w1 is acked at 40ms by r0 and r1; rd2 begins then and r2 answers first.
        let p = params(3, 1, 2, &["write read"]);
        let (net, faults) = r2_missed_w1(&p);
        let run = run_with(&p, net, &faults);
        let f = facts(&p, &run);
        assert_eq!(f["read_values"].to_string(), "rd2=0");
        assert_eq!(f["stale_reads"], Value::texts(["rd2"]));
        let v = violations(&p, &run);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].invariant, "reads-latest");
        assert_eq!(v[0].time, 42 * MS);
        assert_eq!(
            v[0].what,
            "rd2 returned the initial value 0, but w1 (10) was acknowledged at 40ms, before rd2 began at 40ms"
        );

        // R = 2: the read also waits for r0 or r1, which hold w1.
        let p2 = Params { r: 2, ..p.clone() };
        let (net, faults) = r2_missed_w1(&p2);
        let f = facts(&p2, &run_with(&p2, net, &faults));
        assert_eq!(f["read_values"].to_string(), "rd2=10");
        assert_eq!(f["stale_count"], Value::Int(0));

        // The re-runs find that R = 2 is the smallest R without a stale read.
        let out = crate::models::run(&scenario(&p));
        assert_eq!(out.facts["smallest_r_without_stale"], Value::Int(2));
        assert_eq!(out.violations.len(), 1);
    }

    #[test]
    fn read_repair_writes_the_newest_value_back_to_a_stale_replica() {
        let reads = ["read"; 12].join(" ");
        let script = format!("write {reads}");
        let plain = params(3, 1, 2, &[script.as_str()]);
        let repairing = Params { read_repair: true, ..plain.clone() };
        let last = |p: &Params| {
            let (net, faults) = r2_missed_w1(p);
            let f = facts(p, &run_with(p, net, &faults));
            let Value::List(results) = &f["read_results"] else { panic!("{f:?}") };
            (results.first().cloned(), results.last().cloned(), f)
        };
        // Without repair r2 keeps answering first with the initial value.
        let (first, end, f) = last(&plain);
        assert_eq!((first, end), (Some(Value::Int(0)), Some(Value::Int(0))));
        assert_eq!(f["repairs"], Value::Int(0));
        // With it, rd2's late replies (60ms) show r2 is behind; once the
        // repair lands, reads return w1's value.
        let (first, end, f) = last(&repairing);
        assert_eq!((first, end), (Some(Value::Int(0)), Some(Value::Int(10))));
        assert_eq!(f["repaired"], Value::texts(["r2"]));
        assert_eq!(f["final_values"].to_string(), "r0=10, r1=10, r2=10");
    }

    #[test]
    fn a_partition_leaving_fewer_than_w_replicas_fails_the_write_and_it_may_still_land() {
        let p = Params { think: 0, ..params(3, 1, 2, &["write write"]) };
        let mut net = Network::new(1, p.node_names(), constant(10));
        // c0 can reach r0 only from the start.
        net.partitions.push(Partition { from: vec![0, 1], to: vec![2, 3], two_way: true, at: 0, until: 10_000 * MS });
        let f = facts(&p, &run_with(&p, net, &[]));
        assert_eq!(f["failed_writes"], Value::texts(["w1", "w2"]));
        assert_eq!(f["acked_writes"], Value::List(vec![]));
        // r0 stored both though the client reports failure.
        assert_eq!(f["final_values"].to_string(), "r0=20, r1=0, r2=0");
    }

    #[test]
    fn a_crashed_replica_keeps_its_value_and_a_crashed_client_goes_on() {
        let p = Params { think: 0, ..params(3, 2, 2, &["write read write"]) };
        let net = Network::new(1, p.node_names(), constant(10));
        // r0 crashes after storing w1, restarts later; c0 crashes mid-read.
        let faults = [
            NodeFault::Crash { node: 1, at: 35 * MS },
            NodeFault::Restart { node: 1, at: 200 * MS },
            NodeFault::Crash { node: 0, at: 45 * MS },
            NodeFault::Restart { node: 0, at: 60 * MS },
        ];
        let run = run_with(&p, net, &faults);
        let f = facts(&p, &run);
        assert_eq!(f["acked_writes"], Value::texts(["w1", "w3"]));
        assert_eq!(f["read_results"], Value::texts(["unfinished"]));
        assert_eq!(f["final_values"].to_string(), "r0=10, r1=30, r2=30", "r0 was down for w3");
    }
}
