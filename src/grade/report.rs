//! The report model every format renders: one graded answers file, or a
//! class of students × labs. It is what `--format json` writes and what
//! `check --merge` reads back, so a merged report renders exactly as the
//! unsharded one would. The reveal policy is applied when a report is built:
//! an expected answer the policy hides is not in the report at all.

use super::{fmt_score, round2, At, Grade, Reveal};
use crate::lab::Lab;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionResult {
    pub number: usize,
    pub id: String,
    pub ask: String,
    /// What the student wrote; null when they wrote nothing.
    pub answer: Json,
    /// Present only when the reveal policy allows; null means "none".
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub expected: Option<Json>,
    pub score: f64,
    pub max_score: f64,
    pub correct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A key that is present is `Some`, even when its value is null.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

/// One graded answers file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradedFile {
    pub lab: u32,
    pub slug: String,
    pub title: String,
    pub file: String,
    /// The seed, unless this is a student variant, whose seed stays secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub score: f64,
    pub max_score: f64,
    pub full_marks: bool,
    pub questions: Vec<QuestionResult>,
    pub ignored_keys: Vec<String>,
}

impl GradedFile {
    pub fn new(g: &Grade, reveal: Reveal) -> GradedFile {
        let questions = g
            .questions
            .iter()
            .map(|q| QuestionResult {
                number: q.number,
                id: q.id.clone(),
                ask: q.ask.clone(),
                answer: q.answer.as_ref().map_or(Json::Null, toml_to_json),
                expected: reveal
                    .shows(q.verdict.correct)
                    .then(|| serde_json::to_value(&q.expected).unwrap_or(Json::Null)),
                score: q.verdict.score,
                max_score: q.verdict.max_score,
                correct: q.verdict.correct,
                message: q.verdict.message.clone(),
            })
            .collect();
        let (seed, student, variant) = match &g.at {
            At::Seed(s) => (Some(*s), None, None),
            At::Variant(v) => (None, Some(v.student.clone()), Some(v.code.clone())),
        };
        GradedFile {
            lab: g.lab,
            slug: g.slug.clone(),
            title: g.title.clone(),
            file: g.file.clone(),
            seed,
            student,
            variant,
            score: round2(g.score()),
            max_score: round2(g.max_score()),
            full_marks: g.full_marks(),
            questions,
            ignored_keys: g.unknown.clone(),
        }
    }

    /// `lab 02 retry, seed 1` or `lab 02 retry, variant 485z41hm (student jdoe)`.
    pub fn heading(&self) -> String {
        let at = match (&self.variant, &self.student, self.seed) {
            (Some(code), Some(s), _) => format!("variant {code} (student {s})"),
            (_, _, Some(seed)) => format!("seed {seed}"),
            _ => String::new(),
        };
        format!("lab {:02} {}, {at}", self.lab, self.slug)
    }

    pub fn code(&self) -> String {
        format!("{:02}-{}", self.lab, self.slug)
    }

    pub fn wrong(&self) -> usize {
        self.questions.iter().filter(|q| !q.correct).count()
    }

    /// The same report under a stricter policy.
    pub fn restrict(&mut self, reveal: Reveal) {
        for q in &mut self.questions {
            if !reveal.shows(q.correct) {
                q.expected = None;
            }
        }
    }
}

/// A TOML answer as JSON. TOML's dates become text; a NaN (which JSON cannot
/// hold) becomes null.
pub fn toml_to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Json::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

/// How a submitted answer reads in a report: `-` for none.
pub fn answer_text(a: &Json) -> String {
    match a {
        Json::Null => "-".into(),
        Json::String(s) if s.trim().is_empty() => "-".into(),
        other => value_text(other),
    }
}

/// How an expected value reads, as the solved sheet prints it.
pub fn value_text(v: &Json) -> String {
    match v {
        Json::Null => "none".into(),
        Json::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Json::String(s) => s.clone(),
        Json::Array(items) if items.is_empty() => "(none)".into(),
        Json::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Json::Object(m) => m.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect::<Vec<_>>().join(", "),
    }
}

/// A lab column of a class report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabInfo {
    pub lab: u32,
    pub code: String,
    pub title: String,
    pub max_score: f64,
}

impl LabInfo {
    pub fn new(lab: &Lab) -> LabInfo {
        LabInfo {
            lab: lab.number,
            code: lab.code(),
            title: lab.title.clone(),
            max_score: match &lab.tune {
                Some(t) => f64::from(t.max_points()),
                None => round2(lab.questions.iter().map(|q| f64::from(q.points)).sum()),
            },
        }
    }
}

/// One student's result for one lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Cell {
    Graded(GradedFile),
    /// The answers file could not be graded; the reason names the file.
    Error {
        lab: u32,
        file: String,
        reason: String,
    },
    /// No answers file for this lab.
    Missing {
        lab: u32,
        reason: String,
    },
}

impl Cell {
    pub fn lab(&self) -> u32 {
        match self {
            Cell::Graded(g) => g.lab,
            Cell::Error { lab, .. } | Cell::Missing { lab, .. } => *lab,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Cell::Graded(_) => None,
            Cell::Error { reason, .. } | Cell::Missing { reason, .. } => Some(reason),
        }
    }
}

/// A file in a student's folder that belongs to no lab column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub file: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudentResult {
    pub student: String,
    pub score: f64,
    pub max_score: f64,
    /// One cell per lab column, in column order.
    pub labs: Vec<Cell>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_problems: Vec<Problem>,
}

impl StudentResult {
    pub fn errors(&self) -> usize {
        self.labs.iter().filter(|c| !matches!(c, Cell::Graded(_))).count() + self.other_problems.len()
    }
}

/// Which slice of a class a report covers: `--shard K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `K/N`, with 1 ≤ K ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let help = "write K/N, the K-th of N slices, such as 2/3";
        let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not a shard: {help}"))?;
        let (k, n): (usize, usize) = match (k.trim().parse(), n.trim().parse()) {
            (Ok(k), Ok(n)) => (k, n),
            _ => return Err(format!("`{s}` is not a shard: {help}")),
        };
        if n == 0 || k == 0 || k > n {
            return Err(format!("shard {k}/{n} does not exist: K runs from 1 to N ({help})"));
        }
        Ok(Shard { index: k, count: n })
    }

    /// Students are dealt round-robin in sorted order: the i-th (from 0) goes
    /// to shard i mod N + 1.
    pub fn takes(&self, i: usize) -> bool {
        i % self.count + 1 == self.index
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub students: usize,
    pub submissions: usize,
    pub graded: usize,
    pub could_not_grade: usize,
}

/// A class graded: students × labs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub distlab: String,
    pub reveal: Reveal,
    /// True when the columns were given with `--labs`; otherwise they are
    /// every lab some answers file in the class named.
    pub labs_given: bool,
    pub labs: Vec<LabInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub students: Vec<StudentResult>,
    pub summary: Summary,
}

/// A student's cells before the columns are known: what their files gave.
#[derive(Clone, Debug, Default)]
pub struct Submissions {
    pub student: String,
    pub cells: Vec<Cell>,
    pub problems: Vec<Problem>,
}

impl ClassReport {
    /// Lays out the matrix: columns (given, or every lab a cell names),
    /// one cell per column per student (missing where they had no file),
    /// totals and the summary. Students are sorted by id.
    pub fn assemble(
        reveal: Reveal,
        given: Option<Vec<LabInfo>>,
        known: &BTreeMap<u32, LabInfo>,
        shard: Option<Shard>,
        mut students: Vec<Submissions>,
    ) -> ClassReport {
        let labs_given = given.is_some();
        let mut labs: Vec<LabInfo> = match given {
            Some(g) => g,
            None => {
                let used: BTreeSet<u32> = students.iter().flat_map(|s| s.cells.iter().map(Cell::lab)).collect();
                used.iter().filter_map(|n| known.get(n).cloned()).collect()
            }
        };
        labs.sort_by_key(|l| l.lab);
        students.sort_by(|a, b| a.student.cmp(&b.student));
        let mut summary = Summary { students: students.len(), submissions: 0, graded: 0, could_not_grade: 0 };
        let rows = students
            .into_iter()
            .map(|s| {
                let mut cells: BTreeMap<u32, Cell> = BTreeMap::new();
                for c in s.cells {
                    if !matches!(c, Cell::Missing { .. }) {
                        cells.insert(c.lab(), c);
                    }
                }
                let row: Vec<Cell> = labs
                    .iter()
                    .map(|l| {
                        cells.remove(&l.lab).unwrap_or_else(|| Cell::Missing {
                            lab: l.lab,
                            reason: format!("{}: no answers file for lab {}", s.student, l.code),
                        })
                    })
                    .collect();
                let score =
                    round2(row.iter().map(|c| if let Cell::Graded(g) = c { g.score } else { 0.0 }).sum::<f64>());
                let max_score = round2(labs.iter().map(|l| l.max_score).sum::<f64>());
                let r = StudentResult { student: s.student, score, max_score, labs: row, other_problems: s.problems };
                summary.submissions += r.labs.len() + r.other_problems.len();
                summary.graded += r.labs.iter().filter(|c| matches!(c, Cell::Graded(_))).count();
                summary.could_not_grade += r.errors();
                r
            })
            .collect();
        ClassReport {
            distlab: env!("CARGO_PKG_VERSION").to_string(),
            reveal,
            labs_given,
            labs,
            shard,
            students: rows,
            summary,
        }
    }

    /// True when every submission was graded (whatever the scores).
    pub fn all_graded(&self) -> bool {
        self.summary.could_not_grade == 0
    }

    /// Joins the JSON reports of `--shard 1/N` … `N/N` (or re-renders one
    /// whole report) under `reveal`, which may be no more than the reports
    /// were made with. The result is the report the unsharded run makes.
    pub fn merge(parts: Vec<(String, ClassReport)>, reveal: Reveal) -> Result<ClassReport, String> {
        let Some((first_name, first)) = parts.first() else {
            return Err("--merge needs at least one report".into());
        };
        let (labs_given, count) = (first.labs_given, first.shard.map(|s| s.count));
        let mut seen_shards = BTreeSet::new();
        let mut known: BTreeMap<u32, LabInfo> = BTreeMap::new();
        let mut given: Option<Vec<LabInfo>> = None;
        let mut students: Vec<Submissions> = Vec::new();
        let mut ids = BTreeSet::new();
        for (name, r) in &parts {
            if r.distlab != first.distlab {
                return Err(format!(
                    "{name} was made by distlab {}, {first_name} by {}: merge reports of one version",
                    r.distlab, first.distlab
                ));
            }
            if reveal > r.reveal {
                return Err(format!(
                    "{name} was made with --reveal {}, so it holds no expected answers for --reveal {}; merge with --reveal {} or grade again",
                    r.reveal.name(),
                    reveal.name(),
                    r.reveal.name()
                ));
            }
            if r.labs_given != labs_given {
                return Err(format!("{name} and {first_name} were graded with different --labs"));
            }
            if labs_given {
                match &given {
                    None => given = Some(r.labs.clone()),
                    Some(g) if *g != r.labs => {
                        return Err(format!("{name} and {first_name} were graded with different --labs"))
                    }
                    Some(_) => {}
                }
            }
            match (r.shard, count) {
                (Some(s), Some(n)) if s.count == n => {
                    if !seen_shards.insert(s.index) {
                        return Err(format!("{name}: shard {}/{n} is given twice", s.index));
                    }
                }
                (None, None) if parts.len() == 1 => {}
                (None, None) => {
                    return Err(format!("{name} is a whole report, not a shard: merge the shards of one run"))
                }
                _ => return Err(format!("{name} and {first_name} are not shards of one run (--shard K/N with one N)")),
            }
            for l in &r.labs {
                if let Some(k) = known.get(&l.lab) {
                    if k != l {
                        return Err(format!("{name}: lab {} differs from the other reports' ({})", l.code, k.code));
                    }
                }
                known.insert(l.lab, l.clone());
            }
            for s in &r.students {
                if !ids.insert(s.student.clone()) {
                    return Err(format!("{name}: student {} is in more than one report", s.student));
                }
                let mut cells = s.labs.clone();
                for c in &mut cells {
                    if let Cell::Graded(g) = c {
                        g.restrict(reveal);
                    }
                }
                students.push(Submissions { student: s.student.clone(), cells, problems: s.other_problems.clone() });
            }
        }
        if let Some(n) = count {
            let missing: Vec<String> =
                (1..=n).filter(|k| !seen_shards.contains(k)).map(|k| format!("{k}/{n}")).collect();
            if !missing.is_empty() {
                return Err(format!("shard {} is missing: merge every shard of the run", missing.join(", ")));
            }
        }
        Ok(ClassReport::assemble(reveal, given, &known, None, students))
    }

    /// `18/21` for a student.
    pub fn total_text(s: &StudentResult) -> String {
        format!("{}/{}", fmt_score(s.score), fmt_score(s.max_score))
    }
}
