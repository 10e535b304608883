//! `distlab validate`: every problem in a lab file, not just the first.
//!
//! The strict loader ([`super::load_str`]) stops at the first problem. This
//! second, lenient pass reads the file with positions (toml_edit) and checks
//! each part on its own: every top-level key, the model, the network, each
//! link, each fault and each question. A part is read with the same strict
//! serde types and checked with the same [`Loader`] code as a real load; when
//! a key of a part is wrong, it is reported and dropped, and the rest of the
//! part is read again, so one part can yield several problems. Then the lab
//! is loaded for real (its error is added if this pass missed it) and, if it
//! loads, run once so that every question is known to be answerable.

use super::schema::*;
use super::{load_str, Diag, Injection, LabKind, Loader};
use crate::models::{fact_names, ModelConfig, MODEL_NAMES};
use crate::sim::Dur;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;
use toml_edit::{DocumentMut, ImDocument, Item, Table, Value};

const TOP_KEYS: &[&str] = &[
    "number",
    "slug",
    "title",
    "kind",
    "seed",
    "intro",
    "duration",
    "model",
    "network",
    "fault",
    "question",
    "invariant",
    "explore",
    "tune",
];
const REQUIRED: &[&str] = &["number", "slug", "title", "kind", "seed", "intro"];

/// Every problem found in a lab file's text, in file order. Empty means the
/// lab loads, and every question has an answer at the lab's seed.
pub fn validate_str(text: &str, file: &str) -> Vec<Diag> {
    // Nothing more can be read from a file that is not TOML.
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        return vec![Diag::from_toml(file, text, &e)];
    }
    let doc = match ImDocument::parse(text.to_string()) {
        Ok(d) => d,
        Err(e) => return vec![Diag::from_message(file, text, e.span(), e.message())],
    };
    let mut v = Pass { ctx: Loader { file, text, top: false }, problems: Vec::new(), questions: BTreeMap::new() };
    v.file(doc.as_table());
    let mut problems = v.problems;
    match load_str(text, file) {
        Ok(lab) if problems.is_empty() => {
            let out = crate::models::run(&lab.scenario(lab.seed, &Injection::default()));
            for q in &lab.questions {
                if let Err(e) = q.expected(&out.facts) {
                    let span = v.questions.get(&q.id).cloned();
                    problems.push(Diag::at(
                        file,
                        text,
                        span,
                        format!("question `{}` has no answer at the lab's seed {}: {e}", q.id, lab.seed),
                    ));
                }
            }
        }
        Ok(_) => {}
        Err(d) => {
            let known =
                problems.iter().any(|p| p.message == d.message || (p.line != 0 && (p.line, p.col) == (d.line, d.col)));
            if !known {
                problems.push(d);
            }
        }
    }
    problems.sort_by_key(|p| (p.line, p.col));
    problems.dedup();
    problems
}

struct Pass<'a> {
    ctx: Loader<'a>,
    problems: Vec<Diag>,
    /// Each question id and where it is, to place problems found by running.
    questions: BTreeMap<String, Range<usize>>,
}

/// The nodes of a built-in model whose [model] table has problems: they do
/// not depend on its parameters, so faults and links can still be checked.
fn fixed_names(model: &str) -> Option<Vec<String>> {
    let names: &[&str] = match model {
        "datagram" | "reliable" => &["sender", "receiver"],
        "rpc" => &["client", "server"],
        _ => return None,
    };
    Some(names.iter().map(|n| n.to_string()).collect())
}

/// A table, whether written as `[table]` or `{ inline }`.
fn as_table(item: &Item) -> Option<Table> {
    match item {
        Item::Table(t) => Some(t.clone()),
        Item::Value(Value::InlineTable(t)) => Some(t.clone().into_table()),
        _ => None,
    }
}

/// The entries of an array of tables, whether `[[x]]` or `x = [{..}, {..}]`.
fn as_tables(item: &Item) -> Option<Vec<Table>> {
    match item {
        Item::ArrayOfTables(a) => Some(a.iter().cloned().collect()),
        Item::Value(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::InlineTable(t) => Some(t.clone().into_table()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The key of `t` whose name or value holds byte `offset`.
fn key_at(t: &Table, offset: usize) -> Option<String> {
    t.iter()
        .find(|(k, item)| {
            let in_key = t.key(k).and_then(|k| k.span()).is_some_and(|s| s.contains(&offset));
            let in_value = item.span().is_some_and(|s| s.start <= offset && offset <= s.end);
            in_key || in_value
        })
        .map(|(k, _)| k.to_string())
}

/// The byte offset of a 1-based line and column (in characters).
fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    let start = if line <= 1 { 0 } else { text.match_indices('\n').nth(line - 2)?.0 + 1 };
    let rest = text.get(start..)?;
    Some(start + rest.char_indices().nth(col.checked_sub(1)?).map_or(rest.len(), |(i, _)| i))
}

fn from_table<T: DeserializeOwned>(t: &Table) -> Result<T, toml_edit::de::Error> {
    T::deserialize(toml_edit::de::Deserializer::from(DocumentMut::from(t.clone())))
}

impl Pass<'_> {
    fn push(&mut self, d: Diag) {
        self.problems.push(d);
    }

    fn at(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let d = Diag::at(self.ctx.file, self.ctx.text, span, message);
        self.push(d);
    }

    fn check<T>(&mut self, r: Result<T, Diag>) -> Option<T> {
        r.map_err(|d| self.push(d)).ok()
    }

    /// Reads a part with its strict type. A wrong key is reported, dropped,
    /// and the part read again, until it reads or a problem cannot be pinned
    /// to one key.
    fn part<T: DeserializeOwned>(&mut self, table: &Table) -> Option<T> {
        self.part_and_rest(table).map(|(v, _)| v)
    }

    /// [`Pass::part`], and the table that was read in the end.
    fn part_and_rest<T: DeserializeOwned>(&mut self, table: &Table) -> Option<(T, Table)> {
        let mut t = table.clone();
        let mut dropped: Vec<String> = Vec::new();
        for _ in 0..=table.len() {
            let e = match from_table::<T>(&t) {
                Ok(v) => return Some((v, t)),
                Err(e) => e,
            };
            // A key we dropped ourselves is not missing from the file.
            if dropped.iter().any(|k| e.message().contains(&format!("missing field `{k}`"))) {
                return None;
            }
            let d = Diag::from_message(self.ctx.file, self.ctx.text, e.span(), e.message());
            self.push(d);
            let key = e.span().and_then(|s| key_at(&t, s.start))?;
            t.remove(&key);
            dropped.push(key);
        }
        None
    }

    /// One top-level key, read on its own.
    fn value<T: DeserializeOwned>(&mut self, root: &Table, key: &str) -> Option<T> {
        let item = root.get(key)?;
        let mut t = Table::new();
        t.insert(key, item.clone());
        match from_table::<BTreeMap<String, T>>(&t) {
            Ok(mut m) => m.remove(key),
            Err(e) => {
                let d = Diag::from_message(self.ctx.file, self.ctx.text, e.span(), e.message());
                self.push(d);
                None
            }
        }
    }

    fn file(&mut self, root: &Table) {
        for (k, _) in root.iter() {
            if !TOP_KEYS.contains(&k) {
                let accepted: Vec<String> = TOP_KEYS.iter().map(|k| format!("`{k}`")).collect();
                let span = root.key(k).and_then(|k| k.span());
                let msg = format!("unknown field `{k}`, expected one of {}", accepted.join(", "));
                let d = Diag::from_message(self.ctx.file, self.ctx.text, span, &msg);
                self.push(d);
            }
        }
        for k in REQUIRED {
            if !root.contains_key(k) {
                self.push(Diag::whole_file(self.ctx.file, format!("missing key `{k}` at the top level")));
            }
        }
        if let Some(n) = self.value::<Spanned<u32>>(root, "number") {
            if *n.get_ref() > 99 {
                self.push(self.ctx.err(&n, "lab numbers run from 0 to 99"));
            }
        }
        if let Some(slug) = self.value::<Spanned<String>>(root, "slug") {
            let s = slug.get_ref();
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                self.push(
                    self.ctx.err(&slug, "a slug is lowercase letters, digits and dashes, such as \"lost-messages\""),
                );
            }
        }
        self.value::<String>(root, "title");
        self.value::<String>(root, "intro");
        self.value::<LabKind>(root, "kind");
        self.value::<u64>(root, "seed");
        if let Some(d) = self.value::<Spanned<Dur>>(root, "duration") {
            if d.get_ref().0 == 0 {
                self.push(self.ctx.err(&d, "duration must be longer than 0ms"));
            }
        }
        let (name, model) = self.model(root);
        let names = model.as_ref().map(ModelConfig::node_names).or_else(|| name.as_deref().and_then(fixed_names));
        self.network(root, names.as_deref());
        if let Some(item) = root.get("fault") {
            for f in self.tables(item, "fault") {
                if let (Some(f), Some(names)) = (self.part::<FaultSection>(&f), &names) {
                    let disks = model.as_ref().map(ModelConfig::disk_blocks).unwrap_or_else(|| vec![0; names.len()]);
                    let r = self.ctx.fault(&f, names, &disks);
                    self.check(r);
                }
            }
        }
        if let Some(item) = root.get("question") {
            // With no known model, every model's facts are possible.
            let all: Vec<&str> = MODEL_NAMES.iter().flat_map(|m| fact_names(m).iter().copied()).collect();
            let facts: Vec<&str> = match &name {
                Some(n) if MODEL_NAMES.contains(&n.as_str()) => fact_names(n).to_vec(),
                _ => all,
            };
            let mut seen = BTreeSet::new();
            for t in self.tables(item, "question") {
                let Some(q) = self.part::<QuestionSection>(&t) else { continue };
                let id = q.id.get_ref();
                if !seen.insert(id.clone()) {
                    self.push(self.ctx.err(&q.id, format!("question id `{id}` is used twice")));
                } else if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    self.push(self.ctx.err(&q.id, "a question id is letters, digits, `_` and `-`, such as \"q1\""));
                } else {
                    self.questions.insert(id.clone(), q.id.span());
                }
                let r = self.ctx.question(&q, &facts);
                self.check(r);
            }
        }
    }

    /// The entries of an array of tables, reporting one that is not.
    fn tables(&mut self, item: &Item, key: &str) -> Vec<Table> {
        as_tables(item).unwrap_or_else(|| {
            self.at(item.span(), format!("`{key}` must be an array of tables: write each as [[{key}]]"));
            Vec::new()
        })
    }

    fn model(&mut self, root: &Table) -> (Option<String>, Option<ModelConfig>) {
        // The strict loader's words, so the two passes report it once.
        let missing = format!("missing [model] table with a `name` (one of {})", MODEL_NAMES.join(", "));
        let Some(item) = root.get("model") else {
            self.push(Diag::whole_file(self.ctx.file, missing));
            return (None, None);
        };
        let Some(t) = as_table(item) else {
            let help = "expected a table, such as { key = \"value\" }: [model] with a `name`";
            self.at(item.span(), format!("invalid type for `model`: {help}"));
            return (None, None);
        };
        let Some(name) = self.value::<Spanned<String>>(&t, "name") else {
            if !t.contains_key("name") {
                self.push(Diag::whole_file(self.ctx.file, missing));
            }
            return (None, None);
        };
        let n = name.get_ref().clone();
        let config = match n.as_str() {
            "datagram" => self.model_part::<DatagramSection>(&n, &t, |c, m| c.datagram(m)),
            "reliable" => self.model_part::<ReliableSection>(&n, &t, |c, m| c.reliable(m)),
            "rpc" => self.model_part::<RpcSection>(&n, &t, |c, m| c.rpc(m)),
            // A model this pass has no part reader for: the strict load covers it.
            other if MODEL_NAMES.contains(&other) => None,
            other => {
                let hint = super::diag::suggest(other, MODEL_NAMES.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                self.push(
                    self.ctx
                        .err(&name, format!("unknown model `{other}`; {hint}models are {}", MODEL_NAMES.join(", "))),
                );
                return (None, None);
            }
        };
        (Some(n), config)
    }

    /// Reads and checks a model's table. The checks stop at a model's first
    /// wrong value, so each wrong value is reported, then replaced by the
    /// starter lab's value for that key, and the table checked again. The
    /// model is returned only if nothing was wrong.
    fn model_part<S: DeserializeOwned>(
        &mut self,
        name: &str,
        table: &Table,
        check: impl Fn(&Loader, &S) -> Result<ModelConfig, Diag>,
    ) -> Option<ModelConfig> {
        let (mut m, mut t) = self.part_and_rest::<S>(table)?;
        let good = super::starter::model_table(name);
        let mut clean = true;
        for _ in 0..=t.len() {
            match check(&self.ctx, &m) {
                Ok(c) => return clean.then_some(c),
                Err(d) => {
                    let key = offset_of(self.ctx.text, d.line, d.col).and_then(|o| key_at(&t, o));
                    self.push(d);
                    clean = false;
                    let key = key?;
                    match good.as_ref().and_then(|g| g.get(&key)) {
                        Some(v) => t.insert(&key, v.clone()),
                        None => t.remove(&key),
                    };
                    m = from_table::<S>(&t).ok()?;
                }
            }
        }
        None
    }

    fn network(&mut self, root: &Table, names: Option<&[String]>) {
        let Some(item) = root.get("network") else { return };
        let Some(mut t) = as_table(item) else {
            self.at(item.span(), "`network` must be a table: [network]");
            return;
        };
        let links = t.remove("link");
        self.part::<NetworkSection>(&t);
        let Some(links) = links else { return };
        let mut seen = BTreeSet::new();
        for lt in self.tables(&links, "network.link") {
            let (Some(l), Some(names)) = (self.part::<LinkSection>(&lt), names) else { continue };
            let (Some(from), Some(to)) =
                (self.check(self.ctx.node(&l.from, names)), self.check(self.ctx.node(&l.to, names)))
            else {
                continue;
            };
            if from == to {
                self.push(self.ctx.err(&l.to, "a link joins two different nodes"));
            } else if !seen.insert((from, to)) {
                self.push(
                    self.ctx
                        .err(&l.to, format!("the link {} -> {} is configured twice", l.from.get_ref(), l.to.get_ref())),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../../labs/02-retry.toml");

    fn problems(text: &str) -> Vec<String> {
        validate_str(text, "t.toml").iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn the_built_in_labs_have_no_problems() {
        for s in super::super::catalog::builtin() {
            assert_eq!(problems(s.text), Vec::<String>::new(), "{}", s.file);
        }
    }

    #[test]
    fn several_problems_in_one_file_are_all_listed() {
        let bad = GOOD
            .replacen("drop = 0.25", "dorp = 0.25", 1)
            .replacen("timeout = \"60ms\"", "timeout = 60", 1)
            .replacen("answer = { fact = \"suppressed\" }", "answer = { fact = \"supressed\" }", 1)
            .replacen("kind = \"set\"", "kind = \"sett\"", 1)
            .replacen("slug = \"retry\"", "slug = \"Retry!\"", 1);
        let p = problems(&bad);
        let want = [
            "t.toml:2:8: a slug is lowercase",
            "t.toml:29:11: duration 60 has no unit",
            "t.toml:34:1: unknown key `dorp` in [network]; did you mean `drop`?",
            "no fact `supressed`; did you mean `suppressed`?",
            "unknown question kind `sett`; did you mean `set`?",
        ];
        assert_eq!(p.len(), want.len(), "{p:#?}");
        for (got, want) in p.iter().zip(want) {
            assert!(got.contains(want), "{got} lacks {want}");
        }
    }

    #[test]
    fn two_wrong_keys_in_one_table_are_both_found_and_a_missing_key_too() {
        let bad = GOOD.replacen("messages = 6", "mesages = 6\nretries = 2", 1).replacen("title = ", "titel = ", 1);
        let p = problems(&bad);
        assert!(p.iter().any(|m| m.contains("unknown key `mesages` in [model]; did you mean `messages`?")), "{p:#?}");
        assert!(p.iter().any(|m| m.contains("unknown key `retries` in [model]")), "{p:#?}");
        assert!(p.iter().any(|m| m.contains("unknown key `titel` at the top level; did you mean `title`?")), "{p:#?}");
        assert!(p.iter().any(|m| m.contains("missing key `title` at the top level")), "{p:#?}");
    }

    #[test]
    fn every_first_error_of_the_strict_loader_is_among_the_problems() {
        for (from, to) in [
            ("drop = 0.25", "drop = 1.5"),
            ("name = \"reliable\"", "name = \"relaible\""),
            ("[[question]]", "[[fault]]\nat = \"10ms\"\ncrash = \"recever\"\n\n[[question]]"),
            ("messages = 6", "messages = 0"),
            ("id = \"total\"", "id = \"tx_m3\""),
            (
                "answer = { fact = \"transmissions\", key = \"m3\" }",
                "answer = { fact = \"transmissions\", key = \"m9\" }",
            ),
        ] {
            let bad = GOOD.replacen(from, to, 1);
            let strict = match load_str(&bad, "t.toml") {
                Err(d) => d.to_string(),
                Ok(_) => "has no answer at the lab's seed".to_string(),
            };
            let p = problems(&bad);
            assert!(!p.is_empty(), "{to}: no problem found");
            assert!(p.iter().any(|m| m.contains(&strict)), "{to}: {strict} not in {p:#?}");
        }
    }

    #[test]
    fn a_file_that_is_not_toml_is_one_problem() {
        let p = problems("number = [1\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("t.toml:") && p[0].contains("invalid array"), "{p:?}");
    }
}
