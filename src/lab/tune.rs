//! Tune labs (`kind = "tune"`): the `[tune]` section says which model
//! parameters a submission may set and within what ranges, how many seeds it
//! is graded over, and the goals it is graded against. All of it is checked
//! as the lab loads, with positions; grading lives in `grade::tune`.

use super::schema::{GoalSection, LabKind, RangeSection, TuneSection};
use super::{diag, Diag, Loader};
use crate::models::ModelConfig;
use crate::sim::{fmt_time, parse_duration, Dur, Time};
use std::fmt;
use toml::Spanned;

pub const DEFAULT_SEEDS: u32 = 50;
pub const MAX_SEEDS: u32 = 1000;
pub const METRICS: &[&str] = &["delivered", "transmissions", "delivery_time"];
/// The facts the goals are measured from.
pub const NEEDED_FACTS: &[&str] = &["latency", "total_transmissions"];

#[derive(Clone, Debug, PartialEq)]
pub struct TuneSpec {
    /// How many seeds: the lab's seed and the ones after it.
    pub seeds: u32,
    /// What a submission may set, in the order a template lists them.
    pub params: Vec<Param>,
    pub goals: Vec<Goal>,
}

impl TuneSpec {
    /// The seeds a submission is graded over: the lab's `seed` and the
    /// `seeds − 1` after it, so an instructor can grade on fresh ones with
    /// `--set seed=N`.
    pub fn seed_range(&self, lab_seed: u64) -> std::ops::RangeInclusive<u64> {
        lab_seed..=lab_seed + u64::from(self.seeds) - 1
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn max_points(&self) -> u32 {
        self.goals.iter().map(|g| g.points).sum()
    }
}

/// A parameter value: its type follows from the parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamValue {
    Duration(Time),
    Number(f64),
    Count(u32),
}

impl ParamValue {
    /// As TOML writes it in a parameter file.
    pub fn to_toml(&self) -> String {
        match self {
            ParamValue::Duration(_) => format!("\"{self}\""),
            ParamValue::Number(x) if x.fract() == 0.0 => format!("{x:.1}"),
            _ => self.to_string(),
        }
    }

    fn le(&self, other: &ParamValue) -> bool {
        match (self, other) {
            (ParamValue::Duration(a), ParamValue::Duration(b)) => a <= b,
            (ParamValue::Number(a), ParamValue::Number(b)) => a <= b,
            (ParamValue::Count(a), ParamValue::Count(b)) => a <= b,
            _ => false,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Duration(t) => write!(f, "{}", Dur(*t)),
            ParamValue::Number(x) => write!(f, "{x}"),
            ParamValue::Count(n) => write!(f, "{n}"),
        }
    }
}

/// One parameter a submission may set, its allowed range, and the lab's own
/// value (what an unset parameter keeps).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub min: ParamValue,
    pub max: ParamValue,
    pub default: ParamValue,
}

impl Param {
    pub fn contains(&self, v: &ParamValue) -> bool {
        self.min.le(v) && v.le(&self.max)
    }

    /// What a value must be, for messages and templates.
    pub fn help(&self) -> String {
        let what = match self.default {
            ParamValue::Duration(_) => "a duration in quotes",
            ParamValue::Number(_) => "a number",
            ParamValue::Count(_) => "a whole number",
        };
        format!("{what} from {} to {}", self.min, self.max)
    }

    /// What the parameter does, in a few words.
    pub fn about(&self) -> &'static str {
        match self.name {
            "timeout" => "how long to wait for an ack before resending",
            "backoff" => "each wait is this many times the one before (1: no backoff)",
            "max_retries" => "how many resends before giving up on a message",
            _ => "",
        }
    }

    /// The `--set` override that gives the model this value.
    pub fn set(&self, v: &ParamValue) -> String {
        format!("model.{}={v}", self.name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Metric {
    /// Every message reaches the receiver's application, on every seed.
    Delivered,
    /// Data transmissions (first sends and resends), summed over all seeds.
    Transmissions { max: u64 },
    /// The nearest-rank percentile of every message's delivery time (first
    /// transmission to delivery) over all messages of all seeds; a message
    /// never delivered counts as slower than any.
    DeliveryTime { percentile: u32, max: Time },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    pub metric: Metric,
    pub points: u32,
}

impl Goal {
    /// A short stable name, for JSON.
    pub fn id(&self) -> String {
        match self.metric {
            Metric::Delivered => "delivered".into(),
            Metric::Transmissions { .. } => "transmissions".into(),
            Metric::DeliveryTime { percentile, .. } => format!("p{percentile}_delivery_time"),
        }
    }

    /// What the goal asks, in a few words (a report's table).
    pub fn describe(&self) -> String {
        match self.metric {
            Metric::Delivered => "every message delivered".into(),
            Metric::Transmissions { .. } => "transmissions, all seeds summed".into(),
            Metric::DeliveryTime { percentile, .. } => format!("{} delivery time", percentile_name(percentile)),
        }
    }

    /// What the goal asks, exactly, with its target.
    pub fn explain(&self) -> String {
        match self.metric {
            Metric::Delivered => "every message delivered, on every seed".into(),
            Metric::Transmissions { max } => {
                format!("data transmissions (first sends and resends), summed over all seeds: at most {max}")
            }
            Metric::DeliveryTime { percentile, max } => format!(
                "{} delivery time (nearest rank over all messages of all seeds; a message never delivered counts as slowest): at most {}",
                percentile_name(percentile),
                fmt_time(max)
            ),
        }
    }

    pub fn target(&self) -> String {
        match self.metric {
            Metric::Delivered => "all".into(),
            Metric::Transmissions { max } => format!("≤ {max}"),
            Metric::DeliveryTime { max, .. } => format!("≤ {}", fmt_time(max)),
        }
    }
}

/// `99th percentile`, `1st percentile`, `median` for 50.
pub fn percentile_name(p: u32) -> String {
    let suffix = match (p % 10, p % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{p}{suffix}-percentile")
}

/// The value a model has for a tunable parameter; None when it has no such
/// parameter.
fn model_value(model: &ModelConfig, name: &str) -> Option<ParamValue> {
    match (model, name) {
        (ModelConfig::Reliable(p), "timeout") => Some(ParamValue::Duration(p.timeout)),
        (ModelConfig::Reliable(p), "backoff") => Some(ParamValue::Number(p.backoff)),
        (ModelConfig::Reliable(p), "max_retries") => Some(ParamValue::Count(p.max_retries)),
        _ => None,
    }
}

/// What the model itself accepts for a parameter, so any value inside a
/// lab's range also loads.
fn model_limits(name: &str) -> (ParamValue, ParamValue, &'static str) {
    match name {
        "timeout" => (ParamValue::Duration(1), ParamValue::Duration(Time::MAX), "longer than 0ms"),
        "backoff" => (ParamValue::Number(1.0), ParamValue::Number(10.0), "from 1 to 10"),
        _ => (ParamValue::Count(0), ParamValue::Count(100), "from 0 to 100"),
    }
}

impl Loader<'_> {
    /// Checks `kind` against `[tune]` and builds the tune spec of a tune lab.
    pub(super) fn tune(
        &self,
        kind: &Spanned<LabKind>,
        section: Option<&Spanned<TuneSection>>,
        model: &ModelConfig,
        seed: u64,
        first_question: Option<&Spanned<String>>,
    ) -> Result<Option<TuneSpec>, Diag> {
        let section = match (kind.get_ref(), section) {
            (LabKind::Tune, Some(s)) => s,
            (LabKind::Tune, None) => {
                return Err(self.err(kind, "a tune lab needs a [tune] section: its params, seeds and goals"))
            }
            (_, Some(s)) => return Err(self.err(s, "[tune] belongs to labs with kind = \"tune\"")),
            (_, None) => return Ok(None),
        };
        if let Some(q) = first_question {
            return Err(self.err(q, "a tune lab is graded by its [tune] goals, so it has no [[question]]"));
        }
        let facts = model.fact_names();
        if let Some(missing) = NEEDED_FACTS.iter().find(|f| !facts.contains(f)) {
            return Err(self.err(
                kind,
                format!(
                    "a tune lab measures its goals from the facts {}, which model {} lacks (`{missing}`); use model reliable",
                    NEEDED_FACTS.join(" and "),
                    model.name()
                ),
            ));
        }
        let t = section.get_ref();
        let seeds = match &t.seeds {
            Some(s) if *s.get_ref() == 0 || *s.get_ref() > MAX_SEEDS => {
                return Err(self.err(s, format!("seeds must be from 1 to {MAX_SEEDS}, not {}", s.get_ref())))
            }
            Some(s) if seed.checked_add(u64::from(*s.get_ref())).is_none() => {
                return Err(self.err(s, "the lab's seed is too large to count this many seeds after it"))
            }
            Some(s) => *s.get_ref(),
            None => DEFAULT_SEEDS,
        };
        let Some(ps) = &t.params else {
            return Err(self.err(section, "[tune] needs a [tune.params] table: which parameters a submission may set"));
        };
        let p = ps.get_ref();
        let mut params = Vec::new();
        if let Some(r) = &p.timeout {
            let conv = |d: &Dur| ParamValue::Duration(d.0);
            params.push(self.param("timeout", r, conv, model)?);
        }
        if let Some(r) = &p.backoff {
            params.push(self.param("backoff", r, |x: &f64| ParamValue::Number(*x), model)?);
        }
        if let Some(r) = &p.max_retries {
            params.push(self.param("max_retries", r, |n: &u32| ParamValue::Count(*n), model)?);
        }
        if params.is_empty() {
            return Err(self.err(ps, "[tune.params] is empty: give at least one of timeout, backoff, max_retries"));
        }
        if t.goal.is_empty() {
            return Err(
                self.err(section, format!("[tune] needs at least one [[tune.goal]] (metrics: {})", METRICS.join(", ")))
            );
        }
        let mut goals: Vec<Goal> = Vec::new();
        for g in &t.goal {
            let goal = self.goal(g)?;
            if goals.iter().any(|x| x.id() == goal.id()) {
                return Err(self.err(&g.metric, format!("the goal `{}` is declared twice", goal.id())));
            }
            goals.push(goal);
        }
        Ok(Some(TuneSpec { seeds, params, goals }))
    }

    fn param<T>(
        &self,
        name: &'static str,
        r: &Spanned<RangeSection<T>>,
        conv: impl Fn(&T) -> ParamValue,
        model: &ModelConfig,
    ) -> Result<Param, Diag> {
        let default = model_value(model, name)
            .ok_or_else(|| self.err(r, format!("model {} has no parameter `{name}` to tune", model.name())))?;
        let range = r.get_ref();
        let (min, max) = (conv(range.min.get_ref()), conv(range.max.get_ref()));
        if let (ParamValue::Number(a), ParamValue::Number(b)) = (min, max) {
            if a.is_nan() || b.is_nan() {
                return Err(self.err(r, format!("{name}'s range must be numbers, not nan")));
            }
        }
        if !min.le(&max) {
            return Err(self.err(&range.max, format!("{name}'s range ends ({max}) below where it starts ({min})")));
        }
        let (lo, hi, accepted) = model_limits(name);
        if !lo.le(&min) {
            return Err(self.err(
                &range.min,
                format!("{name} must be {accepted} for the model, so its range cannot start at {min}"),
            ));
        }
        if !max.le(&hi) {
            return Err(self.err(
                &range.max,
                format!("{name} must be {accepted} for the model, so its range cannot end at {max}"),
            ));
        }
        let p = Param { name, min, max, default };
        if !p.contains(&default) {
            return Err(self.err(
                r,
                format!(
                    "the lab's own {name} = {default} (in [model]) must lie in the range it allows, {min} to {max}"
                ),
            ));
        }
        Ok(p)
    }

    fn goal(&self, g: &GoalSection) -> Result<Goal, Diag> {
        let name = g.metric.get_ref().as_str();
        let max = |what: &str| {
            g.max.as_ref().ok_or_else(|| self.err(&g.metric, format!("the `{name}` goal needs `max`, {what}")))
        };
        if !METRICS.contains(&name) {
            let hint = diag::suggest(name, METRICS.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(
                self.err(&g.metric, format!("unknown metric `{name}`; {hint}metrics are {}", METRICS.join(", ")))
            );
        }
        if let Some(p) = g.percentile.as_ref().filter(|_| name != "delivery_time") {
            return Err(self.err(p, "`percentile` belongs to the delivery_time goal"));
        }
        let metric = match name {
            "delivered" => {
                if let Some(m) = &g.max {
                    return Err(self.err(m, "the `delivered` goal takes no `max`: every message must be delivered"));
                }
                Metric::Delivered
            }
            "transmissions" => {
                let m = max("a whole number of transmissions summed over all seeds, such as max = 1600")?;
                match m.get_ref() {
                    toml::Value::Integer(n) if *n >= 0 => Metric::Transmissions { max: *n as u64 },
                    _ => {
                        return Err(
                            self.err(m, "`max` for transmissions is a whole number, 0 or more, such as max = 1600")
                        )
                    }
                }
            }
            // delivery_time, the last of METRICS, checked above.
            _ => {
                let m = max("a duration such as max = \"500ms\"")?;
                let limit = match m.get_ref() {
                    toml::Value::String(s) => parse_duration(s).map_err(|e| self.err(m, e))?.0,
                    _ => {
                        return Err(
                            self.err(m, "`max` for delivery_time is a duration in quotes, such as max = \"500ms\"")
                        )
                    }
                };
                let percentile = match &g.percentile {
                    Some(p) if *p.get_ref() == 0 || *p.get_ref() > 100 => {
                        return Err(self.err(p, format!("percentile must be from 1 to 100, not {}", p.get_ref())))
                    }
                    Some(p) => *p.get_ref(),
                    None => 99,
                };
                Metric::DeliveryTime { percentile, max: limit }
            }
        };
        Ok(Goal { metric, points: g.points })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_named_in_english() {
        assert_eq!(percentile_name(99), "99th-percentile");
        assert_eq!(percentile_name(1), "1st-percentile");
        assert_eq!(percentile_name(92), "92nd-percentile");
        assert_eq!(percentile_name(11), "11th-percentile");
    }

    #[test]
    fn values_print_as_a_parameter_file_writes_them() {
        assert_eq!(ParamValue::Duration(45_000).to_toml(), "\"45ms\"");
        assert_eq!(ParamValue::Number(2.0).to_toml(), "2.0");
        assert_eq!(ParamValue::Number(1.5).to_toml(), "1.5");
        assert_eq!(ParamValue::Count(6).to_toml(), "6");
        let p = Param {
            name: "timeout",
            min: ParamValue::Duration(10_000),
            max: ParamValue::Duration(1_000_000),
            default: ParamValue::Duration(40_000),
        };
        assert_eq!(p.set(&ParamValue::Duration(45_000)), "model.timeout=45ms");
        assert!(p.contains(&ParamValue::Duration(10_000)) && p.contains(&ParamValue::Duration(1_000_000)));
        assert!(!p.contains(&ParamValue::Duration(9_999)));
        assert_eq!(p.help(), "a duration in quotes from 10ms to 1s");
    }
}
