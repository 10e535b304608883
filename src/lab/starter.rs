//! Starter labs for `distlab new`: one commented, complete lab per built-in
//! model, which validates and runs as written. `validate` also borrows their
//! `[model]` values as known-good stand-ins when a key is wrong.

use crate::models::MODEL_NAMES;

const HEAD: &str = r#"# A distlab lab: one TOML file. docs/LAB_FORMAT.md documents every key.
# Check it with `distlab validate {file}`; run it with `distlab run {file}`
# (add --solve to see every answer, --format json to see every fact).

# The lab's number (0-99) and slug: it shows as {code}.
number = {number}
slug = "{slug}"
title = "{title}"
# predict: students read the timeline, predict outcomes, answer questions.
kind = "predict"
# The default scenario. `--seed N`, or a student's variant, picks another.
seed = 1
# The longest the simulation runs, in virtual time.
duration = "{duration}"
intro = """
Say here what the lab teaches, in a few short paragraphs, and what the
student should work out from the timeline. Lines marked ? in the timeline
are the outcomes to predict.
"""
"#;

const DATAGRAM: &str = r#"
# The model: a sender fires numbered datagrams m1, m2, ... and forgets them.
# Its nodes are `sender` and `receiver`.
[model]
name = "datagram"
# How many datagrams to send (1-1000).
messages = 6
# The time between one send and the next.
interval = "10ms"

# Every link: a latency (a duration, or a distribution), and the chance that
# a message is dropped or duplicated.
[network]
latency = { dist = "uniform", min = "5ms", max = "50ms" }
drop = 0.2
duplicate = 0.1

# A fault, if you want one: uncomment to cut the receiver off for a while.
# [[fault]]
# at = "20ms"
# until = "40ms"
# partition = [["sender"], ["receiver"]]

# Each answer is an expression over the run's facts, never a stored value:
# { fact = NAME }, with `key` for one entry and `op` (count, sum, max, min,
# first, last) to aggregate. This model's facts: sent, sent_at, arrived,
# arrival_order, deliveries, duplicated, lost, lost_count, arrival_time,
# overtaken.
[[question]]
id = "arrived"
ask = "Which datagrams reached the receiver at least once?"
kind = "set"
answer = { fact = "arrived" }
points = 1

[[question]]
id = "lost"
ask = "How many datagrams were lost?"
kind = "number"
answer = { fact = "lost_count" }
points = 1
"#;

const RELIABLE: &str = r#"
# The model: a stop-and-wait sender with acks, timeouts and retries.
# Its nodes are `sender` and `receiver`.
[model]
name = "reliable"
# How many messages to send, one after another (1-1000).
messages = 5
# How long the sender waits for an ack before it resends.
timeout = "60ms"
# Resends after the first try (0-100); then the sender gives up.
max_retries = 3
# Each wait is `backoff` times the one before (1 means no backoff).
backoff = 1

# Every link: a latency (a duration, or a distribution), and the chance that
# a message is dropped or duplicated.
[network]
latency = { dist = "uniform", min = "10ms", max = "40ms" }
drop = 0.25
duplicate = 0.05

# A fault, if you want one: uncomment to cut the receiver off for a while.
# [[fault]]
# at = "100ms"
# until = "300ms"
# partition = [["sender"], ["receiver"]]

# Each answer is an expression over the run's facts, never a stored value:
# { fact = NAME }, with `key` for one entry and `op` (count, sum, max, min,
# first, last) to aggregate. This model's facts: transmissions,
# total_transmissions, retransmissions, spurious, spurious_retransmissions,
# suppressed, suppressed_msgs, delivered, delivery_time, last_delivery,
# gave_up, finish_time.
[[question]]
id = "tx_m2"
ask = "How many times did the sender transmit m2, counting the first send?"
kind = "number"
answer = { fact = "transmissions", key = "m2" }
points = 1

[[question]]
id = "gave_up"
ask = "Which messages did the sender give up on?"
kind = "set"
answer = { fact = "gave_up" }
points = 1
"#;

const RPC: &str = r#"
# The model: a client makes remote calls on a server that holds a counter.
# Its nodes are `client` and `server`.
[model]
name = "rpc"
# The calls, in order: "increment", "read", "add N" or "set N".
calls = ["increment", "add 5", "read", "increment"]
# "at-least-once" runs every copy; "at-most-once" keeps a duplicate table.
semantics = "at-most-once"
# Whether the duplicate table survives a server crash.
durable_table = false
# How long the client waits for a reply before it resends.
timeout = "50ms"
# Resends after the first try (0-100); then the call fails.
max_retries = 2
# How long the server works on each request.
work = "5ms"
# How long a crashed server takes to reboot.
reboot = "40ms"

# Every link: a latency (a duration, or a distribution), and the chance that
# a message is dropped or duplicated.
[network]
latency = { dist = "uniform", min = "5ms", max = "25ms" }
drop = 0.2

# A fault, if you want one: uncomment to crash the server mid-run.
# [[fault]]
# at = "60ms"
# crash = "server"

# Each answer is an expression over the run's facts, never a stored value:
# { fact = NAME }, with `key` for one entry and `op` (count, sum, max, min,
# first, last) to aggregate. This model's facts: executions,
# duplicate_executions, never_executed, final_counter, intended_counter,
# counter_correct, cached_replies, client_results, client_failed,
# belief_mismatch, transmissions.
[[question]]
id = "exec_r1"
ask = "How many times did the server execute r1?"
kind = "number"
answer = { fact = "executions", key = "r1" }
points = 1

[[question]]
id = "counter"
ask = "What is the server's counter at the end?"
kind = "number"
answer = { fact = "final_counter" }
points = 1
"#;

/// The starter body for a model and the duration it needs, or `None` for a
/// model without one.
fn body(model: &str) -> Option<(String, String)> {
    let own = match model {
        "datagram" => Some(DATAGRAM),
        "reliable" => Some(RELIABLE),
        "rpc" => Some(RPC),
        _ => None,
    };
    if let Some(b) = own {
        return Some((b.to_string(), "10s".to_string()));
    }
    from_builtin(model)
}

/// For models without a hand-written starter: the `[model]` table and
/// everything after it from the first built-in predict lab that uses the
/// model, which is known to load, run and grade.
fn from_builtin(model: &str) -> Option<(String, String)> {
    for src in super::catalog::builtin() {
        let Ok(lab) = super::load_str(src.text, src.file) else { continue };
        if lab.model.name() != model || lab.kind != super::LabKind::Predict {
            continue;
        }
        let start = src.text.find("\n[model]")? + 1;
        let body = format!(
            "\n# The model, network, faults and questions below come from the built-in\n# lab {}: adapt them.\n{}",
            lab.code(),
            &src.text[start..]
        );
        return Some((body, crate::sim::Dur(lab.duration).to_string()));
    }
    None
}

/// A starter lab for `model`, numbered and named as given. `file` is how the
/// comments name it.
pub fn starter(model: &str, number: u32, slug: &str, file: &str) -> Result<String, String> {
    let (body, duration) = body(model).ok_or_else(|| {
        format!("no starter for model `{model}` yet; models with one: {}", with_starters().join(", "))
    })?;
    let title = slug.replace('-', " ");
    let head = HEAD
        .replace("{file}", file)
        .replace("{code}", &format!("{number:02}-{slug}"))
        .replace("{number}", &number.to_string())
        .replace("{slug}", slug)
        .replace("{duration}", &duration)
        .replace("{title}", &format!("{}{}", title[..1].to_uppercase(), &title[1..]));
    Ok(format!("{head}{body}"))
}

/// The built-in models that have a starter.
pub fn with_starters() -> Vec<&'static str> {
    MODEL_NAMES.iter().copied().filter(|m| body(m).is_some()).collect()
}

/// The `[model]` table of a model's starter: known-good values. It keeps its
/// positions (in the starter's text), which spanned values need to be read.
pub fn model_table(model: &str) -> Option<toml_edit::Table> {
    let doc = toml_edit::ImDocument::parse(starter(model, 0, "x", "x.toml").ok()?).ok()?;
    doc.get("model")?.as_table().cloned()
}

/// A lab number and slug from a file name: `07-my-retry.toml` gives 7 and
/// `my-retry`; a name without a number gives 90.
pub fn name_from_file(stem: &str) -> (u32, String) {
    let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
    let number = digits.parse::<u32>().ok().filter(|n| *n <= 99).unwrap_or(90);
    let rest = stem[digits.len()..].trim_start_matches(['-', '_', ' ']);
    let mut slug = String::new();
    for c in rest.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-').to_string();
    (number, if slug.is_empty() { "my-lab".into() } else { slug })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_model_has_a_starter_that_loads_validates_and_runs() {
        assert_eq!(with_starters(), MODEL_NAMES, "a built-in model has no starter lab");
        for m in MODEL_NAMES {
            let text = starter(m, 7, "my-lab", "07-my-lab.toml").unwrap();
            let problems = crate::lab::validate::validate_str(&text, "07-my-lab.toml");
            assert!(problems.is_empty(), "{m}: {problems:?}");
            let lab = crate::lab::load_str(&text, "07-my-lab.toml").unwrap();
            assert_eq!((lab.number, lab.slug.as_str(), lab.title.as_str()), (7, "my-lab", "My lab"));
            assert_eq!(lab.model.name(), *m);
            lab.solve(lab.seed, &crate::lab::Injection::default()).unwrap();
            assert!(model_table(m).is_some());
        }
    }

    #[test]
    fn names_come_from_the_file_name() {
        assert_eq!(name_from_file("07-my-retry"), (7, "my-retry".into()));
        assert_eq!(name_from_file("My Lab_2"), (90, "my-lab-2".into()));
        assert_eq!(name_from_file("123-x"), (90, "x".into()));
        assert_eq!(name_from_file("--"), (90, "my-lab".into()));
    }
}
