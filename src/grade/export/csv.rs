use super::{verdict_word, Export};
use crate::grade::fmt_score;
use crate::grade::report::{answer_text, value_text, Cell, ClassReport, GradedFile};

pub struct Csv;

fn write(rows: Vec<Vec<String>>) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r).map_err(|e| format!("cannot write CSV: {e}"))?;
    }
    let bytes = w.into_inner().map_err(|e| format!("cannot write CSV: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("cannot write CSV: {e}"))
}

impl Export for Csv {
    /// One row per question.
    fn single(&self, g: &GradedFile) -> Result<String, String> {
        let mut rows =
            vec![["question", "id", "answer", "verdict", "score", "max_score", "expected"].map(String::from).to_vec()];
        for q in &g.questions {
            rows.push(vec![
                q.number.to_string(),
                q.id.clone(),
                answer_text(&q.answer),
                verdict_word(q.score, q.correct).to_string(),
                fmt_score(q.score),
                fmt_score(q.max_score),
                q.expected.as_ref().map(value_text).unwrap_or_default(),
            ]);
        }
        write(rows)
    }

    /// A header row, then one row per student: the id, a score per lab
    /// (`error` or `missing` where none could be given), and the total.
    fn class(&self, r: &ClassReport) -> Result<String, String> {
        let mut head = vec!["student".to_string()];
        head.extend(r.labs.iter().map(|l| l.code.clone()));
        head.push("total".into());
        let mut rows = vec![head];
        for s in &r.students {
            let mut row = vec![s.student.clone()];
            row.extend(s.labs.iter().map(|c| match c {
                Cell::Graded(g) => fmt_score(g.score),
                Cell::Error { .. } => "error".into(),
                Cell::Missing { .. } => "missing".into(),
            }));
            row.push(fmt_score(s.score));
            rows.push(row);
        }
        write(rows)
    }
}
