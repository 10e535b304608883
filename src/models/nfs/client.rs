//! The client: the fd → (handle, offset) table, a name cache, an attribute
//! cache with a timeout, a data cache checked against modification times,
//! writes buffered until close, and one call at a time, resent on timeout.

use super::fs::split_path;
use super::{
    show_bytes, value_of, Attr, Errno, Fh, Kind, Msg, Obs, Op, Params, Req, Res, When, SERVER, TAG_OP, TAG_RPC,
};
use crate::questions::Value;
use crate::sim::{fmt_time, secret, shown, Ctx, Dur, Time, TimerId};
use std::collections::{BTreeMap, BTreeSet};

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
    pub(super) fn new(me: usize, pos: usize) -> Client {
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

impl Params {
    // --- client: running the script

    /// A call's timer ran out: send the same request again.
    pub(super) fn on_timeout(&self, c: &mut Client, tag: u64, ctx: &mut Ctx<Self>) {
        let xid = (tag & !super::TAG_KIND) as u32;
        let Some(rpc) = c.rpc.as_mut().filter(|r| r.xid == xid) else { return };
        rpc.attempt += 1;
        ctx.send(SERVER, Msg::Call { xid, attempt: rpc.attempt, req: rpc.req.clone() });
        rpc.timer = ctx.set_timer(self.timeout, tag);
        ctx.observe(Obs::Retransmit { op: c.running.as_ref().map_or(0, |r| r.op) });
    }

    pub(super) fn pump(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
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
        ctx.note(2, vec![shown(format!("fd {fd} offset → {b}"))]);
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

    pub(super) fn on_reply(&self, c: &mut Client, xid: u32, res: Result<Res, Errno>, ctx: &mut Ctx<Self>) {
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
