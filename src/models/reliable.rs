//! Lab 02: acks, timeouts, retries and sequence numbers. A stop-and-wait
//! sender keeps a copy of each message and resends it on a timeout; the
//! receiver acks every copy and suppresses duplicates by sequence number.

use crate::questions::{Facts, Value};
use crate::sim::{secret, shown, Ctx, Durable, Event, Label, Model, NodeId, Run, Time, TimerId};
use std::collections::{BTreeMap, BTreeSet};

pub const SENDER: NodeId = 0;
pub const RECEIVER: NodeId = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub messages: u32,
    pub timeout: Time,
    pub max_retries: u32,
    /// Each retry waits `backoff` times longer than the one before.
    pub backoff: f64,
}

pub const FACTS: &[&str] = &[
    "transmissions",
    "total_transmissions",
    "retransmissions",
    "spurious",
    "spurious_retransmissions",
    "suppressed",
    "suppressed_msgs",
    "delivered",
    "delivery_time",
    "latency",
    "last_delivery",
    "gave_up",
    "finish_time",
];

pub const INVARIANTS: crate::models::Invariants = &[
    ("all-delivered", "every message reaches the receiver's application"),
    ("exactly-once", "the receiver delivers no message to the application twice"),
];

#[derive(Clone, Debug)]
pub enum Msg {
    Data { seq: u32, attempt: u32 },
    Ack { seq: u32 },
}

pub enum Node {
    Sender(Sender),
    Receiver { seen: BTreeSet<u32> },
}

pub struct Sender {
    current: u32,
    attempts: u32,
    timer: Option<TimerId>,
}

pub enum Obs {
    Delivered(u32),
    Suppressed(u32),
    GaveUp(u32),
    Finished,
}

fn name(k: u32) -> String {
    format!("m{k}")
}

impl Params {
    /// The wait before attempt `attempt + 1`: timeout × backoff^(attempt−1),
    /// multiplied out step by step so every platform rounds alike.
    pub fn wait(&self, attempt: u32) -> Time {
        let mut t = self.timeout as f64;
        for _ in 1..attempt {
            t *= self.backoff;
        }
        t.round() as Time
    }

    fn transmit(&self, s: &mut Sender, ctx: &mut Ctx<Self>) {
        s.attempts += 1;
        ctx.send(RECEIVER, Msg::Data { seq: s.current, attempt: s.attempts });
        s.timer = Some(ctx.set_timer(self.wait(s.attempts), s.current as u64));
    }

    fn advance(&self, s: &mut Sender, ctx: &mut Ctx<Self>) {
        s.current += 1;
        s.attempts = 0;
        s.timer = None;
        if s.current > self.messages {
            ctx.observe(Obs::Finished);
            ctx.note(1, vec![shown("all messages done")]);
        } else {
            self.transmit(s, ctx);
        }
    }
}

impl Model for Params {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        vec!["sender".into(), "receiver".into()]
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        if node == RECEIVER {
            return Node::Receiver { seen: BTreeSet::new() };
        }
        let mut s = Sender { current: 0, attempts: 0, timer: None };
        self.advance(&mut s, ctx);
        Node::Sender(s)
    }

    fn on_message(&self, state: &mut Node, _from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match (state, msg) {
            (Node::Receiver { seen }, Msg::Data { seq, .. }) => {
                if seen.insert(seq) {
                    ctx.persist(format!("seen:{seq}"), "1");
                    ctx.observe(Obs::Delivered(seq));
                    ctx.outcome(0, vec![secret(format!("new: deliver {} to the app", name(seq)))]);
                } else {
                    ctx.observe(Obs::Suppressed(seq));
                    ctx.outcome(0, vec![secret(format!("duplicate {}: suppressed", name(seq)))]);
                }
                ctx.note(1, vec![shown(format!("seen so far: {}", list(seen)))]);
                ctx.send(SENDER, Msg::Ack { seq });
            }
            (Node::Sender(s), Msg::Ack { seq }) => {
                if seq == s.current && s.current <= self.messages {
                    if let Some(t) = s.timer.take() {
                        ctx.cancel_timer(t);
                    }
                    ctx.note(1, vec![shown(format!("{} acked: timer cancelled", name(seq)))]);
                    self.advance(s, ctx);
                } else {
                    ctx.note(1, vec![shown(format!("stale ack for {}: ignored", name(seq)))]);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        let Node::Sender(s) = state else { return };
        if tag != s.current as u64 {
            return;
        }
        s.timer = None;
        if s.attempts <= self.max_retries {
            self.transmit(s, ctx);
        } else {
            ctx.observe(Obs::GaveUp(s.current));
            ctx.outcome(0, vec![secret(format!("gave up on {} after {} tries", name(s.current), s.attempts))]);
            self.advance(s, ctx);
        }
    }

    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        if node == RECEIVER {
            let seen = durable.keys().filter_map(|k| k.strip_prefix("seen:")?.parse().ok()).collect();
            Node::Receiver { seen }
        } else {
            // The sender kept nothing durable, so it starts over from m1.
            let mut s = Sender { current: 0, attempts: 0, timer: None };
            self.advance(&mut s, ctx);
            Node::Sender(s)
        }
    }

    fn label(&self, msg: &Msg) -> Label {
        match msg {
            Msg::Data { seq, attempt } => vec![shown(format!("{} (try {attempt})", name(*seq)))],
            Msg::Ack { seq } => vec![shown(format!("ack {}", name(*seq)))],
        }
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        (0, vec![shown(format!("timeout {}", name(tag as u32)))])
    }
}

fn list(seen: &BTreeSet<u32>) -> String {
    let v: Vec<String> = seen.iter().map(|s| name(*s)).collect();
    v.join(" ")
}

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let mut transmissions: BTreeMap<u32, i64> = BTreeMap::new();
    // Transmissions (seq, attempt) that reached the receiver.
    let mut reached: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut attempts: Vec<(u32, u32)> = Vec::new();
    let mut first_sent: BTreeMap<u32, Time> = BTreeMap::new();
    for e in &run.trace {
        match &e.event {
            Event::Send { msg: Msg::Data { seq, attempt }, .. } => {
                *transmissions.entry(*seq).or_default() += 1;
                attempts.push((*seq, *attempt));
                first_sent.entry(*seq).or_insert(e.time);
            }
            Event::Deliver { msg: Msg::Data { seq, attempt }, .. } => {
                reached.insert((*seq, *attempt));
            }
            _ => {}
        }
    }
    // A retransmission is spurious when an earlier copy got through anyway.
    let spurious_list: Vec<(u32, u32)> = attempts
        .iter()
        .filter(|(seq, attempt)| *attempt > 1 && reached.iter().any(|(s, a)| s == seq && a < attempt))
        .copied()
        .collect();
    let mut delivered: BTreeMap<u32, Time> = BTreeMap::new();
    let mut suppressed: Vec<u32> = Vec::new();
    let mut gave_up: BTreeSet<u32> = BTreeSet::new();
    let mut finish = None;
    for (t, _, obs) in &run.observations {
        match obs {
            Obs::Delivered(seq) => {
                delivered.entry(*seq).or_insert(*t);
            }
            Obs::Suppressed(seq) => suppressed.push(*seq),
            Obs::GaveUp(seq) => {
                gave_up.insert(*seq);
            }
            Obs::Finished => finish = finish.or(Some(*t)),
        }
    }
    let total: i64 = transmissions.values().sum();
    let mut f = Facts::new();
    f.insert(
        "transmissions".into(),
        Value::Map((1..=p.messages).map(|m| (name(m), Value::Int(*transmissions.get(&m).unwrap_or(&0)))).collect()),
    );
    f.insert("total_transmissions".into(), Value::Int(total));
    f.insert("retransmissions".into(), Value::Int(total - transmissions.len() as i64));
    f.insert(
        "spurious".into(),
        Value::texts(spurious_list.iter().map(|(s, _)| *s).collect::<BTreeSet<_>>().into_iter().map(name)),
    );
    f.insert("spurious_retransmissions".into(), Value::Int(spurious_list.len() as i64));
    f.insert("suppressed".into(), Value::Int(suppressed.len() as i64));
    f.insert(
        "suppressed_msgs".into(),
        Value::texts(suppressed.iter().copied().collect::<BTreeSet<_>>().into_iter().map(name)),
    );
    f.insert("delivered".into(), Value::texts(delivered.keys().map(|m| name(*m))));
    f.insert(
        "delivery_time".into(),
        Value::Map(
            (1..=p.messages).map(|m| (name(m), delivered.get(&m).map_or(Value::Null, |t| Value::ms(*t)))).collect(),
        ),
    );
    // Stop-and-wait queues m(k+1) behind m(k), so each message's own delay
    // runs from its first transmission, not from time 0.
    let latency = |m: u32| match (first_sent.get(&m), delivered.get(&m)) {
        (Some(s), Some(d)) => Value::ms(d.saturating_sub(*s)),
        _ => Value::Null,
    };
    f.insert("latency".into(), Value::Map((1..=p.messages).map(|m| (name(m), latency(m))).collect()));
    f.insert("last_delivery".into(), delivered.values().max().map_or(Value::Null, |t| Value::ms(*t)));
    f.insert("gave_up".into(), Value::texts(gave_up.into_iter().map(name)));
    f.insert("finish_time".into(), finish.map_or(Value::Null, Value::ms));
    f
}

pub fn violations(_p: &Params, run: &Run<Params>) -> Vec<crate::models::Violation> {
    use crate::models::Violation;
    let mut out = Vec::new();
    if let Some((t, seq)) = run.observations.iter().find_map(|(t, _, o)| match o {
        Obs::GaveUp(seq) => Some((*t, *seq)),
        _ => None,
    }) {
        out.push(Violation {
            invariant: "all-delivered".into(),
            time: t,
            what: format!("the sender gave up on {}", name(seq)),
        });
    }
    let mut delivered = BTreeSet::new();
    for (t, _, o) in &run.observations {
        if let Obs::Delivered(seq) = o {
            if !delivered.insert(*seq) {
                let what = format!("{} delivered to the application a second time", name(*seq));
                out.push(Violation { invariant: "exactly-once".into(), time: *t, what });
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Latency, LinkConfig, Network, World, MS};

    fn params() -> Params {
        Params { messages: 3, timeout: 50 * MS, max_retries: 2, backoff: 1.0 }
    }

    fn run(p: &Params, link: LinkConfig) -> Facts {
        let net = Network::new(9, p.node_names(), link);
        facts(p, &World::new(p, 9, net).run(u64::MAX))
    }

    #[test]
    fn a_clean_link_sends_each_message_once() {
        let p = params();
        let f = run(&p, LinkConfig { latency: Latency::Constant(10 * MS), drop: 0.0, duplicate: 0.0 });
        assert_eq!(f["total_transmissions"], Value::Int(3));
        assert_eq!(f["last_delivery"], Value::Int(50)); // 10, then 20 later twice
        assert_eq!(f["latency"], Value::Map((1..=3).map(|m| (name(m), Value::Int(10))).collect()));
        assert_eq!(f["spurious_retransmissions"], Value::Int(0));
    }

    #[test]
    fn a_timeout_shorter_than_the_round_trip_retransmits_spuriously() {
        let p = Params { timeout: 30 * MS, ..params() };
        let f = run(&p, LinkConfig { latency: Latency::Constant(20 * MS), drop: 0.0, duplicate: 0.0 });
        // Every message is resent once at 30ms before its ack arrives at 40ms.
        assert_eq!(f["transmissions"], Value::Map((1..=3).map(|m| (name(m), Value::Int(2))).collect()));
        assert_eq!(f["spurious_retransmissions"], Value::Int(3));
        // Each message's own delay, though m3 is delivered at 100ms.
        assert_eq!(f["latency"], Value::Map((1..=3).map(|m| (name(m), Value::Int(20))).collect()));
        assert_eq!(f["last_delivery"], Value::Int(100));
        assert_eq!(f["suppressed"], Value::Int(3));
        assert_eq!(f["gave_up"], Value::List(vec![]));
    }

    #[test]
    fn a_dead_link_makes_the_sender_give_up() {
        let p = params();
        let f = run(&p, LinkConfig { latency: Latency::Constant(10 * MS), drop: 1.0, duplicate: 0.0 });
        assert_eq!(f["gave_up"], Value::texts(["m1", "m2", "m3"]));
        assert_eq!(f["total_transmissions"], Value::Int(9));
        assert_eq!(f["last_delivery"], Value::Null);
        assert_eq!(f["latency"], Value::Map((1..=3).map(|m| (name(m), Value::Null)).collect()));
    }

    #[test]
    fn backoff_multiplies_the_wait() {
        let p = Params { backoff: 2.0, ..params() };
        assert_eq!(p.wait(1), 50 * MS);
        assert_eq!(p.wait(3), 200 * MS);
    }
}
