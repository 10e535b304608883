//! Lab 05: AFSv2 whole-file caching with callbacks, with the semantics of the
//! OSTEP AFS homework simulator (afs.py): files a, b, … start at 0, 1, …; every
//! write takes the next value of one global counter; an open with a valid
//! cached copy is a hit, otherwise the whole file is fetched and the server
//! records a callback; reads and writes act on the client's copy; closing a
//! dirty copy stores it and breaks every other client's callback; an open copy
//! keeps its value until it is closed; the last closer wins.
//!
//! The workload is a list of actions per client and a schedule that
//! interleaves them. Step k (1-based) is due at (k−1) × interval. With the
//! default network every server exchange ends well inside one interval, so the
//! run follows afs.py exactly; slower or lossy networks make steps overlap.
//!
//! Beyond afs.py: the server's callback table lives in memory. A rebooted
//! server tells every client (and stamps every reply with its epoch, which
//! catches a lost notice); the clients then treat each cached copy as suspect
//! and revalidate it at its next open, because they may have missed a break.

use crate::questions::{Facts, Value};
use crate::sim::{secret, shown, Ctx, Durable, Label, Model, NodeId, Run, Stream, Time, TimerId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub const SERVER: NodeId = 0;
/// Timer tags at or above this are request retries; below, planned steps.
const RETRY: u64 = 1 << 40;
/// A level no `--detail` reaches: the schedule's own timers are plumbing.
const HIDDEN: u8 = 8;
/// Schedule digits name clients, so there are at most ten.
pub const MAX_CLIENTS: usize = 10;
pub const MAX_FILES: u8 = 26;
/// fds are one digit in the notation, so a random client has at most ten steps.
pub const MAX_STEPS: u32 = 10;

pub const ACTIONS_HELP: &str = "one entry per client, separated by commas; an entry is actions separated by colons: oa1 opens file a as fd 1, r1 reads fd 1, w1 writes fd 1, c1 closes fd 1 (e.g. \"oa1:r1:c1,oa1:w1:c1\")";
pub const SCHEDULE_HELP: &str =
    "a string of client digits used in turn and repeated, such as \"011100\"; \"\" picks at random";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Open { file: u8, fd: u8 },
    Read { fd: u8 },
    Write { fd: u8 },
    Close { fd: u8 },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Open { file, fd } => write!(f, "o{}{fd}", fname(*file)),
            Action::Read { fd } => write!(f, "r{fd}"),
            Action::Write { fd } => write!(f, "w{fd}"),
            Action::Close { fd } => write!(f, "c{fd}"),
        }
    }
}

pub fn fname(file: u8) -> char {
    char::from(b'a' + file.min(25))
}

fn cname(client: usize) -> String {
    format!("c{client}")
}

fn sname(step: u32) -> String {
    format!("s{step}")
}

/// A mistake in an `actions` or `schedule` string: the byte offset in it
/// where the mistake is, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub offset: usize,
    pub message: String,
}

fn spec_err<T>(offset: usize, message: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError { offset, message: message.into() })
}

/// Splits `text` on `sep`, giving each piece trimmed with its byte offset.
fn pieces(text: &str, sep: char) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in text.split(sep) {
        let lead = part.len() - part.trim_start().len();
        out.push((start + lead, part.trim()));
        start += part.len() + sep.len_utf8();
    }
    out
}

fn files_text(files: u8) -> String {
    match files {
        1 => "the only file is a".to_string(),
        n => format!("the files are a to {}", fname(n - 1)),
    }
}

/// Parses afs.py's action notation and checks each client's fds: an open
/// needs an fd not already open, and read, write and close need an open one.
/// Unlike afs.py, an fd may be opened again after it is closed.
pub fn parse_actions(text: &str, files: u8) -> Result<Vec<Vec<Action>>, SpecError> {
    let mut clients = Vec::new();
    for (i, (at, entry)) in pieces(text, ',').into_iter().enumerate() {
        if i == MAX_CLIENTS {
            return spec_err(at, format!("at most {MAX_CLIENTS} clients (schedule digits are 0 to 9)"));
        }
        if entry.is_empty() {
            return spec_err(at, format!("client {i} has no actions: {ACTIONS_HELP}"));
        }
        let mut open: BTreeSet<u8> = BTreeSet::new();
        let mut actions = Vec::new();
        for (at, tok) in pieces(entry, ':').into_iter().map(|(o, t)| (o + at, t)) {
            let chars: Vec<char> = tok.chars().collect();
            let digit = |k: usize| chars.get(k).and_then(|c| c.to_digit(10)).map(|d| d as u8);
            let action = match chars.first() {
                Some('o') => {
                    let (Some(&f), Some(fd), 3) = (chars.get(1), digit(2), chars.len()) else {
                        return spec_err(
                            at,
                            format!("malformed open `{tok}`: write o, a file letter and an fd digit, such as oa1"),
                        );
                    };
                    if !f.is_ascii_lowercase() {
                        return spec_err(
                            at,
                            format!("malformed open `{tok}`: a file is one letter, a to z, such as oa1"),
                        );
                    }
                    let file = f as u8 - b'a';
                    if file >= files {
                        return spec_err(
                            at + 1,
                            format!(
                                "`{tok}` opens file {f}, which does not exist: {} (raise model.files)",
                                files_text(files)
                            ),
                        );
                    }
                    if !open.insert(fd) {
                        return spec_err(
                            at,
                            format!("`{tok}`: client {i} already has fd {fd} open; close it first (c{fd})"),
                        );
                    }
                    Action::Open { file, fd }
                }
                Some(&op @ ('r' | 'w' | 'c')) => {
                    let (Some(fd), 2) = (digit(1), chars.len()) else {
                        return spec_err(
                            at,
                            format!("malformed action `{tok}`: write {op} and an fd digit, such as {op}1"),
                        );
                    };
                    if !open.contains(&fd) {
                        return spec_err(
                            at,
                            format!("`{tok}`: client {i} has no fd {fd} open here; open it first, such as oa{fd}"),
                        );
                    }
                    match op {
                        'r' => Action::Read { fd },
                        'w' => Action::Write { fd },
                        _ => {
                            open.remove(&fd);
                            Action::Close { fd }
                        }
                    }
                }
                _ => {
                    let what = if tok.is_empty() { "an empty action".to_string() } else { format!("`{tok}`") };
                    return spec_err(at, format!("{what} is not an action: {ACTIONS_HELP}"));
                }
            };
            actions.push(action);
        }
        clients.push(actions);
    }
    Ok(clients)
}

/// Parses a schedule: client digits, every client at least once (else it
/// would never run). Empty means a random schedule.
pub fn parse_schedule(text: &str, clients: usize) -> Result<Vec<usize>, SpecError> {
    let mut out = Vec::new();
    for (at, ch) in text.char_indices() {
        let Some(d) = ch.to_digit(10).map(|d| d as usize) else {
            return spec_err(at, format!("`{ch}` is not a client digit: {SCHEDULE_HELP}"));
        };
        if d >= clients {
            let have = if clients == 1 { "client 0".to_string() } else { format!("clients 0 to {}", clients - 1) };
            return spec_err(at, format!("schedule names client {d}, but there are only {have}"));
        }
        out.push(d);
    }
    if !out.is_empty() {
        if let Some(missing) = (0..clients).find(|c| !out.contains(c)) {
            return spec_err(
                0,
                format!(
                    "client {missing} never appears in the schedule, so it would never run: add the digit {missing}"
                ),
            );
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// Each client does `steps` open–read-or-write–close sequences on random
    /// files, reading with probability `read_ratio`.
    Random { clients: u32, steps: u32, read_ratio: f64 },
    /// Actions given in afs.py's notation, one list per client.
    Given(Vec<Vec<Action>>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub files: u8,
    pub workload: Workload,
    /// Client digits used in turn; empty picks at random.
    pub schedule: Vec<usize>,
    /// The time between one scheduled step and the next.
    pub interval: Time,
    pub timeout: Time,
    pub max_retries: u32,
    /// How long a crashed server takes to reboot by itself.
    pub reboot: Time,
    /// Clients revalidate their caches after a server reboot.
    pub revalidate: bool,
}

impl Params {
    pub fn clients(&self) -> usize {
        match &self.workload {
            Workload::Random { clients, .. } => *clients as usize,
            Workload::Given(a) => a.len(),
        }
    }

    /// The number of steps, whatever the seed draws.
    pub fn total_steps(&self) -> usize {
        match &self.workload {
            Workload::Random { clients, steps, .. } => *clients as usize * *steps as usize * 3,
            Workload::Given(a) => a.iter().map(Vec::len).sum(),
        }
    }

    /// When the last step is due (step k at (k-1) × interval).
    pub fn last_step_at(&self) -> Time {
        (self.total_steps().saturating_sub(1) as Time).saturating_mul(self.interval)
    }

    pub fn node_names(&self) -> Vec<String> {
        std::iter::once("server".to_string()).chain((0..self.clients()).map(cname)).collect()
    }

    pub fn describe(&self) -> String {
        let schedule = if self.schedule.is_empty() {
            "random".to_string()
        } else {
            self.schedule.iter().map(|d| d.to_string()).collect()
        };
        let work = match &self.workload {
            Workload::Random { clients, steps, read_ratio } => {
                format!("clients={clients} steps={steps} files={} read_ratio={read_ratio}", self.files)
            }
            Workload::Given(a) => format!("actions={} files={}", notation(a), self.files),
        };
        format!(
            "{work} schedule={schedule} interval={} timeout={} max_retries={} reboot={} revalidate={}",
            crate::sim::fmt_time(self.interval),
            crate::sim::fmt_time(self.timeout),
            self.max_retries,
            crate::sim::fmt_time(self.reboot),
            self.revalidate
        )
    }
}

/// Actions back in afs.py's notation.
pub fn notation(actions: &[Vec<Action>]) -> String {
    actions.iter().map(|c| c.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(":")).collect::<Vec<_>>().join(",")
}

/// One step of a client's plan.
#[derive(Clone, Debug)]
struct Planned {
    step: u32,
    at: Time,
    action: Action,
    /// The value a write stores.
    value: i64,
}

/// The model for one run: the parameters with the workload and schedule
/// drawn (for a random one) from the seed's `workload` stream.
pub struct Afs {
    pub p: Params,
    /// Every client's actions, as afs.py's `-A` would take them.
    pub actions: Vec<Vec<Action>>,
    /// The client of each step, in order: afs.py's `-S` for this run.
    pub order: Vec<usize>,
    plans: Vec<Vec<Planned>>,
}

impl Afs {
    pub fn new(p: &Params, seed: u64) -> Afs {
        let mut rng = Stream::new(seed, "workload");
        let actions = match &p.workload {
            Workload::Given(a) => a.clone(),
            Workload::Random { clients, steps, read_ratio } => (0..*clients)
                .map(|_| {
                    (0..*steps as u8)
                        .flat_map(|fd| {
                            let file = rng.below(u64::from(p.files)) as u8;
                            let middle =
                                if rng.chance(*read_ratio) { Action::Read { fd } } else { Action::Write { fd } };
                            [Action::Open { file, fd }, middle, Action::Close { fd }]
                        })
                        .collect()
                })
                .collect(),
        };
        let n = actions.len();
        let total: usize = actions.iter().map(Vec::len).sum();
        let mut done = vec![0usize; n];
        let mut order = Vec::with_capacity(total);
        let mut slot = 0usize;
        let mut idle = 0usize;
        while order.len() < total {
            let c = if p.schedule.is_empty() {
                let live: Vec<usize> = (0..n).filter(|c| done[*c] < actions[*c].len()).collect();
                live[rng.below(live.len() as u64) as usize]
            } else {
                let c = p.schedule[slot % p.schedule.len()];
                slot += 1;
                if c >= n || done[c] >= actions[c].len() {
                    // A loaded schedule names every client; this guards a hand-built one.
                    idle += 1;
                    if idle > p.schedule.len() {
                        break;
                    }
                    continue;
                }
                c
            };
            idle = 0;
            done[c] += 1;
            order.push(c);
        }
        let mut plans: Vec<Vec<Planned>> = vec![Vec::new(); n];
        let mut next = vec![0usize; n];
        let mut counter = i64::from(p.files);
        for (k, c) in order.iter().enumerate() {
            let action = actions[*c][next[*c]];
            next[*c] += 1;
            let mut value = 0;
            if let Action::Write { .. } = action {
                value = counter;
                counter += 1;
            }
            let at = (k as Time).saturating_mul(p.interval);
            plans[*c].push(Planned { step: k as u32 + 1, at, action, value });
        }
        Afs { p: p.clone(), actions, order, plans }
    }

    pub fn schedule_text(&self) -> String {
        self.order.iter().map(|c| c.to_string()).collect()
    }
}

#[derive(Clone, Debug)]
pub enum Msg {
    Fetch { req: u32, attempt: u32, file: u8 },
    Validate { req: u32, attempt: u32, file: u8, version: u32, value: i64 },
    Store { req: u32, attempt: u32, step: u32, file: u8, value: i64 },
    File { req: u32, file: u8, value: i64, version: u32, epoch: u32 },
    Unchanged { req: u32, file: u8, value: i64, version: u32, epoch: u32 },
    Stored { req: u32, file: u8, value: i64, version: u32, epoch: u32 },
    Break { file: u8, version: u32 },
    Reboot { epoch: u32 },
}

impl Msg {
    fn with_attempt(&self, n: u32) -> Msg {
        let mut m = self.clone();
        if let Msg::Fetch { attempt, .. } | Msg::Validate { attempt, .. } | Msg::Store { attempt, .. } = &mut m {
            *attempt = n;
        }
        m
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Validity {
    Valid,
    /// A callback was broken: the copy is out of date.
    Invalid,
    /// The server rebooted (or this client did): ask before trusting it.
    Suspect,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    value: i64,
    /// How many stores the server had applied to the file when this copy
    /// was current; orders a copy against a callback break.
    version: u32,
    state: Validity,
    dirty: bool,
    refs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WaitKind {
    Fetch,
    Validate,
    Store,
}

struct Wait {
    req: u32,
    msg: Msg,
    attempts: u32,
    timer: TimerId,
    step: u32,
    fd: u8,
    file: u8,
    kind: WaitKind,
}

pub struct Client {
    id: usize,
    cache: BTreeMap<u8, Entry>,
    fds: BTreeMap<u8, u8>,
    /// The next action of this client's plan.
    next: usize,
    wait: Option<Wait>,
    epoch: u32,
    /// The newest callback break heard of, per file.
    broken: BTreeMap<u8, u32>,
    req: u32,
}

pub struct Server {
    /// Each file's (value, version); on disk.
    files: Vec<(i64, u32)>,
    /// (file, client) pairs the server has promised to notify: in memory.
    callbacks: BTreeSet<(u8, usize)>,
    epoch: u32,
    /// Every value ever stored, with its file and version: a store seen
    /// again (a retry or a network copy) is acknowledged, not reapplied.
    applied: BTreeMap<i64, (u8, u32)>,
}

pub enum Node {
    Server(Server),
    Client(Client),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// A valid cached copy: no server call.
    Hit,
    /// The whole file fetched.
    Fetch,
    /// A suspect copy the server confirmed.
    Revalidated,
    /// A suspect copy that had changed: the new one fetched.
    Stale,
}

pub enum Obs {
    Begin {
        step: u32,
    },
    Open {
        step: u32,
        file: u8,
        how: How,
        value: i64,
    },
    Read {
        step: u32,
        file: u8,
        value: i64,
    },
    Write {
        step: u32,
        file: u8,
        old: i64,
        value: i64,
    },
    /// At the server: a store applied, and the clients whose callbacks it broke.
    Applied {
        step: u32,
        client: usize,
        file: u8,
        value: i64,
        broke: Vec<usize>,
    },
    /// At the server: a whole file sent to a client.
    Sent,
    /// At a client: a callback break that invalidated its copy.
    Invalidated,
    Failed {
        step: u32,
    },
}

fn parse_pair(v: &str) -> Option<(i64, u32)> {
    let (a, b) = v.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn state_text(c: &Client) -> String {
    if c.cache.is_empty() {
        return "cache empty".into();
    }
    c.cache
        .iter()
        .map(|(f, e)| {
            let v = match e.state {
                Validity::Valid => "1",
                Validity::Invalid => "0",
                Validity::Suspect => "s",
            };
            format!("[{}: {} (v={v},d={},r={})]", fname(*f), e.value, u8::from(e.dirty), e.refs)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Afs {
    fn state_note(&self, c: &Client, ctx: &mut Ctx<Self>) {
        ctx.outcome(4, vec![secret(state_text(c))]);
    }

    fn persist_entry(&self, file: u8, e: Option<&Entry>, ctx: &mut Ctx<Self>) {
        let v = e.map_or(String::new(), |e| format!("{}:{}", e.value, e.version));
        ctx.persist(format!("cache:{}", fname(file)), v);
    }

    /// Runs every action that is due, until one waits for the server or the
    /// next is in the future (then a timer wakes the client for it).
    fn advance(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        while c.wait.is_none() {
            let Some(pl) = self.plans[c.id].get(c.next) else { return };
            if pl.at > ctx.now {
                ctx.set_timer(pl.at - ctx.now, c.next as u64);
                return;
            }
            c.next += 1;
            ctx.observe(Obs::Begin { step: pl.step });
            self.act(c, pl, ctx);
        }
    }

    /// Sends a request and waits for its reply: (what for, step, fd, file).
    fn request(&self, c: &mut Client, (kind, step, fd, file): (WaitKind, u32, u8, u8), msg: Msg, ctx: &mut Ctx<Self>) {
        ctx.send(SERVER, msg.clone());
        let timer = ctx.set_timer(self.p.timeout, RETRY | u64::from(c.req));
        c.wait = Some(Wait { req: c.req, msg, attempts: 1, timer, step, fd, file, kind });
    }

    fn not_open(&self, step: u32, what: &str, fd: u8, ctx: &mut Ctx<Self>) {
        ctx.call(vec![shown(format!("{} {what} fd {fd}: not open (its open failed or a crash lost it)", sname(step)))]);
        ctx.observe(Obs::Failed { step });
    }

    fn act(&self, c: &mut Client, pl: &Planned, ctx: &mut Ctx<Self>) {
        let s = sname(pl.step);
        let step = pl.step;
        // The file an open fd refers to, if its copy is still cached.
        let open_file = |c: &Client, fd: u8| c.fds.get(&fd).copied().filter(|f| c.cache.contains_key(f));
        match pl.action {
            Action::Open { file, fd } => {
                let f = fname(file);
                if c.fds.contains_key(&fd) {
                    ctx.call(vec![shown(format!("{s} open {f}: fd {fd} is already open"))]);
                    ctx.observe(Obs::Failed { step });
                    return;
                }
                let head = shown(format!("{s} open {f} (fd {fd}): "));
                match c.cache.get(&file).copied() {
                    Some(e) if e.state == Validity::Valid => {
                        ctx.call(vec![head, secret("hit")]);
                        if let Some(e) = c.cache.get_mut(&file) {
                            e.refs += 1;
                        }
                        c.fds.insert(fd, file);
                        ctx.observe(Obs::Open { step, file, how: How::Hit, value: e.value });
                        self.state_note(c, ctx);
                    }
                    Some(e) if e.state == Validity::Suspect => {
                        ctx.call(vec![head, secret("revalidate")]);
                        c.req += 1;
                        let msg = Msg::Validate { req: c.req, attempt: 1, file, version: e.version, value: e.value };
                        self.request(c, (WaitKind::Validate, step, fd, file), msg, ctx);
                    }
                    _ => {
                        ctx.call(vec![head, secret("miss")]);
                        c.req += 1;
                        let msg = Msg::Fetch { req: c.req, attempt: 1, file };
                        self.request(c, (WaitKind::Fetch, step, fd, file), msg, ctx);
                    }
                }
            }
            Action::Read { fd } => {
                let Some(file) = open_file(c, fd) else { return self.not_open(step, "read", fd, ctx) };
                let value = c.cache.get(&file).map_or(0, |e| e.value);
                ctx.call(vec![shown(format!("{s} read {} (fd {fd}) → ", fname(file))), secret(value.to_string())]);
                ctx.observe(Obs::Read { step, file, value });
                self.state_note(c, ctx);
            }
            Action::Write { fd } => {
                let Some(file) = open_file(c, fd) else { return self.not_open(step, "write", fd, ctx) };
                let Some(e) = c.cache.get_mut(&file) else { return };
                let old = e.value;
                e.value = pl.value;
                e.dirty = true;
                ctx.call(vec![
                    shown(format!("{s} write {} (fd {fd}): ", fname(file))),
                    secret(old.to_string()),
                    shown(format!(" → {}", pl.value)),
                ]);
                ctx.observe(Obs::Write { step, file, old, value: pl.value });
                self.state_note(c, ctx);
            }
            Action::Close { fd } => {
                let Some(file) = open_file(c, fd) else { return self.not_open(step, "close", fd, ctx) };
                c.fds.remove(&fd);
                ctx.call(vec![shown(format!("{s} close {} (fd {fd})", fname(file)))]);
                let Some(e) = c.cache.get(&file).copied() else { return };
                if e.dirty {
                    c.req += 1;
                    let msg = Msg::Store { req: c.req, attempt: 1, step, file, value: e.value };
                    self.request(c, (WaitKind::Store, step, fd, file), msg, ctx);
                } else {
                    self.release(c, file, ctx);
                    self.state_note(c, ctx);
                }
            }
        }
    }

    /// One fewer open fd on the copy; an invalid copy nobody has open is
    /// dropped, as afs.py does at close.
    fn release(&self, c: &mut Client, file: u8, ctx: &mut Ctx<Self>) {
        let Some(e) = c.cache.get_mut(&file) else { return };
        e.refs = e.refs.saturating_sub(1);
        if e.refs == 0 && e.state == Validity::Invalid {
            c.cache.remove(&file);
            self.persist_entry(file, None, ctx);
        }
    }

    /// How far to trust data in a reply: learns of a reboot from a newer
    /// epoch (everything else cached becomes suspect), distrusts a reply from
    /// before a reboot, and an older version than a break already heard of.
    fn trust(&self, c: &mut Client, file: u8, version: u32, epoch: u32, ctx: &mut Ctx<Self>) -> Validity {
        if self.p.revalidate && epoch > c.epoch {
            self.server_rebooted(c, epoch, ctx);
        }
        if c.broken.get(&file).is_some_and(|b| *b > version) {
            Validity::Invalid
        } else if self.p.revalidate && epoch < c.epoch {
            Validity::Suspect
        } else {
            Validity::Valid
        }
    }

    fn server_rebooted(&self, c: &mut Client, epoch: u32, ctx: &mut Ctx<Self>) {
        c.epoch = epoch;
        ctx.persist("epoch", epoch.to_string());
        let mut names = Vec::new();
        for (f, e) in c.cache.iter_mut() {
            if e.state == Validity::Valid {
                e.state = Validity::Suspect;
                names.push(fname(*f).to_string());
            }
        }
        let what = if names.is_empty() {
            "no valid copy to doubt".to_string()
        } else {
            format!("revalidate {} before use", names.join(", "))
        };
        ctx.outcome(2, vec![secret(format!("server rebooted (epoch {epoch}): {what}"))]);
        self.state_note(c, ctx);
    }

    fn finish_wait(&self, c: &mut Client, ctx: &mut Ctx<Self>) -> Option<Wait> {
        let w = c.wait.take()?;
        ctx.cancel_timer(w.timer);
        Some(w)
    }

    fn on_client(&self, c: &mut Client, msg: Msg, ctx: &mut Ctx<Self>) {
        let matches = |req: u32, c: &Client| c.wait.as_ref().is_some_and(|w| w.req == req);
        match msg {
            Msg::File { req, file, value, version, epoch } if matches(req, c) => {
                let Some(w) = self.finish_wait(c, ctx) else { return };
                let state = self.trust(c, file, version, epoch, ctx);
                // As afs.py: the fetched copy replaces the cached one, unsaved writes included.
                let refs = c.cache.get(&file).map_or(0, |e| e.refs) + 1;
                let e = Entry { value, version, state, dirty: false, refs };
                c.cache.insert(file, e);
                self.persist_entry(file, Some(&e), ctx);
                c.fds.insert(w.fd, file);
                let (how, verb) = if w.kind == WaitKind::Validate {
                    (How::Stale, "changed on the server: fetched ")
                } else {
                    (How::Fetch, "fetched ")
                };
                ctx.ret(vec![shown(format!("{} {verb}{} = ", sname(w.step), fname(file))), secret(value.to_string())]);
                ctx.observe(Obs::Open { step: w.step, file, how, value });
                self.state_note(c, ctx);
                self.advance(c, ctx);
            }
            Msg::Unchanged { req, file, value, version, epoch } if matches(req, c) => {
                let Some(w) = self.finish_wait(c, ctx) else { return };
                let state = self.trust(c, file, version, epoch, ctx);
                let e = c.cache.entry(file).or_insert(Entry { value, version, state, dirty: false, refs: 0 });
                e.state = state;
                e.refs += 1;
                let e = *e;
                self.persist_entry(file, Some(&e), ctx);
                c.fds.insert(w.fd, file);
                ctx.ret(vec![
                    shown(format!("{} {} unchanged: ", sname(w.step), fname(file))),
                    secret(value.to_string()),
                ]);
                ctx.observe(Obs::Open { step: w.step, file, how: How::Revalidated, value });
                self.state_note(c, ctx);
                self.advance(c, ctx);
            }
            Msg::Stored { req, file, value, version, epoch } if matches(req, c) => {
                let Some(w) = self.finish_wait(c, ctx) else { return };
                let state = self.trust(c, file, version, epoch, ctx);
                if let Some(e) = c.cache.get_mut(&file) {
                    e.dirty = false;
                    e.version = version;
                    e.state = state;
                    let e = *e;
                    self.persist_entry(file, Some(&e), ctx);
                }
                self.release(c, file, ctx);
                ctx.ret(vec![shown(format!("{} stored {} = {value}", sname(w.step), fname(file)))]);
                self.state_note(c, ctx);
                self.advance(c, ctx);
            }
            Msg::File { .. } | Msg::Unchanged { .. } | Msg::Stored { .. } => {
                ctx.outcome(1, vec![shown("late reply: ignored")]);
            }
            Msg::Break { file, version } => {
                let b = c.broken.entry(file).or_insert(0);
                *b = (*b).max(version);
                match c.cache.get_mut(&file) {
                    Some(e) if e.version < version && e.state != Validity::Invalid => {
                        e.state = Validity::Invalid;
                        let kept =
                            if e.refs > 0 { format!(" (open: keeps {} until closed)", e.value) } else { String::new() };
                        ctx.outcome(2, vec![secret(format!("callback broken: {} invalid{kept}", fname(file)))]);
                        ctx.observe(Obs::Invalidated);
                        self.state_note(c, ctx);
                    }
                    _ => ctx.outcome(2, vec![secret(format!("callback on {}: no valid copy here", fname(file)))]),
                }
            }
            Msg::Reboot { epoch } => {
                if self.p.revalidate && epoch > c.epoch {
                    self.server_rebooted(c, epoch, ctx);
                }
            }
            Msg::Fetch { .. } | Msg::Validate { .. } | Msg::Store { .. } => {}
        }
    }

    fn on_retry(&self, c: &mut Client, req: u32, ctx: &mut Ctx<Self>) {
        let Some(w) = c.wait.as_mut().filter(|w| w.req == req) else { return };
        if w.attempts <= self.p.max_retries {
            w.attempts += 1;
            let msg = w.msg.with_attempt(w.attempts);
            ctx.outcome(1, vec![shown(format!("no reply: resend {}", plain_label(&msg)))]);
            ctx.send(SERVER, msg);
            w.timer = ctx.set_timer(self.p.timeout, RETRY | u64::from(req));
            return;
        }
        let Some(w) = c.wait.take() else { return };
        let (s, f, tries) = (sname(w.step), fname(w.file), w.attempts);
        if w.kind == WaitKind::Store {
            // The client cannot tell whether the store landed: drop the copy.
            if let Some(e) = c.cache.get_mut(&w.file) {
                e.dirty = false;
                e.state = Validity::Invalid;
            }
            self.release(c, w.file, ctx);
            ctx.ret(vec![shown(format!("{s} close {f} failed: no reply after {tries} tries; copy dropped"))]);
        } else {
            ctx.ret(vec![shown(format!("{s} open {f} failed: no reply after {tries} tries"))]);
        }
        ctx.observe(Obs::Failed { step: w.step });
        self.state_note(c, ctx);
        self.advance(c, ctx);
    }

    fn on_server(&self, s: &mut Server, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        let client = from.wrapping_sub(1);
        let Some(&(cur, version)) = msg_file(&msg).and_then(|f| s.files.get(usize::from(f))) else { return };
        let epoch = s.epoch;
        match msg {
            Msg::Fetch { req, file, .. } => {
                self.promise(s, file, client, ctx);
                ctx.observe(Obs::Sent);
                ctx.send(from, Msg::File { req, file, value: cur, version, epoch });
            }
            Msg::Validate { req, file, version: have, .. } => {
                self.promise(s, file, client, ctx);
                if have == version {
                    ctx.send(from, Msg::Unchanged { req, file, value: cur, version, epoch });
                } else {
                    ctx.observe(Obs::Sent);
                    ctx.send(from, Msg::File { req, file, value: cur, version, epoch });
                }
            }
            Msg::Store { req, step, file, value, .. } => {
                if let Some(&(f, v)) = s.applied.get(&value) {
                    ctx.outcome(1, vec![shown(format!("store {} = {value} seen before: acknowledge only", fname(f)))]);
                    if v == version && f == file {
                        self.promise(s, file, client, ctx);
                    }
                    ctx.send(from, Msg::Stored { req, file, value, version: v, epoch });
                    return;
                }
                let version = version + 1;
                s.files[usize::from(file)] = (value, version);
                s.applied.insert(value, (file, version));
                ctx.persist(format!("file:{}", fname(file)), format!("{value}:{version}"));
                ctx.persist(format!("applied:{value}"), format!("{file}:{version}"));
                let broke: Vec<usize> =
                    s.callbacks.iter().filter(|(f, c)| *f == file && *c != client).map(|(_, c)| *c).collect();
                if !broke.is_empty() {
                    let who: Vec<String> = broke.iter().map(|c| cname(*c)).collect();
                    ctx.outcome(
                        2,
                        vec![secret(format!("{} changed: break callbacks of {}", fname(file), who.join(", ")))],
                    );
                }
                for c in &broke {
                    s.callbacks.remove(&(file, *c));
                    ctx.send(c + 1, Msg::Break { file, version });
                }
                // The storer now holds the current version.
                self.promise(s, file, client, ctx);
                ctx.observe(Obs::Applied { step, client, file, value, broke });
                ctx.send(from, Msg::Stored { req, file, value, version, epoch });
            }
            _ => {}
        }
    }

    fn promise(&self, s: &mut Server, file: u8, client: usize, ctx: &mut Ctx<Self>) {
        if s.callbacks.insert((file, client)) {
            ctx.outcome(2, vec![shown(format!("callback: {} holds {}", cname(client), fname(file)))]);
        }
    }

    fn new_client(&self, id: usize) -> Client {
        Client {
            id,
            cache: BTreeMap::new(),
            fds: BTreeMap::new(),
            next: 0,
            wait: None,
            epoch: 1,
            broken: BTreeMap::new(),
            req: 0,
        }
    }
}

fn msg_file(m: &Msg) -> Option<u8> {
    match m {
        Msg::Fetch { file, .. }
        | Msg::Validate { file, .. }
        | Msg::Store { file, .. }
        | Msg::File { file, .. }
        | Msg::Unchanged { file, .. }
        | Msg::Stored { file, .. }
        | Msg::Break { file, .. } => Some(*file),
        Msg::Reboot { .. } => None,
    }
}

fn plain_label(m: &Msg) -> String {
    let tries = |n: u32| if n > 1 { format!(" (try {n})") } else { String::new() };
    match m {
        Msg::Fetch { attempt, file, .. } => format!("fetch {}{}", fname(*file), tries(*attempt)),
        Msg::Validate { attempt, file, value, .. } => {
            format!("validate {} (have {value}){}", fname(*file), tries(*attempt))
        }
        Msg::Store { attempt, file, value, step, .. } => {
            format!("store {} = {value} ({}){}", fname(*file), sname(*step), tries(*attempt))
        }
        Msg::File { file, value, .. } => format!("file {} = {value}", fname(*file)),
        Msg::Unchanged { file, .. } => format!("{} unchanged", fname(*file)),
        Msg::Stored { file, value, .. } => format!("stored {} = {value}", fname(*file)),
        Msg::Break { file, .. } => format!("break callback on {}", fname(*file)),
        Msg::Reboot { epoch } => format!("rebooted (epoch {epoch}): revalidate"),
    }
}

impl Model for Afs {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        self.p.node_names()
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        if node == SERVER {
            let files: Vec<(i64, u32)> = (0..self.p.files).map(|f| (i64::from(f), 0)).collect();
            for (f, (v, ver)) in files.iter().enumerate() {
                ctx.persist(format!("file:{}", fname(f as u8)), format!("{v}:{ver}"));
            }
            ctx.persist("epoch", "1");
            return Node::Server(Server { files, callbacks: BTreeSet::new(), epoch: 1, applied: BTreeMap::new() });
        }
        let mut c = self.new_client(node - 1);
        self.advance(&mut c, ctx);
        Node::Client(c)
    }

    fn on_message(&self, state: &mut Node, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match state {
            Node::Server(s) => self.on_server(s, from, msg, ctx),
            Node::Client(c) if from == SERVER => self.on_client(c, msg, ctx),
            Node::Client(_) => {}
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        let Node::Client(c) = state else { return };
        if tag >= RETRY {
            self.on_retry(c, (tag - RETRY) as u32, ctx);
        } else if tag == c.next as u64 {
            self.advance(c, ctx);
        }
    }

    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        if node == SERVER {
            let files: Vec<(i64, u32)> = (0..self.p.files)
                .map(|f| {
                    durable.get(&format!("file:{}", fname(f))).and_then(|v| parse_pair(v)).unwrap_or((i64::from(f), 0))
                })
                .collect();
            let applied = durable
                .iter()
                .filter_map(|(k, v)| {
                    let value = k.strip_prefix("applied:")?.parse().ok()?;
                    let (f, ver) = v.split_once(':')?;
                    Some((value, (f.parse().ok()?, ver.parse().ok()?)))
                })
                .collect();
            let epoch = durable.get("epoch").and_then(|e| e.parse::<u32>().ok()).unwrap_or(1) + 1;
            ctx.persist("epoch", epoch.to_string());
            let tell = if self.p.revalidate { "; tell every client to revalidate" } else { "" };
            ctx.note(0, vec![shown(format!("reboot: files from disk; callback table lost (epoch {epoch}){tell}"))]);
            if self.p.revalidate {
                for c in 0..self.p.clients() {
                    ctx.send(c + 1, Msg::Reboot { epoch });
                }
            }
            return Node::Server(Server { files, callbacks: BTreeSet::new(), epoch, applied });
        }
        let mut c = self.new_client(node - 1);
        c.epoch = durable.get("epoch").and_then(|e| e.parse().ok()).unwrap_or(1);
        let state = if self.p.revalidate { Validity::Suspect } else { Validity::Valid };
        for f in 0..self.p.files {
            if let Some((value, version)) = durable.get(&format!("cache:{}", fname(f))).and_then(|v| parse_pair(v)) {
                c.cache.insert(f, Entry { value, version, state, dirty: false, refs: 0 });
            }
        }
        let kept: Vec<String> = c.cache.keys().map(|f| fname(*f).to_string()).collect();
        let what = match (kept.is_empty(), self.p.revalidate) {
            (true, _) => "cache on disk is empty".to_string(),
            (false, true) => {
                format!("cached {} from disk, to revalidate (callbacks may have been missed)", kept.join(", "))
            }
            (false, false) => format!("cached {} from disk, trusted as is", kept.join(", ")),
        };
        // Which copies survived would give away hits: an outcome.
        ctx.outcome(0, vec![shown("restart: open files lost; "), secret(what)]);
        // Steps that fell due while the client was down are lost with it.
        c.next = self.plans[c.id].iter().position(|p| p.at >= ctx.now).unwrap_or(self.plans[c.id].len());
        self.advance(&mut c, ctx);
        Node::Client(c)
    }

    fn reboot_after(&self, node: NodeId) -> Option<Time> {
        (node == SERVER).then_some(self.p.reboot)
    }

    fn label(&self, msg: &Msg) -> Label {
        vec![shown(plain_label(msg))]
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        let text = if tag >= RETRY { "retry timer" } else { "step due" };
        (HIDDEN, vec![shown(text)])
    }

    fn msg_view(&self, msg: &Msg) -> (u8, bool) {
        match msg {
            Msg::Break { .. } | Msg::Reboot { .. } => (2, true),
            _ => (1, true),
        }
    }
}

pub const FACTS: &[&str] = &[
    "reads",
    "read_values",
    "writes",
    "files",
    "final_writer",
    "clobbered",
    "outdated_reads",
    "callbacks_broken",
    "callback_breaks",
    "invalidations",
    "hits",
    "misses",
    "hit_opens",
    "miss_opens",
    "fetches",
    "stores",
    "revalidated",
    "revalidated_stale",
    "stale_opens",
    "hits_fresh",
    "failed_steps",
    "actions",
    "schedule",
];

pub const INVARIANTS: crate::models::Invariants =
    &[("fresh-hits", "an open served from the cache gets the content the server holds at that moment")];

/// The first hit on a copy the server had already replaced: the callback
/// promise broken (a lost break, or a reboot the client did not hear of).
pub fn violations(m: &Afs, run: &Run<Afs>) -> Vec<crate::models::Violation> {
    let mut content: Vec<i64> = (0..i64::from(m.p.files)).collect();
    for (t, node, obs) in &run.observations {
        match obs {
            Obs::Applied { file, value, .. } => {
                if let Some(c) = content.get_mut(usize::from(*file)) {
                    *c = *value;
                }
            }
            Obs::Open { step, file, how: How::Hit, value } => {
                let Some(current) = content.get(usize::from(*file)) else { continue };
                if current != value {
                    let what = format!(
                        "{} {} opened {} from its cache and got {value}, but the server holds {current}",
                        sname(*step),
                        cname(node.wrapping_sub(1)),
                        fname(*file)
                    );
                    return vec![crate::models::Violation { invariant: "fresh-hits".into(), time: *t, what }];
                }
            }
            _ => {}
        }
    }
    Vec::new()
}

fn steps(list: impl IntoIterator<Item = u32>) -> Value {
    Value::texts(list.into_iter().map(sname))
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

pub fn facts(m: &Afs, run: &Run<Afs>) -> Facts {
    let files = usize::from(m.p.files);
    let mut content: Vec<i64> = (0..files as i64).collect();
    let mut writer: Vec<Option<usize>> = vec![None; files];
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    // Where each written value stands in the order of writes.
    let mut written_at: BTreeMap<i64, (usize, u32)> = BTreeMap::new();
    let mut clobbered = BTreeSet::new();
    // Every value a file has held on the server, and reads of one it no longer holds.
    let mut held: BTreeSet<(u8, i64)> = (0..files as u8).map(|f| (f, i64::from(f))).collect();
    let mut outdated = Vec::new();
    let mut broke_steps = Vec::new();
    let (mut breaks, mut invalidations, mut fetches, mut stores) = (0, 0, 0, 0);
    let (mut hit_opens, mut miss_opens, mut revalidated, mut stale_copies, mut stale_opens) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut begun = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for (i, (_, node, obs)) in run.observations.iter().enumerate() {
        let client = node.wrapping_sub(1);
        match obs {
            Obs::Begin { step } => {
                begun.insert(*step);
            }
            Obs::Open { step, file, how, value } => match how {
                How::Hit => {
                    hit_opens.push(*step);
                    if content.get(usize::from(*file)) != Some(value) {
                        stale_opens.push(*step);
                    }
                }
                _ => {
                    miss_opens.push(*step);
                    if matches!(how, How::Revalidated | How::Stale) {
                        revalidated.push(*step);
                    }
                    if *how == How::Stale {
                        stale_copies.push(*step);
                    }
                }
            },
            Obs::Read { step, file, value } => {
                if held.contains(&(*file, *value)) && content.get(usize::from(*file)) != Some(value) {
                    outdated.push(*step);
                }
                reads.push(obj(vec![
                    ("step", Value::text(sname(*step))),
                    ("client", Value::text(cname(client))),
                    ("file", Value::text(fname(*file).to_string())),
                    ("value", Value::Int(*value)),
                ]));
            }
            Obs::Write { step, file, old, value } => {
                written_at.insert(*value, (i, *step));
                writes.push(obj(vec![
                    ("step", Value::text(sname(*step))),
                    ("client", Value::text(cname(client))),
                    ("file", Value::text(fname(*file).to_string())),
                    ("old", Value::Int(*old)),
                    ("value", Value::Int(*value)),
                ]));
            }
            Obs::Applied { step, client, file, value, broke } => {
                stores += 1;
                let f = usize::from(*file);
                if let (Some(prev), Some(new)) = (content.get(f).and_then(|p| written_at.get(p)), written_at.get(value))
                {
                    // A value written earlier replaced one written later.
                    if new.0 < prev.0 {
                        clobbered.insert(prev.1);
                    }
                }
                held.insert((*file, *value));
                if f < files {
                    content[f] = *value;
                    writer[f] = Some(*client);
                }
                if !broke.is_empty() && !broke_steps.contains(step) {
                    broke_steps.push(*step);
                }
                breaks += broke.len() as i64;
            }
            Obs::Sent => fetches += 1,
            Obs::Invalidated => invalidations += 1,
            Obs::Failed { step } => {
                failed.insert(*step);
            }
        }
    }
    let planned = m.order.len() as u32;
    failed.extend((1..=planned).filter(|s| !begun.contains(s)));
    let name = |f: usize| fname(f as u8).to_string();
    let read_values: Vec<Value> = reads
        .iter()
        .filter_map(|r| match r {
            Value::Map(m) => m.get("value").cloned(),
            _ => None,
        })
        .collect();
    let mut f = Facts::new();
    f.insert("reads".into(), Value::List(reads));
    f.insert("read_values".into(), Value::List(read_values));
    f.insert("writes".into(), Value::List(writes));
    f.insert("files".into(), Value::Map((0..files).map(|i| (name(i), Value::Int(content[i]))).collect()));
    f.insert(
        "final_writer".into(),
        Value::Map((0..files).map(|i| (name(i), writer[i].map_or(Value::Null, |c| Value::text(cname(c))))).collect()),
    );
    f.insert("clobbered".into(), steps(clobbered));
    f.insert("outdated_reads".into(), steps(outdated));
    f.insert("callbacks_broken".into(), steps(broke_steps));
    f.insert("callback_breaks".into(), Value::Int(breaks));
    f.insert("invalidations".into(), Value::Int(invalidations));
    f.insert("hits".into(), Value::Int(hit_opens.len() as i64));
    f.insert("misses".into(), Value::Int(miss_opens.len() as i64));
    f.insert("hit_opens".into(), steps(hit_opens));
    f.insert("miss_opens".into(), steps(miss_opens));
    f.insert("fetches".into(), Value::Int(fetches));
    f.insert("stores".into(), Value::Int(stores));
    f.insert("revalidated".into(), steps(revalidated));
    f.insert("revalidated_stale".into(), steps(stale_copies));
    f.insert("hits_fresh".into(), Value::Bool(stale_opens.is_empty()));
    f.insert("stale_opens".into(), steps(stale_opens));
    f.insert("failed_steps".into(), steps(failed));
    f.insert("actions".into(), Value::text(notation(&m.actions)));
    f.insert("schedule".into(), Value::text(m.schedule_text()));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{LinkConfig, Network, NodeFault, World, MS};

    fn given(actions: &str, schedule: &str, files: u8) -> Params {
        let a = parse_actions(actions, files).expect("actions parse");
        let schedule = parse_schedule(schedule, a.len()).expect("schedule parses");
        Params {
            files,
            workload: Workload::Given(a),
            schedule,
            interval: 100 * MS,
            timeout: 50 * MS,
            max_retries: 5,
            reboot: 50 * MS,
            revalidate: true,
        }
    }

    fn run_with(p: &Params, seed: u64, net: impl FnOnce(&mut Network), faults: &[NodeFault]) -> Facts {
        let m = Afs::new(p, seed);
        let mut network = Network::new(seed, m.node_names(), LinkConfig::default());
        net(&mut network);
        let mut world = World::new(&m, seed, network);
        for f in faults {
            world.schedule(f);
        }
        facts(&m, &world.run(u64::MAX))
    }

    fn run(p: &Params) -> Facts {
        run_with(p, 1, |_| {}, &[])
    }

    fn ints(v: &[i64]) -> Value {
        Value::List(v.iter().map(|x| Value::Int(*x)).collect())
    }

    fn file(f: &Facts, name: &str) -> Value {
        match &f["files"] {
            Value::Map(m) => m[name].clone(),
            _ => Value::Null,
        }
    }

    #[test]
    fn actions_parse_back_to_their_notation() {
        let a = parse_actions("oa1:r1:c1, ob2:w2:c2:ob2:c2", 2).unwrap();
        assert_eq!(notation(&a), "oa1:r1:c1,ob2:w2:c2:ob2:c2");
        assert_eq!(a[1][1], Action::Write { fd: 2 });
        assert_eq!(parse_schedule("0110", 2), Ok(vec![0, 1, 1, 0]));
        assert_eq!(parse_schedule("", 3), Ok(vec![]));
    }

    #[test]
    fn bad_actions_say_where_and_what() {
        let e = |text: &str, files| parse_actions(text, files).unwrap_err();
        assert_eq!(e("oa1:r1:c1,ox1", 1).offset, 11);
        assert!(e("oa1:r1:c1,ox1", 1).message.contains("opens file x, which does not exist"));
        assert_eq!(e("oa1:r1:c1,o11", 1).offset, 10);
        assert!(e("oa1:r1:c1,o11", 1).message.contains("malformed open `o11`"));
        assert!(e("oA1", 1).message.contains("malformed open `oA1`"));
        assert_eq!(
            e("oa1:r1:c1,ob1", 1),
            SpecError {
                offset: 11,
                message: "`ob1` opens file b, which does not exist: the only file is a (raise model.files)".into()
            }
        );
        assert!(e("oa1:r2:c1", 1).message.contains("no fd 2 open"));
        assert_eq!(e("oa1:r2:c1", 1).offset, 4);
        assert!(e("oa1:oa1", 1).message.contains("already has fd 1 open"));
        assert!(e("oa1:c1:r1", 1).message.contains("no fd 1 open"));
        assert!(e("oa1:x1:c1", 1).message.contains("`x1` is not an action"));
        assert!(e("oa1:r1:c1,", 1).message.contains("client 1 has no actions"));
        assert!(e("oa1::c1", 1).message.contains("an empty action"));
        assert!(e("oa1:r11:c1", 1).message.contains("malformed action `r11`"));
        assert!(e(&["oa1:c1"; 11].join(","), 1).message.contains("at most 10 clients"));
        // An fd may be opened again once closed (afs.py refuses this).
        assert!(parse_actions("oa1:c1:oa1:c1", 1).is_ok());
    }

    #[test]
    fn bad_schedules_say_where_and_what() {
        let e = parse_schedule("0120", 2).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (2, "schedule names client 2, but there are only clients 0 to 1"));
        assert!(parse_schedule("0a", 2).unwrap_err().message.contains("`a` is not a client digit"));
        let e = parse_schedule("000", 2).unwrap_err();
        assert!(e.message.contains("client 1 never appears"), "{}", e.message);
    }

    // The cases below are worked by hand from the rules, and agree with afs.py
    // (`afs.py -A ACTIONS -S SCHEDULE -f FILES -c`). Values: a file i starts
    // at i, and writes take files, files+1, ... in step order.

    #[test]
    fn a_read_of_a_file_still_open_elsewhere_sees_the_old_value() {
        // s1 c0 opens a (fetch 0), s2 c0 writes 0→1 locally, s3 c1 opens a:
        // the server still has 0, s4 c1 reads 0, s5 c0 closes: stores 1 and
        // breaks c1's callback, s6 c1 closes its clean copy.
        let f = run(&given("oa1:w1:c1,oa1:r1:c1", "001101", 1));
        assert_eq!(f["read_values"], ints(&[0]));
        assert_eq!(file(&f, "a"), Value::Int(1));
        assert_eq!(f["callbacks_broken"], Value::texts(["s5"]));
        assert_eq!(f["outdated_reads"], Value::texts(Vec::<String>::new()));
        assert_eq!(f["misses"], Value::Int(2));
    }

    #[test]
    fn a_write_on_an_invalidated_open_copy_still_wins_at_close() {
        // s1 c0 and s2 c1 both fetch a = 0. s3 c1 writes 0→1, s4 c1 closes:
        // a = 1 on the server and c0's copy is invalid but still open. s5 c0
        // writes its copy 0→2 all the same, s6 c0 closes: a = 2, and c1's
        // callback (it got one back when it stored) is broken in turn.
        let f = run(&given("oa1:w1:c1,oa1:w1:c1", "011100", 1));
        assert_eq!(file(&f, "a"), Value::Int(2));
        assert_eq!(f["callbacks_broken"], Value::texts(["s4", "s6"]));
        let olds: Vec<Value> = match &f["writes"] {
            Value::List(w) => {
                w.iter().map(|w| if let Value::Map(m) = w { m["old"].clone() } else { Value::Null }).collect()
            }
            _ => vec![],
        };
        assert_eq!(olds, vec![Value::Int(0), Value::Int(0)]);
        assert_eq!(f["final_writer"], Value::Map([("a".to_string(), Value::text("c0"))].into()));
        assert_eq!(f["clobbered"], Value::texts(Vec::<String>::new()));
    }

    #[test]
    fn the_later_closer_wins_though_it_wrote_earlier() {
        // s2 c0 writes 0→1 first; s4 c1 writes 0→2 later but closes first
        // (s5, a = 2); s6 c0 closes last, so a ends as 1 and c1's write is lost.
        let f = run(&given("oa1:w1:c1,oa1:w1:c1", "001110", 1));
        assert_eq!(file(&f, "a"), Value::Int(1));
        assert_eq!(f["clobbered"], Value::texts(["s4"]));
        assert_eq!(f["stores"], Value::Int(2));
    }

    #[test]
    fn a_callback_break_turns_the_next_open_into_a_miss() {
        // c0 reads a, closes (copy kept, valid). c1 writes 1 and closes,
        // breaking c0's callback. c0's reopen at s7 must fetch: it reads 1.
        let f = run(&given("oa1:r1:c1:oa2:r2:c2,oa1:w1:c1", "000111000", 1));
        assert_eq!(f["read_values"], ints(&[0, 1]));
        assert_eq!((f["hits"].clone(), f["misses"].clone()), (Value::Int(0), Value::Int(3)));
        assert_eq!(f["fetches"], Value::Int(3));
        assert_eq!(f["invalidations"], Value::Int(1));
        // Without the writer the reopen is a hit: no server call at all.
        let f = run(&given("oa1:r1:c1:oa2:r2:c2", "0", 1));
        assert_eq!((f["hits"].clone(), f["fetches"].clone()), (Value::Int(1), Value::Int(1)));
        assert_eq!(f["hit_opens"], Value::texts(["s4"]));
    }

    #[test]
    fn a_refetch_replaces_unsaved_writes_as_afs_py_does() {
        // c0 writes 0→1 on fd 1 (not closed); c1 stores 2, which invalidates
        // c0's copy; c0 opens a again on fd 2: the fetch of 2 replaces the
        // shared copy, unsaved write included, so c0 reads 2 and stores nothing.
        let f = run(&given("oa1:w1:oa2:r2:c2:c1,oa1:w1:c1", "001110000", 1));
        assert_eq!(f["read_values"], ints(&[2]));
        assert_eq!(file(&f, "a"), Value::Int(2));
        assert_eq!(f["stores"], Value::Int(1));
    }

    #[test]
    fn a_random_workload_replays_exactly_from_its_own_actions_and_schedule() {
        let p =
            Params { workload: Workload::Random { clients: 3, steps: 4, read_ratio: 0.5 }, ..given("oa1:c1", "", 2) };
        for seed in 1..=10 {
            let f = run_with(&p, seed, |_| {}, &[]);
            let (Value::Text(actions), Value::Text(schedule)) = (&f["actions"], &f["schedule"]) else { panic!() };
            assert_eq!(schedule.len(), 36);
            let replay = run(&given(actions, schedule, 2));
            assert_eq!(replay, f, "seed {seed}");
        }
        let a = run_with(&p, 1, |_| {}, &[]);
        assert_ne!(a["actions"], run_with(&p, 2, |_| {}, &[])["actions"]);
    }

    #[test]
    fn after_a_server_reboot_clients_revalidate_and_catch_a_missed_change() {
        // c0 caches a = 0 (s1-s3). The server crashes at 230ms and is back at
        // 280ms without its callback table. c1 then stores 1 (s4-s6): the
        // server knows of no callback to break, so c0 is never told. c0's
        // reopen (s7) must not trust its copy: it revalidates, finds it
        // stale, and reads 1.
        let p = given("oa1:r1:c1:oa2:r2:c2,oa1:w1:c1", "000111000", 1);
        let crash = [NodeFault::Crash { node: SERVER, at: 230 * MS }];
        let f = run_with(&p, 1, |_| {}, &crash);
        assert_eq!(f["read_values"], ints(&[0, 1]));
        assert_eq!(f["callbacks_broken"], Value::texts(Vec::<String>::new()));
        assert_eq!(f["revalidated"], Value::texts(["s7"]));
        assert_eq!(f["revalidated_stale"], Value::texts(["s7"]));
        assert_eq!(f["hits_fresh"], Value::Bool(true));
        // A client that trusts its cache after the reboot reads the stale 0.
        let trusting = Params { revalidate: false, ..p.clone() };
        let f = run_with(&trusting, 1, |_| {}, &crash);
        assert_eq!(f["read_values"], ints(&[0, 0]));
        assert_eq!(f["stale_opens"], Value::texts(["s7"]));
        assert_eq!(f["hits_fresh"], Value::Bool(false));
        // A copy the server confirms is kept: no second transfer. (The reboot
        // notice arrives at 290ms, before s4 at 300ms.)
        let p = given("oa1:r1:c1:oa2:r2:c2", "0", 1);
        let f = run_with(&p, 1, |_| {}, &[NodeFault::Crash { node: SERVER, at: 230 * MS }]);
        assert_eq!(f["revalidated"], Value::texts(["s4"]));
        assert_eq!(f["revalidated_stale"], Value::texts(Vec::<String>::new()));
        assert_eq!(f["fetches"], Value::Int(1));
    }

    #[test]
    fn a_store_lost_to_a_crash_is_retried_and_applied_once() {
        // The store of s4 reaches a server that crashed at 305ms; the retry
        // at 350ms lands after the reboot at 355ms.
        let p = given("oa1:w1:c1", "0", 1);
        let f = run_with(&p, 1, |_| {}, &[NodeFault::Crash { node: SERVER, at: 305 * MS }]);
        assert_eq!(file(&f, "a"), Value::Int(1));
        assert_eq!(f["stores"], Value::Int(1));
        // Every message copied by the network: the copy is acknowledged only.
        let f = run_with(&p, 1, |n| n.default.duplicate = 1.0, &[]);
        assert_eq!((file(&f, "a"), f["stores"].clone()), (Value::Int(1), Value::Int(1)));
    }

    #[test]
    fn a_lost_callback_break_leaves_a_stale_hit() {
        // As in the case above, but server → c0 is cut from 400ms to 600ms,
        // so the break c1's store sends at 510ms never arrives: c0's copy stays
        // valid and its reopen (s7) is a hit on the old value 0.
        let p = given("oa1:r1:c1:oa2:r2:c2,oa1:w1:c1", "000111000", 1);
        let cut =
            crate::sim::Partition { from: vec![SERVER], to: vec![1], two_way: false, at: 400 * MS, until: 600 * MS };
        let f = run_with(&p, 1, |n| n.partitions.push(cut), &[]);
        assert_eq!(f["read_values"], ints(&[0, 0]));
        assert_eq!(f["callbacks_broken"], Value::texts(["s6"]));
        assert_eq!(f["stale_opens"], Value::texts(["s7"]));
        assert_eq!(f["hits_fresh"], Value::Bool(false));
    }

    #[test]
    fn an_unreachable_server_fails_the_open_after_its_retries() {
        // Every reply to c0 is lost: s1's fetch is sent 1 + max_retries times,
        // then the open fails, and the read and close of fd 1 find it closed.
        let p = Params { max_retries: 2, ..given("oa1:r1:c1", "0", 1) };
        let m = Afs::new(&p, 1);
        let mut net = Network::new(1, m.node_names(), LinkConfig::default());
        net.links.push(((SERVER, 1), LinkConfig { drop: 1.0, ..LinkConfig::default() }));
        let run = World::new(&m, 1, net).run(u64::MAX);
        let sends = run.trace.iter().filter(|e| matches!(e.event, crate::sim::Event::Send { from: 1, .. })).count();
        assert_eq!(sends, 3);
        let f = facts(&m, &run);
        assert_eq!(f["failed_steps"], Value::texts(["s1", "s2", "s3"]));
        assert_eq!(f["misses"], Value::Int(0));
    }

    #[test]
    fn a_crashed_client_loses_its_open_files_and_revalidates_its_disk_cache() {
        // c0 fetches a (s1) and closes it (s3). It is down from 350ms to
        // 550ms, so the break that c1's store (s6, 500ms) sends at 510ms is
        // lost; restarted, c0 doubts its disk copy, so s7 revalidates and
        // reads 1.
        let p = given("oa1:r1:c1:oa2:r2:c2,oa1:w1:c1", "000111000", 1);
        let faults = [NodeFault::Crash { node: 1, at: 350 * MS }, NodeFault::Restart { node: 1, at: 550 * MS }];
        let f = run_with(&p, 1, |_| {}, &faults);
        assert_eq!(f["read_values"], ints(&[0, 1]));
        assert_eq!(f["revalidated_stale"], Value::texts(["s7"]));
        assert_eq!(f["callbacks_broken"], Value::texts(["s6"]));
        // Up again before the break arrives: the break invalidates, s7 fetches.
        let faults = [NodeFault::Crash { node: 1, at: 350 * MS }, NodeFault::Restart { node: 1, at: 450 * MS }];
        let f = run_with(&p, 1, |_| {}, &faults);
        assert_eq!(
            (f["read_values"].clone(), f["revalidated"].clone()),
            (ints(&[0, 1]), Value::texts(Vec::<String>::new()))
        );
        // Crashed with fd 1 open: the later read and close of fd 1 fail.
        let faults = [NodeFault::Crash { node: 1, at: 50 * MS }, NodeFault::Restart { node: 1, at: 150 * MS }];
        let f = run_with(&given("oa1:r1:c1", "0", 1), 1, |_| {}, &faults);
        assert_eq!(f["failed_steps"], Value::texts(["s2", "s3"]));
        assert_eq!(f["read_values"], ints(&[]));
    }
}
