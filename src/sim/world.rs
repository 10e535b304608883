//! The engine. It owns virtual time, the event queue, the network, crashes and
//! restarts, and the trace. Models are sans-IO state machines: their handlers
//! push effects into a [`Ctx`], and only the engine applies them.

use super::disk::{Corruption, Disk, DiskError, Stored, WriteResult};
use super::network::{Fate, LossReason, Network, NodeId};
use super::rng::Stream;
use super::time::Time;
use super::trace::{shown, Entry, Event, Label, MsgId, Seg, TimerId};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

/// What a node may keep across a crash: written through with [`Ctx::persist`]
/// and handed to [`Model::recover`] after a restart.
pub type Durable = BTreeMap<String, String>;

pub trait Model {
    type Msg: Clone;
    type Node;
    /// What the model records about the run, to compute facts from.
    type Obs;

    fn node_names(&self) -> Vec<String>;
    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Self::Node;
    fn on_message(&self, state: &mut Self::Node, from: NodeId, msg: Self::Msg, ctx: &mut Ctx<Self>);
    fn on_timer(&self, state: &mut Self::Node, tag: u64, ctx: &mut Ctx<Self>);
    /// Builds a restarted node from what it declared durable, and nothing else.
    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Self::Node;
    /// How long a crashed node takes to come back by itself, if it does.
    fn reboot_after(&self, _node: NodeId) -> Option<Time> {
        None
    }
    /// How many blocks the node's disk has; 0 means no disk.
    fn disk_blocks(&self, _node: NodeId) -> usize {
        0
    }
    /// The detail bit that shows this model's disk writes in the trace.
    fn disk_detail(&self) -> u8 {
        1
    }
    /// How a message reads in the trace.
    fn label(&self, msg: &Self::Msg) -> Label;
    /// How a timer reads in the trace, and the detail level that shows it.
    fn timer_label(&self, tag: u64) -> (u8, Label);
    /// The detail level at which a message's rows show (so chatter such as
    /// heartbeats stays out of the default timeline; the trace records it),
    /// and whether its send is itself an outcome (question mode hides it). By
    /// default a send shows always and only its arrival is an outcome.
    fn msg_view(&self, _msg: &Self::Msg) -> (u8, bool) {
        (0, false)
    }
}

pub enum Effect<M: Model + ?Sized> {
    Send { to: NodeId, msg: M::Msg },
    SetTimer { id: TimerId, after: Time, tag: u64 },
    CancelTimer(TimerId),
    Persist { key: String, value: String },
    Observe(M::Obs),
    Note { level: u8, outcome: bool, label: Label },
    Call(Label),
    Return(Label),
    DiskWrite { block: usize, stored: Stored, through: bool },
    DiskFlush,
}

/// The handle a handler writes its effects into.
pub struct Ctx<'a, M: Model + ?Sized> {
    pub now: Time,
    pub me: NodeId,
    pub rng: &'a mut Stream,
    disk: &'a Disk,
    next_timer: &'a mut TimerId,
    effects: Vec<Effect<M>>,
}

impl<M: Model + ?Sized> Ctx<'_, M> {
    pub fn send(&mut self, to: NodeId, msg: M::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }
    pub fn set_timer(&mut self, after: Time, tag: u64) -> TimerId {
        let id = *self.next_timer;
        *self.next_timer += 1;
        self.effects.push(Effect::SetTimer { id, after, tag });
        id
    }
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer(id));
    }
    pub fn persist(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.effects.push(Effect::Persist { key: key.into(), value: value.into() });
    }
    pub fn observe(&mut self, obs: M::Obs) {
        self.effects.push(Effect::Observe(obs));
    }
    pub fn note(&mut self, level: u8, label: Label) {
        self.effects.push(Effect::Note { level, outcome: false, label });
    }
    /// A note that is itself an answer: question mode leaves it out.
    pub fn outcome(&mut self, level: u8, label: Label) {
        self.effects.push(Effect::Note { level, outcome: true, label });
    }
    pub fn call(&mut self, label: Label) {
        self.effects.push(Effect::Call(label));
    }
    pub fn ret(&mut self, label: Label) {
        self.effects.push(Effect::Return(label));
    }
    /// Reads a block of this node's disk as it is now (writes pushed by this
    /// handler are not applied yet).
    pub fn disk_read(&self, block: usize) -> Result<Stored, DiskError> {
        self.disk.read(block)
    }
    pub fn disk_len(&self) -> usize {
        self.disk.len()
    }
    /// Writes a block: `through` puts it on the media at once; otherwise it
    /// sits in the volatile write cache until a flush, and a crash loses it.
    pub fn disk_write(&mut self, block: usize, stored: Stored, through: bool) {
        self.effects.push(Effect::DiskWrite { block, stored, through });
    }
    pub fn disk_flush(&mut self) {
        self.effects.push(Effect::DiskFlush);
    }
    pub fn effects(&self) -> &[Effect<M>] {
        &self.effects
    }
}

impl<'a, M: Model + ?Sized> Ctx<'a, M> {
    /// A context outside any world, so a unit test can call one handler and
    /// inspect the effects it pushed.
    pub fn detached(now: Time, me: NodeId, rng: &'a mut Stream, disk: &'a Disk, next_timer: &'a mut TimerId) -> Self {
        Ctx { now, me, rng, disk, next_timer, effects: Vec::new() }
    }
}

/// A crash or restart scheduled by the lab or injected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeFault {
    Crash { node: NodeId, at: Time },
    Restart { node: NodeId, at: Time },
    Corrupt { node: NodeId, block: usize, kind: Corruption, at: Time },
}

enum Pending<Msg> {
    Start(NodeId),
    Deliver {
        from: NodeId,
        to: NodeId,
        id: MsgId,
        copy: u8,
        msg: Msg,
    },
    Timer {
        node: NodeId,
        id: TimerId,
        tag: u64,
        incarnation: u32,
    },
    Crash(NodeId),
    /// `incarnation` is set on a model's own reboot, which a later crash voids.
    Restart {
        node: NodeId,
        incarnation: Option<u32>,
    },
    Partition {
        index: usize,
        begin: bool,
    },
    Corrupt {
        node: NodeId,
        block: usize,
        kind: Corruption,
    },
}

/// A queue entry: only the ordering key and where the event waits in the
/// slab, so the heap moves small entries. `seq` is unique, so (time, seq) is a
/// total order and the slab never affects which event comes next.
struct Queued {
    time: Time,
    seq: u64,
    slot: usize,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Counters every run keeps, traced or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub messages: u64,
}

pub struct Run<M: Model> {
    pub trace: Vec<Entry<M::Msg>>,
    pub observations: Vec<(Time, NodeId, M::Obs)>,
    pub nodes: Vec<Option<M::Node>>,
    pub durable: Vec<Durable>,
    pub disks: Vec<Disk>,
    pub end: Time,
    pub stats: Stats,
}

pub struct World<'m, M: Model> {
    model: &'m M,
    pub network: Network,
    seed: u64,
    now: Time,
    seq: u64,
    next_msg: MsgId,
    next_timer: TimerId,
    queue: BinaryHeap<Queued>,
    /// The queued events themselves, indexed by `Queued::slot`.
    pending: Vec<Option<Pending<M::Msg>>>,
    /// Slots of `pending` free for reuse.
    free: Vec<usize>,
    /// The effects buffer, kept between handler calls to save an allocation.
    effects: Vec<Effect<M>>,
    nodes: Vec<Option<M::Node>>,
    incarnation: Vec<u32>,
    armed: Vec<bool>,
    node_rng: Vec<Stream>,
    durable: Vec<Durable>,
    disks: Vec<Disk>,
    trace: Vec<Entry<M::Msg>>,
    observations: Vec<(Time, NodeId, M::Obs)>,
    record: bool,
    stats: Stats,
}

impl<'m, M: Model> World<'m, M> {
    pub fn new(model: &'m M, seed: u64, network: Network) -> World<'m, M> {
        let names = model.node_names();
        let n = names.len();
        let mut world = World {
            model,
            network,
            seed,
            now: 0,
            seq: 0,
            next_msg: 1,
            next_timer: 0,
            queue: BinaryHeap::new(),
            pending: Vec::new(),
            free: Vec::new(),
            effects: Vec::new(),
            nodes: (0..n).map(|_| None).collect(),
            incarnation: vec![0; n],
            armed: Vec::new(),
            node_rng: names.iter().map(|name| Stream::new(seed, &format!("node:{name}"))).collect(),
            durable: vec![Durable::new(); n],
            disks: (0..n)
                .map(|i| Disk::new(model.disk_blocks(i), Stream::new(seed, &format!("disk:{}", names[i]))))
                .collect(),
            trace: Vec::new(),
            observations: Vec::new(),
            record: true,
            stats: Stats::default(),
        };
        // Nodes start before anything else at time 0, a crash at 0ms included.
        for node in 0..n {
            world.push(0, Pending::Start(node));
        }
        world
    }

    /// Turns the trace off, for benchmarks that only count events.
    pub fn without_trace(mut self) -> Self {
        self.record = false;
        self
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn push(&mut self, time: Time, what: Pending<M::Msg>) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.pending[slot] = Some(what);
                slot
            }
            None => {
                self.pending.push(Some(what));
                self.pending.len() - 1
            }
        };
        self.queue.push(Queued { time, seq: self.seq, slot });
    }

    fn log(&mut self, event: Event<M::Msg>) {
        if self.record {
            self.trace.push(Entry { time: self.now, event });
        }
    }

    pub fn schedule(&mut self, fault: &NodeFault) {
        match *fault {
            NodeFault::Crash { node, at } => self.push(at, Pending::Crash(node)),
            NodeFault::Restart { node, at } => self.push(at, Pending::Restart { node, incarnation: None }),
            NodeFault::Corrupt { node, block, kind, at } => self.push(at, Pending::Corrupt { node, block, kind }),
        }
    }

    /// Runs every event up to and including `until`, then returns the run.
    pub fn run(mut self, until: Time) -> Run<M> {
        let windows: Vec<(Time, Time)> = self.network.partitions.iter().map(|p| (p.at, p.until)).collect();
        for (index, (at, end)) in windows.into_iter().enumerate() {
            self.push(at, Pending::Partition { index, begin: true });
            self.push(end, Pending::Partition { index, begin: false });
        }
        while let Some(item) = self.queue.pop() {
            if item.time > until {
                break;
            }
            self.now = item.time;
            self.stats.events += 1;
            let what = self.pending[item.slot].take().expect("a queued event is in its slot");
            self.free.push(item.slot);
            self.step(what);
        }
        Run {
            trace: self.trace,
            observations: self.observations,
            nodes: self.nodes,
            durable: self.durable,
            disks: self.disks,
            end: self.now,
            stats: self.stats,
        }
    }

    fn step(&mut self, what: Pending<M::Msg>) {
        match what {
            Pending::Start(node) => {
                let model = self.model;
                let state = self.handle(node, |ctx| model.start(node, ctx));
                self.nodes[node] = Some(state);
            }
            Pending::Deliver { from, to, id, copy, msg } => {
                if self.nodes[to].is_none() {
                    let level = self.model.msg_view(&msg).0;
                    self.log(Event::DropAtDown { from, to, id, copy, level, msg });
                    return;
                }
                if self.record {
                    let level = self.model.msg_view(&msg).0;
                    self.log(Event::Deliver { from, to, id, copy, level, msg: msg.clone() });
                }
                self.with_node(to, |model, state, ctx| model.on_message(state, from, msg, ctx));
            }
            Pending::Timer { node, id, tag, incarnation } => {
                let live = self.incarnation[node] == incarnation && self.nodes[node].is_some();
                let armed = self.armed.get(id as usize).copied().unwrap_or(false);
                if !live || !armed {
                    return;
                }
                self.armed[id as usize] = false;
                if self.record {
                    let (level, label) = self.model.timer_label(tag);
                    self.log(Event::Timer { node, id, level, label });
                }
                self.with_node(node, |model, state, ctx| model.on_timer(state, tag, ctx));
            }
            Pending::Crash(node) => {
                if self.nodes[node].is_none() {
                    return;
                }
                self.nodes[node] = None;
                self.incarnation[node] += 1;
                self.log(Event::Crash { node });
                let lost = self.disks[node].crash();
                if lost > 0 {
                    let label = vec![shown(format!("disk: {lost} cached block(s) never reached the media: lost"))];
                    self.log(Event::Note { node, level: 0, outcome: false, label });
                }
                if let Some(after) = self.model.reboot_after(node) {
                    let incarnation = Some(self.incarnation[node]);
                    self.push(self.now.saturating_add(after), Pending::Restart { node, incarnation });
                }
            }
            Pending::Restart { node, incarnation } => {
                let stale = incarnation.is_some_and(|i| i != self.incarnation[node]);
                if self.nodes[node].is_some() || stale {
                    return;
                }
                self.log(Event::Restart { node });
                let model = self.model;
                let durable = self.durable[node].clone();
                let state = self.handle(node, |ctx| model.recover(node, &durable, ctx));
                self.nodes[node] = Some(state);
            }
            Pending::Partition { index, begin } => self.log(Event::Partition { index, begin }),
            Pending::Corrupt { node, block, kind } => {
                let what = self.disks[node].corrupt(block, kind);
                let label = vec![shown(format!("⚡ {kind}: {what}"))];
                self.log(Event::Note { node, level: 0, outcome: false, label });
            }
        }
    }

    /// Disk writes show at the model's disk detail bit; where a write really
    /// went is secret, because the drive itself does not know.
    fn log_write(&mut self, node: NodeId, block: usize, result: &WriteResult) {
        if !self.record {
            return;
        }
        let what = match result {
            WriteResult::Cached => "(cached, not yet on the media)".to_string(),
            WriteResult::Stored => "(on the media)".to_string(),
            WriteResult::Misdirected(to) => format!("(landed on block {to})"),
            WriteResult::Lost => "(never stored)".to_string(),
        };
        let secret = matches!(result, WriteResult::Misdirected(_) | WriteResult::Lost);
        let label = vec![shown(format!("disk: write block {block} ")), Seg { text: what, secret }];
        let level = self.model.disk_detail();
        self.log(Event::Note { node, level, outcome: false, label });
    }

    fn with_node(&mut self, node: NodeId, f: impl FnOnce(&M, &mut M::Node, &mut Ctx<M>)) {
        let Some(mut state) = self.nodes[node].take() else {
            return;
        };
        let model = self.model;
        self.handle(node, |ctx| f(model, &mut state, ctx));
        self.nodes[node] = Some(state);
    }

    /// Runs one handler against a fresh context, then applies its effects in
    /// the order it pushed them.
    fn handle<R>(&mut self, node: NodeId, f: impl FnOnce(&mut Ctx<M>) -> R) -> R {
        let mut ctx = Ctx {
            now: self.now,
            me: node,
            rng: &mut self.node_rng[node],
            disk: &self.disks[node],
            next_timer: &mut self.next_timer,
            effects: std::mem::take(&mut self.effects),
        };
        let result = f(&mut ctx);
        let mut effects = std::mem::take(&mut ctx.effects);
        for effect in effects.drain(..) {
            self.apply(node, effect);
        }
        // Handlers never run inside `apply`, so nothing used the buffer meanwhile.
        self.effects = effects;
        result
    }

    fn apply(&mut self, node: NodeId, effect: Effect<M>) {
        match effect {
            Effect::Send { to, msg } => {
                let id = self.next_msg;
                self.next_msg += 1;
                self.stats.messages += 1;
                let fate = self.network.transmit(node, to, self.now);
                if self.record {
                    let level = self.model.msg_view(&msg).0;
                    self.log(Event::Send { from: node, to, id, level, msg: msg.clone(), fate });
                }
                let deliver = |copy, msg| Pending::Deliver { from: node, to, id, copy, msg };
                match fate {
                    Fate::Lost(LossReason::Dropped) | Fate::Lost(LossReason::Partitioned) => {}
                    Fate::Delivered { delay } => self.push(self.now.saturating_add(delay), deliver(0, msg)),
                    Fate::Duplicated { delay, copy_delay } => {
                        self.push(self.now.saturating_add(delay), deliver(0, msg.clone()));
                        self.push(self.now.saturating_add(copy_delay), deliver(1, msg));
                    }
                }
            }
            Effect::SetTimer { id, after, tag } => {
                let slot = id as usize;
                if self.armed.len() <= slot {
                    self.armed.resize(slot + 1, false);
                }
                self.armed[slot] = true;
                let incarnation = self.incarnation[node];
                self.push(self.now.saturating_add(after), Pending::Timer { node, id, tag, incarnation });
            }
            Effect::CancelTimer(id) => {
                if let Some(flag) = self.armed.get_mut(id as usize) {
                    *flag = false;
                }
            }
            Effect::Persist { key, value } => {
                self.durable[node].insert(key, value);
            }
            Effect::Observe(obs) => self.observations.push((self.now, node, obs)),
            Effect::Note { level, outcome, label } => self.log(Event::Note { node, level, outcome, label }),
            Effect::Call(label) => self.log(Event::Call { node, label }),
            Effect::DiskWrite { block, stored, through } => {
                let result = self.disks[node].write(block, stored, through);
                self.log_write(node, block, &result);
            }
            Effect::DiskFlush => {
                for (block, result) in self.disks[node].flush() {
                    self.log_write(node, block, &result);
                }
            }
            Effect::Return(label) => self.log(Event::Return { node, label }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{shown, LinkConfig, MS};

    /// Node 0 pings node 1 every 10ms; node 1 reboots by itself after 30ms.
    struct Ping;

    impl Model for Ping {
        type Msg = u32;
        type Node = ();
        type Obs = ();
        fn node_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
        fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) {
            if node == 0 {
                ctx.set_timer(10 * MS, 0);
            }
        }
        fn on_message(&self, _: &mut (), _: NodeId, _: u32, _: &mut Ctx<Self>) {}
        fn on_timer(&self, _: &mut (), _: u64, ctx: &mut Ctx<Self>) {
            ctx.send(1, 0);
            ctx.set_timer(10 * MS, 0);
        }
        fn recover(&self, _: NodeId, _: &Durable, _: &mut Ctx<Self>) {}
        fn reboot_after(&self, node: NodeId) -> Option<Time> {
            (node == 1).then_some(30 * MS)
        }
        fn label(&self, _: &u32) -> Label {
            vec![shown("ping")]
        }
        fn timer_label(&self, _: u64) -> (u8, Label) {
            (0, vec![shown("tick")])
        }
    }

    fn run(faults: &[NodeFault]) -> Vec<(Time, String)> {
        let net = Network::new(1, Ping.node_names(), LinkConfig::default());
        let mut w = World::new(&Ping, 1, net);
        for f in faults {
            w.schedule(f);
        }
        w.run(100 * MS)
            .trace
            .into_iter()
            .filter_map(|e| match e.event {
                Event::Crash { node } => Some((e.time, format!("crash {node}"))),
                Event::Restart { node } => Some((e.time, format!("restart {node}"))),
                Event::DropAtDown { .. } => Some((e.time, "lost".into())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_crash_at_time_zero_lands_after_the_node_started() {
        let events = run(&[NodeFault::Crash { node: 1, at: 0 }]);
        assert_eq!(events[0], (0, "crash 1".into()));
        assert_eq!(events[1], (20 * MS, "lost".into()));
        assert!(events.contains(&(30 * MS, "restart 1".into())));
    }

    #[test]
    fn a_later_crash_voids_the_earlier_automatic_reboot() {
        let events = run(&[
            NodeFault::Crash { node: 1, at: 5 * MS },
            NodeFault::Restart { node: 1, at: 10 * MS },
            NodeFault::Crash { node: 1, at: 20 * MS },
        ]);
        let restarts: Vec<Time> = events.iter().filter(|(_, e)| e == "restart 1").map(|(t, _)| *t).collect();
        // The reboot due at 35ms belonged to the first crash; the second
        // crash's own reboot comes at 50ms.
        assert_eq!(restarts, vec![10 * MS, 50 * MS]);
    }
}
