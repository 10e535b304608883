//! Lab 06: data integrity (OSTEP 45). A host keeps a file of small blocks on
//! its own disk and mirrors every write to a second disk on the node
//! `mirror`: a RAID-1 pair whose second half sits across a cable. Beside each
//! block the host stores a checksum and the block's own address. The app's
//! reads verify both and, when the host's copy fails, read the mirror's and
//! repair the bad one. A scrubber walks every block of both copies at a set
//! time. Neither disk ever checks anything itself.

use super::checksum::{self, Algo};
use crate::questions::{Facts, Value};
use crate::sim::{
    secret, shown, Corruption, Ctx, Damage, DiskError, Durable, Label, Model, NodeId, Run, Stored, Stream, Time,
    TimerId,
};
use std::collections::BTreeMap;

pub const HOST: NodeId = 0;
pub const MIRROR: NodeId = 1;

const WRITE: u64 = 1;
const READ: u64 = 2;
const SCRUB: u64 = 3;
/// A wait for the mirror's answer: `TIMEOUT | request id`.
const TIMEOUT: u64 = 1 << 32;

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub blocks: usize,
    pub block_size: usize,
    /// The file's leading bytes, filling blocks from b0 on; blocks they do
    /// not reach hold random bytes.
    pub data: Option<Vec<u8>>,
    pub checksum: Algo,
    /// Store each block's own address beside it, and check it on reads.
    pub address: bool,
    pub write_at: Time,
    pub read_at: Time,
    pub scrub_at: Option<Time>,
    /// How long the host waits for the mirror before giving up on it.
    pub timeout: Time,
}

pub const FACTS: &[&str] = &[
    "data",
    "add",
    "xor",
    "fletcher",
    "crc32",
    "corruptions",
    "detected_by",
    "rejected_by",
    "read_results",
    "wrong_reads",
    "returned_wrong",
    "read_repaired",
    "repaired",
    "scrub_repairs",
    "scrub_mismatches",
    "scrub_unrepaired",
    "still_wrong",
];

/// A check a reader makes on a copy, and that the copy can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The drive reported the sector unreadable.
    Drive,
    Checksum,
    Address,
}

#[derive(Clone, Debug)]
pub enum Msg {
    Write { id: u32, blocks: Vec<(usize, Stored)>, repair: bool },
    Written { id: u32, blocks: Vec<usize>, repair: bool },
    Read { id: u32, block: usize },
    Copy { id: u32, block: usize, copy: Result<Stored, DiskError> },
    Scan { id: u32 },
    Scanned { id: u32, copies: Vec<Result<Stored, DiskError>> },
}

pub enum Node {
    Host(Host),
    Mirror,
}

pub struct Host {
    /// What the app asked to write; gone after a crash.
    data: Vec<Vec<u8>>,
    next_id: u32,
    waits: BTreeMap<u32, Wait>,
}

enum Wait {
    Read { block: usize, timer: TimerId },
    Scan { timer: TimerId },
}

pub enum Obs {
    /// The data the app writes, drawn at the start.
    Data(Vec<Vec<u8>>),
    /// The app's read of a block: the host's own copy, and the checks it failed.
    Local {
        block: usize,
        copy: Result<Stored, DiskError>,
        failed: Vec<Check>,
    },
    /// What the app got back: the bytes, or None for a read error.
    Returned {
        block: usize,
        data: Option<Vec<u8>>,
    },
    ReadRepair(usize),
    ScrubRepair(NodeId, usize),
    ScrubMismatch(usize),
    ScrubUnrepaired(usize),
}

fn b(block: usize) -> String {
    format!("b{block}")
}

/// `b0-b4` for a run of three or more, otherwise `b1, b3`.
fn span(blocks: &[usize]) -> String {
    let contiguous = blocks.windows(2).all(|w| w[1] == w[0] + 1);
    match blocks {
        [first, .., last] if contiguous && blocks.len() > 2 => format!("{}-{}", b(*first), b(*last)),
        _ => blocks.iter().map(|x| b(*x)).collect::<Vec<_>>().join(", "),
    }
}

/// Bytes in decimal, as the app sees them.
pub fn decimal(data: &[u8]) -> String {
    data.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" ")
}

fn copy_name(node: NodeId) -> &'static str {
    if node == HOST {
        "host"
    } else {
        "mirror"
    }
}

impl Params {
    /// A block as the host stores it: data, checksum, address.
    fn stored(&self, block: usize, data: Vec<u8>) -> Stored {
        Stored { checksum: self.checksum.compute(&data), addr: self.address.then_some(block as u32), data }
    }

    /// Every random byte is drawn even where `data` replaces it, so giving
    /// b0's bytes leaves the other blocks as the seed made them.
    fn draw(&self, rng: &mut Stream) -> Vec<Vec<u8>> {
        let mut blocks: Vec<Vec<u8>> =
            (0..self.blocks).map(|_| (0..self.block_size).map(|_| rng.below(256) as u8).collect()).collect();
        if let Some(given) = &self.data {
            for (i, chunk) in given.chunks(self.block_size.max(1)).enumerate() {
                if let Some(slot) = blocks.get_mut(i) {
                    *slot = chunk.to_vec();
                }
            }
        }
        blocks
    }

    /// What the host stores beside each block, in words.
    fn extras(&self) -> String {
        match (self.checksum, self.address) {
            (Algo::None, false) => "nothing beside it".to_string(),
            (Algo::None, true) => "its address".to_string(),
            (a, false) => format!("its {a} checksum"),
            (a, true) => format!("its {a} checksum and its address"),
        }
    }

    /// Both disks start formatted: zeros, stored the way the host stores
    /// data, so a block that misses a write still passes every check.
    fn format(&self, ctx: &mut Ctx<Self>) {
        for block in 0..self.blocks {
            ctx.disk_write(block, self.stored(block, vec![0; self.block_size]), true);
        }
        ctx.note(0, vec![shown("formatted: zeros, stored as data is")]);
    }

    fn verify(&self, block: usize, copy: &Result<Stored, DiskError>) -> Vec<Check> {
        let Ok(s) = copy else { return vec![Check::Drive] };
        let mut failed = Vec::new();
        if self.checksum != Algo::None && (s.checksum.is_none() || s.checksum != self.checksum.compute(&s.data)) {
            failed.push(Check::Checksum);
        }
        if self.address && s.addr != Some(block as u32) {
            failed.push(Check::Address);
        }
        failed
    }

    fn check_name(&self, c: Check) -> &'static str {
        match c {
            Check::Drive => "drive",
            Check::Checksum => self.checksum.name(),
            Check::Address => "address",
        }
    }

    /// Each check on a copy, passed or failed, in words.
    fn findings(&self, block: usize, copy: &Result<Stored, DiskError>) -> String {
        let Ok(s) = copy else { return "the drive reports a read error".to_string() };
        let mut parts = Vec::new();
        if self.checksum != Algo::None {
            let a = self.checksum;
            let computed = a.compute(&s.data).unwrap_or(0);
            parts.push(match s.checksum {
                Some(c) if c == computed => format!("{a} ok"),
                Some(c) => format!("{a} {} ≠ stored {}", a.show(computed), a.show(c)),
                None => format!("no {a} stored"),
            });
        }
        if self.address {
            parts.push(match s.addr {
                Some(x) if x as usize == block => "address ok".to_string(),
                Some(x) => format!("address {x} ≠ {block}"),
                None => "no address stored".to_string(),
            });
        }
        if parts.is_empty() {
            return "nothing to check".to_string();
        }
        parts.join(", ")
    }

    /// The verdict on one copy: an outcome, since questions ask about it.
    /// The scrubber's good copies show only at detail 1 (`quiet`).
    fn judge(
        &self,
        ctx: &mut Ctx<Self>,
        block: usize,
        node: NodeId,
        copy: &Result<Stored, DiskError>,
        quiet: bool,
    ) -> Vec<Check> {
        let failed = self.verify(block, copy);
        if let Ok(s) = copy {
            let stored = s.checksum.map_or("-".to_string(), |c| self.checksum.show(c));
            let addr = s.addr.map_or("-".to_string(), |a| a.to_string());
            ctx.outcome(
                1,
                vec![shown(format!(
                    "{} {} copy holds {} | checksum {stored} | address {addr}",
                    b(block),
                    copy_name(node),
                    decimal(&s.data)
                ))],
            );
        }
        let verdict = if failed.is_empty() { "good" } else { "bad" };
        ctx.outcome(
            if quiet && failed.is_empty() { 1 } else { 0 },
            vec![shown(format!("{} {} copy: {}: {verdict}", b(block), copy_name(node), self.findings(block, copy)))],
        );
        failed
    }

    fn returns(&self, ctx: &mut Ctx<Self>, block: usize, data: Option<Vec<u8>>, how: &str) {
        let text = match &data {
            Some(d) => format!("{} returns {}{how}", b(block), decimal(d)),
            None => format!("{} fails: {how}", b(block)),
        };
        ctx.ret(vec![shown(text)]);
        ctx.observe(Obs::Returned { block, data });
    }

    /// The app reads blocks in order from `from`: the host's copy first,
    /// the mirror's only when that fails.
    fn read_from(&self, h: &mut Host, from: usize, ctx: &mut Ctx<Self>) {
        for block in from..self.blocks {
            ctx.call(vec![shown(format!("app reads {}", b(block)))]);
            let local = ctx.disk_read(block);
            let failed = self.judge(ctx, block, HOST, &local, false);
            ctx.observe(Obs::Local { block, copy: local.clone(), failed: failed.clone() });
            match local {
                Ok(s) if failed.is_empty() => self.returns(ctx, block, Some(s.data), ""),
                _ => {
                    h.next_id += 1;
                    let id = h.next_id;
                    ctx.send(MIRROR, Msg::Read { id, block });
                    let timer = ctx.set_timer(self.timeout, TIMEOUT | id as u64);
                    h.waits.insert(id, Wait::Read { block, timer });
                    return;
                }
            }
        }
    }

    fn mirror_copy(&self, h: &mut Host, block: usize, copy: Result<Stored, DiskError>, ctx: &mut Ctx<Self>) {
        let failed = self.judge(ctx, block, MIRROR, &copy, false);
        match copy {
            Ok(s) if failed.is_empty() => {
                self.returns(ctx, block, Some(s.data.clone()), " (the mirror's copy)");
                ctx.disk_write(block, s, true);
                ctx.outcome(0, vec![shown(format!("repair {} on the host's disk from the mirror", b(block)))]);
                ctx.observe(Obs::ReadRepair(block));
            }
            _ => self.returns(ctx, block, None, "both copies are bad"),
        }
        self.read_from(h, block + 1, ctx);
    }

    /// Checks every block of both copies and repairs what it can. `mirror`
    /// is None when the mirror did not answer.
    fn scrub(&self, mirror: Option<Vec<Result<Stored, DiskError>>>, ctx: &mut Ctx<Self>) {
        let mut to_mirror = Vec::new();
        let (mut repaired, mut differ) = (0, 0);
        for block in 0..self.blocks {
            let local = ctx.disk_read(block);
            let local_ok = self.judge(ctx, block, HOST, &local, true).is_empty();
            let remote = mirror.as_ref().and_then(|m| m.get(block).cloned());
            let remote_ok = match &remote {
                Some(r) => self.judge(ctx, block, MIRROR, r, true).is_empty(),
                None => false,
            };
            let name = b(block);
            match (local, remote) {
                (Ok(l), Some(Ok(r))) if local_ok && remote_ok => {
                    if l.data != r.data {
                        differ += 1;
                        ctx.outcome(
                            0,
                            vec![shown(format!(
                                "{name}: the copies differ and both pass every check: which is right?"
                            ))],
                        );
                        ctx.observe(Obs::ScrubMismatch(block));
                    }
                }
                (_, Some(Ok(r))) if remote_ok => {
                    repaired += 1;
                    ctx.disk_write(block, r, true);
                    ctx.outcome(0, vec![shown(format!("{name}: repair the host's copy from the mirror"))]);
                    ctx.observe(Obs::ScrubRepair(HOST, block));
                }
                (Ok(l), Some(_)) if local_ok => {
                    repaired += 1;
                    to_mirror.push((block, l));
                    ctx.outcome(0, vec![shown(format!("{name}: repair the mirror's copy from the host's"))]);
                    ctx.observe(Obs::ScrubRepair(MIRROR, block));
                }
                (_, None) if local_ok => {}
                (_, remote) => {
                    let why = if remote.is_some() { "both copies are bad" } else { "no mirror copy to repair it from" };
                    ctx.outcome(0, vec![shown(format!("{name}: cannot repair: {why}"))]);
                    ctx.observe(Obs::ScrubUnrepaired(block));
                }
            }
        }
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        ctx.outcome(
            0,
            vec![shown(format!(
                "scrub done: {} repaired, {} with copies that differ",
                plural(repaired, "copy", "copies"),
                plural(differ, "block", "blocks")
            ))],
        );
        if !to_mirror.is_empty() {
            ctx.send(MIRROR, Msg::Write { id: 0, blocks: to_mirror, repair: true });
        }
    }

    fn host_timer(&self, h: &mut Host, tag: u64, ctx: &mut Ctx<Self>) {
        match tag {
            WRITE => {
                if h.data.is_empty() {
                    ctx.note(0, vec![shown("nothing to write: the app's data was in memory when the host crashed")]);
                    return;
                }
                let blocks: Vec<(usize, Stored)> =
                    h.data.iter().enumerate().map(|(i, d)| (i, self.stored(i, d.clone()))).collect();
                for (i, s) in &blocks {
                    ctx.disk_write(*i, s.clone(), true);
                }
                let names: Vec<usize> = blocks.iter().map(|(i, _)| *i).collect();
                ctx.note(0, vec![shown(format!("write {} to the host's disk and the mirror", span(&names)))]);
                h.next_id += 1;
                ctx.send(MIRROR, Msg::Write { id: h.next_id, blocks, repair: false });
            }
            READ => self.read_from(h, 0, ctx),
            SCRUB => {
                h.next_id += 1;
                let id = h.next_id;
                ctx.note(0, vec![shown("scrub: check every block of both copies")]);
                ctx.send(MIRROR, Msg::Scan { id });
                let timer = ctx.set_timer(self.timeout, TIMEOUT | id as u64);
                h.waits.insert(id, Wait::Scan { timer });
            }
            _ if tag & TIMEOUT != 0 => match h.waits.remove(&((tag & !TIMEOUT) as u32)) {
                Some(Wait::Read { block, .. }) => {
                    self.returns(ctx, block, None, "the mirror did not answer");
                    self.read_from(h, block + 1, ctx);
                }
                Some(Wait::Scan { .. }) => self.scrub(None, ctx),
                None => {}
            },
            _ => {}
        }
    }

    /// Sets the timers of the phases still to come.
    fn schedule(&self, ctx: &mut Ctx<Self>) {
        let now = ctx.now;
        let phases = [(Some(self.write_at), WRITE), (Some(self.read_at), READ), (self.scrub_at, SCRUB)];
        for (at, tag) in phases {
            if let Some(at) = at.filter(|at| *at >= now) {
                ctx.set_timer(at - now, tag);
            }
        }
    }
}

impl Model for Params {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        vec!["host".into(), "mirror".into()]
    }

    fn disk_blocks(&self, _node: NodeId) -> usize {
        self.blocks
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        self.format(ctx);
        if node == MIRROR {
            return Node::Mirror;
        }
        let data = self.draw(ctx.rng);
        ctx.observe(Obs::Data(data.clone()));
        self.schedule(ctx);
        Node::Host(Host { data, next_id: 0, waits: BTreeMap::new() })
    }

    fn on_message(&self, state: &mut Node, _from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match (state, msg) {
            (Node::Mirror, Msg::Write { id, blocks, repair }) => {
                for (block, s) in &blocks {
                    ctx.disk_write(*block, s.clone(), true);
                }
                ctx.send(HOST, Msg::Written { id, blocks: blocks.iter().map(|(x, _)| *x).collect(), repair });
            }
            (Node::Mirror, Msg::Read { id, block }) => {
                let copy = ctx.disk_read(block);
                ctx.send(HOST, Msg::Copy { id, block, copy });
            }
            (Node::Mirror, Msg::Scan { id }) => {
                let copies = (0..self.blocks).map(|x| ctx.disk_read(x)).collect();
                ctx.send(HOST, Msg::Scanned { id, copies });
            }
            // An answer counts only for the wait it was sent for: a duplicate,
            // or one that came after the timeout, is ignored.
            (Node::Host(h), Msg::Copy { id, block, copy }) => match h.waits.get(&id) {
                Some(Wait::Read { block: wanted, timer }) if *wanted == block => {
                    ctx.cancel_timer(*timer);
                    h.waits.remove(&id);
                    self.mirror_copy(h, block, copy, ctx);
                }
                _ => ctx.note(1, vec![shown(format!("late copy of {}: ignored", b(block)))]),
            },
            (Node::Host(h), Msg::Scanned { id, copies }) => match h.waits.get(&id) {
                Some(Wait::Scan { timer }) => {
                    ctx.cancel_timer(*timer);
                    h.waits.remove(&id);
                    self.scrub(Some(copies), ctx);
                }
                _ => ctx.note(1, vec![shown("late scan: ignored")]),
            },
            _ => {}
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        if let Node::Host(h) = state {
            self.host_timer(h, tag, ctx);
        }
    }

    fn recover(&self, node: NodeId, _durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        ctx.note(0, vec![shown("restart: memory is empty; the disk kept its blocks")]);
        if node == MIRROR {
            return Node::Mirror;
        }
        self.schedule(ctx);
        // The old incarnation used at most blocks + 2 ids; starting past them
        // keeps a late answer to it from passing for a new request's.
        Node::Host(Host { data: Vec::new(), next_id: 1000, waits: BTreeMap::new() })
    }

    /// Which blocks a scrub repair touches is a blank: a question may ask it.
    fn label(&self, msg: &Msg) -> Label {
        let written = |bs: &[(usize, Stored)]| span(&bs.iter().map(|(x, _)| *x).collect::<Vec<_>>());
        match msg {
            Msg::Write { blocks, repair: false, .. } => vec![shown(format!("write {}", written(blocks)))],
            Msg::Write { blocks, repair: true, .. } => vec![shown("repair "), secret(written(blocks))],
            Msg::Written { blocks, repair: false, .. } => vec![shown(format!("written {}", span(blocks)))],
            Msg::Written { blocks, repair: true, .. } => vec![shown("repaired "), secret(span(blocks))],
            Msg::Read { block, .. } => vec![shown(format!("read {}", b(*block)))],
            Msg::Copy { block, copy: Ok(_), .. } => vec![shown(b(*block))],
            Msg::Copy { block, copy: Err(e), .. } => vec![shown(format!("{}: {e}", b(*block)))],
            Msg::Scan { .. } => vec![shown("read every block")],
            Msg::Scanned { .. } => vec![shown("every block")],
        }
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        match tag {
            WRITE => (2, vec![shown("time to write")]),
            READ => (2, vec![shown("time for the app's reads")]),
            SCRUB => (2, vec![shown("time to scrub")]),
            _ => (0, vec![shown("no answer from the mirror")]),
        }
    }
}

/// Which checks would notice a corruption, whatever this lab stores: for a
/// bit flip or swap, the checksums whose value changed; a misdirected write
/// is noticed only by the address where it lands; a lost write by nothing
/// stored with the block; a latent error by the drive itself.
pub fn detectors(d: &Damage) -> Vec<&'static str> {
    match d.kind {
        Corruption::BitFlip | Corruption::Swap => match &d.change {
            Some((before, after)) => {
                Algo::ALL.iter().filter(|a| a.compute(before) != a.compute(after)).map(|a| a.name()).collect()
            }
            None => Vec::new(),
        },
        Corruption::Misdirected if d.fired && d.landed != Some(d.block) => vec!["address"],
        Corruption::Misdirected | Corruption::LostWrite => Vec::new(),
        Corruption::Latent => vec!["drive"],
    }
}

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let mut data: Vec<Vec<u8>> = Vec::new();
    let mut local: BTreeMap<usize, (Result<Stored, DiskError>, Vec<Check>)> = BTreeMap::new();
    let mut returned: BTreeMap<usize, Option<Vec<u8>>> = BTreeMap::new();
    let mut read_repaired = Vec::new();
    let mut scrub_repairs = Vec::new();
    let mut mismatches = Vec::new();
    let mut unrepaired = Vec::new();
    for (_, _, obs) in &run.observations {
        match obs {
            Obs::Data(d) if data.is_empty() => data = d.clone(),
            Obs::Data(_) => {}
            Obs::Local { block, copy, failed } => {
                local.entry(*block).or_insert_with(|| (copy.clone(), failed.clone()));
            }
            Obs::Returned { block, data } => {
                returned.entry(*block).or_insert_with(|| data.clone());
            }
            Obs::ReadRepair(x) => read_repaired.push(b(*x)),
            Obs::ScrubRepair(node, x) => scrub_repairs.push(format!("{}:{x}", copy_name(*node))),
            Obs::ScrubMismatch(x) => mismatches.push(b(*x)),
            Obs::ScrubUnrepaired(x) => unrepaired.push(b(*x)),
        }
    }
    let intended = |x: usize| data.get(x).map(Vec::as_slice);
    let per_block = |f: &dyn Fn(&[u8]) -> Value| -> Value {
        Value::Map(data.iter().enumerate().map(|(x, d)| (b(x), f(d))).collect())
    };
    let bytes = |d: &[u8]| Value::List(d.iter().map(|x| Value::Int(*x as i64)).collect());
    let mut f = Facts::new();
    f.insert("data".into(), per_block(&bytes));
    f.insert("add".into(), per_block(&|d| Value::Int(checksum::add(d) as i64)));
    f.insert("xor".into(), per_block(&|d| Value::Int(checksum::xor(d) as i64)));
    f.insert(
        "fletcher".into(),
        per_block(&|d| {
            let (s1, s2) = checksum::fletcher(d);
            Value::List(vec![Value::Int(s1 as i64), Value::Int(s2 as i64)])
        }),
    );
    f.insert("crc32".into(), per_block(&|d| Value::Int(checksum::crc32(d) as i64)));

    let mut corruptions = BTreeMap::new();
    let mut detected = BTreeMap::new();
    for node in [HOST, MIRROR] {
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        for d in run.disks[node].damage() {
            let n = seen.entry(d.block).or_default();
            *n += 1;
            let key = match *n {
                1 => format!("{}:{}", copy_name(node), d.block),
                k => format!("{}:{}#{k}", copy_name(node), d.block),
            };
            corruptions.insert(key.clone(), Value::text(d.kind.to_string()));
            detected.insert(key, Value::texts(detectors(d)));
        }
    }
    f.insert("corruptions".into(), Value::Map(corruptions));
    f.insert("detected_by".into(), Value::Map(detected));

    let blocks = 0..p.blocks;
    // A block the app never read has nothing rejected (read_results says none),
    // so a set question about it still has a list to compare with.
    let rejected = blocks
        .clone()
        .map(|x| {
            let failed = local.get(&x).map(|(_, failed)| failed.as_slice()).unwrap_or_default();
            (b(x), Value::texts(failed.iter().map(|c| p.check_name(*c))))
        })
        .collect();
    f.insert("rejected_by".into(), Value::Map(rejected));
    let results = blocks
        .clone()
        .map(|x| {
            let v = match returned.get(&x) {
                None => Value::Null,
                Some(None) => Value::text("failed"),
                Some(Some(d)) if Some(d.as_slice()) == intended(x) => Value::text("right"),
                Some(Some(_)) => Value::text("wrong"),
            };
            (b(x), v)
        })
        .collect();
    f.insert("read_results".into(), Value::Map(results));
    // With nothing to check, a reader hands over whatever the drive returns.
    let unchecked_wrong =
        blocks.clone().filter(|x| matches!(local.get(x), Some((Ok(s), _)) if Some(s.data.as_slice()) != intended(*x)));
    f.insert("wrong_reads".into(), Value::texts(unchecked_wrong.map(b)));
    let wrong =
        blocks.clone().filter(|x| matches!(returned.get(x), Some(Some(d)) if Some(d.as_slice()) != intended(*x)));
    f.insert("returned_wrong".into(), Value::texts(wrong.map(b)));
    f.insert("read_repaired".into(), Value::texts(read_repaired));
    f.insert("repaired".into(), Value::Int(scrub_repairs.len() as i64));
    f.insert("scrub_repairs".into(), Value::texts(scrub_repairs));
    f.insert("scrub_mismatches".into(), Value::texts(mismatches));
    f.insert("scrub_unrepaired".into(), Value::texts(unrepaired));
    let mut still_wrong = Vec::new();
    for node in [HOST, MIRROR] {
        for x in blocks.clone() {
            let right = matches!(run.disks[node].read(x), Ok(s) if Some(s.data.as_slice()) == intended(x));
            if !right {
                still_wrong.push(format!("{}:{x}", copy_name(node)));
            }
        }
    }
    f.insert("still_wrong".into(), Value::texts(still_wrong));
    f
}

/// The data as the book's checksum homework shows it, block by block:
/// decimal, hex and binary, then each checksum (blanks in question mode).
pub fn preface(p: &Params, facts: &Facts, solve: bool) -> String {
    let Some(Value::Map(data)) = facts.get("data") else { return String::new() };
    let mut blocks: Vec<(usize, Vec<u8>)> = data
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix('b')?.parse().ok()?;
            let Value::List(items) = v else { return None };
            Some((n, items.iter().filter_map(|i| i.as_f64()).map(|x| x as u8).collect()))
        })
        .collect();
    blocks.sort();
    let mut s = format!("Data: {} blocks, each stored with {}.\n", blocks.len(), p.extras());
    let name_width = blocks.last().map_or(2, |(n, _)| b(*n).len()) + 2;
    let indent = " ".repeat(2 + name_width);
    for (n, bytes) in &blocks {
        s.push('\n');
        for (row, chunk) in bytes.chunks(8).enumerate() {
            let lead = if row == 0 { format!("  {:<name_width$}", b(*n)) } else { indent.clone() };
            let cells = |f: &dyn Fn(u8) -> String| chunk.iter().map(|x| format!(" {:>10}", f(*x))).collect::<String>();
            s.push_str(&format!("{lead}Decimal:{}\n", cells(&|x| x.to_string())));
            s.push_str(&format!("{indent}Hex:    {}\n", cells(&checksum::hex)));
            s.push_str(&format!("{indent}Bin:    {}\n", cells(&checksum::bin)));
        }
        if bytes.is_empty() {
            s.push_str(&format!("  {:<name_width$}(empty)\n", b(*n)));
        }
        let show = |text: String| if solve { text } else { "?".to_string() };
        let (add, xor) = (checksum::add(bytes), checksum::xor(bytes));
        let (s1, s2) = checksum::fletcher(bytes);
        s.push_str(&format!(
            "{indent}Add: {}   Xor: {}\n",
            show(format!("{add} ({})", checksum::bin(add))),
            show(format!("{xor} ({})", checksum::bin(xor)))
        ));
        s.push_str(&format!(
            "{indent}Fletcher(s1,s2): {}   CRC-32: {}\n",
            show(format!("{s1},{s2} ({},{})", checksum::bin(s1), checksum::bin(s2))),
            show(format!("{:#010x}", checksum::crc32(bytes)))
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Latency, LinkConfig, Network, NodeFault, World, MS};

    fn params(checksum: Algo, address: bool) -> Params {
        Params {
            blocks: 4,
            block_size: 4,
            data: Some(vec![216, 194, 107, 66, 1, 2, 3, 4, 0, 1, 2, 3, 9, 8, 7, 6]),
            checksum,
            address,
            write_at: 10 * MS,
            read_at: 100 * MS,
            scrub_at: Some(200 * MS),
            timeout: 50 * MS,
        }
    }

    fn run(p: &Params, faults: &[(NodeId, usize, Corruption, Time)]) -> Facts {
        let link = LinkConfig { latency: Latency::Constant(2 * MS), drop: 0.0, duplicate: 0.0 };
        let mut world = World::new(p, 1, Network::new(1, p.node_names(), link));
        for (node, block, kind, at) in faults {
            world.schedule(&NodeFault::Corrupt { node: *node, block: *block, kind: *kind, at: *at });
        }
        facts(p, &world.run(u64::MAX))
    }

    fn texts(items: &[&str]) -> Value {
        Value::texts(items.iter().copied())
    }

    #[test]
    fn given_data_fills_blocks_from_b0_and_its_checksums_are_facts() {
        let f = run(&params(Algo::Fletcher, true), &[]);
        assert_eq!(f["add"].to_string(), "b0=71, b1=10, b2=6, b3=30");
        assert_eq!(f["xor"].to_string(), "b0=51, b1=4, b2=0, b3=0");
        let Value::Map(fl) = &f["fletcher"] else { panic!() };
        assert_eq!(fl["b0"], Value::List(vec![Value::Int(73), Value::Int(196)]));
        let Value::Map(crc) = &f["crc32"] else { panic!() };
        assert_eq!(crc["b0"], Value::Int(0x4e54_9e94));
        // A fault-free run: every read right, nothing repaired.
        assert_eq!(f["read_results"].to_string(), "b0=right, b1=right, b2=right, b3=right");
        assert_eq!(f["wrong_reads"], texts(&[]));
        assert_eq!(f["repaired"], Value::Int(0));
        assert_eq!(f["still_wrong"], texts(&[]));
    }

    #[test]
    fn short_data_leaves_the_other_blocks_as_the_seed_made_them() {
        let random = Params { data: None, ..params(Algo::Add, true) };
        let given = Params { data: Some(vec![216, 194, 107, 66]), ..random.clone() };
        let (a, g) = (run(&random, &[]), run(&given, &[]));
        let (Value::Map(a), Value::Map(g)) = (&a["data"], &g["data"]) else { panic!() };
        assert_ne!(a["b0"], g["b0"]);
        assert_eq!(g["b0"].to_string(), "216, 194, 107, 66");
        assert_eq!((&a["b1"], &a["b3"]), (&g["b1"], &g["b3"]));
        // A short last chunk makes a short block.
        let short = Params { data: Some(vec![1, 2, 3, 4, 5]), ..random };
        let Value::Map(s) = &run(&short, &[])["data"] else { panic!() };
        assert_eq!(s["b1"].to_string(), "5");
    }

    /// Each corruption kind on the host's b1 (b3 for misdirection, whose
    /// write wraps onto b0), against each checksum with and without the
    /// stored address: which checks reject the host's copies, and what the
    /// app gets.
    #[test]
    fn each_corruption_against_each_checksum_with_and_without_the_address() {
        let flip = [(HOST, 1, Corruption::BitFlip, 50 * MS)];
        let swap = [(HOST, 1, Corruption::Swap, 50 * MS)];
        let misdirect = [(HOST, 3, Corruption::Misdirected, 0)];
        let lost = [(HOST, 1, Corruption::LostWrite, 0)];
        for algo in [Algo::None, Algo::Add, Algo::Xor, Algo::Fletcher, Algo::Crc32] {
            for address in [false, true] {
                let p = params(algo, address);
                let name = algo.name();
                let checks_data = algo != Algo::None;

                let f = run(&p, &flip);
                assert_eq!(f["detected_by"].to_string(), "host:1=add, xor, fletcher, crc32");
                assert_eq!(f["wrong_reads"], texts(&["b1"]));
                let caught = if checks_data { texts(&[name]) } else { texts(&[]) };
                assert_eq!(as_map(&f["rejected_by"])["b1"], caught, "{name} {address}");
                let expect = if checks_data { "right" } else { "wrong" };
                assert_eq!(as_map(&f["read_results"])["b1"], Value::text(expect), "flip {name} {address}");

                // b1 = 1,2,3,4: the swap keeps sum and XOR, so only Fletcher and CRC-32 see it.
                let f = run(&p, &swap);
                assert_eq!(f["detected_by"].to_string(), "host:1=fletcher, crc32");
                let sees = matches!(algo, Algo::Fletcher | Algo::Crc32);
                let expect = if sees { "right" } else { "wrong" };
                assert_eq!(as_map(&f["read_results"])["b1"], Value::text(expect), "swap {name} {address}");

                // b3's write lands on b0: data and checksum arrive together, so
                // only the address notices, at b0; b3 keeps its zeros, which pass.
                let f = run(&p, &misdirect);
                assert_eq!(f["detected_by"].to_string(), "host:3=address");
                assert_eq!(f["wrong_reads"], texts(&["b0", "b3"]));
                let b0 = if address { texts(&["address"]) } else { texts(&[]) };
                assert_eq!(as_map(&f["rejected_by"])["b0"], b0, "{name} {address}");
                assert_eq!(as_map(&f["rejected_by"])["b3"], texts(&[]));
                let wrong: &[&str] = if address { &["b3"] } else { &["b0", "b3"] };
                assert_eq!(f["returned_wrong"], texts(wrong), "misdirect {name} {address}");

                // A lost write leaves old zeros that were stored with their own
                // checksum and address: nothing stored with the block notices.
                let f = run(&p, &lost);
                assert_eq!(f["detected_by"].to_string(), "host:1=(none)");
                assert_eq!(f["returned_wrong"], texts(&["b1"]), "lost {name} {address}");
                // The scrubber sees two copies that disagree and cannot tell which is right.
                assert_eq!(f["scrub_mismatches"], texts(&["b1"]));

                // A latent sector error needs no checksum: the drive says so.
                let f = run(&p, &[(HOST, 1, Corruption::Latent, 50 * MS)]);
                assert_eq!(f["detected_by"].to_string(), "host:1=drive");
                assert_eq!(as_map(&f["rejected_by"])["b1"], texts(&["drive"]));
                assert_eq!(as_map(&f["read_results"])["b1"], Value::text("right"), "lse {name} {address}");

                // A misdirected write armed after the last write never happens.
                let f = run(&p, &[(HOST, 1, Corruption::Misdirected, 150 * MS)]);
                assert_eq!(f["detected_by"].to_string(), "host:1=(none)");
                assert_eq!(f["still_wrong"], texts(&[]));
            }
        }
    }

    fn as_map(v: &Value) -> &BTreeMap<String, Value> {
        match v {
            Value::Map(m) => m,
            other => panic!("not a table: {other}"),
        }
    }

    #[test]
    fn a_latent_error_is_reported_by_the_drive_even_without_checksums() {
        let p = params(Algo::None, false);
        let f = run(&p, &[(HOST, 2, Corruption::Latent, 50 * MS)]);
        assert_eq!(as_map(&f["rejected_by"])["b2"], texts(&["drive"]));
        assert_eq!(f["wrong_reads"], texts(&[]), "a read error is not wrong data");
        assert_eq!(f["read_repaired"], texts(&["b2"]), "the rewrite from the mirror clears the error");
        assert_eq!(f["detected_by"].to_string(), "host:2=drive");
        assert_eq!(f["still_wrong"], texts(&[]));
    }

    #[test]
    fn the_mirror_repairs_a_bad_copy_and_both_bad_copies_fail_the_read() {
        let p = params(Algo::Crc32, true);
        let f = run(&p, &[(HOST, 2, Corruption::BitFlip, 50 * MS)]);
        assert_eq!(f["read_repaired"], texts(&["b2"]));
        assert_eq!(as_map(&f["read_results"])["b2"], Value::text("right"));
        assert_eq!(f["still_wrong"], texts(&[]), "the host's copy was rewritten");

        let f = run(&p, &[(HOST, 2, Corruption::BitFlip, 50 * MS), (MIRROR, 2, Corruption::BitFlip, 50 * MS)]);
        assert_eq!(as_map(&f["read_results"])["b2"], Value::text("failed"));
        assert_eq!(f["read_repaired"], texts(&[]));
        assert_eq!(f["scrub_unrepaired"], texts(&["b2"]));
        assert_eq!(f["still_wrong"], texts(&["host:2", "mirror:2"]));
    }

    #[test]
    fn the_scrubber_repairs_either_copy_and_counts() {
        let p = params(Algo::Fletcher, true);
        // After the reads: one bad copy on each side.
        let f = run(&p, &[(MIRROR, 1, Corruption::BitFlip, 150 * MS), (HOST, 3, Corruption::Swap, 150 * MS)]);
        assert_eq!(f["repaired"], Value::Int(2));
        assert_eq!(f["scrub_repairs"], texts(&["mirror:1", "host:3"]));
        assert_eq!(f["still_wrong"], texts(&[]));
        // Without a scrub, both stay bad.
        let no_scrub = Params { scrub_at: None, ..p };
        let f = run(&no_scrub, &[(MIRROR, 1, Corruption::BitFlip, 150 * MS), (HOST, 3, Corruption::Swap, 150 * MS)]);
        assert_eq!(f["repaired"], Value::Int(0));
        assert_eq!(f["still_wrong"], texts(&["host:3", "mirror:1"]));
    }

    #[test]
    fn without_checksums_the_scrubber_sees_copies_differ_but_cannot_choose() {
        let p = params(Algo::None, false);
        let f = run(&p, &[(MIRROR, 1, Corruption::BitFlip, 150 * MS)]);
        assert_eq!(f["repaired"], Value::Int(0));
        assert_eq!(f["scrub_mismatches"], texts(&["b1"]));
        assert_eq!(f["still_wrong"], texts(&["mirror:1"]));
    }

    #[test]
    fn labels_group_blocks() {
        assert_eq!(span(&[0, 1, 2, 3]), "b0-b3");
        assert_eq!(span(&[1, 3]), "b1, b3");
        assert_eq!(span(&[0, 1]), "b0, b1");
        assert_eq!(span(&[]), "");
    }
}
