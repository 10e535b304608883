//! Grading a tune lab: a parameter file is run over the lab's seeds and
//! measured against its goals. Self-contained, so `check` only has to send
//! tune labs here.

use super::LabRef;
use crate::lab::tune::{Goal, Metric, Param, ParamValue, TuneSpec};
use crate::lab::{overrides, resolve_with, Diag, Injection, Lab};
use crate::questions::{Facts, Value};
use crate::sim::time::time_ms;
use crate::sim::{fmt_time, Dur, Time};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Deserialize;
use serde_json::json;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    lab: Spanned<LabRef>,
    params: Spanned<RawParams>,
}

/// Every parameter any tune lab may open; the lab says which it does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    timeout: Option<Spanned<Dur>>,
    backoff: Option<Spanned<f64>>,
    max_retries: Option<Spanned<u32>>,
}

/// A submitted parameter file: `lab = 9` and a `[params]` table.
#[derive(Clone, Debug)]
pub struct ParamsFile {
    pub file: String,
    pub lab: LabRef,
    /// The values given, in the order of the lab's parameters, with where
    /// each was written.
    pub values: Vec<(&'static str, ParamValue, Range<usize>)>,
    text: String,
    lab_span: Range<usize>,
}

/// Larger than any honest parameter file; a guard against feeding in a binary.
const MAX_BYTES: usize = 64 << 10;

impl ParamsFile {
    pub fn read(path: &Path) -> Result<ParamsFile, Diag> {
        let file = path.display().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| Diag::whole_file(&file, format!("cannot read parameter file: {e}")))?;
        if bytes.len() > MAX_BYTES {
            return Err(Diag::whole_file(
                &file,
                format!("parameter file is {} bytes; the limit is {MAX_BYTES}", bytes.len()),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Diag::whole_file(&file, "parameter file is not UTF-8 text (is it the right file?)"))?;
        ParamsFile::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<ParamsFile, Diag> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let d = Diag::from_toml(file, text, &e);
            if d.message.contains("did not match any variant") {
                Diag { message: "`lab` must be the lab's number (9) or slug (\"tune-retry\")".into(), ..d }
            } else if d.message.starts_with("missing key `params`") {
                Diag { message: "missing [params] table: start from distlab run LAB --template".into(), ..d }
            } else {
                d
            }
        })?;
        let p = raw.params.into_inner();
        let mut values = Vec::new();
        if let Some(v) = p.timeout {
            values.push(("timeout", ParamValue::Duration(v.get_ref().0), v.span()));
        }
        if let Some(v) = p.backoff {
            values.push(("backoff", ParamValue::Number(*v.get_ref()), v.span()));
        }
        if let Some(v) = p.max_retries {
            values.push(("max_retries", ParamValue::Count(*v.get_ref()), v.span()));
        }
        Ok(ParamsFile {
            file: file.to_string(),
            lab_span: raw.lab.span(),
            lab: raw.lab.into_inner(),
            values,
            text: text.to_string(),
        })
    }

    fn err(&self, span: &Range<usize>, message: impl Into<String>) -> Diag {
        Diag::at(&self.file, &self.text, Some(span.clone()), message)
    }

    /// Checks that this file is for `lab` and that every value is one the
    /// lab allows. Returns each of the lab's parameters with the value it
    /// gets, and whether the file set it (otherwise the lab's own stays).
    pub fn settings(&self, lab: &Lab, spec: &TuneSpec) -> Result<Vec<Setting>, Diag> {
        let ok = match &self.lab {
            LabRef::Number(n) => *n == lab.number,
            LabRef::Name(s) => {
                let s = s.trim().to_lowercase();
                s == lab.slug || s == lab.code() || s.parse::<u32>().ok() == Some(lab.number)
            }
        };
        if !ok {
            let named = match &self.lab {
                LabRef::Number(n) => format!("lab {n}"),
                LabRef::Name(s) => format!("lab \"{s}\""),
            };
            return Err(self.err(
                &self.lab_span,
                format!(
                    "this parameter file is for {named}, not lab {} {}; check it against its own lab",
                    lab.code(),
                    lab.title
                ),
            ));
        }
        let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        for (name, value, span) in &self.values {
            let Some(p) = spec.param(name) else {
                return Err(self.err(
                    span,
                    format!("lab {} does not let you set `{name}`; it takes {}", lab.code(), names.join(", ")),
                ));
            };
            if !p.contains(value) {
                return Err(self.err(span, format!("{name} = {value} is out of range: use {}", p.help())));
            }
        }
        Ok(spec
            .params
            .iter()
            .map(|p| match self.values.iter().find(|(n, ..)| *n == p.name) {
                Some((_, v, _)) => Setting { param: p.clone(), value: *v, given: true },
                None => Setting { param: p.clone(), value: p.default, given: false },
            })
            .collect())
    }
}

/// One parameter as graded.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub param: Param,
    pub value: ParamValue,
    /// False when the file left it out and the lab's own value stands.
    pub given: bool,
}

/// What one seed's run gives the goals.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedRun {
    pub seed: u64,
    pub transmissions: u64,
    /// Each message's delivery time (first transmission to delivery), in
    /// message order; None when it was never delivered.
    pub latency: Vec<(String, Option<Time>)>,
}

impl SeedRun {
    /// Reads the facts a tune lab's goals need (the lab loader made sure the
    /// model has them).
    pub fn from_facts(seed: u64, facts: &Facts) -> SeedRun {
        let transmissions = match facts.get("total_transmissions") {
            Some(Value::Int(n)) => (*n).max(0) as u64,
            _ => 0,
        };
        let latency = match facts.get("latency") {
            Some(Value::Map(m)) => {
                let mut v: Vec<(String, Option<Time>)> =
                    m.iter().map(|(k, v)| (k.clone(), v.as_f64().map(|ms| (ms * 1000.0).round() as Time))).collect();
                // m2 before m10.
                v.sort_by_key(|(k, _)| (k.len(), k.clone()));
                v
            }
            _ => Vec::new(),
        };
        SeedRun { seed, transmissions, latency }
    }

    pub fn undelivered(&self) -> Vec<&str> {
        self.latency.iter().filter(|(_, t)| t.is_none()).map(|(m, _)| m.as_str()).collect()
    }

    /// The slowest message: never delivered counts as slowest of all.
    pub fn slowest(&self) -> Option<(&str, Option<Time>)> {
        self.latency.iter().max_by_key(|(_, t)| t.unwrap_or(Time::MAX)).map(|(m, t)| (m.as_str(), *t))
    }

    /// What the goals measure, for this one run: (what, value) pairs.
    pub fn measures(&self) -> Vec<(&'static str, String)> {
        let n = self.latency.len();
        let lost = self.undelivered();
        let mut delivered = format!("{} of {n}", n - lost.len());
        if !lost.is_empty() {
            delivered.push_str(&format!(" (never: {})", lost.join(", ")));
        }
        let times: Vec<Option<Time>> = self.latency.iter().map(|(_, t)| *t).collect();
        let slowest = match self.slowest() {
            Some((m, Some(t))) => format!("{m}: {}", fmt_time(t)),
            Some((m, None)) => format!("{m}: never delivered"),
            None => "-".into(),
        };
        let p99 = nearest_rank(&times, 99).map_or("-".into(), |t| Measured::Time(t).text());
        vec![
            ("messages delivered", delivered),
            ("data transmissions", self.transmissions.to_string()),
            ("99th-percentile delivery time", p99),
            ("slowest message", slowest),
        ]
    }
}

/// The nearest-rank percentile: the smallest value with at least p% of the
/// values at or below it, i.e. the ⌈p·n/100⌉-th smallest. None sorts last
/// (never delivered), and an empty list has none.
pub fn nearest_rank(values: &[Option<Time>], p: u32) -> Option<Option<Time>> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<Time> = values.iter().map(|t| t.unwrap_or(Time::MAX)).collect();
    v.sort_unstable();
    let rank = (u64::from(p) * v.len() as u64).div_ceil(100).max(1) as usize;
    let t = v[rank.min(v.len()) - 1];
    Some(if t == Time::MAX { None } else { Some(t) })
}

#[derive(Clone, Debug, PartialEq)]
pub enum Measured {
    Delivered {
        delivered: u64,
        messages: u64,
    },
    Transmissions(u64),
    /// None: the percentile falls on a message never delivered.
    Time(Option<Time>),
}

impl Measured {
    pub fn text(&self) -> String {
        match self {
            Measured::Delivered { delivered, messages } => format!("{delivered} of {messages}"),
            Measured::Transmissions(n) => n.to_string(),
            Measured::Time(Some(t)) => fmt_time(*t),
            Measured::Time(None) => "never delivered".into(),
        }
    }
}

/// The seed that did worst on a goal, and how to watch it.
#[derive(Clone, Debug, PartialEq)]
pub struct Worst {
    pub seed: u64,
    pub what: String,
    pub command: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GoalResult {
    pub number: usize,
    pub goal: Goal,
    pub measured: Measured,
    pub passed: bool,
    /// Only for a goal not met.
    pub worst: Option<Worst>,
}

impl GoalResult {
    pub fn points(&self) -> u32 {
        if self.passed {
            self.goal.points
        } else {
            0
        }
    }
}

#[derive(Clone, Debug)]
pub struct TuneReport {
    pub lab: u32,
    pub slug: String,
    pub file: String,
    pub seeds: std::ops::RangeInclusive<u64>,
    pub settings: Vec<Setting>,
    pub goals: Vec<GoalResult>,
}

impl TuneReport {
    pub fn score(&self) -> u32 {
        self.goals.iter().map(GoalResult::points).sum()
    }

    pub fn max_score(&self) -> u32 {
        self.goals.iter().map(|g| g.goal.points).sum()
    }

    pub fn passed(&self) -> bool {
        self.goals.iter().all(|g| g.passed)
    }

    fn settings_line(&self) -> String {
        let parts: Vec<String> = self
            .settings
            .iter()
            .map(|s| {
                let own = if s.given { "" } else { " (the lab's own)" };
                format!("{}={}{own}", s.param.name, s.value)
            })
            .collect();
        parts.join(" ")
    }

    /// The comfy-table report `check` prints.
    pub fn table(&self) -> String {
        let mut t = Table::new();
        // A fixed width: the report must not depend on the terminal.
        t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(100);
        t.set_header(vec!["#", "goal", "target", "measured", "result", "points"]);
        for g in &self.goals {
            t.add_row(vec![
                g.number.to_string(),
                g.goal.describe(),
                g.goal.target(),
                g.measured.text(),
                if g.passed { "✓ met" } else { "✗ not met" }.to_string(),
                format!("{}/{}", g.points(), g.goal.points),
            ]);
        }
        let mut s = format!(
            "lab {:02} {}, {}: {} seeds ({} to {})\nparameters: {}\n",
            self.lab,
            self.slug,
            self.file,
            self.seeds.end() - self.seeds.start() + 1,
            self.seeds.start(),
            self.seeds.end(),
            self.settings_line()
        );
        s.push_str(&t.to_string());
        s.push('\n');
        let failed: Vec<&GoalResult> = self.goals.iter().filter(|g| !g.passed).collect();
        if !failed.is_empty() {
            s.push_str("The worst seed of each goal not met, and how to watch it:\n");
            for g in &failed {
                if let Some(w) = &g.worst {
                    s.push_str(&format!("  [{}] seed {}: {}\n      {}\n", g.number, w.seed, w.what, w.command));
                }
            }
        }
        let verdict = match failed.len() {
            0 => "every goal met".to_string(),
            1 => "not yet: 1 goal not met".to_string(),
            n => format!("not yet: {n} goals not met"),
        };
        s.push_str(&format!("score {}/{}, {verdict}\n", self.score(), self.max_score()));
        s
    }

    /// The same report for tools.
    pub fn json(&self) -> String {
        let params: serde_json::Map<String, serde_json::Value> = self
            .settings
            .iter()
            .map(|s| {
                let v = match s.value {
                    ParamValue::Duration(_) => json!(s.value.to_string()),
                    ParamValue::Number(x) => json!(x),
                    ParamValue::Count(n) => json!(n),
                };
                (s.param.name.to_string(), v)
            })
            .collect();
        let goals: Vec<serde_json::Value> = self
            .goals
            .iter()
            .map(|g| {
                let (value, limit, unit) = match (&g.measured, &g.goal.metric) {
                    (Measured::Delivered { delivered, messages }, _) => (json!(delivered), json!(messages), "messages"),
                    (Measured::Transmissions(n), Metric::Transmissions { max }) => {
                        (json!(n), json!(max), "transmissions")
                    }
                    (Measured::Time(t), Metric::DeliveryTime { max, .. }) => {
                        (json!(t.map(time_ms)), json!(time_ms(*max)), "ms")
                    }
                    _ => (json!(null), json!(null), ""),
                };
                let mut o = json!({
                    "id": g.goal.id(),
                    "goal": g.goal.describe(),
                    "target": g.goal.target(),
                    "measured": g.measured.text(),
                    "value": value,
                    "limit": limit,
                    "unit": unit,
                    "passed": g.passed,
                    "points": g.points(),
                    "max_points": g.goal.points,
                });
                if let Some(w) = &g.worst {
                    o["worst"] = json!({"seed": w.seed, "what": w.what, "command": w.command});
                }
                o
            })
            .collect();
        let out = json!({
            "lab": self.lab,
            "slug": self.slug,
            "kind": "tune",
            "file": self.file,
            "seeds": {"first": self.seeds.start(), "last": self.seeds.end()},
            "params": params,
            "score": self.score(),
            "max_score": self.max_score(),
            "passed": self.passed(),
            "goals": goals,
        });
        let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Runs `lab` (already carrying the submission's parameters) at every seed
/// of its tune spec.
pub fn run_seeds(lab: &Lab, spec: &TuneSpec) -> Vec<SeedRun> {
    spec.seed_range(lab.seed)
        .map(|seed| {
            let out = crate::models::run(&lab.scenario(seed, &Injection::default()));
            SeedRun::from_facts(seed, &out.facts)
        })
        .collect()
}

/// Measures every goal over the runs. `watch` turns a seed into the command
/// that shows it.
pub fn measure(spec: &TuneSpec, runs: &[SeedRun], watch: &dyn Fn(u64) -> String) -> Vec<GoalResult> {
    // Ties go to the lowest seed: max_by_key keeps the last maximum, so
    // compare on the reversed seed as well.
    let worst_by = |key: &dyn Fn(&SeedRun) -> u64| runs.iter().max_by_key(|r| (key(r), std::cmp::Reverse(r.seed)));
    spec.goals
        .iter()
        .enumerate()
        .map(|(i, goal)| {
            let (measured, passed, worst) = match goal.metric {
                Metric::Delivered => {
                    let messages: u64 = runs.iter().map(|r| r.latency.len() as u64).sum();
                    let lost: u64 = runs.iter().map(|r| r.undelivered().len() as u64).sum();
                    let worst = worst_by(&|r| r.undelivered().len() as u64).map(|r| {
                        let lost = r.undelivered();
                        (
                            r.seed,
                            format!(
                                "{} of {} delivered; never: {}",
                                r.latency.len() - lost.len(),
                                r.latency.len(),
                                lost.join(", ")
                            ),
                        )
                    });
                    (Measured::Delivered { delivered: messages - lost, messages }, lost == 0, worst)
                }
                Metric::Transmissions { max } => {
                    let total: u64 = runs.iter().map(|r| r.transmissions).sum();
                    let worst = worst_by(&|r| r.transmissions).map(|r| {
                        (r.seed, format!("{} transmissions for {} messages", r.transmissions, r.latency.len()))
                    });
                    (Measured::Transmissions(total), total <= max, worst)
                }
                Metric::DeliveryTime { percentile, max } => {
                    let all: Vec<Option<Time>> = runs.iter().flat_map(|r| r.latency.iter().map(|(_, t)| *t)).collect();
                    let p = nearest_rank(&all, percentile).flatten();
                    let worst = worst_by(&|r| r.slowest().map_or(0, |(_, t)| t.unwrap_or(Time::MAX))).map(|r| {
                        let what = match r.slowest() {
                            Some((m, Some(t))) => format!("{m} took {}", fmt_time(t)),
                            Some((m, None)) => format!("{m} was never delivered"),
                            None => "no messages".to_string(),
                        };
                        (r.seed, what)
                    });
                    (Measured::Time(p), p.is_some_and(|t| t <= max), worst)
                }
            };
            let worst =
                if passed { None } else { worst.map(|(seed, what)| Worst { seed, what, command: watch(seed) }) };
            GoalResult { number: i + 1, goal: goal.clone(), measured, passed, worst }
        })
        .collect()
}

/// The tuned parameter a `--set` override names, if it names one.
fn tuned_param<'a>(spec: &'a TuneSpec, set: &str) -> Option<&'a str> {
    let (key, _) = overrides::split(set).ok()?;
    match key.as_slice() {
        [model, name] if model == "model" => spec.param(name).map(|p| p.name),
        _ => None,
    }
}

/// `distlab check LAB PARAMS.toml` for a tune lab. `lab` is the lab as the
/// command line named it (`spec`, with its `--set` overrides applied).
pub fn check(lab: &Lab, spec: &str, path: &Path) -> Result<TuneReport, Diag> {
    let Some(tune) = &lab.tune else {
        return Err(Diag::whole_file(&lab.file, "this lab is not a tune lab; check an answers file against it"));
    };
    let file = ParamsFile::read(path)?;
    let settings = file.settings(lab, tune)?;
    if let Some((o, name)) = lab.overrides.iter().find_map(|o| tuned_param(tune, o).map(|n| (o, n))) {
        return Err(Diag::whole_file(
            &format!("--set {o}"),
            format!("in a tune lab, {name} comes from the parameter file; set it there"),
        ));
    }
    let mut sets = lab.overrides.clone();
    sets.extend(settings.iter().filter(|s| s.given).map(|s| s.param.set(&s.value)));
    let tuned = resolve_with(spec, &sets)?;
    let runs = run_seeds(&tuned, tune);
    let base = format!("distlab run {}", tuned.cli_name_with_overrides());
    let goals = measure(tune, &runs, &|seed| format!("{base} --seed {seed}"));
    Ok(TuneReport {
        lab: lab.number,
        slug: lab.slug.clone(),
        file: file.file,
        seeds: tune.seed_range(lab.seed),
        settings,
        goals,
    })
}

/// The parameter-file skeleton `run LAB --template` prints for a tune lab,
/// filled in with the lab's own values so it checks as it stands.
pub fn template(lab: &Lab, spec: &TuneSpec) -> String {
    let seeds = spec.seed_range(lab.seed);
    let mut s = format!(
        "# Parameters for lab {} ({}).\n# Set them, then run: distlab check {} params.toml\n",
        lab.code(),
        lab.title,
        lab.cli_name()
    );
    // Overrides of the tuned parameters are already the values below; check
    // needs only the others.
    let others: Vec<&String> = lab.overrides.iter().filter(|o| tuned_param(spec, o).is_none()).collect();
    if !others.is_empty() {
        let sets: Vec<String> = others.iter().map(|o| format!("--set {o}")).collect();
        s.push_str(&format!("# (this lab was changed with {}: give check the same)\n", sets.join(" ")));
    }
    s.push_str(&format!(
        "# check runs the lab with them at seeds {} to {} and grades these goals:\n",
        seeds.start(),
        seeds.end()
    ));
    for (i, g) in spec.goals.iter().enumerate() {
        let pts = if g.points == 1 { "1 pt".to_string() } else { format!("{} pts", g.points) };
        let line = crate::render::wrap(&format!("[{}] {} ({pts})", i + 1, g.explain()), "#       ");
        s.push_str(&format!("#   {}", line.trim_start_matches('#').trim_start()));
    }
    s.push_str(&format!("lab = {}\n\n[params]\n", lab.number));
    for p in &spec.params {
        s.push_str(&format!("# {}: {}\n", p.about(), p.help()));
        s.push_str(&format!("{} = {}\n", p.name, p.default.to_toml()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_takes_the_ceiling_rank_and_counts_undelivered_as_slowest() {
        let v: Vec<Option<Time>> = (1..=100).map(Some).collect();
        assert_eq!(nearest_rank(&v, 99), Some(Some(99)));
        assert_eq!(nearest_rank(&v, 100), Some(Some(100)));
        assert_eq!(nearest_rank(&v, 1), Some(Some(1)));
        // 5 values: the 99th percentile is rank ⌈4.95⌉ = 5, the median rank 3.
        let few = [Some(30), Some(10), Some(50), Some(20), Some(40)];
        assert_eq!(nearest_rank(&few, 99), Some(Some(50)));
        assert_eq!(nearest_rank(&few, 50), Some(Some(30)));
        assert_eq!(nearest_rank(&few, 80), Some(Some(40)));
        let lost = [Some(1), None, Some(2)];
        assert_eq!(nearest_rank(&lost, 99), Some(None));
        assert_eq!(nearest_rank(&lost, 60), Some(Some(2)));
        assert_eq!(nearest_rank(&[], 99), None);
    }

    #[test]
    fn parameter_files_report_bad_keys_and_values_where_they_are() {
        let e = ParamsFile::parse("lab = 9\n[params]\ntimout = \"40ms\"\n", "p.toml").unwrap_err();
        assert_eq!(e.to_string(), "p.toml:3:1: unknown key `timout` in [params]; did you mean `timeout`? (accepted: timeout, backoff, max_retries)");
        let e = ParamsFile::parse("lab = 9\n[params]\ntimeout = 40\n", "p.toml").unwrap_err();
        assert!(e.to_string().starts_with("p.toml:3:11: duration 40 has no unit"), "{e}");
        let e = ParamsFile::parse("lab = 9\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("missing [params] table"), "{e}");
        let f = ParamsFile::parse("lab = 9\n[params]\nmax_retries = 4\nbackoff = 2\n", "p.toml").unwrap();
        let names: Vec<&str> = f.values.iter().map(|(n, ..)| *n).collect();
        assert_eq!(names, ["backoff", "max_retries"]);
        assert_eq!(f.values[0].1, ParamValue::Number(2.0));
    }
}
