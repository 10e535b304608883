//! The JSON view of a run, for tools: every answer and fact by name, and the
//! whole trace, so nothing needs to be parsed out of the text.

use crate::lab::{Injection, Lab};
use crate::models::{Outcome, Scenario};
use crate::questions::{Question, Value};
use crate::sim::{fmt_time, plain, Event, Fate, LossReason};
use serde_json::{json, Map, Value as Json};

pub fn run_json(lab: &Lab, sc: &Scenario, inj: &Injection, out: &Outcome, answers: &[(Question, Value)]) -> Json {
    let names = &out.nodes;
    let answer_map: Map<String, Json> =
        answers.iter().map(|(q, v)| (q.id.clone(), serde_json::to_value(v).unwrap_or(Json::Null))).collect();
    let questions: Vec<Json> = answers
        .iter()
        .map(|(q, _)| json!({"id": q.id, "ask": q.ask, "kind": q.kind.name(), "points": q.points}))
        .collect();
    let facts: Map<String, Json> =
        out.facts.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Json::Null))).collect();
    let trace: Vec<Json> = out
        .trace
        .iter()
        .map(|e| {
            let mut o = match &e.event {
                Event::Send { from, to, id, msg, fate, level } => {
                    let mut o = json!({"event": "send", "from": names[*from], "to": names[*to], "id": id, "msg": plain(msg)});
                    let (f, delay, copy) = match fate {
                        Fate::Delivered { delay } => ("delivered", Some(*delay), None),
                        Fate::Duplicated { delay, copy_delay } => ("duplicated", Some(*delay), Some(*copy_delay)),
                        Fate::Lost(LossReason::Dropped) => ("dropped", None, None),
                        Fate::Lost(LossReason::Partitioned) => ("partitioned", None, None),
                    };
                    o["fate"] = json!(f);
                    if let Some(d) = delay {
                        o["delay_us"] = json!(d);
                    }
                    if let Some(d) = copy {
                        o["copy_delay_us"] = json!(d);
                    }
                    with_level(o, *level)
                }
                Event::Deliver { from, to, id, copy, msg, level } => with_level(
                    json!({"event": "deliver", "from": names[*from], "to": names[*to], "id": id, "copy": copy, "msg": plain(msg)}),
                    *level,
                ),
                Event::DropAtDown { from, to, id, copy, msg, level } => with_level(
                    json!({"event": "drop", "reason": "node down", "from": names[*from], "to": names[*to], "id": id, "copy": copy, "msg": plain(msg)}),
                    *level,
                ),
                Event::Timer { node, id, level, label } => {
                    json!({"event": "timer", "node": names[*node], "timer": id, "level": level, "text": plain(label)})
                }
                Event::Crash { node } => json!({"event": "crash", "node": names[*node]}),
                Event::Restart { node } => json!({"event": "restart", "node": names[*node]}),
                Event::Partition { index, begin } => {
                    let p = &sc.partitions[*index];
                    let group = |g: &[usize]| g.iter().map(|n| names[*n].clone()).collect::<Vec<_>>();
                    json!({"event": if *begin { "partition_begin" } else { "partition_end" },
                           "from": group(&p.from), "to": group(&p.to), "two_way": p.two_way})
                }
                Event::Call { node, label } => json!({"event": "call", "node": names[*node], "text": plain(label)}),
                Event::Return { node, label } => json!({"event": "return", "node": names[*node], "text": plain(label)}),
                Event::Note { node, level, label, .. } => {
                    json!({"event": "note", "node": names[*node], "level": level, "text": plain(label)})
                }
            };
            o["time_us"] = json!(e.time);
            o["time"] = json!(fmt_time(e.time));
            o
        })
        .collect();
    let invariants: Vec<Json> = lab
        .invariants
        .iter()
        .map(|name| match out.violations.iter().find(|v| &v.invariant == name) {
            None => json!({"name": name, "holds": true}),
            Some(v) => {
                json!({"name": name, "holds": false, "time_us": v.time, "time": fmt_time(v.time), "what": v.what})
            }
        })
        .collect();
    json!({
        "invariants": invariants,
        "lab": lab.number,
        "slug": lab.slug,
        "title": lab.title,
        "seed": sc.seed,
        "model": lab.model.name(),
        "nodes": names,
        "injected": inj.describe(names),
        "questions": questions,
        "answers": answer_map,
        "facts": facts,
        "end_time_us": out.end,
        "events": out.stats.events,
        "trace": trace,
    })
}

/// A message's detail level, where it has one (most messages show always).
fn with_level(mut o: Json, level: u8) -> Json {
    if level > 0 {
        o["level"] = json!(level);
    }
    o
}
