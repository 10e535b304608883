//! Grading one submitted answer against the expected value. A wrong type is a
//! wrong answer with a message, never an error.

use super::value::Value;
use super::{Kind, Question};

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub score: f64,
    pub max_score: f64,
    pub correct: bool,
    /// Why an answer could not be read as the question's kind, or was missing.
    pub message: Option<String>,
}

const NONE_WORDS: &[&str] = &["none", "lost", "never", "-", "n/a"];

fn is_none_word(s: &str) -> bool {
    NONE_WORDS.contains(&s.trim().to_lowercase().as_str())
}

pub fn grade_answer(q: &Question, expected: &Value, answer: Option<&toml::Value>) -> Verdict {
    let max = q.points as f64;
    let wrong = |message: Option<String>| Verdict { score: 0.0, max_score: max, correct: false, message };
    let Some(answer) = answer else {
        return wrong(Some("no answer".into()));
    };
    if matches!(answer, toml::Value::String(s) if s.trim().is_empty()) {
        return wrong(Some("no answer".into()));
    }
    let fraction = match q.kind {
        Kind::Number { tolerance } => match read_number(answer) {
            Ok(None) => bool_fraction(*expected == Value::Null),
            Ok(Some(x)) => match expected.as_f64() {
                Some(e) => bool_fraction((x - e).abs() <= tolerance + 1e-9),
                None => 0.0,
            },
            Err(m) => return wrong(Some(m)),
        },
        Kind::Text => match answer {
            toml::Value::String(s) => bool_fraction(match expected {
                Value::Null => is_none_word(s),
                e => norm(s) == norm(&e.to_string()),
            }),
            other => return wrong(Some(format!("expected text in quotes, got {}", type_name(other)))),
        },
        Kind::YesNo => match read_bool(answer) {
            Some(b) => bool_fraction(*expected == Value::Bool(b)),
            None => return wrong(Some("expected true or false (or \"yes\" / \"no\")".into())),
        },
        Kind::List | Kind::Set => {
            let given = match read_items(answer) {
                Ok(items) => items,
                Err(m) => return wrong(Some(m)),
            };
            let Value::List(exp) = expected else { return wrong(None) };
            let exp: Vec<String> = exp.iter().map(|v| norm(&v.to_string())).collect();
            let given: Vec<String> = given.iter().map(|g| align(g, &exp)).collect();
            if q.kind == Kind::List {
                list_fraction(&given, &exp)
            } else {
                set_fraction(&given, &exp)
            }
        }
    };
    let fraction = if q.partial || fraction == 1.0 { fraction } else { 0.0 };
    Verdict { score: (max * fraction * 100.0).round() / 100.0, max_score: max, correct: fraction == 1.0, message: None }
}

fn bool_fraction(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "text",
        toml::Value::Integer(_) | toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true/false",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
        toml::Value::Datetime(_) => "a date",
    }
}

/// Ok(None) means the answer says "there is none".
fn read_number(v: &toml::Value) -> Result<Option<f64>, String> {
    match v {
        toml::Value::Integer(i) => Ok(Some(*i as f64)),
        toml::Value::Float(f) => Ok(Some(*f)),
        toml::Value::String(s) if is_none_word(s) => Ok(None),
        toml::Value::String(s) => {
            let t = s.trim().trim_end_matches("ms").trim();
            t.parse::<f64>().map(Some).map_err(|_| format!("expected a number, got \"{s}\""))
        }
        other => Err(format!("expected a number, got {}", type_name(other))),
    }
}

fn read_bool(v: &toml::Value) -> Option<bool> {
    match v {
        toml::Value::Boolean(b) => Some(*b),
        toml::Value::String(s) => match norm(s).as_str() {
            "yes" | "y" | "true" => Some(true),
            "no" | "n" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A list answer: an array, or one string of items separated by commas.
fn read_items(v: &toml::Value) -> Result<Vec<String>, String> {
    match v {
        toml::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                toml::Value::String(s) => Ok(norm(s)),
                toml::Value::Integer(n) => Ok(n.to_string()),
                other => Err(format!("expected a list of names, found {} inside it", type_name(other))),
            })
            .collect(),
        toml::Value::String(s) if is_none_word(s) => Ok(vec![]),
        toml::Value::String(s) => Ok(s.split([',', ' ']).filter(|p| !p.is_empty()).map(norm).collect()),
        other => Err(format!("expected a list such as [\"m1\", \"m3\"], got {}", type_name(other))),
    }
}

/// Lets a bare number stand for a name the lab writes with a letter in front:
/// `3` for `m3` when `m3` is among the expected names.
fn align(given: &str, expected: &[String]) -> String {
    if given.chars().all(|c| c.is_ascii_digit()) {
        if let Some(e) =
            expected.iter().find(|e| e.len() > 1 && e[1..] == *given && e.as_bytes()[0].is_ascii_alphabetic())
        {
            return e.clone();
        }
    }
    given.to_string()
}

fn list_fraction(given: &[String], exp: &[String]) -> f64 {
    let longest = given.len().max(exp.len());
    if longest == 0 {
        return 1.0;
    }
    let same = given.iter().zip(exp).filter(|(a, b)| a == b).count();
    same as f64 / longest as f64
}

fn set_fraction(given: &[String], exp: &[String]) -> f64 {
    use std::collections::BTreeSet;
    let a: BTreeSet<&String> = given.iter().collect();
    let b: BTreeSet<&String> = exp.iter().collect();
    let union = a.union(&b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::questions::Expr;

    fn q(kind: Kind, partial: bool) -> Question {
        Question {
            id: "q1".into(),
            ask: "?".into(),
            kind,
            answer: Expr { fact: "x".into(), key: None, op: None, under: vec![] },
            points: 2,
            partial,
        }
    }

    fn answer(s: &str) -> toml::Value {
        let t: toml::Table = toml::from_str(&format!("a = {s}")).unwrap();
        t["a"].clone()
    }

    #[test]
    fn numbers_with_tolerance_and_none() {
        let k = q(Kind::Number { tolerance: 1.0 }, false);
        assert!(grade_answer(&k, &Value::Int(10), Some(&answer("11"))).correct);
        assert!(grade_answer(&k, &Value::Int(10), Some(&answer("\"10ms\""))).correct);
        assert!(!grade_answer(&k, &Value::Int(10), Some(&answer("12"))).correct);
        assert!(grade_answer(&k, &Value::Null, Some(&answer("\"none\""))).correct);
        let v = grade_answer(&k, &Value::Int(10), Some(&answer("[1]")));
        assert!(!v.correct && v.message.unwrap().contains("expected a number"));
        assert_eq!(grade_answer(&k, &Value::Int(10), None).message.as_deref(), Some("no answer"));
    }

    #[test]
    fn lists_sets_and_partial_credit() {
        let exp = Value::texts(["m1", "m3"]);
        assert!(grade_answer(&q(Kind::Set, false), &exp, Some(&answer("[\"M3\", \"m1\"]"))).correct);
        assert!(grade_answer(&q(Kind::Set, false), &exp, Some(&answer("[3, 1]"))).correct);
        assert!(!grade_answer(&q(Kind::List, false), &exp, Some(&answer("[\"m3\", \"m1\"]"))).correct);
        let half = grade_answer(&q(Kind::Set, true), &exp, Some(&answer("[\"m1\"]")));
        assert_eq!((half.score, half.correct), (1.0, false));
        assert!(grade_answer(&q(Kind::Set, false), &Value::List(vec![]), Some(&answer("[]"))).correct);
        assert!(grade_answer(&q(Kind::Set, false), &Value::List(vec![]), Some(&answer("\"none\""))).correct);
        assert!(grade_answer(&q(Kind::List, false), &exp, Some(&answer("\"m1, m3\""))).correct);
    }

    #[test]
    fn yes_no_and_text() {
        assert!(grade_answer(&q(Kind::YesNo, false), &Value::Bool(true), Some(&answer("\"yes\""))).correct);
        assert!(!grade_answer(&q(Kind::YesNo, false), &Value::Bool(true), Some(&answer("false"))).correct);
        assert!(
            grade_answer(&q(Kind::Text, false), &Value::text("At-Most-Once"), Some(&answer("\" at-most-once \"")))
                .correct
        );
        let v = grade_answer(&q(Kind::Text, false), &Value::text("x"), Some(&answer("3")));
        assert!(v.message.unwrap().contains("text"));
    }
}
