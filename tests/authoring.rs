//! Lab authoring through the command line: validate lists every problem, new
//! writes a starter that validates and runs, schema describes the format.

use assert_cmd::Command;
use distlab::models::MODEL_NAMES;
use serde_json::Value;
use std::path::Path;

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("DISTLAB_SECRET");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = distlab().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code().unwrap_or(-1), String::from_utf8(o.stdout).unwrap(), err)
}

const GOOD: &str = include_str!("../labs/03-rpc.toml");

#[test]
fn validate_lists_every_problem_of_a_bad_file_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad = GOOD
        .replacen("slug = \"rpc\"", "slug = \"RPC lab\"", 1)
        .replacen("semantics = \"at-most-once\"", "semantics = \"exactly-once\"", 1)
        .replacen("max_retries = 2", "max_retries = 2\nretry_limit = 3", 1)
        .replacen("drop = 0.25", "drop = 25", 1)
        .replacen("answer = { fact = \"final_counter\" }", "answer = { fact = \"final_count\" }", 1);
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, &bad).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, _) = run(&["validate", p]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let position = regex::Regex::new(r"^.*bad\.toml:\d+:\d+: ").unwrap();
    let problems: Vec<&&str> = lines.iter().filter(|l| position.is_match(l)).collect();
    assert_eq!(problems.len(), 5, "{out}");
    for want in [
        "bad.toml:2:8: a slug is lowercase",
        "unknown semantics `exactly-once`",
        "unknown key `retry_limit` in [model]",
        "probability 25 is out of range",
        "no fact `final_count`; did you mean `final_counter`?",
    ] {
        assert!(out.contains(want), "{want} not in:\n{out}");
    }
    assert_eq!(lines.last().unwrap(), &format!("{p}: 5 problems"));
    // The problems are in file order.
    let line_of = |l: &&&str| -> usize { l.split(':').nth(1).unwrap().parse().unwrap() };
    assert!(problems.windows(2).all(|w| line_of(&w[0]) <= line_of(&w[1])), "{out}");

    let (code, out, _) = run(&["validate", "labs"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("labs/02-retry.toml: ok"));
    let (code, out, _) = run(&["validate", p, "labs/01-lost-messages.toml", "/no/such/lab.toml"]);
    assert_eq!(code, 2, "an unreadable path is bad usage");
    assert!(
        out.contains("/no/such/lab.toml: cannot read lab file")
            && out.contains("3 files: 1 valid, 1 with problems (5 in all), 1 unreadable"),
        "{out}"
    );
    let (code, _, err) = run(&["validate"]);
    assert_eq!(code, 2);
    assert!(err.contains("PATH"), "{err}");
}

#[test]
fn new_writes_a_starter_for_every_model_that_validates_runs_and_grades() {
    let dir = tempfile::tempdir().unwrap();
    for (i, model) in MODEL_NAMES.iter().enumerate() {
        let path = dir.path().join(format!("{:02}-my-{model}.toml", 40 + i));
        let p = path.to_str().unwrap();
        let (code, out, err) = run(&["new", p, "--model", model]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with(&format!("wrote {p}: lab {}-my-{model}, model {model}", 40 + i)), "{out}");
        let (code, out, _) = run(&["validate", p]);
        assert_eq!(code, 0, "{model}: {out}");
        let (code, sheet, err) = run(&["run", p, "--solve"]);
        assert_eq!(code, 0, "{err}");
        let title = model.replace('-', " ");
        assert!(sheet.starts_with(&format!("lab {} my-{model}: My {title}    seed 1", 40 + i)), "{sheet}");
        assert!(sheet.contains(&format!("model {model}:")));
        // A filled template gets full marks.
        let (_, template, _) = run(&["run", p, "--template"]);
        let (_, json, _) = run(&["run", p, "--format", "json"]);
        let answers: Value = serde_json::from_str(&json).unwrap();
        let mut filled = template.clone();
        for (id, v) in answers["answers"].as_object().unwrap() {
            let v = if v.is_null() { "\"none\"".into() } else { v.to_string() };
            filled = filled.replace(&format!("\n{id} = \"\"\n"), &format!("\n{id} = {v}\n"));
        }
        let a = dir.path().join("answers.toml");
        std::fs::write(&a, filled).unwrap();
        let (code, out, _) = run(&["check", p, a.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        // Never over an existing file.
        std::fs::write(&path, "mine").unwrap();
        let (code, _, err) = run(&["new", p, "--model", model]);
        assert_eq!(code, 2);
        assert!(err.contains("already exists") && err.lines().count() == 1, "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    }
    let (code, _, err) = run(&["new", dir.path().join("x.txt").to_str().unwrap(), "--model", "rpc"]);
    assert_eq!(code, 2);
    assert!(err.contains("ends in .toml"), "{err}");
    let (code, _, err) = run(&["new", dir.path().join("x.toml").to_str().unwrap(), "--model", "udp"]);
    assert_eq!(code, 2);
    assert!(err.contains("udp") && err.contains("datagram"), "{err}");
    let (code, _, err) = run(&["new", "/no/such/dir/x.toml", "--model", "rpc"]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
}

/// A validator for the part of JSON Schema draft-07 that `distlab schema`
/// uses. It fails on any keyword it does not know, so it cannot pass a
/// schema by ignoring it.
fn check(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else { return };
    for (k, s) in obj {
        match k.as_str() {
            "$schema" | "title" | "description" => {}
            "type" => {
                let types: Vec<&str> = match s {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(a) => a.iter().map(|t| t.as_str().unwrap()).collect(),
                    _ => panic!("bad type"),
                };
                let ok = types.iter().any(|t| match *t {
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "string" => v.is_string(),
                    "integer" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    "boolean" => v.is_boolean(),
                    other => panic!("type {other}"),
                });
                if !ok {
                    errors.push(format!("{path}: not of type {types:?}"));
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in s.as_object().unwrap() {
                        if let Some(x) = o.get(name) {
                            check(sub, x, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let (Some(o), Some(false)) = (v.as_object(), s.as_bool()) {
                    let props = obj["properties"].as_object().unwrap();
                    for name in o.keys().filter(|n| !props.contains_key(*n)) {
                        errors.push(format!("{path}: unknown key {name}"));
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in s.as_array().unwrap() {
                        if !o.contains_key(r.as_str().unwrap()) {
                            errors.push(format!("{path}: missing {r}"));
                        }
                    }
                }
            }
            "items" => {
                for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                    check(s, x, &format!("{path}[{i}]"), errors);
                }
            }
            "minItems" | "maxItems" => {
                if let Some(a) = v.as_array() {
                    let n = s.as_u64().unwrap() as usize;
                    if (k == "minItems" && a.len() < n) || (k == "maxItems" && a.len() > n) {
                        errors.push(format!("{path}: {k} {n}"));
                    }
                }
            }
            "minimum" | "maximum" => {
                if let Some(x) = v.as_f64() {
                    let n = s.as_f64().unwrap();
                    if (k == "minimum" && x < n) || (k == "maximum" && x > n) {
                        errors.push(format!("{path}: {k} {n}"));
                    }
                }
            }
            "enum" => {
                if !s.as_array().unwrap().contains(v) {
                    errors.push(format!("{path}: {v} not in {s}"));
                }
            }
            "const" => {
                if s != v {
                    errors.push(format!("{path}: {v} is not {s}"));
                }
            }
            "pattern" => {
                if let Some(t) = v.as_str() {
                    if !regex::Regex::new(s.as_str().unwrap()).unwrap().is_match(t) {
                        errors.push(format!("{path}: {t:?} does not match {s}"));
                    }
                }
            }
            "oneOf" => {
                let matching = s
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|sub| {
                        let mut e = Vec::new();
                        check(sub, v, path, &mut e);
                        e.is_empty()
                    })
                    .count();
                if matching != 1 {
                    errors.push(format!("{path}: matches {matching} of oneOf"));
                }
            }
            "allOf" => {
                for sub in s.as_array().unwrap() {
                    check(sub, v, path, errors);
                }
            }
            "if" => {
                let mut e = Vec::new();
                check(s, v, path, &mut e);
                if e.is_empty() {
                    check(&obj["then"], v, path, errors);
                }
            }
            "then" => {}
            other => panic!("the test validator does not know `{other}`"),
        }
    }
}

fn lab_json(text: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap()
}

#[test]
fn the_schema_accepts_every_built_in_and_starter_lab_and_rejects_mistakes() {
    let (code, out, _) = run(&["schema"]);
    assert_eq!(code, 0);
    let schema: Value = serde_json::from_str(&out).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut texts: Vec<String> =
        std::fs::read_dir(labs).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    for m in MODEL_NAMES {
        let p = dir.path().join(format!("{m}.toml"));
        run(&["new", p.to_str().unwrap(), "--model", m]);
        texts.push(std::fs::read_to_string(p).unwrap());
    }
    for text in &texts {
        let mut errors = Vec::new();
        check(&schema, &lab_json(text), "", &mut errors);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let good = include_str!("../labs/02-retry.toml");
    for (from, to, want) in [
        ("drop = 0.25", "dorp = 0.25", ".network: unknown key dorp"),
        ("drop = 0.25", "drop = 1.5", ".network.drop: maximum 1"),
        ("timeout = \"60ms\"", "timeout = \"60\"", ".model.timeout: \"60\" does not match"),
        ("max_retries = 3", "max_retries = 3\nmax_retry = 1", ".model: unknown key max_retry"),
        ("name = \"reliable\"", "name = \"relaible\"", ".model.name: \"relaible\" not in"),
        ("kind = \"number\"", "kind = \"integer\"", ".question[0].kind"),
        ("fact = \"gave_up\"", "fact = \"gaveup\"", ".question[5].answer.fact"),
        ("slug = \"retry\"", "slug = \"Retry\"", ".slug"),
    ] {
        assert!(good.contains(from), "{from}");
        let mut errors = Vec::new();
        check(&schema, &lab_json(&good.replacen(from, to, 1)), "", &mut errors);
        assert!(errors.iter().any(|e| e.contains(want)), "{to}: {want} not in {errors:#?}");
    }
}

#[test]
fn help_for_the_authoring_commands_has_examples() {
    for cmd in ["validate", "new", "schema"] {
        let (code, out, _) = run(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:") && out.contains(&format!("distlab {cmd}")), "{cmd}:\n{out}");
    }
}
