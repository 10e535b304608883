//! Lab 04: a stateless file server in the style of NFSv2, and caching
//! clients. The server keeps every file and directory on its disk and nothing
//! about its clients, so after a crash the clients simply retry. Clients keep
//! the fd → (handle, offset) table, cache attributes for a while (a stale read
//! can slip through that window), cache data validated by modification time,
//! and buffer writes until close.
//!
//! Here: the protocol, the server's handler, the model and its facts.
//! `fs` is the file system on the server's disk, `script` the workload
//! notation, `client` the client's state machine.

mod client;
mod fs;
mod script;

pub use client::Client;
pub use fs::{Blocks, Fs, Inode, Layout};
pub use script::{
    check_path, check_script, parse_step, Op, Step, StepError, When, MAX_DATA, MAX_OFFSET, PATH_HELP, STEP_HELP,
};

use crate::questions::{Facts, Value};
use crate::sim::{fmt_time, secret, shown, Ctx, Disk, Dur, Durable, Label, Model, NodeId, Run, Stored, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub const SERVER: NodeId = 0;
/// The volume the server exports; every handle carries it.
pub const VOLUME: u32 = 1;
/// The root directory's inode. Block 0 is the superblock; inode i lives in
/// block i; data blocks follow the inode table.
pub const ROOT: u32 = 1;

const TAG_OP: u64 = 1 << 40;
const TAG_RPC: u64 = 2 << 40;
const TAG_SYNC: u64 = 3 << 40;
const TAG_KIND: u64 = !((1 << 40) - 1);
/// A detail level `--detail` never reaches: the call line that follows an
/// op-start timer already says it.
const UNSHOWN: u8 = 8;

// ---------------------------------------------------------------------------
// The protocol

/// A file handle: opaque to the client, meaningful only to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fh {
    pub vol: u32,
    pub ino: u32,
    pub gen: u32,
}

impl Fh {
    pub fn root() -> Fh {
        Fh { vol: VOLUME, ino: ROOT, gen: 1 }
    }
}

impl fmt::Display for Fh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fh({},{},{})", self.vol, self.ino, self.gen)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// What GETATTR returns (a subset of NFSv2's fattr).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    pub kind: Kind,
    pub size: u64,
    pub mtime: Time,
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind == Kind::Dir { "dir" } else { "file" };
        write!(f, "{kind} size {} mtime {}", self.size, fmt_time(self.mtime))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Errno {
    NoEnt,
    Exist,
    Stale,
    Io,
    NotDir,
    IsDir,
    NoSpc,
    FBig,
    /// Client side: no open file by that name.
    BadF,
}

impl Errno {
    pub fn code(self) -> &'static str {
        match self {
            Errno::NoEnt => "ENOENT",
            Errno::Exist => "EEXIST",
            Errno::Stale => "ESTALE",
            Errno::Io => "EIO",
            Errno::NotDir => "ENOTDIR",
            Errno::IsDir => "EISDIR",
            Errno::NoSpc => "ENOSPC",
            Errno::FBig => "EFBIG",
            Errno::BadF => "EBADF",
        }
    }

    fn why(self) -> &'static str {
        match self {
            Errno::NoEnt => "no such name",
            Errno::Exist => "the name already exists",
            Errno::Stale => "stale handle: its inode was freed or reused",
            Errno::Io => "the disk could not read a block",
            Errno::NotDir => "not a directory",
            Errno::IsDir => "a directory",
            Errno::NoSpc => "the disk is full",
            Errno::FBig => "the file would be too large",
            Errno::BadF => "not open",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proc {
    Lookup,
    Getattr,
    Read,
    Write,
    Create,
    Remove,
    Mkdir,
}

impl Proc {
    pub const ALL: [Proc; 7] =
        [Proc::Lookup, Proc::Getattr, Proc::Read, Proc::Write, Proc::Create, Proc::Remove, Proc::Mkdir];

    pub fn name(self) -> &'static str {
        match self {
            Proc::Lookup => "LOOKUP",
            Proc::Getattr => "GETATTR",
            Proc::Read => "READ",
            Proc::Write => "WRITE",
            Proc::Create => "CREATE",
            Proc::Remove => "REMOVE",
            Proc::Mkdir => "MKDIR",
        }
    }

    /// Whether a client made this call is itself an answer (cache hit or
    /// not), so question mode hides it.
    fn hidden(self) -> bool {
        matches!(self, Proc::Getattr | Proc::Read)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Req {
    Lookup { dir: Fh, name: String },
    Getattr { fh: Fh },
    Read { fh: Fh, off: u64, count: u64 },
    Write { fh: Fh, off: u64, data: Vec<u8> },
    Create { dir: Fh, name: String },
    Remove { dir: Fh, name: String },
    Mkdir { dir: Fh, name: String },
}

impl Req {
    pub fn proc(&self) -> Proc {
        match self {
            Req::Lookup { .. } => Proc::Lookup,
            Req::Getattr { .. } => Proc::Getattr,
            Req::Read { .. } => Proc::Read,
            Req::Write { .. } => Proc::Write,
            Req::Create { .. } => Proc::Create,
            Req::Remove { .. } => Proc::Remove,
            Req::Mkdir { .. } => Proc::Mkdir,
        }
    }

    /// The short form a message shows in the timeline.
    fn short(&self) -> String {
        let p = self.proc().name();
        match self {
            Req::Lookup { name, .. }
            | Req::Create { name, .. }
            | Req::Remove { name, .. }
            | Req::Mkdir { name, .. } => {
                format!("{p} \"{name}\"")
            }
            Req::Getattr { fh } => format!("{p} {fh}"),
            Req::Read { off, count, .. } => format!("{p} @{off}+{count}"),
            Req::Write { off, data, .. } => format!("{p} @{off} \"{}\"", show_bytes(data)),
        }
    }

    /// The call with every argument, as the server sees it.
    fn full(&self) -> String {
        let p = self.proc().name();
        match self {
            Req::Lookup { dir, name }
            | Req::Create { dir, name }
            | Req::Remove { dir, name }
            | Req::Mkdir { dir, name } => {
                format!("{p}({dir}, \"{name}\")")
            }
            Req::Getattr { fh } => format!("{p}({fh})"),
            Req::Read { fh, off, count } => format!("{p}({fh}, {off}, {count})"),
            Req::Write { fh, off, data } => format!("{p}({fh}, {off}, \"{}\")", show_bytes(data)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Res {
    /// LOOKUP, CREATE, MKDIR.
    Handle(Fh, Attr),
    /// GETATTR, WRITE.
    Attr(Attr),
    /// READ: the bytes and the attributes after the read.
    Data(Vec<u8>, Attr),
    /// REMOVE.
    Done,
}

impl Res {
    fn short(&self) -> String {
        match self {
            Res::Handle(fh, _) => fh.to_string(),
            Res::Attr(a) => format!("mtime {}", fmt_time(a.mtime)),
            Res::Data(d, _) => format!("\"{}\"", show_bytes(d)),
            Res::Done => "ok".into(),
        }
    }

    fn full(&self) -> String {
        match self {
            Res::Handle(fh, a) => format!("{fh}, {a}"),
            Res::Attr(a) => a.to_string(),
            Res::Data(d, a) => format!("\"{}\", {a}", show_bytes(d)),
            Res::Done => "ok".into(),
        }
    }
}

fn short_result(res: &Result<Res, Errno>) -> String {
    match res {
        Ok(r) => r.short(),
        Err(e) => e.code().to_string(),
    }
}

#[derive(Clone, Debug)]
pub enum Msg {
    Call { xid: u32, attempt: u32, req: Req },
    Reply { xid: u32, proc: Proc, res: Result<Res, Errno> },
}

/// Bytes as text: printable ASCII as it is, anything else as `\xNN`.
pub fn show_bytes(data: &[u8]) -> String {
    let mut s = String::new();
    for &b in data {
        if (0x20..0x7f).contains(&b) && b != b'\\' && b != b'"' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub clients: usize,
    pub script: Vec<Step>,
    /// The files the server's disk starts with: (path, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// How long a client waits for a reply before it resends.
    pub timeout: Time,
    /// How long a client trusts cached attributes.
    pub attr_timeout: Time,
    /// Reply to WRITE before the data is on stable storage.
    pub unsafe_writes: bool,
    /// How often the server flushes its write cache (with unsafe writes).
    pub sync: Time,
    /// How long a crashed server takes to reboot by itself.
    pub reboot: Time,
    pub layout: Layout,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            clients: 2,
            script: Vec::new(),
            files: Vec::new(),
            timeout: 200 * crate::sim::MS,
            attr_timeout: 3 * crate::sim::SEC,
            unsafe_writes: false,
            sync: 30 * crate::sim::SEC,
            reboot: crate::sim::SEC,
            layout: Layout { inodes: 8, data_blocks: 24, block_size: 4 },
        }
    }
}

impl Params {
    /// Checks that the starting files fit on the disk, by formatting one.
    pub fn check_files(&self) -> Result<(), String> {
        let disk = Disk::new(self.layout.total(), crate::sim::Stream::new(0, "check"));
        Fs::new(&disk, self.layout, 0).format(&self.files)
    }

    /// The read number of each read step (r1, r2, … in script order).
    fn read_no(&self, op: usize) -> usize {
        self.script[..op].iter().filter(|s| matches!(s.op, Op::Read { .. })).count() + 1
    }

    /// The parameters and the script, as the header of a run shows them.
    pub fn describe(&self) -> String {
        let l = self.layout;
        let mut s = format!(
            "clients={} timeout={} attr_timeout={} unsafe_writes={} sync={} reboot={} block_size={} inodes={} data_blocks={}",
            self.clients,
            Dur(self.timeout),
            Dur(self.attr_timeout),
            self.unsafe_writes,
            Dur(self.sync),
            Dur(self.reboot),
            l.block_size,
            l.inodes,
            l.data_blocks
        );
        if !self.files.is_empty() {
            let files: Vec<String> = self.files.iter().map(|(p, c)| format!("{p}=\"{}\"", show_bytes(c))).collect();
            s.push_str(&format!("\n  files: {}", files.join(", ")));
        }
        s.push_str("\n  script (step, when, what; a blank time means right after the client's previous step):");
        for (i, step) in self.script.iter().enumerate() {
            let when = match step.when {
                When::Next => String::new(),
                When::At(t) => script::seconds(t),
                When::After(t) => format!("+{}", script::seconds(t)),
            };
            let read =
                if matches!(step.op, Op::Read { .. }) { format!("   (r{})", self.read_no(i)) } else { String::new() };
            s.push_str(&format!("\n    {:>3}  {when:<7} {step}{read}", i + 1));
        }
        s
    }
}

// ---------------------------------------------------------------------------
// The nodes

pub enum Node {
    /// The server keeps nothing in memory: everything is on its disk.
    Server,
    Client(Box<Client>),
}

pub enum Obs {
    /// A client made a call (its first transmission).
    Call {
        op: usize,
        proc: Proc,
    },
    Retransmit {
        op: usize,
    },
    Executed {
        proc: Proc,
    },
    Wrote {
        client: usize,
        xid: u32,
        fh: Fh,
        off: u64,
        data: Vec<u8>,
    },
    Acked {
        client: usize,
        xid: u32,
    },
    /// Every file as the server would serve it now: after each change, and
    /// after a reboot.
    Snapshot(Vec<(Fh, Option<Vec<u8>>)>),
    /// A read step: the bytes that came from the clean cache, by position.
    Read {
        op: usize,
        fh: Option<Fh>,
        value: Value,
        cached: Vec<(u64, u8)>,
        checked: &'static str,
        from: &'static str,
    },
    Done {
        op: usize,
        result: Value,
    },
}

fn stored(data: Vec<u8>) -> Stored {
    Stored { data, checksum: None, addr: None }
}

fn snapshot<B: Blocks + ?Sized>(fs: &Fs<B>) -> Vec<(Fh, Option<Vec<u8>>)> {
    fs.walk().into_iter().map(|(_, fh, _)| (fh, fs.contents(fh).ok())).collect()
}

fn value_of(data: &[u8]) -> Value {
    if data.is_empty() {
        Value::Null
    } else {
        Value::text(show_bytes(data))
    }
}

impl Params {
    fn step_of(&self, me: usize, pos: usize) -> Option<usize> {
        self.script.iter().enumerate().filter(|(_, s)| s.client == me).nth(pos).map(|(i, _)| i)
    }

    fn bs(&self) -> u64 {
        self.layout.block_size as u64
    }

    // --- server

    fn serve_call(&self, from: NodeId, xid: u32, req: Req, ctx: &mut Ctx<Self>) {
        let proc = req.proc();
        let (res, writes, snap) = {
            let mut fs = Fs::new(&*ctx, self.layout, ctx.now);
            let res = fs.serve(&req);
            let snap = (res.is_ok() && !fs.writes.is_empty()).then(|| snapshot(&fs));
            let writes = std::mem::take(&mut fs.writes);
            (res, writes, snap)
        };
        ctx.observe(Obs::Executed { proc });
        if let (Req::Write { fh, off, data }, Ok(_)) = (&req, &res) {
            ctx.observe(Obs::Wrote { client: from - 1, xid, fh: *fh, off: *off, data: data.clone() });
        }
        if let Some(s) = snap {
            ctx.observe(Obs::Snapshot(s));
        }
        let result = match &res {
            Ok(r) => r.full(),
            Err(e) => format!("{e} ({})", e.why()),
        };
        let label = if proc.hidden() {
            vec![secret(format!("{} → {result}", req.full()))]
        } else {
            vec![shown(format!("{} → ", req.full())), secret(result)]
        };
        ctx.note(1, label);
        let through = !(self.unsafe_writes && proc == Proc::Write);
        for (b, data, what) in writes {
            // What the block now holds (an inode's generation, say) can be an answer.
            let holds = secret(format!("\"{}\"", show_bytes(&data)));
            ctx.note(4, vec![shown(format!("block {b} ← {what}: ")), holds]);
            ctx.disk_write(b, stored(data), through);
        }
        if !through && res.is_ok() {
            ctx.note(4, vec![shown("reply now, though the data is only in the volatile cache (unsafe_writes)")]);
        }
        ctx.send(from, Msg::Reply { xid, proc, res });
    }
}

impl Model for Params {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        std::iter::once("server".to_string()).chain((0..self.clients).map(|c| format!("c{c}"))).collect()
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        if node != SERVER {
            let mut c = Client::new(node - 1, 0);
            self.pump(&mut c, ctx);
            return Node::Client(Box::new(c));
        }
        let (writes, snap) = {
            let mut fs = Fs::new(&*ctx, self.layout, ctx.now);
            // The loader checked that the files fit.
            let _ = fs.format(&self.files);
            let snap = snapshot(&fs);
            // Each block once, as it ends up.
            let last: BTreeMap<usize, Vec<u8>> = fs.writes.drain(..).map(|(b, d, _)| (b, d)).collect();
            (last, snap)
        };
        ctx.note(4, vec![shown(format!("format volume {VOLUME}: {} blocks", writes.len()))]);
        for (b, data) in writes {
            ctx.disk_write(b, stored(data), true);
        }
        ctx.observe(Obs::Snapshot(snap));
        if self.unsafe_writes {
            ctx.set_timer(self.sync, TAG_SYNC);
        }
        Node::Server
    }

    fn on_message(&self, state: &mut Node, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match (state, msg) {
            (Node::Server, Msg::Call { xid, req, .. }) => self.serve_call(from, xid, req, ctx),
            (Node::Client(c), Msg::Reply { xid, res, .. }) => {
                self.on_reply(c, xid, res, ctx);
                self.pump(c, ctx);
            }
            _ => {}
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        match (state, tag & TAG_KIND) {
            (Node::Server, TAG_SYNC) => {
                ctx.disk_flush();
                ctx.set_timer(self.sync, TAG_SYNC);
            }
            (Node::Client(c), TAG_RPC) => self.on_timeout(c, tag, ctx),
            (Node::Client(c), TAG_OP) => self.pump(c, ctx),
            _ => {}
        }
    }

    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        if node != SERVER {
            // A client program that crashed goes on with its next step, with
            // empty caches and no open files.
            let pos = durable.get("next").and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut c = Client::new(node - 1, pos);
            self.pump(&mut c, ctx);
            return Node::Client(Box::new(c));
        }
        let snap = snapshot(&Fs::new(&*ctx, self.layout, ctx.now));
        ctx.note(0, vec![shown("reboot: no client state to rebuild")]);
        ctx.observe(Obs::Snapshot(snap));
        if self.unsafe_writes {
            ctx.set_timer(self.sync, TAG_SYNC);
        }
        Node::Server
    }

    fn reboot_after(&self, node: NodeId) -> Option<Time> {
        (node == SERVER).then_some(self.reboot)
    }

    fn disk_blocks(&self, node: NodeId) -> usize {
        if node == SERVER {
            self.layout.total()
        } else {
            0
        }
    }

    fn disk_detail(&self) -> u8 {
        4
    }

    fn label(&self, msg: &Msg) -> Label {
        match msg {
            Msg::Call { attempt, req, .. } => {
                let text = req.short();
                let mut l = if req.proc().hidden() { vec![secret(text)] } else { vec![shown(text)] };
                if *attempt > 1 {
                    l.push(shown(format!(" (try {attempt})")));
                }
                l
            }
            Msg::Reply { proc, res, .. } if proc.hidden() => {
                vec![secret(format!("reply {} {}", proc.name(), short_result(res)))]
            }
            Msg::Reply { proc, res, .. } => vec![shown(format!("reply {} ", proc.name())), secret(short_result(res))],
        }
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        match tag & TAG_KIND {
            TAG_RPC => (0, vec![shown("timeout: resend")]),
            TAG_SYNC => (4, vec![shown("sync: flush the write cache")]),
            _ => (UNSHOWN, vec![shown("step due")]),
        }
    }
}

// ---------------------------------------------------------------------------
// Facts

pub const FACTS: &[&str] = &[
    "reads",
    "read_values",
    "stale_reads",
    "attr_cache_reads",
    "getattr_calls",
    "calls",
    "executions",
    "retransmissions",
    "results",
    "retried_remove_result",
    "file_contents",
    "file_blocks",
    "file_generations",
    "lost_acknowledged_writes",
];

/// A WRITE call: (client, xid).
type Writer = (usize, u32);

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let zero = || Proc::ALL.iter().map(|p| (*p, 0i64)).collect::<BTreeMap<Proc, i64>>();
    let (mut calls, mut executions) = (zero(), zero());
    let mut retransmissions = 0;
    let mut retried: BTreeSet<usize> = BTreeSet::new();
    // What the server would serve for each file, as of each moment.
    let mut truth: BTreeMap<Fh, Option<Vec<u8>>> = BTreeMap::new();
    let mut results: BTreeMap<String, Value> = (1..=p.script.len()).map(|i| (i.to_string(), Value::Null)).collect();
    let mut done_order = Vec::new();
    let read_ids: Vec<String> =
        (1..=p.script.iter().filter(|s| matches!(s.op, Op::Read { .. })).count()).map(|i| format!("r{i}")).collect();
    let mut read_values: BTreeMap<String, Value> = read_ids.iter().map(|r| (r.clone(), Value::Null)).collect();
    let (mut reads, mut stale, mut trusted) = (Vec::new(), Vec::new(), Vec::new());
    // Every byte each executed WRITE put in each file, the last writer winning.
    let mut ideal: BTreeMap<Fh, BTreeMap<u64, (u8, Writer)>> = BTreeMap::new();
    let mut write_at: BTreeMap<Writer, u64> = BTreeMap::new();
    let mut acked: BTreeSet<Writer> = BTreeSet::new();
    for (time, node, obs) in &run.observations {
        match obs {
            Obs::Call { proc, .. } => *calls.entry(*proc).or_default() += 1,
            Obs::Retransmit { op } => {
                retransmissions += 1;
                retried.insert(*op);
            }
            Obs::Executed { proc } => *executions.entry(*proc).or_default() += 1,
            Obs::Wrote { client, xid, fh, off, data } => {
                let file = ideal.entry(*fh).or_default();
                for (i, b) in data.iter().enumerate() {
                    file.insert(off + i as u64, (*b, (*client, *xid)));
                }
                write_at.insert((*client, *xid), *off);
            }
            Obs::Acked { client, xid } => {
                acked.insert((*client, *xid));
            }
            Obs::Snapshot(files) => truth = files.iter().cloned().collect(),
            Obs::Read { op, fh, value, cached, checked, from } => {
                let id = format!("r{}", p.read_no(*op));
                // Stale: a byte served from the cache that the server no
                // longer holds (the file changed, or is gone).
                let is_stale = !cached.is_empty()
                    && match fh.and_then(|fh| truth.get(&fh)) {
                        None => true,
                        Some(None) => false,
                        Some(Some(now)) => cached.iter().any(|(pos, b)| now.get(*pos as usize) != Some(b)),
                    };
                if is_stale {
                    stale.push(id.clone());
                }
                if *checked == "attr-cache" {
                    trusted.push(id.clone());
                }
                read_values.insert(id.clone(), value.clone());
                let entry: BTreeMap<String, Value> = [
                    ("read", Value::text(id)),
                    ("op", Value::Int(*op as i64 + 1)),
                    ("client", Value::text(format!("c{}", node - 1))),
                    ("file", Value::text(p.script[*op].op.path())),
                    ("time", Value::ms(*time)),
                    ("value", value.clone()),
                    ("stale", Value::Bool(is_stale)),
                    ("checked", Value::text(*checked)),
                    ("from", Value::text(*from)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                reads.push(Value::Map(entry));
            }
            Obs::Done { op, result } => {
                results.insert((op + 1).to_string(), result.clone());
                done_order.push(*op);
            }
        }
    }
    let retried_remove = done_order
        .iter()
        .find(|op| matches!(p.script[**op].op, Op::Remove(_)) && retried.contains(op))
        .map_or(Value::Null, |op| results[&(op + 1).to_string()].clone());

    // The files at the end, as the server would serve them. Every path the
    // lab names has an entry, so a question about one never lacks its key.
    let fs = Fs::new(&run.disks[SERVER], p.layout, run.end);
    let named = p.files.iter().map(|(path, _)| path.as_str()).chain(p.script.iter().map(|s| s.op.path()));
    let mut contents: BTreeMap<String, Value> = named.map(|path| (path.to_string(), Value::Null)).collect();
    let mut blocks: BTreeMap<String, Value> = contents.keys().map(|k| (k.clone(), Value::List(vec![]))).collect();
    let mut generations = contents.clone();
    let mut lost = BTreeSet::new();
    for (path, fh, inode) in fs.walk() {
        let data = fs.contents(fh);
        contents.insert(
            path.clone(),
            match &data {
                Ok(d) => value_of(d),
                Err(e) => Value::text(e.code()),
            },
        );
        blocks
            .insert(path.clone(), Value::List(inode.blocks.iter().flatten().map(|b| Value::Int(*b as i64)).collect()));
        generations.insert(path.clone(), Value::Int(fh.gen as i64));
        for (pos, (b, writer)) in ideal.get(&fh).into_iter().flatten() {
            let now = data.as_ref().ok().and_then(|d| d.get(*pos as usize));
            if acked.contains(writer) && now != Some(b) {
                lost.insert(format!("{path}@{}", write_at.get(writer).copied().unwrap_or(*pos)));
            }
        }
    }

    let by_name = |m: BTreeMap<Proc, i64>| {
        Value::Map(m.into_iter().map(|(p, n)| (p.name().to_string(), Value::Int(n))).collect())
    };
    let mut f = Facts::new();
    f.insert("reads".into(), Value::List(reads));
    f.insert("read_values".into(), Value::Map(read_values));
    f.insert("stale_reads".into(), Value::texts(stale));
    f.insert("attr_cache_reads".into(), Value::texts(trusted));
    f.insert("getattr_calls".into(), Value::Int(calls[&Proc::Getattr]));
    f.insert("calls".into(), by_name(calls));
    f.insert("executions".into(), by_name(executions));
    f.insert("retransmissions".into(), Value::Int(retransmissions));
    f.insert("results".into(), Value::Map(results));
    f.insert("retried_remove_result".into(), retried_remove);
    f.insert("file_contents".into(), Value::Map(contents));
    f.insert("file_blocks".into(), Value::Map(blocks));
    f.insert("file_generations".into(), Value::Map(generations));
    f.insert("lost_acknowledged_writes".into(), Value::texts(lost));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_hide_what_question_mode_asks() {
        let p = Params::default();
        let fh = Fh { vol: 1, ino: 2, gen: 1 };
        let getattr = p.label(&Msg::Call { xid: 1, attempt: 2, req: Req::Getattr { fh } });
        assert!(getattr[0].secret && crate::sim::plain(&getattr) == "GETATTR fh(1,2,1) (try 2)");
        let remove = p.label(&Msg::Call { xid: 1, attempt: 1, req: Req::Remove { dir: fh, name: "a".into() } });
        assert!(!remove[0].secret && crate::sim::plain(&remove) == "REMOVE \"a\"");
        let reply = p.label(&Msg::Reply { xid: 1, proc: Proc::Remove, res: Err(Errno::NoEnt) });
        assert_eq!((reply[0].secret, reply[1].secret, reply[1].text.as_str()), (false, true, "ENOENT"));
        let data = p.label(&Msg::Reply {
            xid: 1,
            proc: Proc::Read,
            res: Ok(Res::Data(b"a\"\n".to_vec(), Attr { kind: Kind::File, size: 3, mtime: 0 })),
        });
        assert!(data.iter().all(|s| s.secret));
        assert_eq!(crate::sim::plain(&data), "reply READ \"a\\x22\\x0a\"");
    }
}
