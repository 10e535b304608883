//! Lab 07: primary-backup replication. The primary orders the client's writes
//! in its log and replicates them to the backup: synchronously (the client is
//! acked once the backup has the write) or asynchronously (acked at once, the
//! log shipped with the next heartbeat). Heartbeats and a timeout detect
//! failure. Without a view service the backup promotes itself, and numbered
//! epochs settle a split brain only once the two primaries hear each other.
//! With one, the view service names the primary and hands it a lease, and
//! appoints another only after that lease has run out.

use crate::models::Violation;
use crate::questions::{Facts, Value};
use crate::sim::{fmt_time, secret, shown, Ctx, Durable, Event, Label, Model, NodeId, Run, Time, TimerId, MS};
use std::collections::BTreeMap;
use std::fmt;

pub const CLIENT: NodeId = 0;
pub const PRIMARY: NodeId = 1;
pub const BACKUP: NodeId = 2;
pub const VIEW: NodeId = 3;

const NAMES: [&str; 4] = ["client", "primary", "backup", "view"];

/// A server's heartbeat tick.
const TICK: u64 = 1 << 40;
/// The client's pause between an ack and its next write.
const NEXT: u64 = 1 << 41;
// Any other tag is the client's retry timer for write `tag`.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replication {
    Sync,
    Async,
}

impl Replication {
    pub const ACCEPTED: &'static str = "\"sync\" or \"async\"";

    pub fn parse(s: &str) -> Option<Replication> {
        match s {
            "sync" => Some(Replication::Sync),
            "async" => Some(Replication::Async),
            _ => None,
        }
    }
}

impl fmt::Display for Replication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Replication::Sync => "sync",
            Replication::Async => "async",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub replication: Replication,
    pub view_service: bool,
    /// The client writes w1..wN, one at a time.
    pub writes: u32,
    /// The client's pause between an ack and its next write.
    pub interval: Time,
    /// How often servers send heartbeats (and pings to the view service).
    pub heartbeat: Time,
    /// Silence after which a server is presumed dead.
    pub timeout: Time,
    /// How long a lease from the view service lasts, from the ping that won it.
    pub lease: Time,
    /// How long the client waits for an ack before it tries the other replica.
    pub client_timeout: Time,
    /// How long a crashed server takes to come back by itself, if it does.
    pub reboot: Option<Time>,
    /// The times the `primary_at` fact reports on.
    pub primary_at: Vec<Time>,
}

pub const FACTS: &[&str] = &[
    "acked",
    "unacked",
    "ack_time",
    "acked_by",
    "attempts",
    "survived",
    "lost",
    "lost_count",
    "final_primary",
    "final_log",
    "logs",
    "primary_at",
    "primary_timeline",
    "two_primaries",
    "overlap_at",
    "overlap_time",
    "failover_at",
    "failover_time",
    "views",
];

pub const INVARIANTS: crate::models::Invariants = &[
    ("no-lost-ack-write", "every write acknowledged to the client is on the primary at the end"),
    ("single-primary", "there are never two primaries at once"),
];

/// Who is primary and who is backup in one view (without a view service: in
/// one epoch). `num` only grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    pub num: u32,
    pub primary: Option<NodeId>,
    pub backup: Option<NodeId>,
}

impl View {
    const FIRST: View = View { num: 1, primary: Some(PRIMARY), backup: Some(BACKUP) };

    fn encode(&self) -> String {
        let n = |x: Option<NodeId>| x.map_or("-".to_string(), |x| x.to_string());
        format!("{} {} {}", self.num, n(self.primary), n(self.backup))
    }

    fn decode(s: &str) -> Option<View> {
        let mut it = s.split(' ');
        let num = it.next()?.parse().ok()?;
        let mut node = || -> Option<Option<NodeId>> {
            let w = it.next()?;
            Some(if w == "-" { None } else { Some(w.parse().ok()?) })
        };
        Some(View { num, primary: node()?, backup: node()? })
    }

    fn describe(&self) -> String {
        let n = |x: Option<NodeId>| x.map_or("none", |x| NAMES[x]);
        format!("view {}: primary={}, backup={}", self.num, n(self.primary), n(self.backup))
    }
}

#[derive(Clone, Debug)]
pub enum Msg {
    Write {
        id: u32,
        attempt: u32,
    },
    Ack {
        id: u32,
    },
    /// The receiver is not primary; `hint` is who it believes is.
    NotPrimary {
        id: u32,
        hint: Option<NodeId>,
    },
    /// Log entries from position `from` (1-based) on.
    Ship {
        view: u32,
        from: u32,
        writes: Vec<u32>,
    },
    /// The backup holds the first `len` entries of the primary's log.
    ShipAck {
        view: u32,
        len: u32,
    },
    /// State transfer: the primary's whole log, to a new or stale backup.
    Sync {
        view: View,
        log: Vec<u32>,
    },
    Heartbeat {
        view: u32,
        primary: bool,
        len: u32,
        synced: bool,
    },
    /// To the view service; `ready` means the primary has brought its backup
    /// up to date in this view. `sent` comes back with the lease.
    Ping {
        view: u32,
        ready: bool,
        sent: Time,
    },
    /// The view service's answer; `lease_from` grants the primary a lease
    /// starting at the time its ping was sent.
    ViewIs {
        view: View,
        lease_from: Option<Time>,
    },
}

pub enum Node {
    Client(Client),
    Replica(Replica),
    ViewService(ViewService),
}

pub struct Client {
    next: u32,
    attempts: u32,
    target: NodeId,
    timer: Option<TimerId>,
    redirected: bool,
}

pub struct Replica {
    log: Vec<u32>,
    view: View,
    /// As a backup: my log is a prefix of this view's primary's log.
    synced: bool,
    /// As primary: how much of my log the backup confirmed, in this view.
    acked_len: usize,
    /// As primary: what it knows of the backup's log in this view.
    backup: BackupState,
    /// As primary (sync): the client write waiting for the backup, and its position.
    pending: Option<(u32, usize)>,
    /// As primary (sync, no view service): the backup is presumed dead.
    alone: bool,
    last_heard: Time,
    last_primary: Time,
    lease_until: Time,
    /// As primary without a lease yet: the client write it holds until then.
    waiting: Option<u32>,
    /// The last shipment to the backup: how much of the log, and when.
    shipped: Option<(usize, Time)>,
    /// When the last state transfer went out.
    synced_at: Option<Time>,
}

/// What a primary knows of its backup's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupState {
    /// Not heard from it yet (after a promotion or a restart): send nothing.
    Unknown,
    /// It may hold other entries: it needs the whole log (a state transfer).
    Stale,
    /// Its log is a prefix of mine: send it the entries it lacks.
    Ready,
}

pub struct ViewService {
    view: View,
    /// The view's primary has confirmed the view (its backup is up to date).
    acked: bool,
    last_ping: [Time; 2],
    /// No lease granted so far lasts beyond this.
    lease_expiry: Time,
}

pub enum Obs {
    /// A replica appended a write to its log.
    Applied(u32),
    /// A replica's log was replaced by a state transfer.
    Replaced(Vec<u32>),
    /// A replica is primary from now until `until` (None: until it stops).
    Serve(Option<Time>),
    /// A replica stopped being primary.
    Unserve,
    /// The client received the ack of a write from a replica.
    Acked(u32, NodeId),
    /// The view service moved to a new view.
    NewView(View),
}

fn w(id: u32) -> String {
    format!("w{id}")
}

fn words(log: &[u32]) -> String {
    if log.is_empty() {
        "(empty)".to_string()
    } else {
        log.iter().map(|id| w(*id)).collect::<Vec<_>>().join(" ")
    }
}

fn other(node: NodeId) -> NodeId {
    if node == PRIMARY {
        BACKUP
    } else {
        PRIMARY
    }
}

fn parse_log(s: &str) -> Vec<u32> {
    s.split(' ').filter_map(|x| x.parse().ok()).collect()
}

impl Params {
    fn epoch(&self) -> &'static str {
        if self.view_service {
            "view"
        } else {
            "epoch"
        }
    }

    fn is_primary(r: &Replica, me: NodeId) -> bool {
        r.view.primary == Some(me)
    }

    /// Primary, and (with a view service) holding a lease.
    fn serving(&self, r: &Replica, me: NodeId, now: Time) -> bool {
        Self::is_primary(r, me) && (!self.view_service || now < r.lease_until)
    }

    fn my_backup(&self, r: &Replica, me: NodeId) -> Option<NodeId> {
        if self.view_service {
            r.view.backup
        } else {
            Some(other(me))
        }
    }

    fn save(&self, r: &Replica, ctx: &mut Ctx<Self>) {
        let log: Vec<String> = r.log.iter().map(|x| x.to_string()).collect();
        ctx.persist("log", log.join(" "));
        ctx.persist("view", r.view.encode());
        ctx.persist("synced", if r.synced { "1" } else { "0" });
    }

    fn show_log(r: &Replica, ctx: &mut Ctx<Self>) {
        ctx.outcome(4, vec![secret(format!("log: {}", words(&r.log)))]);
    }

    /// Appends one entry; the caller saves the log once it is done.
    fn append(r: &mut Replica, id: u32, ctx: &mut Ctx<Self>) {
        r.log.push(id);
        ctx.observe(Obs::Applied(id));
        ctx.outcome(1, vec![secret(format!("{} → log #{}", w(id), r.log.len()))]);
    }

    // The client.

    fn call(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        if c.next > self.writes {
            ctx.note(1, vec![shown("client: every write acknowledged")]);
            return;
        }
        ctx.call(vec![shown(format!("write {}", w(c.next)))]);
        c.attempts = 0;
        c.redirected = false;
        self.transmit(c, ctx);
    }

    fn transmit(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        c.attempts += 1;
        ctx.send(c.target, Msg::Write { id: c.next, attempt: c.attempts });
        c.timer = Some(ctx.set_timer(self.client_timeout, c.next as u64));
    }

    fn client_message(&self, c: &mut Client, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match msg {
            Msg::Ack { id } if id == c.next && id <= self.writes => {
                if let Some(t) = c.timer.take() {
                    ctx.cancel_timer(t);
                }
                ctx.observe(Obs::Acked(id, from));
                ctx.ret(vec![shown(format!("{} acknowledged", w(id)))]);
                c.next += 1;
                c.target = from;
                ctx.persist("next", c.next.to_string());
                if self.interval > 0 {
                    ctx.set_timer(self.interval, NEXT);
                } else {
                    self.call(c, ctx);
                }
            }
            Msg::Ack { id } => ctx.note(1, vec![shown(format!("late ack for {}: ignored", w(id)))]),
            Msg::NotPrimary { id, hint } if id == c.next && id <= self.writes => {
                c.target = hint.unwrap_or(other(from));
                // One redirect per timeout, so two confused replicas cannot
                // bounce the client back and forth at network speed.
                if hint.is_some() && !c.redirected {
                    c.redirected = true;
                    if let Some(t) = c.timer.take() {
                        ctx.cancel_timer(t);
                    }
                    self.transmit(c, ctx);
                } else {
                    ctx.note(1, vec![shown(format!("try {} at the next timeout", NAMES[c.target]))]);
                }
            }
            _ => {}
        }
    }

    // The replicas.

    /// Without a view service, any message from a replica that claims to be
    /// primary in some epoch may make this one follow it (or step down).
    fn hear(&self, r: &mut Replica, me: NodeId, from: NodeId, epoch: u32, claims: bool, ctx: &mut Ctx<Self>) {
        r.last_heard = ctx.now;
        if self.view_service || !claims {
            return;
        }
        if Self::is_primary(r, me) {
            // Two primaries: the higher epoch stays, then the lower node number.
            if epoch > r.view.num || (epoch == r.view.num && from < me) {
                r.view = View { num: epoch, primary: Some(from), backup: Some(me) };
                r.last_primary = ctx.now;
                self.step_down(r, ctx);
            }
        } else if epoch >= r.view.num {
            r.last_primary = ctx.now;
            if epoch > r.view.num {
                r.view = View { num: epoch, primary: Some(from), backup: Some(me) };
                r.synced = false;
                self.save(r, ctx);
                ctx.note(1, vec![shown(format!("follows {}, primary of epoch {epoch}", NAMES[from]))]);
            }
        }
    }

    fn step_down(&self, r: &mut Replica, ctx: &mut Ctx<Self>) {
        r.synced = false;
        r.pending = None;
        r.alone = false;
        r.lease_until = 0;
        self.save(r, ctx);
        ctx.observe(Obs::Unserve);
        let who = r.view.primary.map_or("none", |p| NAMES[p]);
        ctx.note(
            0,
            vec![shown(format!("hears {who}, primary of {} {}: steps down to backup", self.epoch(), r.view.num))],
        );
    }

    fn promote(&self, r: &mut Replica, me: NodeId, ctx: &mut Ctx<Self>) {
        let silent = ctx.now - r.last_primary;
        r.view = View { num: r.view.num + 1, primary: Some(me), backup: Some(other(me)) };
        r.backup = BackupState::Unknown;
        r.shipped = None;
        r.synced_at = None;
        r.acked_len = 0;
        // The old primary is presumed dead: a synchronous primary acks alone
        // until it hears from it.
        r.alone = self.replication == Replication::Sync;
        r.synced = true;
        self.save(r, ctx);
        ctx.observe(Obs::Serve(None));
        ctx.note(
            0,
            vec![shown(format!(
                "no heartbeat from the primary for {}: takes over as primary (epoch {})",
                fmt_time(silent),
                r.view.num
            ))],
        );
    }

    /// Acks the waiting client write once it is safe to.
    fn try_ack(&self, r: &mut Replica, me: NodeId, ctx: &mut Ctx<Self>) {
        let Some((id, pos)) = r.pending else { return };
        if !self.serving(r, me, ctx.now) {
            return;
        }
        let covered = match (self.replication, self.my_backup(r, me)) {
            (Replication::Async, _) | (_, None) => true,
            _ if !self.view_service && r.alone => true,
            _ => r.backup == BackupState::Ready && r.acked_len >= pos,
        };
        if covered {
            r.pending = None;
            if self.replication == Replication::Sync {
                let has = r.backup == BackupState::Ready && r.acked_len >= pos;
                let why = if has { "the backup has it" } else { "no backup to wait for" };
                ctx.note(1, vec![shown(format!("{}: {why}: ack", w(id)))]);
            }
            ctx.send(CLIENT, Msg::Ack { id });
        }
    }

    /// Brings the backup up to date: the whole log if it is new or stale,
    /// otherwise whatever it has not confirmed.
    fn ship(&self, r: &mut Replica, me: NodeId, ctx: &mut Ctx<Self>) {
        let Some(b) = self.my_backup(r, me) else { return };
        if !self.view_service && r.alone {
            return;
        }
        // Resend what may still be in flight only after a heartbeat's wait.
        let recent = |t: Option<Time>| t.is_some_and(|t| ctx.now < t.saturating_add(self.heartbeat));
        if r.backup == BackupState::Stale {
            if !recent(r.synced_at) {
                r.synced_at = Some(ctx.now);
                ctx.send(b, Msg::Sync { view: r.view, log: r.log.clone() });
            }
        } else if r.backup == BackupState::Ready && r.acked_len < r.log.len() {
            let sent = r.shipped.is_some_and(|(len, _)| len >= r.log.len());
            if !(sent && recent(r.shipped.map(|x| x.1))) {
                r.shipped = Some((r.log.len(), ctx.now));
                let writes = r.log[r.acked_len..].to_vec();
                ctx.send(b, Msg::Ship { view: r.view.num, from: r.acked_len as u32 + 1, writes });
            }
        }
    }

    fn on_write(&self, r: &mut Replica, me: NodeId, id: u32, ctx: &mut Ctx<Self>) {
        if !Self::is_primary(r, me) {
            ctx.send(CLIENT, Msg::NotPrimary { id, hint: r.view.primary });
            return;
        }
        if !self.serving(r, me, ctx.now) {
            r.waiting = Some(id);
            ctx.note(1, vec![shown(format!("no lease: holds {} until it has one", w(id)))]);
            return;
        }
        r.waiting = None;
        let pos = match r.log.iter().position(|x| *x == id) {
            Some(i) => i + 1,
            None => {
                Self::append(r, id, ctx);
                self.save(r, ctx);
                Self::show_log(r, ctx);
                r.log.len()
            }
        };
        match self.replication {
            Replication::Async => ctx.send(CLIENT, Msg::Ack { id }),
            Replication::Sync => {
                r.pending = Some((id, pos));
                self.ship(r, me, ctx);
                self.try_ack(r, me, ctx);
            }
        }
    }

    fn on_ship(&self, r: &mut Replica, me: NodeId, from: NodeId, msg: &Msg, ctx: &mut Ctx<Self>) {
        let Msg::Ship { view, from: start, writes } = msg else { return };
        let (view, start) = (*view, *start);
        let mine = !Self::is_primary(r, me)
            && r.view.num == view
            && r.view.primary == Some(from)
            && r.view.backup == Some(me)
            && r.synced;
        if !mine {
            ctx.note(
                1,
                vec![shown(format!("ignores the entries: not an up-to-date backup in {} {view}", self.epoch()))],
            );
            return;
        }
        let len = r.log.len();
        let start = start as usize;
        if start > len + 1 {
            ctx.note(1, vec![shown(format!("gap: has #{len}, got #{start}"))]);
        } else {
            for id in writes.iter().skip(len + 1 - start) {
                Self::append(r, *id, ctx);
            }
            if r.log.len() > len {
                self.save(r, ctx);
                Self::show_log(r, ctx);
            }
        }
        ctx.send(from, Msg::ShipAck { view, len: r.log.len() as u32 });
    }

    fn on_ship_ack(&self, r: &mut Replica, me: NodeId, from: NodeId, view: u32, len: u32, ctx: &mut Ctx<Self>) {
        if !Self::is_primary(r, me) || view != r.view.num || self.my_backup(r, me) != Some(from) {
            return;
        }
        let was = r.backup;
        r.backup = BackupState::Ready;
        r.alone = false;
        r.acked_len = r.acked_len.max((len as usize).min(r.log.len()));
        // Synchronous: once a state transfer is confirmed, send at once the
        // writes that came in meanwhile (asynchronous ones wait for a tick).
        if self.replication == Replication::Sync && was != BackupState::Ready && self.serving(r, me, ctx.now) {
            self.ship(r, me, ctx);
        }
        self.try_ack(r, me, ctx);
    }

    fn on_sync(&self, r: &mut Replica, me: NodeId, from: NodeId, view: View, log: Vec<u32>, ctx: &mut Ctx<Self>) {
        let fresh = if self.view_service {
            view.primary == Some(from)
                && view.backup == Some(me)
                && (view.num > r.view.num || (view.num == r.view.num && !r.synced))
        } else {
            !Self::is_primary(r, me) && view.num == r.view.num && r.view.primary == Some(from) && !r.synced
        };
        if fresh {
            if view.num > r.view.num {
                self.adopt(r, me, view, ctx);
            }
            let dropped: Vec<u32> = r.log.iter().copied().filter(|x| !log.contains(x)).collect();
            let what = if dropped.is_empty() {
                format!("state transfer: takes the primary's log ({} entries)", log.len())
            } else {
                format!("state transfer: takes the primary's log ({} entries), dropping {}", log.len(), words(&dropped))
            };
            if r.log != log {
                ctx.observe(Obs::Replaced(log.clone()));
            }
            r.log = log;
            r.synced = true;
            self.save(r, ctx);
            ctx.outcome(0, vec![secret(what)]);
            Self::show_log(r, ctx);
        }
        if r.synced && r.view.num == view.num && r.view.backup == Some(me) {
            ctx.send(from, Msg::ShipAck { view: view.num, len: r.log.len() as u32 });
        }
    }

    fn on_heartbeat(&self, r: &mut Replica, me: NodeId, from: NodeId, msg: &Msg, ctx: &mut Ctx<Self>) {
        let Msg::Heartbeat { view, primary: claims, len, synced } = *msg else { return };
        if !Self::is_primary(r, me) || claims || self.my_backup(r, me) != Some(from) {
            return;
        }
        if r.alone {
            r.alone = false;
            ctx.note(0, vec![shown(format!("hears {} again: waits for it before acking", NAMES[from]))]);
        }
        if view == r.view.num && synced {
            r.backup = BackupState::Ready;
            r.acked_len = r.acked_len.max((len as usize).min(r.log.len()));
            self.try_ack(r, me, ctx);
        } else if r.backup != BackupState::Stale {
            r.backup = BackupState::Stale;
            self.ship(r, me, ctx);
        }
    }

    /// With a view service: moves to a newer view.
    fn adopt(&self, r: &mut Replica, me: NodeId, view: View, ctx: &mut Ctx<Self>) {
        let was = Self::is_primary(r, me);
        r.view = view;
        let now_primary = view.primary == Some(me);
        if was && !now_primary {
            r.pending = None;
            r.waiting = None;
            if r.lease_until > ctx.now {
                ctx.observe(Obs::Unserve);
            }
            r.lease_until = 0;
        }
        r.shipped = None;
        r.synced_at = None;
        let text = if now_primary {
            r.acked_len = 0;
            r.backup = BackupState::Stale;
            r.alone = false;
            format!("{}: I am primary", view.describe())
        } else if view.backup == Some(me) {
            r.synced = false;
            format!("{}: I am backup", view.describe())
        } else {
            r.synced = false;
            format!("{}: neither primary nor backup", view.describe())
        };
        self.save(r, ctx);
        ctx.note(0, vec![shown(text)]);
        if now_primary {
            self.ship(r, me, ctx);
            self.try_ack(r, me, ctx);
        }
    }

    fn on_view(&self, r: &mut Replica, me: NodeId, view: View, lease_from: Option<Time>, ctx: &mut Ctx<Self>) {
        if view.num > r.view.num {
            self.adopt(r, me, view, ctx);
        }
        if view.num != r.view.num || view.primary != Some(me) {
            return;
        }
        let Some(sent) = lease_from else { return };
        let until = sent.saturating_add(self.lease);
        if until <= ctx.now || until <= r.lease_until {
            return;
        }
        let fresh = r.lease_until <= ctx.now;
        r.lease_until = until;
        ctx.observe(Obs::Serve(Some(until)));
        if fresh {
            ctx.note(0, vec![shown(format!("holds a lease until {}: serves as primary", fmt_time(until)))]);
        } else {
            ctx.note(2, vec![shown(format!("lease renewed until {}", fmt_time(until)))]);
        }
        if let Some(id) = r.waiting.take() {
            self.on_write(r, me, id, ctx);
        }
        self.try_ack(r, me, ctx);
    }

    fn replica_tick(&self, r: &mut Replica, me: NodeId, ctx: &mut Ctx<Self>) {
        ctx.set_timer(self.heartbeat, TICK);
        let primary = Self::is_primary(r, me);
        let len = r.log.len() as u32;
        ctx.send(other(me), Msg::Heartbeat { view: r.view.num, primary, len, synced: r.synced });
        if self.view_service {
            let ready = primary && (r.view.backup.is_none() || r.backup == BackupState::Ready);
            ctx.send(VIEW, Msg::Ping { view: r.view.num, ready, sent: ctx.now });
        }
        if primary {
            let silent = ctx.now - r.last_heard;
            if !self.view_service && self.replication == Replication::Sync && !r.alone && silent >= self.timeout {
                r.alone = true;
                ctx.note(
                    0,
                    vec![shown(format!("nothing from the backup for {}: acks writes alone", fmt_time(silent)))],
                );
                self.try_ack(r, me, ctx);
            }
            if self.serving(r, me, ctx.now) {
                self.ship(r, me, ctx);
            }
        } else if !self.view_service && ctx.now - r.last_primary >= self.timeout {
            self.promote(r, me, ctx);
        }
    }

    fn replica_message(&self, r: &mut Replica, me: NodeId, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match msg {
            Msg::Write { id, .. } => self.on_write(r, me, id, ctx),
            Msg::Ship { view, .. } => {
                self.hear(r, me, from, view, true, ctx);
                self.on_ship(r, me, from, &msg, ctx);
            }
            Msg::ShipAck { view, len } => {
                self.hear(r, me, from, view, false, ctx);
                self.on_ship_ack(r, me, from, view, len, ctx);
            }
            Msg::Sync { view, log } => {
                self.hear(r, me, from, view.num, true, ctx);
                self.on_sync(r, me, from, view, log, ctx);
            }
            Msg::Heartbeat { view, primary, .. } => {
                self.hear(r, me, from, view, primary, ctx);
                self.on_heartbeat(r, me, from, &msg, ctx);
            }
            Msg::ViewIs { view, lease_from } if from == VIEW => self.on_view(r, me, view, lease_from, ctx),
            _ => {}
        }
    }

    fn new_replica(&self, log: Vec<u32>, view: View, synced: bool, now: Time) -> Replica {
        Replica {
            log,
            view,
            synced,
            acked_len: 0,
            backup: BackupState::Unknown,
            pending: None,
            alone: false,
            last_heard: now,
            last_primary: now,
            lease_until: 0,
            waiting: None,
            shipped: None,
            synced_at: None,
        }
    }

    // The view service.

    fn decide(&self, v: &mut ViewService, ctx: &mut Ctx<Self>) {
        let now = ctx.now;
        let silent = |n: NodeId| now.saturating_sub(v.last_ping[n - 1]);
        let alive = |n: NodeId| silent(n) < self.timeout;
        let cur = v.view;
        let quiet = |n: NodeId| format!("{} silent for {}", NAMES[n], fmt_time(silent(n)));
        let next = match (cur.primary, cur.backup) {
            (Some(p), backup) if !alive(p) => match backup {
                // Promote only a backup the primary confirmed, and only once
                // every lease the old primary may hold has run out.
                Some(b) if v.acked && alive(b) && now >= v.lease_expiry => {
                    Some((View { num: cur.num + 1, primary: Some(b), backup: None }, quiet(p)))
                }
                _ => None,
            },
            (Some(p), Some(b)) if !alive(b) => {
                Some((View { num: cur.num + 1, primary: Some(p), backup: None }, quiet(b)))
            }
            (Some(p), None) if v.acked && alive(other(p)) => {
                let view = View { num: cur.num + 1, primary: Some(p), backup: Some(other(p)) };
                Some((view, format!("{} is up", NAMES[other(p)])))
            }
            _ => None,
        };
        if let Some((view, why)) = next {
            v.view = view;
            v.acked = false;
            ctx.persist("view", view.encode());
            ctx.persist("acked", "0");
            ctx.observe(Obs::NewView(view));
            ctx.note(0, vec![shown(format!("{why}: new {}", view.describe()))]);
        }
    }

    fn view_message(&self, v: &mut ViewService, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        let Msg::Ping { view, ready, sent } = msg else { return };
        if from != PRIMARY && from != BACKUP {
            return;
        }
        v.last_ping[from - 1] = ctx.now;
        if v.view.primary == Some(from) && view == v.view.num && ready && !v.acked {
            v.acked = true;
            ctx.persist("acked", "1");
            ctx.note(1, vec![shown(format!("{} confirms view {view}", NAMES[from]))]);
        }
        self.decide(v, ctx);
        let lease_from = if v.view.primary == Some(from) {
            v.lease_expiry = v.lease_expiry.max(ctx.now.saturating_add(self.lease));
            Some(sent)
        } else {
            None
        };
        ctx.send(from, Msg::ViewIs { view: v.view, lease_from });
    }
}

impl Model for Params {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        let n = if self.view_service { 4 } else { 3 };
        NAMES[..n].iter().map(|s| s.to_string()).collect()
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        match node {
            CLIENT => {
                ctx.persist("next", "1");
                let mut c = Client { next: 1, attempts: 0, target: PRIMARY, timer: None, redirected: false };
                self.call(&mut c, ctx);
                Node::Client(c)
            }
            VIEW => {
                ctx.persist("view", View::FIRST.encode());
                ctx.persist("acked", "1");
                let phase = ctx.rng.below(self.heartbeat / MS) * MS;
                ctx.set_timer(phase, TICK);
                Node::ViewService(ViewService { view: View::FIRST, acked: true, last_ping: [0, 0], lease_expiry: 0 })
            }
            _ => {
                // Both start in view 1 with the same (empty) log.
                let mut r = self.new_replica(Vec::new(), View::FIRST, true, 0);
                r.backup = BackupState::Ready;
                self.save(&r, ctx);
                if node == PRIMARY && !self.view_service {
                    ctx.observe(Obs::Serve(None));
                }
                // Servers' clocks are not in step: each ticks with its own phase.
                let phase = ctx.rng.below(self.heartbeat / MS) * MS;
                ctx.set_timer(phase, TICK);
                Node::Replica(r)
            }
        }
    }

    fn on_message(&self, state: &mut Node, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        let me = ctx.me;
        match state {
            Node::Client(c) => self.client_message(c, from, msg, ctx),
            Node::Replica(r) => self.replica_message(r, me, from, msg, ctx),
            Node::ViewService(v) => self.view_message(v, from, msg, ctx),
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        let me = ctx.me;
        match state {
            Node::Replica(r) if tag == TICK => self.replica_tick(r, me, ctx),
            Node::ViewService(v) if tag == TICK => {
                ctx.set_timer(self.heartbeat, TICK);
                self.decide(v, ctx);
            }
            Node::Client(c) if tag == NEXT => self.call(c, ctx),
            Node::Client(c) if tag == c.next as u64 && c.next <= self.writes => {
                c.timer = None;
                c.redirected = false;
                c.target = other(c.target);
                self.transmit(c, ctx);
            }
            _ => {}
        }
    }

    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        let now = ctx.now;
        match node {
            CLIENT => {
                let next = durable.get("next").and_then(|v| v.parse().ok()).unwrap_or(1);
                let mut c = Client { next, attempts: 0, target: PRIMARY, timer: None, redirected: false };
                self.call(&mut c, ctx);
                Node::Client(c)
            }
            VIEW => {
                let view = durable.get("view").and_then(|v| View::decode(v)).unwrap_or(View::FIRST);
                let acked = durable.get("acked").is_some_and(|v| v == "1");
                ctx.set_timer(self.heartbeat, TICK);
                // It cannot know what leases it granted before the crash, so
                // it waits a whole lease (and a timeout) before judging anyone.
                ctx.note(0, vec![shown(format!("recovers {} from disk", view.describe()))]);
                Node::ViewService(ViewService { view, acked, last_ping: [now, now], lease_expiry: now + self.lease })
            }
            _ => {
                let log = durable.get("log").map(|v| parse_log(v)).unwrap_or_default();
                let view = durable.get("view").and_then(|v| View::decode(v)).unwrap_or(View::FIRST);
                let synced = durable.get("synced").is_some_and(|v| v == "1");
                let r = self.new_replica(log, view, synced, now);
                let role = if view.primary == Some(node) {
                    "primary"
                } else if view.backup == Some(node) {
                    "backup"
                } else {
                    "spare"
                };
                ctx.note(
                    0,
                    vec![shown(format!(
                        "recovers from disk: {} {}, {role}, {} entries",
                        self.epoch(),
                        view.num,
                        r.log.len()
                    ))],
                );
                if view.primary == Some(node) && !self.view_service {
                    ctx.observe(Obs::Serve(None));
                }
                ctx.set_timer(0, TICK);
                Node::Replica(r)
            }
        }
    }

    fn reboot_after(&self, node: NodeId) -> Option<Time> {
        if node == CLIENT {
            None
        } else {
            self.reboot
        }
    }

    fn label(&self, msg: &Msg) -> Label {
        let e = self.epoch();
        match msg {
            Msg::Write { id, attempt } => vec![shown(format!("{} (try {attempt})", w(*id)))],
            Msg::Ack { id } => vec![shown(format!("ack {}", w(*id)))],
            Msg::NotPrimary { id, hint } => {
                let hint = hint.map_or(String::new(), |h| format!(" (hint: {})", NAMES[h]));
                vec![shown(format!("not primary for {}{hint}", w(*id)))]
            }
            Msg::Ship { from, writes, .. } => {
                let last = *from as usize + writes.len() - 1;
                let at = if writes.len() == 1 { format!("#{from}") } else { format!("#{from}..#{last}") };
                vec![shown(format!("replicate {at}: {}", words(writes)))]
            }
            Msg::ShipAck { len, .. } => vec![shown(format!("backup has #1..#{len}"))],
            Msg::Sync { view, log } => {
                vec![shown(format!("state transfer ({e} {}): {}", view.num, words(log)))]
            }
            Msg::Heartbeat { view, primary, len, .. } => {
                let role = if *primary { "primary" } else { "backup" };
                vec![shown(format!("heartbeat ({role}, {e} {view}, log #{len})"))]
            }
            Msg::Ping { view, .. } => vec![shown(format!("ping (view {view})"))],
            Msg::ViewIs { view, lease_from } => {
                let lease = if lease_from.is_some() { ", lease" } else { "" };
                vec![shown(format!("{}{lease}", view.describe()))]
            }
        }
    }

    fn msg_view(&self, msg: &Msg) -> (u8, bool) {
        let level = match msg {
            Msg::Heartbeat { .. } | Msg::Ping { .. } | Msg::ViewIs { .. } => 2,
            Msg::ShipAck { .. } => 1,
            _ => 0,
        };
        (level, false)
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        match tag {
            TICK => (2, vec![shown("heartbeat tick")]),
            NEXT => (2, vec![shown("next write")]),
            id => (0, vec![shown(format!("timeout {}: try the other replica", w(id as u32)))]),
        }
    }
}

/// When each replica was primary: half-open intervals [start, end), with
/// `Time::MAX` for "until the end of the run".
type Intervals = [Vec<(Time, Time)>; 4];

/// What both the facts and the invariants need from a run.
struct Analysis {
    intervals: Intervals,
    /// (time, write, acked by), in the order the client saw them.
    acks: Vec<(Time, u32, NodeId)>,
    logs: [Vec<u32>; 4],
    final_primary: Option<NodeId>,
    end: Time,
}

fn intervals(run: &Run<Params>) -> Intervals {
    // (time, 0 for a crash or 1 for an observation, order, node, new end):
    // at equal times a crash comes first (faults are queued before anything
    // that happens at the same time), and observations keep their order.
    let mut changes: Vec<(Time, u8, usize, NodeId, Option<Time>)> = Vec::new();
    for e in &run.trace {
        if let Event::Crash { node } = e.event {
            changes.push((e.time, 0, 0, node, None));
        }
    }
    for (i, (t, node, o)) in run.observations.iter().enumerate() {
        match o {
            Obs::Serve(until) => changes.push((*t, 1, i, *node, Some(until.unwrap_or(Time::MAX)))),
            Obs::Unserve => changes.push((*t, 1, i, *node, None)),
            _ => {}
        }
    }
    changes.sort_by_key(|c| (c.0, c.1, c.2));
    let mut out: Intervals = Default::default();
    for (t, _, _, node, until) in changes {
        let list = &mut out[node];
        let current = list.last_mut().filter(|(_, end)| *end > t);
        match (until, current) {
            (Some(u), Some(cur)) => cur.1 = cur.1.max(u),
            (Some(u), None) => list.push((t, u)),
            (None, Some(cur)) => cur.1 = t,
            (None, None) => {}
        }
    }
    for list in &mut out {
        list.retain(|(s, e)| s < e);
    }
    out
}

/// Every takeover: (time, node, the node's log then), in time order.
fn takeovers_of(run: &Run<Params>, iv: &Intervals) -> Vec<(Time, NodeId, Vec<u32>)> {
    let mut starts: Vec<(Time, NodeId)> =
        (PRIMARY..=BACKUP).flat_map(|n| iv[n].iter().map(move |(s, _)| (*s, n))).collect();
    starts.sort();
    let mut logs: [Vec<u32>; 4] = Default::default();
    let mut out = Vec::new();
    let mut next = 0;
    for (t, node, o) in &run.observations {
        // A takeover sees the log as it was when its term began.
        while next < starts.len()
            && (starts[next].0 < *t || (starts[next].0 == *t && starts[next].1 == *node && matches!(o, Obs::Serve(_))))
        {
            let (s, n) = starts[next];
            out.push((s, n, logs[n].clone()));
            next += 1;
        }
        match o {
            Obs::Applied(id) => logs[*node].push(*id),
            Obs::Replaced(log) => logs[*node] = log.clone(),
            _ => {}
        }
    }
    for (s, n) in &starts[next..] {
        out.push((*s, *n, logs[*n].clone()));
    }
    out
}

fn primaries_at(iv: &Intervals, t: Time) -> Vec<NodeId> {
    (PRIMARY..=BACKUP).filter(|n| iv[*n].iter().any(|(s, e)| *s <= t && t < *e)).collect()
}

fn who(nodes: &[NodeId]) -> String {
    match nodes {
        [] => "none".to_string(),
        [n] => NAMES[*n].to_string(),
        _ => "both".to_string(),
    }
}

/// The stretches when both replicas were primary, clipped to the run.
fn overlaps(iv: &Intervals, end: Time) -> Vec<(Time, Time)> {
    let mut out = Vec::new();
    for (a, b) in &iv[PRIMARY] {
        for (c, d) in &iv[BACKUP] {
            let (s, e) = ((*a).max(*c), (*b).min(*d).min(end));
            if s < e {
                out.push((s, e));
            }
        }
    }
    out.sort();
    out
}

fn analyse(run: &Run<Params>) -> Analysis {
    let iv = intervals(run);
    let acks = run
        .observations
        .iter()
        .filter_map(|(t, _, o)| match o {
            Obs::Acked(id, by) => Some((*t, *id, *by)),
            _ => None,
        })
        .collect();
    let mut logs: [Vec<u32>; 4] = Default::default();
    for (n, log) in logs.iter_mut().enumerate().take(BACKUP + 1).skip(PRIMARY) {
        *log = run.durable.get(n).and_then(|d| d.get("log")).map(|v| parse_log(v)).unwrap_or_default();
    }
    // The primary at the end (the later one to take over, if two), or else
    // the last replica that was primary: whose log holds the truth.
    let end = run.end;
    let at_end = primaries_at(&iv, end);
    let last_start = |n: NodeId| iv[n].last().map(|x| x.0);
    let final_primary = if !at_end.is_empty() {
        at_end.iter().copied().max_by_key(|n| (last_start(*n), *n))
    } else {
        (PRIMARY..=BACKUP).filter(|n| !iv[*n].is_empty()).max_by_key(|n| iv[*n].last().map(|x| (x.1, x.0)))
    };
    Analysis { intervals: iv, acks, logs, final_primary, end }
}

impl Analysis {
    /// Acked writes missing from the final primary's log, each with when it
    /// was lost: the first takeover, at or after its ack, by a replica whose
    /// log lacked it; failing that, the ack itself (a primary that no longer
    /// counted acked it).
    fn lost(&self, run: &Run<Params>) -> Vec<(Time, u32, String)> {
        let Some(fp) = self.final_primary else { return Vec::new() };
        let mut out = Vec::new();
        let mut takeovers: Option<Vec<(Time, NodeId, Vec<u32>)>> = None;
        for (t, id, by) in &self.acks {
            if self.logs[fp].contains(id) {
                continue;
            }
            let all = takeovers.get_or_insert_with(|| takeovers_of(run, &self.intervals));
            match all.iter().find(|(s, _, log)| *s >= *t && !log.contains(id)) {
                Some((s, n, _)) => {
                    let what = format!(
                        "{}, acknowledged at {}, is not on {}, which took over at {}",
                        w(*id),
                        fmt_time(*t),
                        NAMES[*n],
                        fmt_time(*s)
                    );
                    out.push((*s, *id, what));
                }
                None => {
                    let what = format!(
                        "{} was acknowledged by {} at {} but is not on {}, the primary at the end",
                        w(*id),
                        NAMES[*by],
                        fmt_time(*t),
                        NAMES[fp]
                    );
                    out.push((*t, *id, what));
                }
            }
        }
        out
    }
}

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let a = analyse(run);
    let iv = &a.intervals;
    let names = |ids: &mut dyn Iterator<Item = u32>| Value::texts(ids.map(w));
    let mut f = Facts::new();
    let acked: Vec<u32> = a.acks.iter().map(|x| x.1).collect();
    f.insert("acked".into(), names(&mut acked.iter().copied()));
    f.insert("unacked".into(), names(&mut (1..=p.writes).filter(|id| !acked.contains(id))));
    let ack_time: BTreeMap<u32, Time> = a.acks.iter().map(|(t, id, _)| (*id, *t)).collect();
    f.insert(
        "ack_time".into(),
        Value::Map(
            (1..=p.writes).map(|id| (w(id), ack_time.get(&id).map_or(Value::Null, |t| Value::ms(*t)))).collect(),
        ),
    );
    f.insert(
        "acked_by".into(),
        Value::Map(a.acks.iter().map(|(_, id, by)| (w(*id), Value::text(NAMES[*by]))).collect()),
    );
    let mut attempts: BTreeMap<u32, i64> = BTreeMap::new();
    for e in &run.trace {
        if let Event::Send { msg: Msg::Write { id, .. }, .. } = &e.event {
            *attempts.entry(*id).or_default() += 1;
        }
    }
    f.insert(
        "attempts".into(),
        Value::Map((1..=p.writes).map(|id| (w(id), Value::Int(*attempts.get(&id).unwrap_or(&0)))).collect()),
    );
    let lost: Vec<u32> = a.lost(run).iter().map(|x| x.1).collect();
    f.insert("survived".into(), names(&mut acked.iter().copied().filter(|id| !lost.contains(id))));
    f.insert("lost".into(), names(&mut lost.iter().copied()));
    f.insert("lost_count".into(), Value::Int(lost.len() as i64));
    f.insert("final_primary".into(), Value::text(a.final_primary.map_or("none", |n| NAMES[n])));
    let final_log = a.final_primary.map(|n| a.logs[n].clone()).unwrap_or_default();
    f.insert("final_log".into(), names(&mut final_log.into_iter()));
    f.insert(
        "logs".into(),
        Value::Map((PRIMARY..=BACKUP).map(|n| (NAMES[n].to_string(), names(&mut a.logs[n].iter().copied()))).collect()),
    );
    let mut at: BTreeMap<String, Value> =
        p.primary_at.iter().map(|t| (fmt_time(*t), Value::text(who(&primaries_at(iv, *t))))).collect();
    at.insert("end".into(), Value::text(who(&primaries_at(iv, a.end))));
    f.insert("primary_at".into(), Value::Map(at));
    let mut cuts: Vec<Time> = vec![0];
    for terms in &iv[PRIMARY..=BACKUP] {
        for (s, e) in terms {
            cuts.push(*s);
            if *e <= a.end {
                cuts.push(*e);
            }
        }
    }
    cuts.sort();
    cuts.dedup();
    let mut timeline = Vec::new();
    let mut last = String::new();
    for t in cuts {
        let now = who(&primaries_at(iv, t));
        if now != last {
            timeline.push(format!("{}: {now}", fmt_time(t)));
            last = now;
        }
    }
    f.insert("primary_timeline".into(), Value::texts(timeline));
    let both = overlaps(iv, a.end);
    f.insert("two_primaries".into(), Value::Bool(!both.is_empty()));
    f.insert("overlap_at".into(), both.first().map_or(Value::Null, |x| Value::ms(x.0)));
    f.insert("overlap_time".into(), Value::ms(both.iter().map(|(s, e)| e - s).sum()));
    let takeover = iv[BACKUP].first().map(|x| x.0);
    f.insert("failover_at".into(), takeover.map_or(Value::Null, Value::ms));
    let gap = takeover.and_then(|t| {
        if iv[PRIMARY].iter().any(|(s, e)| *s <= t && t < *e) {
            return Some(0);
        }
        iv[PRIMARY].iter().filter(|(_, e)| *e <= t).map(|(_, e)| t - e).min()
    });
    f.insert("failover_time".into(), gap.map_or(Value::Null, Value::ms));
    let views = run.observations.iter().filter_map(|(t, _, o)| match o {
        Obs::NewView(v) => Some(format!("{}: {}", fmt_time(*t), v.describe())),
        _ => None,
    });
    f.insert("views".into(), Value::texts(views));
    f
}

pub fn violations(_p: &Params, run: &Run<Params>) -> Vec<Violation> {
    let a = analyse(run);
    let mut out = Vec::new();
    if let Some((time, _, what)) = a.lost(run).into_iter().min_by_key(|x| (x.0, x.1)) {
        out.push(Violation { invariant: "no-lost-ack-write".into(), time, what });
    }
    if let Some((s, e)) = overlaps(&a.intervals, a.end).first() {
        let to = if *e >= a.end { "the end".to_string() } else { fmt_time(*e) };
        let what = format!("primary and backup were both primary from {} to {to}", fmt_time(*s));
        out.push(Violation { invariant: "single-primary".into(), time: *s, what });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Latency, LinkConfig, Network, NodeFault, Partition, World};

    fn params(replication: Replication, view_service: bool) -> Params {
        Params {
            replication,
            view_service,
            writes: 10,
            interval: 0,
            heartbeat: 20 * MS,
            timeout: 60 * MS,
            lease: 60 * MS,
            client_timeout: 40 * MS,
            reboot: None,
            primary_at: vec![200 * MS, 400 * MS],
        }
    }

    fn net(p: &Params) -> Network {
        Network::new(1, p.node_names(), LinkConfig { latency: Latency::Constant(5 * MS), drop: 0.0, duplicate: 0.0 })
    }

    fn run(p: &Params, faults: &[NodeFault], partitions: Vec<Partition>) -> (Facts, Vec<Violation>) {
        let mut n = net(p);
        n.partitions = partitions;
        let mut world = World::new(p, 1, n);
        for f in faults {
            world.schedule(f);
        }
        let run = world.run(800 * MS);
        (facts(p, &run), violations(p, &run))
    }

    #[test]
    fn views_survive_a_round_trip_through_the_disk() {
        let v = View { num: 7, primary: Some(BACKUP), backup: None };
        assert_eq!(View::decode(&v.encode()), Some(v));
        assert_eq!(View::decode("x"), None);
    }

    #[test]
    fn without_faults_every_write_is_acked_and_on_both_replicas() {
        for (rep, vs) in [(Replication::Sync, false), (Replication::Async, false), (Replication::Sync, true)] {
            let (f, v) = run(&params(rep, vs), &[], vec![]);
            assert_eq!(f["unacked"], Value::List(vec![]), "{rep} {vs}");
            assert_eq!(f["lost_count"], Value::Int(0));
            let Value::Map(logs) = &f["logs"] else { panic!() };
            assert_eq!(logs["backup"], logs["primary"], "{rep} {vs}");
            assert_eq!(f["final_primary"], Value::text("primary"));
            assert_eq!(f["two_primaries"], Value::Bool(false));
            assert!(v.is_empty(), "{v:?}");
        }
    }

    #[test]
    fn async_replication_loses_the_writes_acked_since_the_last_shipment() {
        // Each write takes 10ms (5ms each way) and the log ships with the
        // primary's heartbeat: w5, acked at 50ms, has not shipped when the
        // primary crashes at 55ms, so the backup takes over without it.
        let p = params(Replication::Async, false);
        let (f, v) = run(&p, &[NodeFault::Crash { node: PRIMARY, at: 55 * MS }], vec![]);
        assert_eq!(f["lost"], Value::texts(["w5"]), "{f:?}");
        assert_eq!(f["final_primary"], Value::text("backup"));
        assert_eq!(v[0].invariant, "no-lost-ack-write");
        assert!(v[0].what.starts_with("w5, acknowledged at 50ms, is not on backup"), "{}", v[0].what);
        // The same crash under synchronous replication loses nothing.
        let (f, v) = run(&params(Replication::Sync, false), &[NodeFault::Crash { node: PRIMARY, at: 55 * MS }], vec![]);
        assert_eq!(f["lost_count"], Value::Int(0));
        assert_eq!(f["final_primary"], Value::text("backup"));
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn a_partition_without_a_view_service_makes_two_primaries_and_loses_writes() {
        let p = params(Replication::Sync, false);
        let cut = Partition { from: vec![PRIMARY], to: vec![BACKUP], two_way: true, at: 30 * MS, until: 300 * MS };
        let (f, v) = run(&p, &[], vec![cut]);
        assert_eq!(f["two_primaries"], Value::Bool(true));
        let names: Vec<&str> = v.iter().map(|x| x.invariant.as_str()).collect();
        assert!(names.contains(&"single-primary"), "{v:?}");
        // The backup took over in epoch 2 and wins when the partition heals.
        assert_eq!(f["final_primary"], Value::text("backup"));
        assert_eq!(f["primary_at"].to_string(), "200ms=both, 400ms=backup, end=backup");
    }

    #[test]
    fn with_a_view_service_a_partitioned_primary_stops_before_the_backup_starts() {
        let p = params(Replication::Sync, true);
        let cut = Partition {
            from: vec![PRIMARY],
            to: vec![CLIENT, BACKUP, VIEW],
            two_way: true,
            at: 100 * MS,
            until: 400 * MS,
        };
        let (f, v) = run(&p, &[], vec![cut]);
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(f["two_primaries"], Value::Bool(false));
        assert_eq!(f["final_primary"], Value::text("backup"));
        assert_eq!(f["unacked"], Value::List(vec![]));
        let Value::Map(logs) = &f["logs"] else { panic!() };
        assert_eq!(logs["backup"], logs["primary"], "the old primary rejoined as backup and caught up");
        assert!(matches!(f["failover_time"], Value::Int(t) if t > 0), "{:?}", f["failover_time"]);
    }
}
