use super::Export;
use crate::grade::fmt_score;
use crate::grade::report::{answer_text, value_text, Cell, ClassReport, GradedFile};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table as Comfy};

pub struct Table;

/// A table of fixed width: a report must not depend on the terminal.
fn comfy(width: u16) -> Comfy {
    let mut t = Comfy::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(width);
    t
}

impl Export for Table {
    fn single(&self, g: &GradedFile) -> Result<String, String> {
        let mut t = comfy(100);
        t.set_header(vec!["#", "question", "yours", "verdict", "points"]);
        for q in &g.questions {
            let mark = if q.correct {
                "✓"
            } else if q.score > 0.0 {
                "partly"
            } else {
                "✗"
            };
            let mut notes: Vec<String> = q.message.iter().cloned().collect();
            if let (false, Some(e)) = (q.correct, &q.expected) {
                notes.push(format!("right answer: {}", value_text(e)));
            }
            let verdict = if notes.is_empty() { mark.to_string() } else { format!("{mark} {}", notes.join("; ")) };
            t.add_row(vec![
                q.number.to_string(),
                format!("{}: {}", q.id, q.ask),
                answer_text(&q.answer),
                verdict,
                format!("{}/{}", fmt_score(q.score), fmt_score(q.max_score)),
            ]);
        }
        let mut s = format!("{}, {}\n", g.heading(), g.file);
        s.push_str(&t.to_string());
        s.push('\n');
        for k in &g.ignored_keys {
            s.push_str(&format!("note: `{k}` matches no question of this lab and was ignored\n"));
        }
        let wrong = g.wrong();
        let verdict = if wrong == 0 {
            "full marks".to_string()
        } else {
            format!("not yet: {wrong} answer{} not right", if wrong == 1 { "" } else { "s" })
        };
        s.push_str(&format!("score {}/{}, {verdict}\n", fmt_score(g.score), fmt_score(g.max_score)));
        Ok(s)
    }

    fn class(&self, r: &ClassReport) -> Result<String, String> {
        let problems = r.students.iter().any(|s| s.errors() > 0);
        let mut t = comfy(120);
        let mut head = vec!["student".to_string()];
        head.extend(r.labs.iter().map(|l| format!("{:02}", l.lab)));
        head.push("total".into());
        if problems {
            head.push("could not grade".into());
        }
        t.set_header(head);
        for s in &r.students {
            let mut row = vec![s.student.clone()];
            let mut notes = Vec::new();
            for c in &s.labs {
                row.push(match c {
                    Cell::Graded(g) => format!("{}/{}", fmt_score(g.score), fmt_score(g.max_score)),
                    Cell::Error { lab, reason, .. } => {
                        notes.push(format!("{lab:02}: {reason}"));
                        "error".into()
                    }
                    Cell::Missing { lab, .. } => {
                        notes.push(format!("{lab:02}: no answers file"));
                        "missing".into()
                    }
                });
            }
            notes.extend(s.other_problems.iter().map(|p| p.reason.clone()));
            row.push(ClassReport::total_text(s));
            if problems {
                row.push(notes.join("\n"));
            }
            t.add_row(row);
        }
        let shard = r.shard.map(|s| format!(", shard {}/{}", s.index, s.count)).unwrap_or_default();
        let mut out = format!(
            "class report: {} students × {} labs{shard}, expected answers shown: {}\n",
            r.students.len(),
            r.labs.len(),
            r.reveal.name()
        );
        let labs: Vec<String> = r.labs.iter().map(|l| format!("{} ({} pts)", l.code, fmt_score(l.max_score))).collect();
        out.push_str(&format!("labs: {}\n", labs.join(", ")));
        out.push_str(&t.to_string());
        out.push('\n');
        let m = &r.summary;
        out.push_str(&format!(
            "{} students, {} submissions: {} graded, {} could not be graded{}\n",
            m.students,
            m.submissions,
            m.graded,
            m.could_not_grade,
            if m.could_not_grade > 0 { " (exit 1)" } else { "" }
        ));
        Ok(out)
    }
}
