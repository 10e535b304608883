//! Lab 01: unreliable datagrams. A sender fires N numbered datagrams at a
//! receiver and learns nothing of their fate; the receiver logs what arrives.

use crate::questions::{Facts, Value};
use crate::sim::{shown, Ctx, Durable, Event, Label, Model, NodeId, Run, Time};
use std::collections::BTreeMap;

pub const SENDER: NodeId = 0;
pub const RECEIVER: NodeId = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub messages: u32,
    pub interval: Time,
}

pub const FACTS: &[&str] = &[
    "sent",
    "sent_at",
    "arrived",
    "arrival_order",
    "deliveries",
    "duplicated",
    "lost",
    "lost_count",
    "arrival_time",
    "overtaken",
];

pub const INVARIANTS: crate::models::Invariants = &[
    ("no-loss", "every datagram sent reaches the receiver"),
    ("in-order", "datagrams first arrive in the order they were sent"),
];

#[derive(Clone, Debug)]
pub struct Datagram(pub u32);

pub enum Node {
    Sender { next: u32 },
    Receiver,
}

pub struct Obs {
    pub msg: u32,
}

pub fn name(k: u32) -> String {
    format!("m{k}")
}

impl Model for Params {
    type Msg = Datagram;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        vec!["sender".into(), "receiver".into()]
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        if node == RECEIVER {
            return Node::Receiver;
        }
        let mut next = 1;
        if self.messages > 0 {
            ctx.send(RECEIVER, Datagram(1));
            next = 2;
            if self.messages > 1 {
                ctx.set_timer(self.interval, 0);
            }
        }
        Node::Sender { next }
    }

    fn on_message(&self, _state: &mut Node, _from: NodeId, msg: Datagram, ctx: &mut Ctx<Self>) {
        ctx.observe(Obs { msg: msg.0 });
    }

    fn on_timer(&self, state: &mut Node, _tag: u64, ctx: &mut Ctx<Self>) {
        if let Node::Sender { next } = state {
            ctx.send(RECEIVER, Datagram(*next));
            *next += 1;
            if *next <= self.messages {
                ctx.set_timer(self.interval, 0);
            }
        }
    }

    fn recover(&self, node: NodeId, _durable: &Durable, _ctx: &mut Ctx<Self>) -> Node {
        // Nothing is durable: a restarted sender sends nothing more.
        if node == RECEIVER {
            Node::Receiver
        } else {
            Node::Sender { next: self.messages + 1 }
        }
    }

    fn label(&self, msg: &Datagram) -> Label {
        vec![shown(name(msg.0))]
    }

    fn timer_label(&self, _tag: u64) -> (u8, Label) {
        (2, vec![shown("pacing timer: next datagram")])
    }
}

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let mut sent_at: BTreeMap<u32, Time> = BTreeMap::new();
    for e in &run.trace {
        if let Event::Send { msg, .. } = &e.event {
            sent_at.entry(msg.0).or_insert(e.time);
        }
    }
    let mut first: BTreeMap<u32, Time> = BTreeMap::new();
    let mut count: BTreeMap<u32, u32> = BTreeMap::new();
    let mut order = Vec::new();
    let mut deliveries = Vec::new();
    for (t, _, obs) in &run.observations {
        deliveries.push(name(obs.msg));
        *count.entry(obs.msg).or_default() += 1;
        if let std::collections::btree_map::Entry::Vacant(slot) = first.entry(obs.msg) {
            slot.insert(*t);
            order.push(obs.msg);
        }
    }
    let all: Vec<u32> = (1..=p.messages).collect();
    // A message was overtaken when one sent after it arrived before it.
    let overtaken: Vec<String> = order
        .iter()
        .enumerate()
        .filter(|(i, m)| order[..*i].iter().any(|earlier| earlier > *m))
        .map(|(_, m)| *m)
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .map(name)
        .collect();
    let lost: Vec<String> = sent_at.keys().filter(|m| !first.contains_key(m)).map(|m| name(*m)).collect();
    let mut f = Facts::new();
    // Only what was really sent: a short `duration` can end the run early.
    f.insert("sent".into(), Value::texts(sent_at.keys().map(|m| name(*m))));
    f.insert("sent_at".into(), Value::Map(sent_at.iter().map(|(m, t)| (name(*m), Value::ms(*t))).collect()));
    f.insert("arrived".into(), Value::texts(first.keys().map(|m| name(*m))));
    f.insert("arrival_order".into(), Value::texts(order.iter().map(|m| name(*m))));
    f.insert("deliveries".into(), Value::texts(deliveries));
    f.insert("duplicated".into(), Value::texts(count.iter().filter(|(_, c)| **c > 1).map(|(m, _)| name(*m))));
    f.insert("lost_count".into(), Value::Int(lost.len() as i64));
    f.insert("lost".into(), Value::texts(lost));
    f.insert(
        "arrival_time".into(),
        Value::Map(all.iter().map(|m| (name(*m), first.get(m).map_or(Value::Null, |t| Value::ms(*t)))).collect()),
    );
    f.insert("overtaken".into(), Value::texts(overtaken));
    f
}

pub fn violations(_p: &Params, run: &Run<Params>) -> Vec<crate::models::Violation> {
    use crate::models::Violation;
    use crate::sim::Fate;
    let mut out = Vec::new();
    let arrived: std::collections::BTreeSet<u32> = run.observations.iter().map(|(_, _, o)| o.msg).collect();
    let lost = run.trace.iter().find_map(|e| match &e.event {
        Event::Send { msg, fate: Fate::Lost(_), .. } if !arrived.contains(&msg.0) => Some((e.time, msg.0)),
        _ => None,
    });
    if let Some((time, m)) = lost {
        out.push(Violation { invariant: "no-loss".into(), time, what: format!("{} was lost", name(m)) });
    }
    let mut highest = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (t, _, o) in &run.observations {
        if !seen.insert(o.msg) {
            continue;
        }
        if o.msg < highest {
            let what = format!("{} arrived after {}", name(o.msg), name(highest));
            out.push(Violation { invariant: "in-order".into(), time: *t, what });
            break;
        }
        highest = o.msg;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Latency, LinkConfig, Network, World, MS};

    #[test]
    fn a_perfect_link_delivers_everything_in_order() {
        let p = Params { messages: 4, interval: 10 * MS };
        let net = Network::new(
            1,
            p.node_names(),
            LinkConfig { latency: Latency::Constant(5 * MS), drop: 0.0, duplicate: 0.0 },
        );
        let run = World::new(&p, 1, net).run(u64::MAX);
        let f = facts(&p, &run);
        assert_eq!(f["arrival_order"], Value::texts(["m1", "m2", "m3", "m4"]));
        assert_eq!(f["lost_count"], Value::Int(0));
        assert_eq!(
            f["arrival_time"],
            Value::Map(
                [("m1", 5), ("m2", 15), ("m3", 25), ("m4", 35)]
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::Int(*v)))
                    .collect()
            )
        );
        assert_eq!(f["overtaken"], Value::List(vec![]));
    }

    #[test]
    fn slow_messages_are_overtaken() {
        let p = Params { messages: 6, interval: MS };
        let net = Network::new(
            4,
            p.node_names(),
            LinkConfig { latency: Latency::Uniform { min: MS, max: 40 * MS }, drop: 0.0, duplicate: 0.0 },
        );
        let run = World::new(&p, 4, net).run(u64::MAX);
        let f = facts(&p, &run);
        let Value::List(order) = &f["arrival_order"] else { panic!() };
        assert_eq!(order.len(), 6);
        let sorted = Value::texts(["m1", "m2", "m3", "m4", "m5", "m6"]);
        assert_ne!(f["arrival_order"], sorted, "seed 4 should reorder");
        assert_ne!(f["overtaken"], Value::List(vec![]));
    }
}
