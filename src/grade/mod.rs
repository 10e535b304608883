//! Grading: answers files, scoring them against a fresh run, and the
//! report formats in [`export`].

pub mod answers;
pub mod export;
pub mod tune;

pub use answers::{template, AnswersFile, LabRef};

use crate::lab::{Injection, Lab};
use crate::questions::{grade_answer, Value, Verdict};

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
    pub seed: u64,
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

/// Re-runs the lab at the answers file's seed and grades every question.
pub fn grade(lab: &Lab, answers: &AnswersFile) -> Result<Grade, String> {
    let seed = answers.seed.unwrap_or(lab.seed);
    let solved = lab.solve(seed, &Injection::default())?;
    let questions = solved
        .answers
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
    Ok(Grade {
        lab: lab.number,
        slug: lab.slug.clone(),
        title: lab.title.clone(),
        seed,
        file: answers.file.clone(),
        questions,
        unknown,
    })
}
