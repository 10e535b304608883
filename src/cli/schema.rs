//! `distlab schema`: a JSON Schema (draft-07) of the lab format, so editors
//! that read one for TOML (taplo, Even Better TOML) complete keys, show their
//! meaning and flag mistakes as you type. It mirrors src/lab/schema.rs; a
//! test checks that the two accept the same keys.

use crate::lab::schema::{AfsSection, IntegritySection, NfsSection, PbSection, QuorumSection};
use crate::models::{fact_names, MODEL_NAMES};
use crate::output::emit;
use serde_json::{json, Value};

pub fn schema() -> anyhow::Result<u8> {
    emit(&format!("{}\n", serde_json::to_string_pretty(&lab_schema())?))?;
    Ok(super::OK)
}

fn duration(description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": "^\\s*([0-9]+\\.?[0-9]*|\\.[0-9]+)\\s*(us|µs|ms|s)\\s*$",
        "description": format!("{description} A duration in quotes: a number and a unit (us, ms or s), such as \"40ms\" or \"1.5s\"."),
    })
}

fn probability(description: &str) -> Value {
    json!({"type": "number", "minimum": 0, "maximum": 1, "description": format!("{description} From 0 to 1.")})
}

fn latency() -> Value {
    let dist = |name: &str, keys: &[&str]| {
        let mut props = serde_json::Map::new();
        props.insert("dist".into(), json!({"const": name}));
        for k in keys {
            props.insert((*k).into(), duration(""));
        }
        let mut required = vec!["dist"];
        required.extend(keys);
        json!({"type": "object", "additionalProperties": false, "properties": props, "required": required})
    };
    json!({
        "description": "The one-way delay of each transmission: \"20ms\", or a distribution.",
        "oneOf": [
            duration("A constant latency."),
            dist("constant", &["value"]),
            dist("uniform", &["min", "max"]),
            dist("exponential", &["mean"]),
        ]
    })
}

fn object(properties: Value, required: &[&str], description: &str) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": description,
        "properties": properties,
        "required": required,
    })
}

fn int(min: u32, max: Option<u32>, description: &str) -> Value {
    let mut v = json!({"type": "integer", "minimum": min, "description": description});
    if let Some(m) = max {
        v["maximum"] = json!(m);
    }
    v
}

/// The `[model]` table of each built-in model. A model this table does not
/// know yet still gets its name, so the schema never rejects a real lab.
fn model(name: &str) -> Value {
    let name_prop = json!({"const": name, "description": "The built-in model."});
    let retries = int(0, Some(100), "Resends after the first try; then the sender gives up.");
    match name {
        "datagram" => object(
            json!({
                "name": name_prop,
                "messages": int(1, Some(1000), "How many datagrams to send."),
                "interval": duration("The time between one send and the next."),
            }),
            &["name", "messages", "interval"],
            "Best-effort datagrams from sender to receiver; nodes: sender, receiver.",
        ),
        "reliable" => object(
            json!({
                "name": name_prop,
                "messages": int(1, Some(1000), "How many messages to send, one after another."),
                "timeout": duration("How long to wait for an ack after the first try."),
                "max_retries": retries,
                "backoff": {"type": "number", "minimum": 1, "maximum": 10, "description": "Each wait is `backoff` times the one before; 1 means no backoff."},
            }),
            &["name", "messages", "timeout", "max_retries"],
            "Stop-and-wait with acks, timeouts and retries; nodes: sender, receiver.",
        ),
        "rpc" => object(
            json!({
                "name": name_prop,
                "calls": {
                    "type": "array", "minItems": 1, "maxItems": 1000,
                    "items": {"type": "string", "pattern": "^\\s*(increment|read|add\\s+-?[0-9]+|set\\s+-?[0-9]+)\\s*$"},
                    "description": "The calls in order: \"increment\", \"read\", \"add N\" or \"set N\".",
                },
                "semantics": {"enum": ["at-least-once", "at-most-once"], "description": "at-least-once runs every copy; at-most-once keeps a duplicate table."},
                "durable_table": {"type": "boolean", "description": "Whether the duplicate table survives a server crash."},
                "timeout": duration("How long the client waits for a reply to each try."),
                "max_retries": retries,
                "work": duration("How long the server works on each request."),
                "working_ack": {"type": "boolean", "description": "The server says \"working on rN\" when it starts a request."},
                "reboot": duration("How long a crashed server takes to reboot."),
            }),
            &["name", "calls", "semantics", "timeout", "max_retries"],
            "Remote calls on a counter server; nodes: client, server.",
        ),
        // The newer models: every key the loader takes, so an editor completes
        // them and flags a typo; docs/LAB_FORMAT.md describes each.
        other => {
            let keys = match other {
                "nfs" => keys_of::<NfsSection>(),
                "afs" => keys_of::<AfsSection>(),
                "integrity" => keys_of::<IntegritySection>(),
                "primary-backup" => keys_of::<PbSection>(),
                "quorum" => keys_of::<QuorumSection>(),
                _ => vec!["name".to_string()],
            };
            let mut props = serde_json::Map::new();
            for k in keys {
                let v = if k == "name" { name_prop.clone() } else { json!({"description": "See docs/LAB_FORMAT.md."}) };
                props.insert(k, v);
            }
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": props,
                "required": ["name"],
                "description": format!("Model {other}; docs/LAB_FORMAT.md documents every key."),
            })
        }
    }
}

/// The keys a strict section accepts, read from the loader itself: it names
/// them when it rejects an unknown one. So the schema cannot drift from it.
fn keys_of<T: serde::de::DeserializeOwned>() -> Vec<String> {
    let probe = "__distlab_probe__ = 0";
    match toml::from_str::<T>(probe) {
        Err(e) => {
            let msg = e.message().to_string();
            let rest = msg.split_once("expected").map(|(_, r)| r).unwrap_or("");
            rest.split('`').skip(1).step_by(2).map(String::from).collect()
        }
        Ok(_) => Vec::new(),
    }
}

fn link() -> Value {
    object(
        json!({
            "from": {"type": "string", "description": "The sending node."},
            "to": {"type": "string", "description": "The receiving node."},
            "latency": latency(),
            "drop": probability("The chance that a transmission is lost."),
            "duplicate": probability("The chance that a transmission arrives twice."),
        }),
        &["from", "to"],
        "Overrides for one direction of one link.",
    )
}

fn fault() -> Value {
    object(
        json!({
            "at": duration("When the fault happens, or the partition begins."),
            "until": duration("When a partition heals (partitions only)."),
            "crash": {"type": "string", "description": "The node that goes down."},
            "restart": {"type": "string", "description": "The node that comes back."},
            "partition": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "items": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "description": "Two sides, such as [[\"client\"], [\"server\"]].",
            },
            "oneway": {"type": "boolean", "description": "Cut only the first side → second side."},
            "corrupt": {"type": "string", "description": "A disk block to corrupt, NODE:BLOCK."},
            "lse": {"type": "string", "description": "A disk block with a latent sector error, NODE:BLOCK."},
            "kind": {"enum": ["bitflip", "swap", "misdirect", "lostwrite"], "description": "How `corrupt` corrupts (default bitflip)."},
            "drop": probability("A burst: every link drops at least this much until `until`."),
            "duplicate": probability("A burst: every link duplicates at least this much until `until`."),
        }),
        &["at"],
        "Exactly one crash, restart, partition, corruption, latent sector error or burst.",
    )
}

fn question(facts: Option<&[&str]>) -> Value {
    let mut fact = json!({"type": "string", "description": "One of the model's facts (distlab run LAB --format json lists them)."});
    if let Some(f) = facts {
        fact["enum"] = json!(f);
    }
    object(
        json!({
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "Unique in the lab; the key in the answers file."},
            "ask": {"type": "string", "description": "The question text."},
            "kind": {"enum": ["number", "text", "list", "set", "yesno"]},
            "answer": object(
                json!({
                    "fact": fact,
                    "key": {"type": ["string", "integer"], "description": "One entry: a table fact's key, or a list fact's 1-based position."},
                    "op": {"enum": ["count", "sum", "max", "min", "first", "last"]},
                    "under": {"type": "array", "items": {"type": "string"}, "description": "A what-if: KEY=VALUE overrides of a second run to evaluate on."},
                }),
                &["fact"],
                "An expression over the run's facts.",
            ),
            "points": int(0, None, "Points for a right answer (default 1)."),
            "tolerance": {"type": "number", "minimum": 0, "description": "Number questions: how far off an answer may be."},
            "partial": {"type": "boolean", "description": "List and set questions: partly right answers earn a share."},
        }),
        &["id", "ask", "kind", "answer"],
        "A question, answered from the run.",
    )
}

/// The whole schema.
pub fn lab_schema() -> Value {
    // Facts depend on the model: questions of a lab whose model is known get
    // its facts to complete.
    let by_model: Vec<Value> = MODEL_NAMES
        .iter()
        .map(|m| {
            json!({
                "if": {"properties": {"model": {"properties": {"name": {"const": m}}, "required": ["name"]}}, "required": ["model"]},
                "then": {"properties": {"question": {"type": "array", "items": question(Some(fact_names(m)))}}},
            })
        })
        .collect();
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "distlab lab",
        "description": "A distlab lab file. docs/LAB_FORMAT.md documents every key.",
        "type": "object",
        "additionalProperties": false,
        "required": ["number", "slug", "title", "kind", "seed", "intro", "model"],
        "properties": {
            "number": int(0, Some(99), "The lab number."),
            "slug": {"type": "string", "pattern": "^[a-z0-9-]+$", "description": "A short name: lowercase letters, digits and dashes."},
            "title": {"type": "string", "description": "A one-line title."},
            "kind": {"enum": ["predict", "tune", "implement"], "description": "The kind of exercise."},
            "seed": {"type": "integer", "minimum": 0, "description": "The default seed."},
            "intro": {"type": "string", "description": "The text printed above the timeline."},
            "duration": duration("How much virtual time to simulate (default \"60s\")."),
            "model": {
                "description": "The built-in model and its parameters.",
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"enum": MODEL_NAMES, "description": "The built-in model."}},
                // if/then rather than oneOf, so an editor can say which key is wrong.
                "allOf": MODEL_NAMES
                    .iter()
                    .map(|m| json!({"if": {"properties": {"name": {"const": m}}}, "then": model(m)}))
                    .collect::<Vec<_>>(),
            },
            "network": object(
                json!({
                    "latency": latency(),
                    "drop": probability("The chance that a transmission is lost."),
                    "duplicate": probability("The chance that a transmission arrives twice."),
                    "link": {"type": "array", "items": link()},
                }),
                &[],
                "Every link's latency, loss and duplication.",
            ),
            "fault": {"type": "array", "items": fault()},
            "question": {"type": "array", "items": question(None)},
            "invariant": {"type": "array", "items": object(
                json!({"name": {"type": "string", "description": "One of the model's invariants."}}),
                &["name"],
                "A property every run must keep.",
            )},
            "tune": {
                "type": "object",
                "description": "A tune lab's parameters, seeds and goals; docs/LAB_FORMAT.md documents every key.",
                "properties": keys_of::<crate::lab::schema::TuneSection>().into_iter().map(|k| (k, json!({}))).collect::<serde_json::Map<_, _>>(),
                "additionalProperties": false,
            },
            "explore": object(
                json!({
                    "faults": {"type": "array", "items": {"enum": crate::lab::FAULT_KINDS}},
                    "max_faults": int(1, Some(20), "At most this many faults per schedule."),
                    "horizon": duration("Faults fall before this time (default: the fault-free run's length)."),
                }),
                &[],
                "The fault space inject --explore draws from.",
            ),
        },
        "allOf": by_model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::schema::*;
    use serde::de::DeserializeOwned;
    use std::collections::BTreeSet;

    /// The keys a strict serde type accepts, from its own "unknown field"
    /// error: what the loader really takes.
    fn accepted<T: DeserializeOwned>(table: &str) -> BTreeSet<String> {
        let text = format!("{table}\nzz_not_a_key = 1\n");
        let err = match toml::from_str::<T>(&text) {
            Err(e) => e.message().to_string(),
            Ok(_) => panic!("accepted an unknown key"),
        };
        let rest = err.split_once("expected").map(|(_, r)| r).unwrap_or_else(|| panic!("{err}"));
        rest.split('`').skip(1).step_by(2).map(String::from).collect()
    }

    fn props(v: &Value) -> BTreeSet<String> {
        v["properties"].as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn the_schema_takes_exactly_the_keys_the_loader_takes() {
        let s = lab_schema();
        let p = &s["properties"];
        assert_eq!(props(&s), accepted::<LabFile<toml::Value>>("number = 1"));
        assert_eq!(props(&p["network"]), accepted::<NetworkSection>(""));
        assert_eq!(props(&p["network"]["properties"]["link"]["items"]), accepted::<LinkSection>(""));
        assert_eq!(props(&p["fault"]["items"]), accepted::<FaultSection>(""));
        assert_eq!(props(&p["question"]["items"]), accepted::<QuestionSection>(""));
        assert_eq!(props(&p["question"]["items"]["properties"]["answer"]), accepted::<ExprSection>(""));
        let models = p["model"]["allOf"].as_array().unwrap();
        assert_eq!(models.len(), MODEL_NAMES.len());
        for (m, v) in MODEL_NAMES.iter().zip(models.iter().map(|c| &c["then"])) {
            let want = match *m {
                "datagram" => accepted::<DatagramSection>(""),
                "reliable" => accepted::<ReliableSection>(""),
                "rpc" => accepted::<RpcSection>(""),
                "nfs" => accepted::<NfsSection>(""),
                "afs" => accepted::<AfsSection>(""),
                "integrity" => accepted::<IntegritySection>(""),
                "primary-backup" => accepted::<PbSection>(""),
                "quorum" => accepted::<QuorumSection>(""),
                other => panic!("model `{other}` has no schema in src/cli/schema.rs"),
            };
            assert_eq!(props(v), want, "{m}");
        }
    }
}
