//! `--set KEY=VALUE`: overriding any parameter of a lab file by its dotted
//! path. The override is applied to the TOML document itself, so the result is
//! validated exactly as if the file had said it.

use super::Diag;
use std::str::FromStr;
use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

pub const SET_HELP: &str =
    "write KEY=VALUE with a dotted path into the lab file, such as network.drop=0.3, model.timeout=80ms or fault.0.at=120ms";

/// Splits `KEY=VALUE` and checks the key's shape.
pub fn split(spec: &str) -> Result<(Vec<String>, String), String> {
    let (key, value) = spec.split_once('=').ok_or_else(|| format!("no `=`: {SET_HELP}"))?;
    let parts: Vec<String> = key.trim().split('.').map(|p| p.trim().to_string()).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{}` is not a dotted path: {SET_HELP}", key.trim()));
    }
    Ok((parts, value.trim().to_string()))
}

/// A value as TOML when it reads as one (`0.3`, `true`, `[1, 2]`, `"x"`),
/// otherwise as a string, so `model.timeout=80ms` needs no quotes.
fn parse_value(text: &str) -> Value {
    match Value::from_str(text) {
        Ok(v) => v,
        Err(_) => Value::from(text),
    }
}

fn here(walked: &[String]) -> String {
    if walked.is_empty() {
        "the lab".to_string()
    } else {
        format!("`{}`", walked.join("."))
    }
}

/// Sets `path` inside a table, creating tables on the way as TOML would.
fn set_in_table(
    table: &mut dyn TableLike,
    path: &[String],
    value: Value,
    walked: &mut Vec<String>,
) -> Result<(), String> {
    let Some((seg, rest)) = path.split_first() else { return Err("an empty path".into()) };
    if rest.is_empty() {
        table.insert(seg, Item::Value(value));
        return Ok(());
    }
    if table.get(seg).is_none() {
        if rest[0].parse::<usize>().is_ok() {
            walked.push(seg.clone());
            return Err(format!("{} does not exist, so it has no entry {}", here(walked), rest[0]));
        }
        table.insert(seg, Item::Table(Table::new()));
    }
    walked.push(seg.clone());
    match table.get_mut(seg) {
        Some(next) => set_in_item(next, rest, value, walked),
        None => Err(format!("cannot set a key in {}", here(walked))),
    }
}

/// Sets `path` inside an item: a table, a list of tables (`fault.0.at`), or a
/// plain list (`model.calls.2`).
fn set_in_item(item: &mut Item, path: &[String], value: Value, walked: &mut Vec<String>) -> Result<(), String> {
    let Some((seg, rest)) = path.split_first() else { return Err("an empty path".into()) };
    let index = seg.parse::<usize>().ok();
    match (index, item) {
        (Some(i), Item::ArrayOfTables(list)) => {
            let len = list.len();
            let Some(table) = list.get_mut(i) else {
                return Err(format!("{} has {len} entries, numbered from 0; there is no {i}", here(walked)));
            };
            if rest.is_empty() {
                return Err(format!("{}.{i} is a whole table; set one of its keys", here(walked)));
            }
            walked.push(seg.clone());
            set_in_table(table, rest, value, walked)
        }
        (Some(i), Item::Value(Value::Array(list))) => {
            if !rest.is_empty() {
                return Err(format!("{}.{i} is a value, not a table", here(walked)));
            }
            if i >= list.len() {
                return Err(format!("{} has {} entries, numbered from 0; there is no {i}", here(walked), list.len()));
            }
            list.replace(i, value);
            Ok(())
        }
        (_, item) => match item.as_table_like_mut() {
            Some(table) => set_in_table(table, path, value, walked),
            None if index.is_some() => Err(format!("{} is not a list, so `{seg}` cannot index it", here(walked))),
            None => Err(format!("{} is a value, not a table, so it has no key `{seg}`", here(walked))),
        },
    }
}

fn apply_all(text: &str, specs: &[String]) -> Result<String, String> {
    let mut doc = DocumentMut::from_str(text).map_err(|e| e.to_string())?;
    for spec in specs {
        let (path, value) = split(spec).map_err(|e| format!("--set {spec}: {e}"))?;
        set_in_table(doc.as_table_mut(), &path, parse_value(&value), &mut Vec::new())
            .map_err(|e| format!("--set {spec}: {e}"))?;
    }
    Ok(doc.to_string())
}

/// Loads a lab under overrides without checking its own what-ifs (used while
/// checking those what-ifs).
pub fn load_nested(text: &str, file: &str, specs: &[String]) -> Result<super::Lab, Diag> {
    let changed = apply_all(text, specs).map_err(|m| Diag::whole_file("", m))?;
    super::load_inner(&changed, file, false)
}

/// Applies overrides to a lab's text and loads the result. An error the
/// override caused names the override, not a line of a file that never had it.
pub fn load_with(text: &str, file: &str, specs: &[String]) -> Result<super::Lab, Diag> {
    let base = super::load_str(text, file)?;
    if specs.is_empty() {
        return Ok(base);
    }
    let whole = |m: String| Diag::whole_file("", m);
    let changed = apply_all(text, specs).map_err(whole)?;
    match super::load_str(&changed, file) {
        Ok(mut lab) => {
            lab.overrides = specs.to_vec();
            lab.source = text.to_string();
            Ok(lab)
        }
        Err(_) => {
            // Find the first override that breaks the lab, for the message.
            for n in 1..=specs.len() {
                let partial = apply_all(text, &specs[..n]).map_err(whole)?;
                if let Err(d) = super::load_str(&partial, file) {
                    return Err(Diag::whole_file(&format!("--set {}", specs[n - 1]), d.message));
                }
            }
            Err(whole("the overrides together do not make a valid lab".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = "a = 1\n[model]\nname = \"x\"\n[network]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"2ms\" }\n[[fault]]\nat = \"1ms\"\n";

    #[test]
    fn sets_values_at_dotted_paths() {
        let out = apply_all(
            LAB,
            &[
                "network.drop=0.3".into(),
                "model.timeout=80ms".into(),
                "network.latency.max=9ms".into(),
                "fault.0.at=5ms".into(),
                "model.calls=[\"read\"]".into(),
            ],
        )
        .unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["network"]["drop"].as_float(), Some(0.3));
        assert_eq!(v["model"]["timeout"].as_str(), Some("80ms"));
        assert_eq!(v["network"]["latency"]["max"].as_str(), Some("9ms"));
        assert_eq!(v["fault"][0]["at"].as_str(), Some("5ms"));
        assert_eq!(v["model"]["calls"][0].as_str(), Some("read"));
    }

    #[test]
    fn explains_bad_paths() {
        assert!(split("nodots").unwrap_err().contains("no `=`"));
        assert!(split("a..b=1").unwrap_err().contains("not a dotted path"));
        assert!(apply_all(LAB, &["fault.3.at=1ms".into()]).unwrap_err().contains("numbered from 0"));
        assert!(apply_all(LAB, &["a.b=1".into()]).unwrap_err().contains("is a value, not a table"));
        assert!(apply_all(LAB, &["a.0=1".into()]).unwrap_err().contains("not a list"));
        assert!(apply_all(LAB, &["question.0.points=2".into()]).unwrap_err().contains("`question` does not exist"));
    }
}
