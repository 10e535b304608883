//! Values: what facts hold, what questions expect, and what students answer.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

pub type Facts = BTreeMap<String, Value>;

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    pub fn texts<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::Text(s.into())).collect())
    }

    /// A time in microseconds as a number of milliseconds: an integer when it
    /// is whole, which it is whenever the lab's latencies are.
    pub fn ms(t: u64) -> Value {
        if t % 1000 == 0 {
            Value::Int((t / 1000) as i64)
        } else {
            Value::Float(t as f64 / 1000.0)
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "nothing",
            Value::Bool(_) => "yes/no",
            Value::Int(_) | Value::Float(_) => "number",
            Value::Text(_) => "text",
            Value::List(_) => "list",
            Value::Map(_) => "table",
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Converts an answer or expected value from TOML.
    pub fn from_toml(v: &toml::Value) -> Value {
        match v {
            toml::Value::String(s) => Value::Text(s.clone()),
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Float(f) => Value::Float(*f),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::Datetime(d) => Value::Text(d.to_string()),
            toml::Value::Array(items) => Value::List(items.iter().map(Value::from_toml).collect()),
            toml::Value::Table(t) => Value::Map(t.iter().map(|(k, v)| (k.clone(), Value::from_toml(v))).collect()),
        }
    }

    /// The value as TOML, for answers templates. `Null` has no TOML form; it is
    /// written as the string "none", which the grader accepts for it.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            Value::Null => toml::Value::String("none".into()),
            Value::Bool(b) => toml::Value::Boolean(*b),
            Value::Int(i) => toml::Value::Integer(*i),
            Value::Float(f) => toml::Value::Float(*f),
            Value::Text(s) => toml::Value::String(s.clone()),
            Value::List(items) => toml::Value::Array(items.iter().map(Value::to_toml).collect()),
            Value::Map(m) => toml::Value::Table(m.iter().map(|(k, v)| (k.clone(), v.to_toml())).collect()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "none"),
            Value::Bool(true) => write!(f, "yes"),
            Value::Bool(false) => write!(f, "no"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => write!(f, "{s}"),
            Value::List(items) if items.is_empty() => write!(f, "(none)"),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                write!(f, "{}", parts.join(", "))
            }
            Value::Map(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{}", parts.join(", "))
            }
        }
    }
}
