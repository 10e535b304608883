//! Lab 04: a stateless file server in the style of NFSv2, and caching
//! clients. The server keeps every file and directory on its disk and nothing
//! about its clients, so after a crash the clients simply retry. Clients keep
//! the fd → (handle, offset) table, cache attributes for a while (a stale read
//! can slip through that window), cache data validated by modification time,
//! and buffer writes until close.

use crate::questions::{Facts, Value};
use crate::sim::{
    fmt_time, secret, shown, Ctx, Disk, DiskError, Dur, Durable, Label, Model, NodeId, Run, Stored, Time, TimerId,
};
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
/// Limits that keep a lab small enough to read.
pub const MAX_DATA: usize = 256;
pub const MAX_OFFSET: u64 = 65_536;

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

// ---------------------------------------------------------------------------
// The file system on the server's disk

/// An inode as its block stores it, in plain text so a curious student can
/// read a block: `file gen=1 size=12 mtime=0 blocks=9,10,11`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    /// None: a free inode.
    pub kind: Option<Kind>,
    pub gen: u32,
    pub size: u64,
    pub mtime: Time,
    /// Files: the disk block of each file block (None: a hole).
    pub blocks: Vec<Option<usize>>,
    /// Directories: name → inode number.
    pub entries: Vec<(String, u32)>,
}

impl Inode {
    fn free(gen: u32) -> Inode {
        Inode { kind: None, gen, size: 0, mtime: 0, blocks: Vec::new(), entries: Vec::new() }
    }

    fn new(kind: Kind, gen: u32, now: Time) -> Inode {
        Inode { kind: Some(kind), gen, size: 0, mtime: now, blocks: Vec::new(), entries: Vec::new() }
    }

    pub fn encode(&self) -> Vec<u8> {
        let text = match self.kind {
            None => format!("free gen={}", self.gen),
            Some(Kind::File) => {
                let blocks: Vec<String> =
                    self.blocks.iter().map(|b| b.map_or("-".to_string(), |b| b.to_string())).collect();
                format!("file gen={} size={} mtime={} blocks={}", self.gen, self.size, self.mtime, blocks.join(","))
            }
            Some(Kind::Dir) => {
                let entries: Vec<String> = self.entries.iter().map(|(n, i)| format!("{n}:{i}")).collect();
                format!("dir gen={} mtime={} entries={}", self.gen, self.mtime, entries.join(","))
            }
        };
        text.into_bytes()
    }

    /// Reads an inode back; None when the block does not hold one (never
    /// written, or corrupted past reading).
    pub fn decode(data: &[u8]) -> Option<Inode> {
        let text = std::str::from_utf8(data).ok()?;
        let mut words = text.split(' ');
        let kind = match words.next()? {
            "free" => None,
            "file" => Some(Kind::File),
            "dir" => Some(Kind::Dir),
            _ => return None,
        };
        let mut inode = Inode::free(0);
        inode.kind = kind;
        let mut gen = None;
        for w in words {
            let (key, value) = w.split_once('=')?;
            match key {
                "gen" => gen = Some(value.parse().ok()?),
                "size" => inode.size = value.parse().ok()?,
                "mtime" => inode.mtime = value.parse().ok()?,
                "blocks" if !value.is_empty() => {
                    inode.blocks = value
                        .split(',')
                        .map(|b| if b == "-" { Some(None) } else { b.parse().ok().map(Some) })
                        .collect::<Option<_>>()?
                }
                "entries" if !value.is_empty() => {
                    inode.entries = value
                        .split(',')
                        .map(|e| e.split_once(':').and_then(|(n, i)| Some((n.to_string(), i.parse().ok()?))))
                        .collect::<Option<_>>()?
                }
                "blocks" | "entries" => {}
                _ => return None,
            }
        }
        inode.gen = gen?;
        Some(inode)
    }

    fn attr(&self) -> Attr {
        let kind = self.kind.unwrap_or(Kind::File);
        let size = if kind == Kind::Dir { self.entries.len() as u64 } else { self.size };
        Attr { kind, size, mtime: self.mtime }
    }
}

/// Anything blocks can be read from: the engine's disk, or a handler's view of it.
pub trait Blocks {
    fn block(&self, b: usize) -> Result<Stored, DiskError>;
}

impl Blocks for Disk {
    fn block(&self, b: usize) -> Result<Stored, DiskError> {
        self.read(b)
    }
}

impl Blocks for Ctx<'_, Params> {
    fn block(&self, b: usize) -> Result<Stored, DiskError> {
        self.disk_read(b)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub inodes: usize,
    pub data_blocks: usize,
    pub block_size: usize,
}

impl Layout {
    pub fn total(&self) -> usize {
        1 + self.inodes + self.data_blocks
    }
    fn first_data(&self) -> usize {
        1 + self.inodes
    }
    fn max_file(&self) -> u64 {
        (self.data_blocks * self.block_size) as u64
    }
}

/// One server operation's view of the disk: reads see the operation's own
/// writes, which are collected to be handed to the engine afterwards.
pub struct Fs<'a, B: Blocks + ?Sized> {
    disk: &'a B,
    layout: Layout,
    now: Time,
    overlay: BTreeMap<usize, Vec<u8>>,
    /// (block, bytes, what the block holds) in the order they were written.
    pub writes: Vec<(usize, Vec<u8>, String)>,
}

impl<'a, B: Blocks + ?Sized> Fs<'a, B> {
    pub fn new(disk: &'a B, layout: Layout, now: Time) -> Fs<'a, B> {
        Fs { disk, layout, now, overlay: BTreeMap::new(), writes: Vec::new() }
    }

    fn raw(&self, b: usize) -> Result<Vec<u8>, DiskError> {
        match self.overlay.get(&b) {
            Some(d) => Ok(d.clone()),
            None => self.disk.block(b).map(|s| s.data),
        }
    }

    fn put(&mut self, b: usize, data: Vec<u8>, what: String) {
        self.overlay.insert(b, data.clone());
        self.writes.push((b, data, what));
    }

    /// An inode the server itself points at: any failure is an I/O error.
    pub fn load(&self, ino: u32) -> Result<Inode, Errno> {
        if ino == 0 || ino as usize > self.layout.inodes {
            return Err(Errno::Io);
        }
        let data = self.raw(ino as usize).map_err(|_| Errno::Io)?;
        Inode::decode(&data).ok_or(Errno::Io)
    }

    fn put_inode(&mut self, ino: u32, inode: &Inode) {
        self.put(ino as usize, inode.encode(), format!("inode {ino}"));
    }

    /// The inode a client's handle names, if the handle is still good.
    fn check(&self, fh: Fh) -> Result<Inode, Errno> {
        if fh.vol != VOLUME || fh.ino == 0 || fh.ino as usize > self.layout.inodes {
            return Err(Errno::Stale);
        }
        let inode = self.load(fh.ino)?;
        if inode.kind.is_none() || inode.gen != fh.gen {
            return Err(Errno::Stale);
        }
        Ok(inode)
    }

    fn dir(&self, fh: Fh) -> Result<Inode, Errno> {
        let d = self.check(fh)?;
        if d.kind != Some(Kind::Dir) {
            return Err(Errno::NotDir);
        }
        Ok(d)
    }

    /// A file block's bytes, always `block_size` long.
    fn data(&self, b: usize) -> Result<Vec<u8>, Errno> {
        if b < self.layout.first_data() || b >= self.layout.total() {
            return Err(Errno::Io);
        }
        let mut d = self.raw(b).map_err(|_| Errno::Io)?;
        d.resize(self.layout.block_size, 0);
        Ok(d)
    }

    /// Data blocks some inode points at. An unreadable inode's blocks are
    /// unknown, so they may be handed out again, as on a real damaged disk.
    fn used_blocks(&self) -> BTreeSet<usize> {
        (1..=self.layout.inodes as u32)
            .filter_map(|i| self.load(i).ok())
            .flat_map(|i| i.blocks.into_iter().flatten())
            .collect()
    }

    pub fn serve(&mut self, req: &Req) -> Result<Res, Errno> {
        match req {
            Req::Lookup { dir, name } => {
                let d = self.dir(*dir)?;
                let ino = d.entries.iter().find(|(n, _)| n == name).map(|(_, i)| *i).ok_or(Errno::NoEnt)?;
                let child = self.load(ino)?;
                if child.kind.is_none() {
                    return Err(Errno::Io);
                }
                Ok(Res::Handle(Fh { vol: VOLUME, ino, gen: child.gen }, child.attr()))
            }
            Req::Getattr { fh } => Ok(Res::Attr(self.check(*fh)?.attr())),
            Req::Read { fh, off, count } => self.read(*fh, *off, *count),
            Req::Write { fh, off, data } => self.write(*fh, *off, data),
            Req::Create { dir, name } => self.make(*dir, name, Kind::File),
            Req::Mkdir { dir, name } => self.make(*dir, name, Kind::Dir),
            Req::Remove { dir, name } => {
                let mut d = self.dir(*dir)?;
                let at = d.entries.iter().position(|(n, _)| n == name).ok_or(Errno::NoEnt)?;
                let ino = d.entries[at].1;
                let child = self.load(ino)?;
                if child.kind == Some(Kind::Dir) {
                    return Err(Errno::IsDir);
                }
                // The generation stays; the next CREATE that reuses the inode bumps it.
                self.put_inode(ino, &Inode::free(child.gen));
                d.entries.remove(at);
                d.mtime = self.now;
                self.put_inode(dir.ino, &d);
                Ok(Res::Done)
            }
        }
    }

    fn read(&self, fh: Fh, off: u64, count: u64) -> Result<Res, Errno> {
        let inode = self.check(fh)?;
        if inode.kind == Some(Kind::Dir) {
            return Err(Errno::IsDir);
        }
        let bs = self.layout.block_size as u64;
        let end = off.saturating_add(count).min(inode.size).min(self.layout.max_file());
        let mut out = Vec::new();
        let mut pos = off;
        while pos < end {
            let fb = pos / bs;
            let start = fb * bs;
            let hi = end.min(start + bs);
            let block = match inode.blocks.get(fb as usize).copied().flatten() {
                Some(b) => self.data(b)?,
                None => vec![0; bs as usize],
            };
            out.extend_from_slice(&block[(pos - start) as usize..(hi - start) as usize]);
            pos = hi;
        }
        Ok(Res::Data(out, inode.attr()))
    }

    fn write(&mut self, fh: Fh, off: u64, data: &[u8]) -> Result<Res, Errno> {
        let mut inode = self.check(fh)?;
        if inode.kind == Some(Kind::Dir) {
            return Err(Errno::IsDir);
        }
        let end = off.saturating_add(data.len() as u64);
        if end > self.layout.max_file() {
            return Err(Errno::FBig);
        }
        let bs = self.layout.block_size as u64;
        let mut taken = self.used_blocks();
        let mut out = Vec::new();
        let mut pos = off;
        // Work everything out first, so a failure part-way writes nothing.
        while pos < end {
            let fb = pos / bs;
            let start = fb * bs;
            let hi = end.min(start + bs);
            let old = inode.blocks.get(fb as usize).copied().flatten();
            let whole = pos == start && hi == start + bs;
            let mut block = match old {
                Some(b) if !whole => self.data(b)?,
                _ => vec![0; bs as usize],
            };
            block[(pos - start) as usize..(hi - start) as usize]
                .copy_from_slice(&data[(pos - off) as usize..(hi - off) as usize]);
            let b = match old {
                Some(b) => b,
                None => {
                    let b = (self.layout.first_data()..self.layout.total())
                        .find(|b| !taken.contains(b))
                        .ok_or(Errno::NoSpc)?;
                    taken.insert(b);
                    b
                }
            };
            if inode.blocks.len() <= fb as usize {
                inode.blocks.resize(fb as usize + 1, None);
            }
            inode.blocks[fb as usize] = Some(b);
            out.push((b, block, fb));
            pos = hi;
        }
        inode.size = inode.size.max(end);
        inode.mtime = self.now;
        for (b, block, fb) in out {
            self.put(b, block, format!("inode {} file block {fb}", fh.ino));
        }
        self.put_inode(fh.ino, &inode);
        Ok(Res::Attr(inode.attr()))
    }

    fn make(&mut self, dir: Fh, name: &str, kind: Kind) -> Result<Res, Errno> {
        let mut d = self.dir(dir)?;
        if d.entries.iter().any(|(n, _)| n == name) {
            return Err(Errno::Exist);
        }
        let (ino, old) = (1..=self.layout.inodes as u32)
            .filter_map(|i| self.load(i).ok().map(|n| (i, n)))
            .find(|(_, n)| n.kind.is_none())
            .ok_or(Errno::NoSpc)?;
        // A new generation, so handles to the inode's previous life go stale.
        let inode = Inode::new(kind, old.gen.wrapping_add(1), self.now);
        self.put_inode(ino, &inode);
        d.entries.push((name.to_string(), ino));
        d.mtime = self.now;
        self.put_inode(dir.ino, &d);
        Ok(Res::Handle(Fh { vol: VOLUME, ino, gen: inode.gen }, inode.attr()))
    }

    /// Lays out an empty volume, then the lab's starting files (parent
    /// directories are made as needed), through the same procedures clients use.
    pub fn format(&mut self, files: &[(String, Vec<u8>)]) -> Result<(), String> {
        let l = self.layout;
        let sb = format!(
            "superblock volume={VOLUME} inodes={} data_blocks={} block_size={}",
            l.inodes, l.data_blocks, l.block_size
        );
        self.put(0, sb.into_bytes(), "superblock".into());
        for ino in 1..=l.inodes as u32 {
            let inode = if ino == ROOT { Inode::new(Kind::Dir, 1, self.now) } else { Inode::free(0) };
            self.put_inode(ino, &inode);
        }
        for (path, content) in files {
            let parts = split_path(path);
            let mut at = Fh::root();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let res = match self.serve(&Req::Lookup { dir: at, name: part.clone() }) {
                    Ok(r) if !last => Ok(r),
                    Ok(_) => return Err(format!("{path} is given twice")),
                    Err(Errno::NoEnt) if last => self.serve(&Req::Create { dir: at, name: part.clone() }),
                    Err(Errno::NoEnt) => self.serve(&Req::Mkdir { dir: at, name: part.clone() }),
                    Err(e) => Err(e),
                };
                at = match res {
                    Ok(Res::Handle(fh, _)) => fh,
                    Err(Errno::NotDir) => return Err(format!("{path}: a parent of it is a file")),
                    Err(Errno::NoSpc) => {
                        return Err(format!(
                            "{path} does not fit: the disk has {} inodes, the root's included",
                            l.inodes
                        ))
                    }
                    other => return Err(format!("{path}: cannot be made ({other:?})")),
                };
            }
            if !content.is_empty() {
                match self.serve(&Req::Write { fh: at, off: 0, data: content.clone() }) {
                    Ok(_) => {}
                    Err(Errno::NoSpc | Errno::FBig) => {
                        return Err(format!(
                            "{path} does not fit: the disk has {} data blocks of {} bytes",
                            l.data_blocks, l.block_size
                        ))
                    }
                    Err(e) => return Err(format!("{path}: cannot be written ({e})")),
                }
            }
        }
        Ok(())
    }

    /// Every file reachable from the root: (path, handle, inode), in path order.
    pub fn walk(&self) -> Vec<(String, Fh, Inode)> {
        let mut out = Vec::new();
        let mut todo = vec![(String::new(), ROOT)];
        let mut seen = BTreeSet::new();
        while let Some((path, ino)) = todo.pop() {
            if !seen.insert(ino) {
                continue;
            }
            let Ok(d) = self.load(ino) else { continue };
            for (name, child) in &d.entries {
                let p = format!("{path}/{name}");
                match self.load(*child) {
                    Ok(c) if c.kind == Some(Kind::Dir) => todo.push((p, *child)),
                    Ok(c) if c.kind == Some(Kind::File) => {
                        out.push((p, Fh { vol: VOLUME, ino: *child, gen: c.gen }, c))
                    }
                    _ => {}
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A whole file's bytes, as a READ of all of it would return them.
    pub fn contents(&self, fh: Fh) -> Result<Vec<u8>, Errno> {
        match self.read(fh, 0, u64::MAX)? {
            Res::Data(d, _) => Ok(d),
            _ => Err(Errno::Io),
        }
    }
}

/// A script time as a lab would write it: `12.2s`, `500ms`.
fn seconds(t: Time) -> String {
    let sec = crate::sim::SEC;
    if t >= sec && t % crate::sim::MS == 0 {
        let ms = format!("{:03}", (t % sec) / crate::sim::MS);
        let frac = ms.trim_end_matches('0');
        if frac.is_empty() {
            format!("{}s", t / sec)
        } else {
            format!("{}.{frac}s", t / sec)
        }
    } else {
        Dur(t).to_string()
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

// ---------------------------------------------------------------------------
// The workload: a script of client steps

/// When a step starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// As soon as the client's previous step has returned.
    Next,
    /// At this time, or when the previous step returns if that is later.
    At(Time),
    /// This long after the client's previous step returned.
    After(Time),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create(String),
    Mkdir(String),
    Remove(String),
    Open(String),
    Close(String),
    /// The whole file, or `count` bytes from `off`.
    Read {
        path: String,
        range: Option<(u64, u64)>,
    },
    Write {
        path: String,
        off: u64,
        data: Vec<u8>,
    },
}

impl Op {
    pub fn path(&self) -> &str {
        match self {
            Op::Create(p) | Op::Mkdir(p) | Op::Remove(p) | Op::Open(p) | Op::Close(p) => p,
            Op::Read { path, .. } | Op::Write { path, .. } => path,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create(p) => write!(f, "create {p}"),
            Op::Mkdir(p) => write!(f, "mkdir {p}"),
            Op::Remove(p) => write!(f, "remove {p}"),
            Op::Open(p) => write!(f, "open {p}"),
            Op::Close(p) => write!(f, "close {p}"),
            Op::Read { path, range: None } => write!(f, "read {path}"),
            Op::Read { path, range: Some((o, c)) } => write!(f, "read {path} {o} {c}"),
            Op::Write { path, off, data } => write!(f, "write {path} {off} {}", show_bytes(data)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub when: When,
    pub client: usize,
    pub op: Op,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{} {}", self.client, self.op)
    }
}

pub const STEP_HELP: &str = "a step is [TIME] CLIENT OP ARGS, such as \"200ms c0 write /a 0 hello\", \"+3s c1 read /a\" or \"c0 close /a\": TIME is absolute (200ms) or after the client's previous step (+3s), and OP is create PATH, mkdir PATH, remove PATH, open PATH, read PATH [OFFSET COUNT], write PATH OFFSET DATA or close PATH";

/// A problem in a script step: where in the step's text, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub at: usize,
    pub message: String,
}

fn step_err(at: usize, message: impl Into<String>) -> StepError {
    StepError { at, message: message.into() }
}

/// Words with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

pub const PATH_HELP: &str =
    "a path starts with / and its names use letters, digits, `.`, `_` and `-`, such as /a or /dir/notes.txt";

/// Checks a path: absolute, plain names, not too deep.
pub fn check_path(path: &str) -> Result<(), String> {
    let parts = split_path(path);
    let plain = |p: &String| {
        p != "." && p != ".." && p.len() <= 32 && p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if !path.starts_with('/') || path.contains("//") || parts.is_empty() || !parts.iter().all(plain) {
        return Err(format!("`{path}` is not a usable path: {PATH_HELP}"));
    }
    if parts.len() > 8 {
        return Err(format!("`{path}` is more than 8 names deep"));
    }
    Ok(())
}

fn number(at: usize, word: &str, what: &str) -> Result<u64, StepError> {
    match word.parse::<u64>() {
        Ok(n) if n <= MAX_OFFSET => Ok(n),
        _ => Err(step_err(at, format!("{what} `{word}` must be a whole number from 0 to {MAX_OFFSET}"))),
    }
}

/// Reads one script step.
pub fn parse_step(text: &str, clients: usize) -> Result<Step, StepError> {
    let w = words(text);
    let Some(&(first_at, first)) = w.first() else {
        return Err(step_err(0, format!("an empty step: {STEP_HELP}")));
    };
    let mut i = 0;
    let mut when = When::Next;
    if first.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '.') {
        let (rel, t) = match first.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, first),
        };
        let d = crate::sim::parse_duration(t).map_err(|e| step_err(first_at, format!("time `{first}`: {e}")))?;
        when = if rel { When::After(d.0) } else { When::At(d.0) };
        i += 1;
    }
    let clients_list = || (0..clients).map(|c| format!("c{c}")).collect::<Vec<_>>().join(", ");
    let Some(&(c_at, c_word)) = w.get(i) else {
        return Err(step_err(text.len(), format!("no client after the time: {STEP_HELP}")));
    };
    let client = c_word
        .strip_prefix('c')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < clients && c_word == format!("c{n}"))
        .ok_or_else(|| step_err(c_at, format!("no client `{c_word}`: clients are {}; {STEP_HELP}", clients_list())))?;
    i += 1;
    let Some(&(op_at, verb)) = w.get(i) else {
        return Err(step_err(text.len(), format!("no operation after `{c_word}`: {STEP_HELP}")));
    };
    i += 1;
    let Some(&(path_at, path)) = w.get(i) else {
        return Err(step_err(text.len(), format!("`{verb}` needs a path: {STEP_HELP}")));
    };
    i += 1;
    let path_op = |make: fn(String) -> Op| -> Result<Op, StepError> {
        match w.get(i) {
            Some(&(at, extra)) => Err(step_err(at, format!("`{verb}` takes only a path, not `{extra}`"))),
            None => Ok(make(path.to_string())),
        }
    };
    let op =
        match verb {
            "create" => path_op(Op::Create)?,
            "mkdir" => path_op(Op::Mkdir)?,
            "remove" => path_op(Op::Remove)?,
            "open" => path_op(Op::Open)?,
            "close" => path_op(Op::Close)?,
            "read" => match &w[i..] {
                [] => Op::Read { path: path.to_string(), range: None },
                [(oa, o), (ca, c)] => {
                    let (off, count) = (number(*oa, o, "OFFSET")?, number(*ca, c, "COUNT")?);
                    if count == 0 {
                        return Err(step_err(*ca, "COUNT must be at least 1"));
                    }
                    Op::Read { path: path.to_string(), range: Some((off, count)) }
                }
                [(at, _), ..] => {
                    return Err(step_err(*at, "`read` takes a path, or a path, an OFFSET and a COUNT: read /a 0 4"))
                }
            },
            "write" => {
                let Some(&(oa, o)) = w.get(i) else {
                    return Err(step_err(text.len(), "`write` needs an OFFSET and DATA: write /a 0 hello"));
                };
                let off = number(oa, o, "OFFSET")?;
                let Some(&(da, _)) = w.get(i + 1) else {
                    return Err(step_err(text.len(), "`write` needs DATA after the offset: write /a 0 hello"));
                };
                let rest = text[da..].trim_end();
                let data = match rest.strip_prefix('"') {
                    Some(inner) => inner
                        .strip_suffix('"')
                        .ok_or_else(|| step_err(da, "DATA that opens with \" must close with \""))?,
                    None => rest,
                };
                if data.is_empty() || data.len() > MAX_DATA {
                    return Err(step_err(da, format!("DATA must be 1 to {MAX_DATA} bytes")));
                }
                Op::Write { path: path.to_string(), off, data: data.as_bytes().to_vec() }
            }
            other => return Err(step_err(
                op_at,
                format!(
                    "unknown operation `{other}`: use create, mkdir, remove, open, read, write or close; {STEP_HELP}"
                ),
            )),
        };
    check_path(path).map_err(|e| step_err(path_at, e))?;
    Ok(Step { when, client, op })
}

/// Checks the script as a whole: each client opens a file before it reads,
/// writes or closes it, never opens it twice, and its absolute times do not
/// go backwards. Returns the index of the offending step and why.
pub fn check_script(steps: &[Step], clients: usize) -> Result<(), (usize, String)> {
    let mut open: Vec<BTreeSet<String>> = vec![BTreeSet::new(); clients];
    let mut last: Vec<Option<Time>> = vec![None; clients];
    for (i, s) in steps.iter().enumerate() {
        let c = s.client;
        if let When::At(t) = s.when {
            if let Some(prev) = last[c].filter(|p| *p > t) {
                return Err((
                    i,
                    format!(
                        "c{c}'s steps go back in time: {} comes after a step at {}; list each client's steps in time order",
                        Dur(t),
                        Dur(prev)
                    ),
                ));
            }
            last[c] = Some(t);
        }
        let path = s.op.path().to_string();
        match &s.op {
            Op::Open(_) if open[c].contains(&path) => {
                return Err((i, format!("c{c} opens {path} again without closing it first")))
            }
            Op::Open(_) => {
                open[c].insert(path);
            }
            Op::Read { .. } | Op::Write { .. } | Op::Close(_) if !open[c].contains(&path) => {
                return Err((i, format!("c{c} has not opened {path}: add \"c{c} open {path}\" before this step")))
            }
            Op::Close(_) => {
                open[c].remove(&path);
            }
            _ => {}
        }
    }
    Ok(())
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
                When::At(t) => seconds(t),
                When::After(t) => format!("+{}", seconds(t)),
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

/// An open file: the fd → (handle, offset) table is the client's alone.
struct Fd {
    path: String,
    fh: Fh,
    offset: u64,
}

/// Cached data of one file: clean blocks as the server had them at `mtime`,
/// and bytes written locally and not yet sent.
struct DataCache {
    mtime: Time,
    blocks: BTreeMap<u64, Vec<u8>>,
    dirty: BTreeMap<u64, u8>,
}

impl DataCache {
    fn new(mtime: Time) -> DataCache {
        DataCache { mtime, blocks: BTreeMap::new(), dirty: BTreeMap::new() }
    }
}

/// The step a client is working on.
struct Running {
    op: usize,
    /// open: the handle, once fresh attributes came with it.
    fh: Option<Fh>,
    /// open: the cached handle has been tried with GETATTR.
    tried_cached: bool,
    /// read: how freshness was settled, "getattr" or "attr-cache".
    checked: Option<&'static str>,
    /// read: blocks fetched from the server during this step.
    fetched: BTreeSet<u64>,
}

struct Outstanding {
    xid: u32,
    req: Req,
    attempt: u32,
    timer: TimerId,
    /// The path the call is about, to file its answer under.
    path: String,
}

pub struct Client {
    me: usize,
    /// Position among this client's own steps.
    pos: usize,
    /// When the step at `pos` is due, once worked out: (pos, time).
    due: Option<(usize, Time)>,
    running: Option<Running>,
    rpc: Option<Outstanding>,
    next_xid: u32,
    names: BTreeMap<String, Fh>,
    attrs: BTreeMap<Fh, (Attr, Time)>,
    cache: BTreeMap<Fh, DataCache>,
    fds: BTreeMap<u32, Fd>,
    next_fd: u32,
}

impl Client {
    fn new(me: usize, pos: usize) -> Client {
        Client {
            me,
            pos,
            due: None,
            running: None,
            rpc: None,
            next_xid: 0,
            names: BTreeMap::new(),
            attrs: BTreeMap::new(),
            cache: BTreeMap::new(),
            fds: BTreeMap::new(),
            next_fd: 3,
        }
    }

    fn fd_of(&self, path: &str) -> Option<u32> {
        self.fds.iter().find(|(_, f)| f.path == path).map(|(fd, _)| *fd)
    }

    /// Walks the name cache from the root: the handle of `path`, or the first
    /// (directory, name, prefix) that needs a LOOKUP.
    fn resolve(&self, path: &str) -> Result<Fh, (Fh, String, String)> {
        let mut at = Fh::root();
        let mut prefix = String::new();
        for part in split_path(path) {
            prefix = format!("{prefix}/{part}");
            match self.names.get(&prefix) {
                Some(fh) => at = *fh,
                None => return Err((at, part, prefix)),
            }
        }
        Ok(at)
    }

    /// Drops everything known about a handle the server called stale.
    fn forget(&mut self, fh: Fh) {
        self.attrs.remove(&fh);
        self.cache.remove(&fh);
        self.names.retain(|_, h| *h != fh);
    }
}

/// How a step ended.
enum Outcome {
    Ok,
    Bytes { data: Vec<u8>, cached: Vec<(u64, u8)>, from: &'static str },
    Err(Errno),
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
            ctx.note(4, vec![shown(format!("block {b} ← {what}: \"{}\"", show_bytes(&data)))]);
            ctx.disk_write(b, stored(data), through);
        }
        if !through && res.is_ok() {
            ctx.note(4, vec![shown("reply now, though the data is only in the volatile cache (unsafe_writes)")]);
        }
        ctx.send(from, Msg::Reply { xid, proc, res });
    }

    // --- client: running the script

    fn pump(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        // Each turn sends a call, ends a step or begins one; the bound only
        // guards against a bug turning into a hang.
        for _ in 0..100_000 {
            if c.running.is_some() {
                if c.rpc.is_some() {
                    return;
                }
                self.advance(c, ctx);
            } else if !self.begin_next(c, ctx) {
                return;
            }
        }
    }

    fn begin_next(&self, c: &mut Client, ctx: &mut Ctx<Self>) -> bool {
        let Some(op) = self.step_of(c.me, c.pos) else { return false };
        let now = ctx.now;
        let due = match c.due {
            Some((p, t)) if p == c.pos => t,
            _ => {
                let t = match self.script[op].when {
                    When::Next => now,
                    When::At(t) => t.max(now),
                    When::After(d) => now.saturating_add(d),
                };
                c.due = Some((c.pos, t));
                if t > now {
                    ctx.set_timer(t - now, TAG_OP | op as u64);
                }
                t
            }
        };
        if due > now {
            return false;
        }
        c.due = None;
        ctx.persist("next", (c.pos + 1).to_string());
        let step = &self.script[op];
        let read = if matches!(step.op, Op::Read { .. }) { format!(" (r{})", self.read_no(op)) } else { String::new() };
        ctx.call(vec![shown(format!("[{}] {}{read}", op + 1, step.op))]);
        c.running = Some(Running { op, fh: None, tried_cached: false, checked: None, fetched: BTreeSet::new() });
        true
    }

    fn call(&self, c: &mut Client, req: Req, path: String, ctx: &mut Ctx<Self>) {
        let op = c.running.as_ref().map_or(0, |r| r.op);
        c.next_xid += 1;
        let xid = c.next_xid;
        ctx.observe(Obs::Call { op, proc: req.proc() });
        ctx.send(SERVER, Msg::Call { xid, attempt: 1, req: req.clone() });
        let timer = ctx.set_timer(self.timeout, TAG_RPC | xid as u64);
        c.rpc = Some(Outstanding { xid, req, attempt: 1, timer, path });
    }

    fn finish(&self, c: &mut Client, outcome: Outcome, ctx: &mut Ctx<Self>) {
        let Some(run) = c.running.take() else { return };
        let op = run.op;
        let step = &self.script[op];
        let (value, text) = match &outcome {
            Outcome::Ok => (Value::text("ok"), "ok".to_string()),
            Outcome::Bytes { data, .. } if data.is_empty() => (Value::Null, "(empty)".to_string()),
            Outcome::Bytes { data, .. } => (value_of(data), format!("\"{}\"", show_bytes(data))),
            Outcome::Err(e) => (Value::text(e.code()), e.code().to_string()),
        };
        if let Op::Read { path, .. } = &step.op {
            let fh = c.fd_of(path).map(|fd| c.fds[&fd].fh);
            let (cached, from) = match outcome {
                Outcome::Bytes { cached, from, .. } => (cached, from),
                _ => (Vec::new(), "none"),
            };
            let checked = run.checked.unwrap_or("none");
            ctx.observe(Obs::Read { op, fh, value: value.clone(), cached, checked, from });
        }
        ctx.observe(Obs::Done { op, result: value });
        ctx.ret(vec![shown(format!("[{}] {} → ", op + 1, step.op)), secret(text)]);
        c.pos += 1;
    }

    /// Takes the running step one call further, or ends it.
    fn advance(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        let Some(run) = c.running.as_ref() else { return };
        let op = run.op;
        let path = self.script[op].op.path().to_string();
        match &self.script[op].op {
            Op::Open(_) => self.advance_open(c, &path, ctx),
            Op::Create(_) | Op::Mkdir(_) | Op::Remove(_) => {
                let parts = split_path(&path);
                let parent = format!("/{}", parts[..parts.len().saturating_sub(1)].join("/"));
                let name = parts.last().cloned().unwrap_or_default();
                let dir = if parent == "/" { Ok(Fh::root()) } else { c.resolve(&parent) };
                match dir {
                    Err((d, n, prefix)) => self.call(c, Req::Lookup { dir: d, name: n }, prefix, ctx),
                    Ok(dir) => {
                        let req = match &self.script[op].op {
                            Op::Create(_) => Req::Create { dir, name },
                            Op::Mkdir(_) => Req::Mkdir { dir, name },
                            _ => Req::Remove { dir, name },
                        };
                        self.call(c, req, path, ctx);
                    }
                }
            }
            Op::Write { off, data, .. } => {
                let Some(fd) = c.fd_of(&path) else { return self.finish(c, Outcome::Err(Errno::BadF), ctx) };
                let fh = c.fds[&fd].fh;
                let mtime = c.attrs.get(&fh).map_or(0, |a| a.0.mtime);
                let cache = c.cache.entry(fh).or_insert_with(|| DataCache::new(mtime));
                for (i, b) in data.iter().enumerate() {
                    cache.dirty.insert(off + i as u64, *b);
                }
                let end = off + data.len() as u64;
                if let Some(f) = c.fds.get_mut(&fd) {
                    f.offset = end;
                }
                ctx.note(
                    2,
                    vec![shown(format!("buffer {} bytes at {off} until close; fd {fd} offset → {end}", data.len()))],
                );
                self.finish(c, Outcome::Ok, ctx);
            }
            Op::Read { range, .. } => self.advance_read(c, &path, *range, ctx),
            Op::Close(_) => {
                let Some(fd) = c.fd_of(&path) else { return self.finish(c, Outcome::Err(Errno::BadF), ctx) };
                let fh = c.fds[&fd].fh;
                let bs = self.bs();
                // The next run of dirty bytes within one block, sent as one WRITE.
                let chunk = c.cache.get(&fh).and_then(|cache| {
                    let (&start, _) = cache.dirty.iter().next()?;
                    let bytes: Vec<u8> = cache
                        .dirty
                        .range(start..(start / bs + 1) * bs)
                        .enumerate()
                        .take_while(|(i, (pos, _))| **pos == start + *i as u64)
                        .map(|(_, (_, b))| *b)
                        .collect();
                    Some((start, bytes))
                });
                match chunk {
                    Some((off, data)) => self.call(c, Req::Write { fh, off, data }, path, ctx),
                    None => {
                        c.fds.remove(&fd);
                        ctx.note(2, vec![shown(format!("fd {fd} closed"))]);
                        self.finish(c, Outcome::Ok, ctx);
                    }
                }
            }
        }
    }

    fn advance_open(&self, c: &mut Client, path: &str, ctx: &mut Ctx<Self>) {
        let Some(run) = c.running.as_mut() else { return };
        if let Some(fh) = run.fh {
            let fd = c.next_fd;
            c.next_fd += 1;
            c.fds.insert(fd, Fd { path: path.to_string(), fh, offset: 0 });
            ctx.note(2, vec![shown(format!("fd {fd} → ({fh}, offset 0)"))]);
            return self.finish(c, Outcome::Ok, ctx);
        }
        if !run.tried_cached {
            run.tried_cached = true;
            if let Some(fh) = c.names.get(path).copied() {
                // Close-to-open: opening asks the server for fresh attributes.
                return self.call(c, Req::Getattr { fh }, path.to_string(), ctx);
            }
        }
        match c.resolve(path) {
            Err((dir, name, prefix)) => self.call(c, Req::Lookup { dir, name }, prefix, ctx),
            Ok(fh) => self.call(c, Req::Getattr { fh }, path.to_string(), ctx),
        }
    }

    fn advance_read(&self, c: &mut Client, path: &str, range: Option<(u64, u64)>, ctx: &mut Ctx<Self>) {
        let Some(fd) = c.fd_of(path) else { return self.finish(c, Outcome::Err(Errno::BadF), ctx) };
        let fh = c.fds[&fd].fh;
        let now = ctx.now;
        let Some(run) = c.running.as_mut() else { return };
        if run.checked.is_none() {
            match c.attrs.get(&fh) {
                Some((_, t)) if now.saturating_sub(*t) < self.attr_timeout => {
                    run.checked = Some("attr-cache");
                    let age = fmt_time(now - t);
                    ctx.outcome(
                        2,
                        vec![secret(format!(
                            "attr cache hit: {fh} attributes {age} old (< {}): no GETATTR",
                            Dur(self.attr_timeout)
                        ))],
                    );
                }
                Some((_, t)) => {
                    let age = fmt_time(now - t);
                    ctx.outcome(
                        2,
                        vec![secret(format!(
                            "attr cache expired: {fh} attributes {age} old (≥ {}): GETATTR",
                            Dur(self.attr_timeout)
                        ))],
                    );
                    return self.call(c, Req::Getattr { fh }, path.to_string(), ctx);
                }
                None => {
                    ctx.outcome(2, vec![secret(format!("no cached attributes for {fh}: GETATTR"))]);
                    return self.call(c, Req::Getattr { fh }, path.to_string(), ctx);
                }
            }
        }
        let fetched = run.fetched.clone();
        let Some(&(attr, _)) = c.attrs.get(&fh) else { return self.finish(c, Outcome::Err(Errno::Stale), ctx) };
        let bs = self.bs();
        let cache = c.cache.entry(fh).or_insert_with(|| DataCache::new(attr.mtime));
        let local = cache.dirty.keys().next_back().map_or(attr.size, |last| attr.size.max(last + 1));
        let (a, b) = match range {
            None => (0, local),
            Some((off, n)) => (off.min(local), off.saturating_add(n).min(local)),
        };
        let mut fb = a / bs;
        while fb * bs < b {
            let (lo, hi) = (a.max(fb * bs), b.min((fb + 1) * bs));
            let all_dirty = (lo..hi).all(|p| cache.dirty.contains_key(&p));
            if fb * bs < attr.size && !cache.blocks.contains_key(&fb) && !all_dirty {
                let req = Req::Read { fh, off: fb * bs, count: bs };
                return self.call(c, req, path.to_string(), ctx);
            }
            fb += 1;
        }
        let mut data = Vec::new();
        let mut cached = Vec::new();
        for pos in a..b {
            if let Some(byte) = cache.dirty.get(&pos) {
                data.push(*byte);
                continue;
            }
            let fb = pos / bs;
            let byte = cache.blocks.get(&fb).and_then(|d| d.get((pos - fb * bs) as usize)).copied().unwrap_or(0);
            if cache.blocks.contains_key(&fb) && !fetched.contains(&fb) {
                cached.push((pos, byte));
            }
            data.push(byte);
        }
        let from = match (cached.is_empty(), fetched.is_empty()) {
            (true, _) => "server",
            (false, true) => "cache",
            (false, false) => "mixed",
        };
        if !cached.is_empty() {
            ctx.outcome(
                2,
                vec![secret(format!(
                    "data cache: {} of {} bytes served from blocks cached at mtime {}",
                    cached.len(),
                    b - a,
                    fmt_time(cache.mtime)
                ))],
            );
        }
        if let Some(f) = c.fds.get_mut(&fd) {
            f.offset = b;
        }
        self.finish(c, Outcome::Bytes { data, cached, from }, ctx);
    }

    /// Fresh attributes from the server: note them, and check cached data
    /// against the modification time.
    fn fresh_attrs(&self, c: &mut Client, fh: Fh, attr: Attr, ctx: &mut Ctx<Self>) {
        c.attrs.insert(fh, (attr, ctx.now));
        if attr.kind != Kind::File {
            return;
        }
        match c.cache.get_mut(&fh) {
            Some(cache) if cache.mtime != attr.mtime => {
                if !cache.blocks.is_empty() {
                    ctx.outcome(
                        2,
                        vec![secret(format!(
                            "{fh} changed on the server (mtime {} → {}): cached data dropped",
                            fmt_time(cache.mtime),
                            fmt_time(attr.mtime)
                        ))],
                    );
                }
                cache.blocks.clear();
                cache.mtime = attr.mtime;
            }
            Some(cache) => {
                if !cache.blocks.is_empty() {
                    ctx.outcome(
                        2,
                        vec![secret(format!(
                            "{fh} unchanged (mtime {}): cached data still valid",
                            fmt_time(attr.mtime)
                        ))],
                    );
                }
            }
            None => {
                c.cache.insert(fh, DataCache::new(attr.mtime));
            }
        }
    }

    fn on_reply(&self, c: &mut Client, xid: u32, res: Result<Res, Errno>, ctx: &mut Ctx<Self>) {
        let Some(rpc) = c.rpc.take_if(|r| r.xid == xid) else {
            ctx.note(1, vec![shown("a late or duplicate reply: ignored")]);
            return;
        };
        ctx.cancel_timer(rpc.timer);
        let Some(op) = c.running.as_ref().map(|r| r.op) else { return };
        let step_path = self.script[op].op.path().to_string();
        let is_open = matches!(self.script[op].op, Op::Open(_));
        let bs = self.bs();
        match (&rpc.req, res) {
            (Req::Lookup { .. }, Ok(Res::Handle(fh, attr))) => {
                c.names.insert(rpc.path.clone(), fh);
                self.fresh_attrs(c, fh, attr, ctx);
                if let Some(run) = c.running.as_mut().filter(|_| is_open && rpc.path == step_path) {
                    run.fh = Some(fh);
                }
            }
            (Req::Getattr { fh }, Ok(Res::Attr(attr))) => {
                self.fresh_attrs(c, *fh, attr, ctx);
                if let Some(run) = c.running.as_mut() {
                    if is_open {
                        run.fh = Some(*fh);
                    } else {
                        run.checked = Some("getattr");
                    }
                }
            }
            (Req::Getattr { fh }, Err(Errno::Stale)) if is_open => {
                c.forget(*fh);
                ctx.outcome(2, vec![secret(format!("cached {fh} is stale: look the name up again"))]);
            }
            (Req::Read { fh, off, .. }, Ok(Res::Data(data, attr))) => {
                c.attrs.insert(*fh, (attr, ctx.now));
                let cache = c.cache.entry(*fh).or_insert_with(|| DataCache::new(attr.mtime));
                if cache.mtime != attr.mtime {
                    cache.blocks.clear();
                    cache.mtime = attr.mtime;
                }
                cache.blocks.insert(off / bs, data);
                if let Some(run) = c.running.as_mut() {
                    run.fetched.insert(off / bs);
                }
            }
            (Req::Write { fh, off, data }, Ok(Res::Attr(attr))) => {
                ctx.observe(Obs::Acked { client: c.me, xid });
                c.attrs.insert(*fh, (attr, ctx.now));
                if let Some(cache) = c.cache.get_mut(fh) {
                    let fb = off / bs;
                    for (i, b) in data.iter().enumerate() {
                        let pos = off + i as u64;
                        cache.dirty.remove(&pos);
                        if let Some(block) = cache.blocks.get_mut(&fb) {
                            let at = (pos - fb * bs) as usize;
                            if block.len() <= at {
                                block.resize(at + 1, 0);
                            }
                            block[at] = *b;
                        }
                    }
                    // The change is taken to be our own, so the cache stays valid.
                    cache.mtime = attr.mtime;
                }
            }
            (Req::Create { .. } | Req::Mkdir { .. }, Ok(Res::Handle(fh, attr))) => {
                c.names.insert(rpc.path.clone(), fh);
                self.fresh_attrs(c, fh, attr, ctx);
                self.finish(c, Outcome::Ok, ctx);
            }
            (Req::Remove { .. }, Ok(Res::Done)) => {
                if let Some(fh) = c.names.remove(&rpc.path) {
                    c.forget(fh);
                }
                self.finish(c, Outcome::Ok, ctx);
            }
            (req, res) => {
                let e = res.err().unwrap_or(Errno::Io);
                match req {
                    Req::Getattr { fh } | Req::Read { fh, .. } | Req::Write { fh, .. } if e == Errno::Stale => {
                        c.forget(*fh)
                    }
                    Req::Remove { .. } if e == Errno::NoEnt => {
                        c.names.remove(&rpc.path);
                    }
                    _ => {}
                }
                // A close that fails has lost its buffered data.
                if let Op::Close(p) = &self.script[op].op {
                    if let Some(fd) = c.fd_of(p) {
                        let fh = c.fds[&fd].fh;
                        if let Some(cache) = c.cache.get_mut(&fh) {
                            cache.dirty.clear();
                        }
                        c.fds.remove(&fd);
                    }
                }
                self.finish(c, Outcome::Err(e), ctx);
            }
        }
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
            (Node::Client(c), TAG_RPC) => {
                let xid = (tag & !TAG_KIND) as u32;
                let Some(rpc) = c.rpc.as_mut().filter(|r| r.xid == xid) else { return };
                rpc.attempt += 1;
                ctx.send(SERVER, Msg::Call { xid, attempt: rpc.attempt, req: rpc.req.clone() });
                rpc.timer = ctx.set_timer(self.timeout, tag);
                ctx.observe(Obs::Retransmit { op: c.running.as_ref().map_or(0, |r| r.op) });
            }
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
    "lost_acknowledged_writes",
];

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
    let mut ideal: BTreeMap<Fh, BTreeMap<u64, (u8, (usize, u32))>> = BTreeMap::new();
    let mut write_at: BTreeMap<(usize, u32), u64> = BTreeMap::new();
    let mut acked: BTreeSet<(usize, u32)> = BTreeSet::new();
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

    // The files at the end, as the server would serve them.
    let fs = Fs::new(&run.disks[SERVER], p.layout, run.end);
    let (mut contents, mut blocks) = (BTreeMap::new(), BTreeMap::new());
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
    f.insert("lost_acknowledged_writes".into(), Value::texts(lost));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Corruption, Stream, MS, SEC};

    const L: Layout = Layout { inodes: 6, data_blocks: 6, block_size: 4 };

    fn apply(d: &mut Disk, writes: Vec<(usize, Vec<u8>, String)>) {
        for (b, data, _) in writes {
            d.write(b, stored(data), true);
        }
    }

    fn disk(files: &[(&str, &str)]) -> Disk {
        let mut d = Disk::new(L.total(), Stream::new(1, "test"));
        let files: Vec<(String, Vec<u8>)> = files.iter().map(|(p, c)| (p.to_string(), c.as_bytes().to_vec())).collect();
        let writes = {
            let mut fs = Fs::new(&d, L, 0);
            fs.format(&files).unwrap();
            fs.writes
        };
        apply(&mut d, writes);
        d
    }

    /// One server procedure against the disk, its writes applied after.
    fn serve(d: &mut Disk, now: Time, req: Req) -> Result<Res, Errno> {
        let (res, writes) = {
            let mut fs = Fs::new(&*d, L, now);
            let res = fs.serve(&req);
            (res, fs.writes)
        };
        apply(d, writes);
        res
    }

    fn lookup(d: &mut Disk, name: &str) -> (Fh, Attr) {
        match serve(d, 0, Req::Lookup { dir: Fh::root(), name: name.into() }) {
            Ok(Res::Handle(fh, a)) => (fh, a),
            other => panic!("lookup {name}: {other:?}"),
        }
    }

    fn read(d: &mut Disk, fh: Fh, off: u64, count: u64) -> Result<String, Errno> {
        match serve(d, 0, Req::Read { fh, off, count })? {
            Res::Data(data, _) => Ok(show_bytes(&data)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inodes_round_trip_and_garbage_is_rejected() {
        let f = Inode {
            kind: Some(Kind::File),
            gen: 3,
            size: 9,
            mtime: 1500,
            blocks: vec![Some(7), None, Some(9)],
            entries: vec![],
        };
        assert_eq!(String::from_utf8(f.encode()).unwrap(), "file gen=3 size=9 mtime=1500 blocks=7,-,9");
        assert_eq!(Inode::decode(&f.encode()), Some(f));
        let d =
            Inode { kind: Some(Kind::Dir), gen: 1, size: 0, mtime: 0, blocks: vec![], entries: vec![("a".into(), 2)] };
        assert_eq!(Inode::decode(&d.encode()), Some(d));
        assert_eq!(Inode::decode(b"free gen=4"), Some(Inode::free(4)));
        for bad in [&b""[..], b"file", b"file gen=x", b"dir gen=1 entries=a", b"sock gen=1", b"\xff\xfe"] {
            assert_eq!(Inode::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lookup_getattr_and_read_serve_a_formatted_file() {
        let mut d = disk(&[("/notes", "draft"), ("/d/x", "hi")]);
        let (fh, attr) = lookup(&mut d, "notes");
        assert_eq!(fh, Fh { vol: 1, ino: 2, gen: 1 });
        assert_eq!(attr, Attr { kind: Kind::File, size: 5, mtime: 0 });
        assert_eq!(read(&mut d, fh, 0, 100), Ok("draft".into()));
        assert_eq!(read(&mut d, fh, 3, 1), Ok("f".into()));
        assert_eq!(read(&mut d, fh, 9, 4), Ok("".into()), "past the end reads nothing");
        assert_eq!(serve(&mut d, 0, Req::Getattr { fh }), Ok(Res::Attr(attr)));
        let (dir, _) = lookup(&mut d, "d");
        let Ok(Res::Handle(x, _)) = serve(&mut d, 0, Req::Lookup { dir, name: "x".into() }) else { panic!() };
        assert_eq!(read(&mut d, x, 0, 4), Ok("hi".into()));
        assert_eq!(serve(&mut d, 0, Req::Lookup { dir, name: "y".into() }), Err(Errno::NoEnt));
        assert_eq!(serve(&mut d, 0, Req::Lookup { dir: fh, name: "y".into() }), Err(Errno::NotDir));
        assert_eq!(serve(&mut d, 0, Req::Read { fh: dir, off: 0, count: 4 }), Err(Errno::IsDir));
    }

    #[test]
    fn write_merges_partial_blocks_extends_and_sets_mtime() {
        let mut d = disk(&[("/a", "draft")]);
        let (fh, _) = lookup(&mut d, "a");
        let res = serve(&mut d, 7 * MS, Req::Write { fh, off: 2, data: b"XY".to_vec() });
        assert_eq!(res, Ok(Res::Attr(Attr { kind: Kind::File, size: 5, mtime: 7 * MS })));
        assert_eq!(read(&mut d, fh, 0, 99), Ok("drXYt".into()));
        // Past the end: the gap reads as zeros, the file grows, a block is allocated.
        serve(&mut d, 8 * MS, Req::Write { fh, off: 9, data: b"Z".to_vec() }).unwrap();
        assert_eq!(read(&mut d, fh, 0, 99), Ok("drXYt\\x00\\x00\\x00\\x00Z".into()));
        let fs = Fs::new(&d, L, 0);
        assert_eq!(fs.load(fh.ino).unwrap().blocks, vec![Some(7), Some(8), Some(9)]);
        // Repeating a WRITE changes nothing but the time: it is idempotent.
        let again = serve(&mut d, 9 * MS, Req::Write { fh, off: 2, data: b"XY".to_vec() });
        assert_eq!(again, Ok(Res::Attr(Attr { kind: Kind::File, size: 10, mtime: 9 * MS })));
        assert_eq!(read(&mut d, fh, 0, 5), Ok("drXYt".into()));
    }

    #[test]
    fn create_mkdir_and_remove_are_not_idempotent() {
        let mut d = disk(&[]);
        let root = Fh::root();
        let Ok(Res::Handle(a, attr)) = serve(&mut d, 5, Req::Create { dir: root, name: "a".into() }) else { panic!() };
        assert_eq!((a, attr.size, attr.mtime), (Fh { vol: 1, ino: 2, gen: 1 }, 0, 5));
        assert_eq!(serve(&mut d, 6, Req::Create { dir: root, name: "a".into() }), Err(Errno::Exist));
        assert!(matches!(serve(&mut d, 6, Req::Mkdir { dir: root, name: "d".into() }), Ok(Res::Handle(..))));
        assert_eq!(serve(&mut d, 6, Req::Mkdir { dir: root, name: "d".into() }), Err(Errno::Exist));
        assert_eq!(serve(&mut d, 7, Req::Remove { dir: root, name: "a".into() }), Ok(Res::Done));
        assert_eq!(serve(&mut d, 8, Req::Remove { dir: root, name: "a".into() }), Err(Errno::NoEnt));
        assert_eq!(serve(&mut d, 8, Req::Remove { dir: root, name: "d".into() }), Err(Errno::IsDir));
        let Ok(Res::Attr(r)) = serve(&mut d, 9, Req::Getattr { fh: root }) else { panic!() };
        assert_eq!((r.kind, r.size, r.mtime), (Kind::Dir, 1, 7), "the directory changed at the remove");
    }

    #[test]
    fn a_reused_inode_gets_a_new_generation_and_old_handles_go_stale() {
        let mut d = disk(&[("/tmp", "scratch")]);
        let (old, _) = lookup(&mut d, "tmp");
        serve(&mut d, 1, Req::Remove { dir: Fh::root(), name: "tmp".into() }).unwrap();
        assert_eq!(serve(&mut d, 2, Req::Getattr { fh: old }), Err(Errno::Stale), "freed");
        let Ok(Res::Handle(new, _)) = serve(&mut d, 3, Req::Create { dir: Fh::root(), name: "new".into() }) else {
            panic!()
        };
        assert_eq!((new.ino, new.gen), (old.ino, old.gen + 1));
        for req in [
            Req::Getattr { fh: old },
            Req::Read { fh: old, off: 0, count: 4 },
            Req::Write { fh: old, off: 0, data: b"x".to_vec() },
        ] {
            assert_eq!(serve(&mut d, 4, req), Err(Errno::Stale), "reused");
        }
        assert_eq!(serve(&mut d, 4, Req::Getattr { fh: Fh { vol: 2, ..new } }), Err(Errno::Stale), "other volume");
        assert_eq!(serve(&mut d, 4, Req::Getattr { fh: Fh { ino: 99, ..new } }), Err(Errno::Stale));
        assert_eq!(read(&mut d, new, 0, 9), Ok("".into()), "the new file does not see the old data");
    }

    #[test]
    fn disk_faults_change_what_the_server_answers() {
        let mut d = disk(&[("/a", "abcdefgh")]);
        let (fh, _) = lookup(&mut d, "a");
        let data = Fs::new(&d, L, 0).load(fh.ino).unwrap().blocks;
        let (b0, b1) = (data[0].unwrap(), data[1].unwrap());
        d.corrupt(b1, Corruption::Latent);
        assert_eq!(read(&mut d, fh, 0, 4), Ok("abcd".into()), "the other block still reads");
        assert_eq!(read(&mut d, fh, 0, 8), Err(Errno::Io));
        assert!(matches!(serve(&mut d, 0, Req::Getattr { fh }), Ok(Res::Attr(_))), "the inode is fine");
        assert_eq!(
            serve(&mut d, 1, Req::Write { fh, off: 5, data: b"X".to_vec() }),
            Err(Errno::Io),
            "partial write reads first"
        );
        assert!(
            serve(&mut d, 1, Req::Write { fh, off: 4, data: b"WXYZ".to_vec() }).is_ok(),
            "a whole block needs no read"
        );
        assert_eq!(read(&mut d, fh, 0, 8), Ok("abcdWXYZ".into()), "rewriting cured the latent error");
        d.corrupt(b0, Corruption::BitFlip);
        let flipped = read(&mut d, fh, 0, 4).unwrap();
        let diff: u32 = flipped.bytes().zip("abcd".bytes()).map(|(a, b)| (a ^ b).count_ones()).sum();
        assert!(flipped != "abcd" && (diff == 1 || flipped.contains("\\x")), "{flipped}");
        d.corrupt(fh.ino as usize, Corruption::Latent);
        assert_eq!(serve(&mut d, 2, Req::Getattr { fh }), Err(Errno::Io), "an unreadable inode");
    }

    #[test]
    fn full_disks_and_huge_files_are_refused() {
        let mut d = disk(&[]);
        let root = Fh::root();
        let Ok(Res::Handle(a, _)) = serve(&mut d, 0, Req::Create { dir: root, name: "a".into() }) else { panic!() };
        assert_eq!(serve(&mut d, 0, Req::Write { fh: a, off: 24, data: b"x".to_vec() }), Err(Errno::FBig));
        assert!(serve(&mut d, 0, Req::Write { fh: a, off: 0, data: vec![b'x'; 24] }).is_ok());
        let Ok(Res::Handle(b, _)) = serve(&mut d, 0, Req::Create { dir: root, name: "b".into() }) else { panic!() };
        assert_eq!(serve(&mut d, 0, Req::Write { fh: b, off: 0, data: b"y".to_vec() }), Err(Errno::NoSpc));
        for n in ["c", "d", "e"] {
            assert!(serve(&mut d, 0, Req::Create { dir: root, name: n.into() }).is_ok());
        }
        assert_eq!(serve(&mut d, 0, Req::Create { dir: root, name: "f".into() }), Err(Errno::NoSpc));
        let p = Params { layout: L, files: vec![("/big".into(), vec![b'x'; 25])], ..Params::default() };
        assert!(p.check_files().unwrap_err().contains("6 data blocks of 4 bytes"));
        let p = Params { layout: L, files: vec![("/f".into(), vec![]), ("/f/g".into(), vec![])], ..Params::default() };
        assert!(p.check_files().unwrap_err().contains("a parent of it is a file"));
    }

    #[test]
    fn the_script_notation_reads_times_clients_and_data() {
        let s = parse_step("200ms c0 write /a 0 hello world", 2).unwrap();
        assert_eq!(s.when, When::At(200 * MS));
        assert_eq!(s.op, Op::Write { path: "/a".into(), off: 0, data: b"hello world".to_vec() });
        let s = parse_step("  +3s   c1 read /d/x.txt 4 2", 2).unwrap();
        assert_eq!((s.when, s.client), (When::After(3 * SEC), 1));
        assert_eq!(s.op, Op::Read { path: "/d/x.txt".into(), range: Some((4, 2)) });
        assert_eq!(parse_step("c0 close /a", 1).unwrap().when, When::Next);
        let quoted = parse_step("c0 write /a 3 \" two  spaces\"", 1).unwrap();
        assert_eq!(quoted.op, Op::Write { path: "/a".into(), off: 3, data: b" two  spaces".to_vec() });
        assert_eq!(quoted.to_string(), "c0 write /a 3  two  spaces");
        assert_eq!(seconds(12_200 * MS), "12.2s");
        assert_eq!(seconds(500 * MS), "500ms");
        assert_eq!(seconds(3 * SEC), "3s");
    }

    #[test]
    fn the_script_notation_points_at_the_bad_word() {
        let err = |text: &str| parse_step(text, 2).unwrap_err();
        let e = err("1s c2 open /a");
        assert_eq!(e.at, 3);
        assert!(e.message.contains("no client `c2`: clients are c0, c1"), "{}", e.message);
        let e = err("1s c0 opne /a");
        assert_eq!(e.at, 6);
        assert!(e.message.contains("unknown operation `opne`") && e.message.contains("read PATH [OFFSET COUNT]"));
        assert_eq!(err("c0 open a").at, 8);
        assert!(err("c0 open /a/../b").message.contains("not a usable path"));
        let e = err("c0 write /a x hi");
        assert_eq!((e.at, e.message.contains("OFFSET `x`")), (12, true));
        assert!(err("c0 write /a 0").message.contains("needs DATA"));
        assert!(err("c0 write /a 0 \"open").message.contains("must close"));
        assert_eq!(err("c0 read /a 1").at, 11);
        assert!(err("c0 read /a 0 0").message.contains("COUNT must be at least 1"));
        assert!(err("c0 close /a /b").message.contains("takes only a path"));
        let e = err("10 c0 open /a");
        assert_eq!(e.at, 0);
        assert!(e.message.contains("time `10`") && e.message.contains("no unit"));
        assert!(err("   ").message.contains("an empty step"));
        assert!(err("5ms").message.contains("no client"));
        assert!(err("c0").message.contains("no operation"));
        assert!(err("c0 open").message.contains("needs a path"));
        assert!(err("c01 open /a").message.contains("no client `c01`"));
    }

    #[test]
    fn the_script_is_checked_as_a_whole() {
        let script = |lines: &[&str]| -> Result<(), (usize, String)> {
            let steps: Vec<Step> = lines.iter().map(|l| parse_step(l, 2).unwrap()).collect();
            check_script(&steps, 2)
        };
        assert_eq!(script(&["c0 open /a", "c1 open /a", "c0 read /a", "c0 close /a", "c0 open /a"]), Ok(()));
        let (i, m) = script(&["c0 open /a", "c1 read /a"]).unwrap_err();
        assert_eq!(i, 1);
        assert!(m.contains("c1 has not opened /a: add \"c1 open /a\""), "{m}");
        assert_eq!(script(&["c0 open /a", "c0 open /a"]).unwrap_err().0, 1);
        assert_eq!(script(&["c0 open /a", "c0 close /a", "c0 write /a 0 x"]).unwrap_err().0, 2);
        let (i, m) = script(&["1s c0 create /a", "c1 create /b", "500ms c0 remove /a"]).unwrap_err();
        assert_eq!(i, 2);
        assert!(m.contains("go back in time: 500ms comes after a step at 1s"), "{m}");
    }

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
