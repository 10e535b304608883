//! Grading: answers files, scoring them against a fresh run, a whole class
//! at once ([`batch`]), the report model ([`report`]) and its formats in
//! [`export`].

pub mod answers;
pub mod batch;
pub mod export;
pub mod report;
pub mod tune;

pub use answers::{student_template, template, AnswersFile, LabRef};

use crate::lab::variant::Variant;
use crate::lab::{Injection, Lab};
use crate::questions::{grade_answer, Question, Value, Verdict};
use serde::{Deserialize, Serialize};

/// Whether expected answers may appear in a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Reveal {
    /// Never: scores and verdicts only.
    Never,
    /// For wrong answers only.
    Wrong,
    /// For every answer.
    All,
}

impl Reveal {
    pub fn shows(self, correct: bool) -> bool {
        match self {
            Reveal::Never => false,
            Reveal::Wrong => !correct,
            Reveal::All => true,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Reveal::Never => "never",
            Reveal::Wrong => "wrong",
            Reveal::All => "all",
        }
    }
}

/// Which run an answers file is graded against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// A seed the student may know (their own, or the lab's).
    Seed(u64),
    /// An instructor-issued variant: its seed is never shown.
    Variant(Variant),
}

impl At {
    pub fn seed(&self) -> u64 {
        match self {
            At::Seed(s) => *s,
            At::Variant(v) => v.seed,
        }
    }
}

#[derive(Clone, Debug)]
pub struct QuestionGrade {
    pub number: usize,
    pub id: String,
    pub ask: String,
    pub answer: Option<toml::Value>,
    pub expected: Value,
    pub verdict: Verdict,
}

#[derive(Clone, Debug)]
pub struct Grade {
    pub lab: u32,
    pub slug: String,
    pub title: String,
    pub at: At,
    pub file: String,
    pub questions: Vec<QuestionGrade>,
    /// Answer keys that match no question: reported, never fatal.
    pub unknown: Vec<String>,
}

impl Grade {
    pub fn score(&self) -> f64 {
        self.questions.iter().map(|q| q.verdict.score).sum()
    }

    pub fn max_score(&self) -> f64 {
        self.questions.iter().map(|q| q.verdict.max_score).sum()
    }

    pub fn full_marks(&self) -> bool {
        self.questions.iter().all(|q| q.verdict.correct)
    }

    pub fn wrong(&self) -> usize {
        self.questions.iter().filter(|q| !q.verdict.correct).count()
    }
}

/// A score as people write it: `5`, or `4.5` when partial credit made it so.
pub fn fmt_score(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.2}").trim_end_matches('0').to_string()
    }
}

/// Rounds to hundredths, the precision of every score, so sums of partial
/// credit print and compare the same everywhere.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Re-runs the lab at the answers file's seed (or the lab's) and grades every
/// question. A student variant needs the course secret: use [`grade_at`].
pub fn grade(lab: &Lab, answers: &AnswersFile) -> Result<Grade, String> {
    if let Some(s) = &answers.student {
        return Err(format!(
            "{}: this answers file is student {s}'s variant; grade it with distlab check, which derives the variant",
            answers.file
        ));
    }
    grade_at(lab, answers, &At::Seed(answers.seed.unwrap_or(lab.seed)))
}

/// Re-runs the lab at `at` and grades every question.
pub fn grade_at(lab: &Lab, answers: &AnswersFile, at: &At) -> Result<Grade, String> {
    let with_set = under_its_overrides(lab, answers)?;
    let lab = with_set.as_ref().unwrap_or(lab);
    let solved = lab.solve(at.seed(), &Injection::default())?;
    Ok(score(lab, answers, at, &solved.answers))
}

/// The lab as the answers file says it was run: with its `set = [...]`
/// overrides added to the lab's own. None when there is nothing to add.
pub fn under_its_overrides(lab: &Lab, answers: &AnswersFile) -> Result<Option<Lab>, String> {
    let extra: Vec<&String> = answers.set.iter().filter(|o| !lab.overrides.contains(o)).collect();
    if extra.is_empty() {
        return Ok(None);
    }
    let all: Vec<String> = lab.overrides.iter().cloned().chain(extra.into_iter().cloned()).collect();
    let mut with =
        crate::lab::overrides::load_with(&lab.source, &lab.file, &all).map_err(|d| format!("{}: {d}", answers.file))?;
    with.builtin = lab.builtin;
    Ok(Some(with))
}

/// Grades `answers` against expected answers already computed for `at`.
pub fn score(lab: &Lab, answers: &AnswersFile, at: &At, expected: &[(Question, Value)]) -> Grade {
    let questions = expected
        .iter()
        .enumerate()
        .map(|(i, (q, expected))| {
            let answer = answers.answers.get(&q.id).cloned();
            let verdict = grade_answer(q, expected, answer.as_ref());
            QuestionGrade {
                number: i + 1,
                id: q.id.clone(),
                ask: q.ask.clone(),
                answer,
                expected: expected.clone(),
                verdict,
            }
        })
        .collect();
    let unknown = answers.answers.keys().filter(|k| !lab.questions.iter().any(|q| &q.id == *k)).cloned().collect();
    Grade {
        lab: lab.number,
        slug: lab.slug.clone(),
        title: lab.title.clone(),
        at: at.clone(),
        file: answers.file.clone(),
        questions,
        unknown,
    }
}
