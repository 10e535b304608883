use super::Export;
use crate::grade::Grade;
use serde_json::json;

pub struct Json;

impl Export for Json {
    fn render(&self, g: &Grade, reveal: bool) -> String {
        let questions: Vec<serde_json::Value> = g
            .questions
            .iter()
            .map(|q| {
                let mut o = json!({
                    "id": q.id,
                    "score": q.verdict.score,
                    "max_score": q.verdict.max_score,
                    "correct": q.verdict.correct,
                    "answer": q.answer.as_ref().map(|a| serde_json::to_value(a).unwrap_or_default()),
                });
                if let Some(m) = &q.verdict.message {
                    o["message"] = json!(m);
                }
                if reveal {
                    o["expected"] = serde_json::to_value(&q.expected).unwrap_or_default();
                }
                o
            })
            .collect();
        let out = json!({
            "lab": g.lab,
            "slug": g.slug,
            "seed": g.seed,
            "file": g.file,
            "score": g.score(),
            "max_score": g.max_score(),
            "full_marks": g.full_marks(),
            "questions": questions,
            "ignored_keys": g.unknown,
        });
        let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
        s.push('\n');
        s
    }
}
