//! Questions: their kinds, the expressions that answer them from a run's
//! facts, and the comparison that grades a submitted answer.

pub mod compare;
pub mod expr;
pub mod value;

pub use compare::{grade_answer, Verdict};
pub use expr::{Expr, ExprOp};
pub use value::{Facts, Value};

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A number, right when within `tolerance` of the expected value.
    Number {
        tolerance: f64,
    },
    /// A word or phrase, compared without regard to case or outer spaces.
    Text,
    /// An ordered list.
    List,
    /// An unordered set.
    Set,
    YesNo,
}

impl Kind {
    pub const ACCEPTED: &'static str = "number, text, list, set, yesno";

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Number { .. } => "number",
            Kind::Text => "text",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::YesNo => "yesno",
        }
    }

    /// How to write an answer of this kind in an answers file.
    pub fn how_to_answer(&self) -> &'static str {
        match self {
            Kind::Number { .. } => "a number; \"none\" if there is none",
            Kind::Text => "a string",
            Kind::List => "a list in order, e.g. [\"m1\", \"m3\"]; [] if empty",
            Kind::Set => "a list in any order, e.g. [\"m1\", \"m3\"]; [] if empty",
            Kind::YesNo => "true or false",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub id: String,
    pub ask: String,
    pub kind: Kind,
    pub answer: Expr,
    pub points: u32,
    /// Lists and sets earn a share of the points for a partly right answer.
    pub partial: bool,
}

impl Question {
    /// The expected answer in this run, shaped to the question's kind.
    pub fn expected(&self, facts: &Facts) -> Result<Value, String> {
        let v = self.answer.eval(facts)?;
        let fits = matches!(
            (&self.kind, &v),
            (Kind::Number { .. }, Value::Int(_) | Value::Float(_) | Value::Null)
                | (Kind::Text, Value::Text(_) | Value::Null)
                | (Kind::List | Kind::Set, Value::List(_))
                | (Kind::YesNo, Value::Bool(_))
        );
        if fits {
            Ok(v)
        } else {
            Err(format!(
                "question `{}` is of kind {} but its answer expression gives a {} ({v})",
                self.id,
                self.kind,
                v.kind_name()
            ))
        }
    }
}
