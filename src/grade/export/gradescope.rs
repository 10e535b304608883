//! Gradescope's autograder results.json for one submission: `score`, and
//! `tests` with `name`, `score`, `max_score`, `status`, `output` and
//! `visibility`. The score is the sum of the tests' scores.

use super::{verdict_word, Export};
use crate::grade::fmt_score;
use crate::grade::report::{answer_text, value_text, ClassReport, GradedFile};
use serde_json::json;

pub struct Gradescope;

impl Export for Gradescope {
    fn single(&self, g: &GradedFile) -> Result<String, String> {
        let tests: Vec<serde_json::Value> = g
            .questions
            .iter()
            .map(|q| {
                let mut output = format!("{}\n{}", q.ask, verdict_word(q.score, q.correct));
                if let Some(m) = &q.message {
                    output.push_str(&format!(": {m}"));
                }
                if let Some(e) = &q.expected {
                    output.push_str(&format!("\nyour answer: {}\nexpected: {}", answer_text(&q.answer), value_text(e)));
                }
                json!({
                    "name": format!("[{}] {}", q.number, q.id),
                    "number": q.number.to_string(),
                    "score": q.score,
                    "max_score": q.max_score,
                    "status": if q.correct { "passed" } else { "failed" },
                    "output": output,
                    "visibility": "visible",
                })
            })
            .collect();
        let score = crate::grade::round2(g.questions.iter().map(|q| q.score).sum());
        let out = json!({
            "score": score,
            "output": format!("{}: {}/{}", g.heading(), fmt_score(score), fmt_score(g.max_score)),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        });
        super::json::pretty(&out)
    }

    fn class(&self, _: &ClassReport) -> Result<String, String> {
        Err("Gradescope's results.json holds one submission; grade each with distlab check LAB FILE --format gradescope, or use --format json, csv, junit or table for a class".into())
    }
}

/// The results.json for a submission that could not be graded: no points,
/// and the reason, so the student sees what to fix.
pub fn not_graded(reason: &str) -> String {
    let out = json!({
        "score": 0.0,
        "output": format!("could not grade this submission: {reason}"),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    });
    super::json::pretty(&out).unwrap_or_default()
}
