//! Lab 03: remote procedure calls over a lossy network. The client stub
//! retries on timeout; the server runs at-least-once (execute every copy) or
//! at-most-once (a duplicate table of request ids and cached replies, kept in
//! memory unless the lab makes it durable).

use crate::questions::{Facts, Value};
use crate::sim::{secret, shown, Ctx, Durable, Event, Label, Model, NodeId, Run, Time, TimerId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub const CLIENT: NodeId = 0;
pub const SERVER: NodeId = 1;
const SERVER_TIMER: u64 = 1 << 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Increment,
    Add(i64),
    Read,
    Set(i64),
}

impl Op {
    pub const ACCEPTED: &'static str = "increment, add N, read, set N";

    pub fn parse(text: &str) -> Result<Op, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let number = |w: &str| w.parse::<i64>().map_err(|_| format!("`{text}`: `{w}` is not a whole number"));
        match words.as_slice() {
            ["increment"] => Ok(Op::Increment),
            ["read"] => Ok(Op::Read),
            ["add", n] => Ok(Op::Add(number(n)?)),
            ["set", n] => Ok(Op::Set(number(n)?)),
            _ => Err(format!("unknown operation `{text}`: use one of {}", Op::ACCEPTED)),
        }
    }

    /// Applies the operation and returns (new counter, result for the caller).
    pub fn apply(self, counter: i64) -> (i64, i64) {
        match self {
            Op::Increment => (counter.saturating_add(1), counter.saturating_add(1)),
            Op::Add(n) => (counter.saturating_add(n), counter.saturating_add(n)),
            Op::Read => (counter, counter),
            Op::Set(n) => (n, n),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Increment => write!(f, "increment()"),
            Op::Add(n) => write!(f, "add({n})"),
            Op::Read => write!(f, "read()"),
            Op::Set(n) => write!(f, "set({n})"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semantics {
    AtLeastOnce,
    AtMostOnce,
}

impl Semantics {
    pub const ACCEPTED: &'static str = "\"at-least-once\" or \"at-most-once\"";

    pub fn parse(s: &str) -> Option<Semantics> {
        match s {
            "at-least-once" => Some(Semantics::AtLeastOnce),
            "at-most-once" => Some(Semantics::AtMostOnce),
            _ => None,
        }
    }
}

impl fmt::Display for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Semantics::AtLeastOnce => "at-least-once",
            Semantics::AtMostOnce => "at-most-once",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub ops: Vec<Op>,
    pub semantics: Semantics,
    pub durable_table: bool,
    pub timeout: Time,
    pub max_retries: u32,
    /// How long the server works on a request before it takes effect.
    pub work: Time,
    /// Send an early "working on it" ack so the client waits instead of retrying.
    pub working_ack: bool,
    /// How long a crashed server takes to reboot by itself.
    pub reboot: Time,
}

pub const FACTS: &[&str] = &[
    "executions",
    "duplicate_executions",
    "never_executed",
    "final_counter",
    "intended_counter",
    "counter_correct",
    "cached_replies",
    "client_results",
    "client_failed",
    "belief_mismatch",
    "transmissions",
];

pub const INVARIANTS: crate::models::Invariants = &[
    ("at-most-once", "the server executes every request at most once"),
    ("no-hidden-execution", "a call the client reports as failed never ran on the server"),
];

#[derive(Clone, Debug)]
pub enum Msg {
    Request { id: u32, attempt: u32, op: Op },
    Reply { id: u32, result: i64, cached: bool },
    Working { id: u32 },
}

pub enum Node {
    Client(Client),
    Server(Server),
}

pub struct Client {
    boot: u32,
    index: usize,
    attempts: u32,
    timer: Option<TimerId>,
}

pub struct Server {
    counter: i64,
    table: BTreeMap<u32, Option<i64>>,
    running: BTreeMap<u64, (u32, Op)>,
    next_exec: u64,
}

pub enum Obs {
    Executed(u32),
    Cached(u32),
    Returned(u32, i64),
    Failed(u32),
}

/// Request ids are unique across client reboots: a restarted client runs its
/// calls again under new ids (boot × 1000 + call number), as real RPC
/// runtimes put a boot id in every request id.
const PER_BOOT: u32 = 1000;

fn rid(id: u32) -> String {
    let (boot, n) = ((id - 1) / PER_BOOT, (id - 1) % PER_BOOT + 1);
    if boot == 0 {
        format!("r{n}")
    } else {
        format!("r{n}/boot{}", boot + 1)
    }
}

impl Client {
    fn id(&self) -> u32 {
        self.boot * PER_BOOT + self.index as u32 + 1
    }
}

impl Params {
    fn call(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        let Some(op) = self.ops.get(c.index).copied() else {
            ctx.note(1, vec![shown("client: all calls done")]);
            return;
        };
        let id = c.id();
        ctx.call(vec![shown(format!("call {}: {op}", rid(id)))]);
        c.attempts = 0;
        self.transmit(c, ctx);
    }

    fn transmit(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        let id = c.id();
        c.attempts += 1;
        ctx.send(SERVER, Msg::Request { id, attempt: c.attempts, op: self.ops[c.index] });
        c.timer = Some(ctx.set_timer(self.timeout, id as u64));
    }

    fn finish(&self, c: &mut Client, ctx: &mut Ctx<Self>) {
        if let Some(t) = c.timer.take() {
            ctx.cancel_timer(t);
        }
        c.index += 1;
        self.call(c, ctx);
    }

    fn execute(&self, s: &mut Server, id: u32, op: Op, ctx: &mut Ctx<Self>) {
        if self.semantics == Semantics::AtMostOnce {
            s.table.insert(id, None);
        }
        if self.working_ack {
            ctx.send(CLIENT, Msg::Working { id });
        }
        s.next_exec += 1;
        s.running.insert(s.next_exec, (id, op));
        if self.work == 0 {
            self.complete(s, s.next_exec, ctx);
        } else {
            ctx.set_timer(self.work, SERVER_TIMER | s.next_exec);
            ctx.outcome(1, vec![secret(format!("start work on {}", rid(id)))]);
        }
    }

    fn complete(&self, s: &mut Server, exec: u64, ctx: &mut Ctx<Self>) {
        let Some((id, op)) = s.running.remove(&exec) else { return };
        let (counter, result) = op.apply(s.counter);
        s.counter = counter;
        ctx.persist("counter", counter.to_string());
        ctx.observe(Obs::Executed(id));
        ctx.outcome(0, vec![secret(format!("execute {} {op} → counter {counter}", rid(id)))]);
        if self.semantics == Semantics::AtMostOnce {
            s.table.insert(id, Some(result));
            if self.durable_table {
                ctx.persist(format!("reply:{id}"), result.to_string());
            }
        }
        ctx.send(CLIENT, Msg::Reply { id, result, cached: false });
    }
}

impl Model for Params {
    type Msg = Msg;
    type Node = Node;
    type Obs = Obs;

    fn node_names(&self) -> Vec<String> {
        vec!["client".into(), "server".into()]
    }

    fn start(&self, node: NodeId, ctx: &mut Ctx<Self>) -> Node {
        if node == SERVER {
            ctx.persist("counter", "0");
            return Node::Server(Server { counter: 0, table: BTreeMap::new(), running: BTreeMap::new(), next_exec: 0 });
        }
        ctx.persist("boots", "0");
        let mut c = Client { boot: 0, index: 0, attempts: 0, timer: None };
        self.call(&mut c, ctx);
        Node::Client(c)
    }

    fn on_message(&self, state: &mut Node, _from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        match (state, msg) {
            (Node::Server(s), Msg::Request { id, op, .. }) => match s.table.get(&id).copied() {
                Some(Some(result)) => {
                    ctx.observe(Obs::Cached(id));
                    ctx.outcome(0, vec![secret(format!("{} seen before: resend cached reply", rid(id)))]);
                    ctx.send(CLIENT, Msg::Reply { id, result, cached: true });
                }
                Some(None) => {
                    ctx.outcome(0, vec![secret(format!("{} already in progress: ignore copy", rid(id)))]);
                }
                None => self.execute(s, id, op, ctx),
            },
            (Node::Client(c), Msg::Reply { id, result, .. }) => {
                if c.index < self.ops.len() && id == c.id() {
                    ctx.observe(Obs::Returned(id, result));
                    ctx.ret(vec![shown(format!("{} returns ", rid(id))), secret(result.to_string())]);
                    self.finish(c, ctx);
                } else {
                    ctx.note(1, vec![shown(format!("late reply for {}: ignored", rid(id)))]);
                }
            }
            (Node::Client(c), Msg::Working { id }) if c.index < self.ops.len() && id == c.id() => {
                if let Some(t) = c.timer.take() {
                    ctx.cancel_timer(t);
                }
                c.timer = Some(ctx.set_timer(self.timeout.saturating_add(self.work), id as u64));
                ctx.note(0, vec![shown(format!("server is working on {}: wait longer", rid(id)))]);
            }
            _ => {}
        }
    }

    fn on_timer(&self, state: &mut Node, tag: u64, ctx: &mut Ctx<Self>) {
        match state {
            Node::Server(s) if tag & SERVER_TIMER != 0 => self.complete(s, tag & !SERVER_TIMER, ctx),
            Node::Client(c) => {
                if tag != c.index as u64 + 1 {
                    return;
                }
                c.timer = None;
                if c.attempts <= self.max_retries {
                    self.transmit(c, ctx);
                } else {
                    let id = c.id();
                    ctx.observe(Obs::Failed(id));
                    ctx.ret(vec![
                        shown(format!("{} fails: ", rid(id))),
                        secret(format!("no reply after {} tries", c.attempts)),
                    ]);
                    self.finish(c, ctx);
                }
            }
            _ => {}
        }
    }

    fn recover(&self, node: NodeId, durable: &Durable, ctx: &mut Ctx<Self>) -> Node {
        if node == CLIENT {
            // The client program restarts from its first call, under new ids.
            let boot = durable.get("boots").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0) + 1;
            ctx.persist("boots", boot.to_string());
            let mut c = Client { boot, index: 0, attempts: 0, timer: None };
            self.call(&mut c, ctx);
            return Node::Client(c);
        }
        let counter = durable.get("counter").and_then(|v| v.parse().ok()).unwrap_or(0);
        let table: BTreeMap<u32, Option<i64>> = durable
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("reply:")?.parse().ok()?, Some(v.parse().ok()?))))
            .collect();
        let kept = if self.semantics == Semantics::AtLeastOnce {
            "no duplicate table to lose".to_string()
        } else if self.durable_table {
            format!("duplicate table restored from disk ({} entries)", table.len())
        } else {
            "duplicate table was in memory: lost".to_string()
        };
        ctx.note(0, vec![shown(format!("reboot: counter {counter} from disk; {kept}"))]);
        Node::Server(Server { counter, table, running: BTreeMap::new(), next_exec: 0 })
    }

    fn reboot_after(&self, node: NodeId) -> Option<Time> {
        (node == SERVER).then_some(self.reboot)
    }

    fn label(&self, msg: &Msg) -> Label {
        match msg {
            Msg::Request { id, attempt, op } => vec![shown(format!("{} {op} (try {attempt})", rid(*id)))],
            Msg::Reply { id, result, cached } => vec![
                shown(format!("reply {} = ", rid(*id))),
                secret(if *cached { format!("{result} (from cache)") } else { result.to_string() }),
            ],
            Msg::Working { id } => vec![shown(format!("working on {}", rid(*id)))],
        }
    }

    fn timer_label(&self, tag: u64) -> (u8, Label) {
        if tag & SERVER_TIMER != 0 {
            (1, vec![shown("work finished")])
        } else {
            (0, vec![shown(format!("timeout {}", rid(tag as u32)))])
        }
    }
}

pub fn facts(p: &Params, run: &Run<Params>) -> Facts {
    let mut ids: BTreeSet<u32> = (1..=p.ops.len() as u32).collect();
    for e in &run.trace {
        if let Event::Send { msg: Msg::Request { id, .. }, .. } = &e.event {
            ids.insert(*id);
        }
    }
    let ids: Vec<u32> = ids.into_iter().collect();
    let mut executions: BTreeMap<u32, i64> = BTreeMap::new();
    let mut cached: BTreeSet<u32> = BTreeSet::new();
    let mut results: BTreeMap<u32, Value> = BTreeMap::new();
    for (_, _, obs) in &run.observations {
        match obs {
            Obs::Executed(id) => *executions.entry(*id).or_default() += 1,
            Obs::Cached(id) => {
                cached.insert(*id);
            }
            Obs::Returned(id, r) => {
                results.insert(*id, Value::Int(*r));
            }
            Obs::Failed(id) => {
                results.insert(*id, Value::text("failed"));
            }
        }
    }
    let mut transmissions: BTreeMap<u32, i64> = BTreeMap::new();
    for e in &run.trace {
        if let Event::Send { msg: Msg::Request { id, .. }, .. } = &e.event {
            *transmissions.entry(*id).or_default() += 1;
        }
    }
    let count = |id: &u32| *executions.get(id).unwrap_or(&0);
    let failed: Vec<u32> = ids.iter().copied().filter(|id| results.get(id) == Some(&Value::text("failed"))).collect();
    // The client's belief is wrong when a failed call ran anyway, or a call it
    // made once ran more than once.
    let mismatch: Vec<u32> =
        ids.iter().copied().filter(|id| if failed.contains(id) { count(id) > 0 } else { count(id) > 1 }).collect();
    let final_counter: i64 = run.durable[SERVER].get("counter").and_then(|v| v.parse().ok()).unwrap_or(0);
    let intended = p.ops.iter().fold(0, |c, op| op.apply(c).0);
    let _ = p;
    let mut f = Facts::new();
    f.insert("executions".into(), Value::Map(ids.iter().map(|id| (rid(*id), Value::Int(count(id)))).collect()));
    f.insert("duplicate_executions".into(), Value::texts(ids.iter().filter(|id| count(id) > 1).map(|id| rid(*id))));
    f.insert("never_executed".into(), Value::texts(ids.iter().filter(|id| count(id) == 0).map(|id| rid(*id))));
    f.insert("final_counter".into(), Value::Int(final_counter));
    f.insert("intended_counter".into(), Value::Int(intended));
    f.insert("counter_correct".into(), Value::Bool(final_counter == intended));
    f.insert("cached_replies".into(), Value::texts(cached.iter().map(|id| rid(*id))));
    f.insert(
        "client_results".into(),
        Value::Map(ids.iter().map(|id| (rid(*id), results.get(id).cloned().unwrap_or(Value::Null))).collect()),
    );
    f.insert("client_failed".into(), Value::texts(failed.iter().map(|id| rid(*id))));
    f.insert("belief_mismatch".into(), Value::texts(mismatch.iter().map(|id| rid(*id))));
    f.insert(
        "transmissions".into(),
        Value::Map(ids.iter().map(|id| (rid(*id), Value::Int(*transmissions.get(id).unwrap_or(&0)))).collect()),
    );
    f
}

pub fn violations(_p: &Params, run: &Run<Params>) -> Vec<crate::models::Violation> {
    use crate::models::Violation;
    let mut out = Vec::new();
    let mut first: BTreeMap<u32, Time> = BTreeMap::new();
    for (t, _, o) in &run.observations {
        if let Obs::Executed(id) = o {
            if let Some(t0) = first.get(id) {
                let what = format!("{} executed a second time (first at {})", rid(*id), crate::sim::fmt_time(*t0));
                out.push(Violation { invariant: "at-most-once".into(), time: *t, what });
                break;
            }
            first.insert(*id, *t);
        }
    }
    // The break is the later of the failure report and the execution.
    let failed: BTreeMap<u32, Time> = run
        .observations
        .iter()
        .filter_map(|(t, _, o)| match o {
            Obs::Failed(id) => Some((*id, *t)),
            _ => None,
        })
        .collect();
    let hidden = run
        .observations
        .iter()
        .filter_map(|(t, _, o)| match o {
            Obs::Executed(id) => failed.get(id).map(|tf| ((*t).max(*tf), *id)),
            _ => None,
        })
        .min();
    if let Some((time, id)) = hidden {
        let what = format!("the client reported {} failed, but the server executed it", rid(id));
        out.push(Violation { invariant: "no-hidden-execution".into(), time, what });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Latency, LinkConfig, Network, NodeFault, World, MS};

    fn params(semantics: Semantics) -> Params {
        Params {
            ops: vec![Op::Increment, Op::Increment, Op::Read],
            semantics,
            durable_table: false,
            timeout: 30 * MS,
            max_retries: 3,
            work: 0,
            working_ack: false,
            reboot: 5 * MS,
        }
    }

    fn clean() -> LinkConfig {
        LinkConfig { latency: Latency::Constant(10 * MS), drop: 0.0, duplicate: 0.0 }
    }

    #[test]
    fn ops_parse_and_apply() {
        assert_eq!(Op::parse("add 3"), Ok(Op::Add(3)));
        assert!(Op::parse("add x").unwrap_err().contains("not a whole number"));
        assert!(Op::parse("frobnicate").unwrap_err().contains("increment"));
        assert_eq!(Op::Set(7).apply(2), (7, 7));
    }

    #[test]
    fn slow_work_makes_at_least_once_execute_twice() {
        // The server takes 25ms; with 10ms each way the reply comes at 45ms,
        // after the client's 30ms timeout has already resent.
        let mut p = params(Semantics::AtLeastOnce);
        p.work = 25 * MS;
        let net = Network::new(1, p.node_names(), clean());
        let f = facts(&p, &World::new(&p, 1, net).run(u64::MAX));
        assert_eq!(f["executions"].to_string(), "r1=2, r2=2, r3=2");
        assert_eq!(f["final_counter"], Value::Int(4));
        assert_eq!(f["counter_correct"], Value::Bool(false));
    }

    #[test]
    fn at_most_once_answers_the_duplicate_from_its_cache() {
        let mut p = params(Semantics::AtMostOnce);
        p.work = 25 * MS;
        let net = Network::new(1, p.node_names(), clean());
        let f = facts(&p, &World::new(&p, 1, net).run(u64::MAX));
        assert_eq!(f["executions"].to_string(), "r1=1, r2=1, r3=1");
        assert_eq!(f["final_counter"], Value::Int(2));
        assert_eq!(f["counter_correct"], Value::Bool(true));
    }

    #[test]
    fn a_crash_loses_the_in_memory_table_and_the_retry_runs_again() {
        // r1 executes at 10ms; its reply is in flight when the server crashes
        // at 12ms; the client's retry at 30ms reaches a server with no memory
        // of r1. The reply still arrives, so the crash must lose it: drop the
        // reply link entirely and let the cached/fresh replies be lost too.
        let p = Params { ops: vec![Op::Increment], max_retries: 1, ..params(Semantics::AtMostOnce) };
        let mut net = Network::new(1, p.node_names(), clean());
        net.links.push(((SERVER, CLIENT), LinkConfig { drop: 1.0, ..clean() }));
        let mut world = World::new(&p, 1, net);
        world.schedule(&NodeFault::Crash { node: SERVER, at: 12 * MS });
        let f = facts(&p, &world.run(u64::MAX));
        assert_eq!(f["executions"].to_string(), "r1=2");
        assert_eq!(f["final_counter"], Value::Int(2));

        let durable = Params { durable_table: true, ..p };
        let mut net = Network::new(1, durable.node_names(), clean());
        net.links.push(((SERVER, CLIENT), LinkConfig { drop: 1.0, ..clean() }));
        let mut world = World::new(&durable, 1, net);
        world.schedule(&NodeFault::Crash { node: SERVER, at: 12 * MS });
        let f = facts(&durable, &world.run(u64::MAX));
        assert_eq!(f["executions"].to_string(), "r1=1");
        assert_eq!(f["cached_replies"], Value::texts(["r1"]));
    }
}
