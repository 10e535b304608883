//! Answer expressions: a fact of the run, optionally one entry of it, and
//! optionally an aggregate. Kept this small on purpose: the models compute
//! rich facts, so lab files never need a programming language.

use super::value::{Facts, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprOp {
    Count,
    Sum,
    Max,
    Min,
    First,
    Last,
}

impl ExprOp {
    pub const NAMES: &'static [&'static str] = &["count", "sum", "max", "min", "first", "last"];

    pub fn parse(s: &str) -> Option<ExprOp> {
        Some(match s {
            "count" => ExprOp::Count,
            "sum" => ExprOp::Sum,
            "max" => ExprOp::Max,
            "min" => ExprOp::Min,
            "first" => ExprOp::First,
            "last" => ExprOp::Last,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub fact: String,
    /// A key of a table fact, or a 1-based position in a list fact.
    pub key: Option<String>,
    pub op: Option<ExprOp>,
    /// `--set` overrides of a what-if run to evaluate on instead (same seed).
    pub under: Vec<String>,
}

impl Expr {
    pub fn eval(&self, facts: &Facts) -> Result<Value, String> {
        let mut v = facts.get(&self.fact).cloned().ok_or_else(|| format!("the run has no fact `{}`", self.fact))?;
        if let Some(key) = &self.key {
            v = match v {
                Value::Map(m) => m.get(key).cloned().ok_or_else(|| {
                    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                    format!("fact `{}` has no entry `{key}` (it has: {})", self.fact, keys.join(", "))
                })?,
                Value::List(items) => {
                    let i: usize = key
                        .parse()
                        .map_err(|_| format!("fact `{}` is a list: its key must be a position 1, 2, …", self.fact))?;
                    items
                        .get(i.wrapping_sub(1))
                        .cloned()
                        .ok_or_else(|| format!("fact `{}` has {} entries, not {i}", self.fact, items.len()))?
                }
                other => return Err(format!("fact `{}` is a {}: it has no entries", self.fact, other.kind_name())),
            };
        }
        if let Some(op) = self.op {
            v = apply(op, v).map_err(|e| format!("{e} (fact `{}`)", self.fact))?;
        }
        Ok(v)
    }
}

fn apply(op: ExprOp, v: Value) -> Result<Value, String> {
    let items: Vec<Value> = match v {
        Value::List(items) => items,
        // A table has no order worth trusting (m10 sorts before m2).
        Value::Map(_) if matches!(op, ExprOp::First | ExprOp::Last) => {
            return Err("first and last need a list, not a table".into())
        }
        Value::Map(m) => m.into_values().collect(),
        other => return Err(format!("cannot aggregate a {}", other.kind_name())),
    };
    let numbers = || -> Result<Vec<f64>, String> {
        items
            .iter()
            .filter(|v| **v != Value::Null)
            .map(|v| v.as_f64().ok_or_else(|| format!("`{v}` is not a number")))
            .collect()
    };
    let number = |x: f64| if x.fract() == 0.0 { Value::Int(x as i64) } else { Value::Float(x) };
    Ok(match op {
        ExprOp::Count => Value::Int(items.len() as i64),
        ExprOp::Sum => number(numbers()?.iter().sum()),
        ExprOp::Max => numbers()?.into_iter().reduce(f64::max).map_or(Value::Null, number),
        ExprOp::Min => numbers()?.into_iter().reduce(f64::min).map_or(Value::Null, number),
        ExprOp::First => items.first().cloned().unwrap_or(Value::Null),
        ExprOp::Last => items.last().cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let mut f = Facts::new();
        f.insert("t".into(), Value::Map([("m1".to_string(), Value::Int(2)), ("m2".to_string(), Value::Int(5))].into()));
        f.insert("order".into(), Value::texts(["m2", "m1"]));
        f
    }

    #[test]
    fn keys_positions_and_aggregates() {
        let e =
            |fact: &str, key: Option<&str>, op| Expr { fact: fact.into(), key: key.map(Into::into), op, under: vec![] };
        assert_eq!(e("t", Some("m2"), None).eval(&facts()), Ok(Value::Int(5)));
        assert_eq!(e("t", None, Some(ExprOp::Sum)).eval(&facts()), Ok(Value::Int(7)));
        assert_eq!(e("t", None, Some(ExprOp::Max)).eval(&facts()), Ok(Value::Int(5)));
        assert_eq!(e("order", Some("1"), None).eval(&facts()), Ok(Value::text("m2")));
        assert_eq!(e("order", None, Some(ExprOp::Count)).eval(&facts()), Ok(Value::Int(2)));
        assert!(e("order", Some("3"), None).eval(&facts()).unwrap_err().contains("2 entries"));
        assert!(e("t", Some("m9"), None).eval(&facts()).unwrap_err().contains("m1, m2"));
        assert!(e("nope", None, None).eval(&facts()).is_err());
        assert!(e("order", None, Some(ExprOp::Sum)).eval(&facts()).is_err());
    }
}
