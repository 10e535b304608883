//! The file system on the server's disk: the block layout, inodes in plain
//! text, and the server's procedures as functions of a disk and a request.

use super::{Attr, Errno, Fh, Kind, Req, Res, ROOT, VOLUME};
use crate::sim::{Disk, DiskError, Stored, Time};
use std::collections::{BTreeMap, BTreeSet};

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

impl Blocks for crate::sim::Ctx<'_, super::Params> {
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

pub(super) fn split_path(path: &str) -> Vec<String> {
    path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nfs::{show_bytes, stored, Attr, Fh, Kind, Params, Req, Res};
    use crate::sim::{Corruption, Stream, MS};

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
}
