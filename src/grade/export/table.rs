use super::{answer_text, Export};
use crate::grade::{fmt_score, Grade};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table as Comfy};

pub struct Table;

impl Export for Table {
    fn render(&self, g: &Grade, reveal: bool) -> String {
        let mut t = Comfy::new();
        // A fixed width: the report must not depend on the terminal.
        t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(100);
        t.set_header(vec!["#", "question", "yours", "verdict", "points"]);
        for q in &g.questions {
            let mark = if q.verdict.correct {
                "✓"
            } else if q.verdict.score > 0.0 {
                "partly"
            } else {
                "✗"
            };
            let mut notes: Vec<String> = q.verdict.message.iter().cloned().collect();
            if !q.verdict.correct && reveal {
                notes.push(format!("right answer: {}", q.expected));
            }
            let verdict = if notes.is_empty() { mark.to_string() } else { format!("{mark} {}", notes.join("; ")) };
            t.add_row(vec![
                q.number.to_string(),
                format!("{}: {}", q.id, q.ask),
                answer_text(&q.answer),
                verdict,
                format!("{}/{}", fmt_score(q.verdict.score), fmt_score(q.verdict.max_score)),
            ]);
        }
        let mut s = format!("lab {:02} {}, seed {}, {}\n", g.lab, g.slug, g.seed, g.file);
        s.push_str(&t.to_string());
        s.push('\n');
        for k in &g.unknown {
            s.push_str(&format!("note: `{k}` matches no question of this lab and was ignored\n"));
        }
        let wrong = g.wrong();
        let verdict = if wrong == 0 {
            "full marks".to_string()
        } else {
            format!("not yet: {wrong} answer{} not right", if wrong == 1 { "" } else { "s" })
        };
        s.push_str(&format!("score {}/{}, {verdict}\n", fmt_score(g.score()), fmt_score(g.max_score())));
        s
    }
}
