//! The HTML report: one self-contained file with the scenario, the
//! space-time diagram, and the questions (answered only in solve mode).
//!
//! The page makes no network request: the CSS and script are inlined from
//! `assets/`, and the run itself travels as JSON in the page. The script
//! draws only the part of the diagram that is on screen, redrawing on scroll
//! and zoom, so a run of 100,000 events opens as fast as a small one.

use super::diagram::{picture, Arrow, End, Item, MarkKind, Picture};
use super::{header::header, timeline::timeline, View};
use crate::lab::{Injection, Lab, Solved};
use crate::questions::{Question, Value};
use crate::sim::LossReason;
use anyhow::anyhow;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Past this many rows the text timeline is left out of the page: nobody
/// reads it, and the diagram is the point.
const TEXT_TIMELINE_MAX_ROWS: usize = 2_000;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Deduplicates the strings of a run, so a label used a thousand times is
/// written once.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: HashMap<String, usize>,
}

impl Strings {
    fn id(&mut self, s: &str) -> usize {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }
}

fn end_code(a: &Arrow) -> (u8, u64) {
    match a.end {
        End::Arrived(t) => (0, t),
        End::Down(t) => (1, t),
        End::Lost(LossReason::Dropped) => (2, 0),
        End::Lost(LossReason::Partitioned) => (3, 0),
        End::Hidden => (4, 0),
        End::InFlight => (5, a.due.unwrap_or(0)),
    }
}

fn mark_code(k: MarkKind) -> u8 {
    match k {
        MarkKind::Crash => 0,
        MarkKind::Restart => 1,
        MarkKind::Timer => 2,
        MarkKind::Call => 3,
        MarkKind::Return => 4,
        MarkKind::Note => 5,
    }
}

/// The run as the page's script reads it: compact arrays, strings by index.
fn picture_json(p: &Picture, title: &str, solve: bool) -> String {
    let mut strings = Strings::default();
    let arrows: Vec<serde_json::Value> = p
        .arrows
        .iter()
        .map(|a| {
            let (kind, t) = end_code(a);
            json!([a.from, a.to, a.sent, kind, t, strings.id(&a.label), strings.id(&a.fate), a.id, a.copy])
        })
        .collect();
    let marks: Vec<serde_json::Value> = p
        .items
        .iter()
        .filter_map(|(t, item)| match item {
            Item::Mark { node, kind, text } => Some(json!([t, node, mark_code(*kind), strings.id(text)])),
            _ => None,
        })
        .collect();
    let bands: Vec<serde_json::Value> = p
        .partitions
        .iter()
        .enumerate()
        .map(|(i, q)| json!([q.at, q.until, q.from, q.to, q.two_way, strings.id(&p.partition_text(i))]))
        .collect();
    let data = json!({
        "title": title,
        "nodes": p.nodes,
        "end": p.end,
        "solve": solve,
        "s": strings.list,
        "a": arrows,
        "m": marks,
        "p": bands,
    });
    // Inside <script>, `<` must never start a tag: JSON may write it as \u003c.
    data.to_string().replace('<', "\\u003c")
}

fn intro_html(lab: &Lab) -> String {
    let mut s = String::new();
    for para in lab.intro.split("\n\n") {
        let text = para.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            s.push_str(&format!("<p>{}</p>\n", escape(&text)));
        }
    }
    s
}

fn questions_html(answers: &[(Question, Value)], solve: bool) -> String {
    let mut s = String::from("<section class=\"questions\"><h2>Questions</h2>\n<ol>\n");
    for (q, v) in answers {
        let pts = if q.points == 1 { "1 pt".to_string() } else { format!("{} pts", q.points) };
        let answer = if solve { escape(&v.to_string()) } else { "?".to_string() };
        s.push_str(&format!(
            "<li data-question=\"{id}\"><p>{ask} <span class=\"kind\">({kind}, {pts})</span></p>\
             <p class=\"answer\"><code>{id}</code>: <span class=\"value\">{answer}</span></p></li>\n",
            id = escape(&q.id),
            ask = escape(&q.ask),
            kind = q.kind,
        ));
    }
    s.push_str("</ol>\n");
    if !solve {
        s.push_str("<p class=\"hint\">Answers appear in the report made with <code>--solve</code>.</p>\n");
    }
    s.push_str("</section>\n");
    s
}

fn panel_html(index: usize, title: &str) -> String {
    let heading = if title.is_empty() { String::new() } else { format!("<h3>{}</h3>", escape(title)) };
    format!(
        "<div class=\"panel\" id=\"panel{index}\">{heading}<div class=\"scroller\" tabindex=\"0\">\
         <div class=\"spacer\"></div><svg class=\"diagram\" role=\"img\" aria-label=\"space-time diagram\"></svg>\
         </div></div>\n"
    )
}

const TOOLBAR: &str = "<div class=\"toolbar\">\
<button type=\"button\" data-zoom=\"in\" title=\"zoom in (+, or Ctrl and the wheel)\">+</button>\
<button type=\"button\" data-zoom=\"out\" title=\"zoom out (-)\">&minus;</button>\
<button type=\"button\" data-zoom=\"fit\" title=\"the whole run (0)\">whole run</button>\
<span class=\"scale\"></span>\
<span class=\"help\">Time runs down. Hover over an arrow or a mark for its full content and fate; \
Ctrl+wheel or +/&minus; zooms the time axis.</span></div>\n";

fn legend_html(solve: bool) -> String {
    let mut s = String::from(
        "<p class=\"legend\"><span class=\"k-arrow\">&#8594;</span> message \
        <span class=\"k-copy\">&#8594;</span> network copy <span class=\"k-lost\">&#10007;</span> lost \
        <span class=\"k-band\">&#9617;</span> partition <span class=\"k-crash\">&#9587;</span> crash \
        <span class=\"k-restart\">&#8635;</span> restart <span class=\"k-timer\">&#9719;</span> timer \
        <span>&#9670;</span> call <span>&#9671;</span> return <span>&#8226;</span> note",
    );
    if !solve {
        s.push_str(" <span class=\"k-hidden\">- - ?</span> arrival left for you to work out");
    }
    s.push_str("</p>\n");
    s
}

fn text_timeline(s: &Solved, view: View) -> String {
    if s.outcome.trace.len() > TEXT_TIMELINE_MAX_ROWS {
        return String::new();
    }
    format!(
        "<details><summary>The same run as a text timeline</summary><pre>{}</pre></details>\n",
        escape(&timeline(&s.outcome, &s.scenario, view))
    )
}

fn page(title: &str, body: &str, panels: &[String]) -> String {
    let mut data = String::new();
    for (i, p) in panels.iter().enumerate() {
        data.push_str(&format!(
            "<script type=\"application/json\" class=\"run-data\" data-panel=\"panel{i}\">{p}</script>\n"
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{body}{data}<div id=\"tip\" hidden></div>\n\
         <script>\n{JS}</script>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// `distlab run LAB --html FILE`.
pub fn run_report(lab: &Lab, s: &Solved, inj: &Injection, view: View) -> String {
    let pic = picture(&s.outcome, &s.scenario, view);
    let mode = if view.solve { "solved" } else { "question mode" };
    let mut body = format!(
        "<header><h1>lab {:02} {}: {}</h1><p class=\"mode\">seed {}, {mode}{}</p></header>\n",
        lab.number,
        escape(&lab.slug),
        escape(&lab.title),
        s.scenario.seed,
        if view.detail > 0 { format!(", detail {}", view.detail) } else { String::new() },
    );
    body.push_str(&format!("<pre class=\"scenario\">{}</pre>\n", escape(&header(lab, &s.scenario, inj))));
    body.push_str(&format!("<section class=\"intro\">{}</section>\n", intro_html(lab)));
    body.push_str("<section class=\"run\">\n");
    body.push_str(TOOLBAR);
    body.push_str(&legend_html(view.solve));
    body.push_str(&format!("<div class=\"panels\">{}</div>\n", panel_html(0, "")));
    body.push_str(&text_timeline(s, view));
    body.push_str("</section>\n");
    body.push_str(&questions_html(&s.answers, view.solve));
    body.push_str(&footer());
    let title = format!("distlab lab {:02} {} seed {}", lab.number, lab.slug, s.scenario.seed);
    page(&title, &body, &[picture_json(&pic, "", view.solve)])
}

/// `distlab inject LAB ... --html FILE`: the fault-free and the faulted run
/// side by side, on one time axis, and every answer beside its counterpart.
pub fn inject_report(lab: &Lab, base: &Solved, faulted: &Solved, inj: &Injection, view: View) -> String {
    let names = lab.node_names();
    let mut body = format!(
        "<header><h1>lab {:02} {}: {}</h1><p class=\"mode\">seed {}, injected: {}</p></header>\n",
        lab.number,
        escape(&lab.slug),
        escape(&lab.title),
        faulted.scenario.seed,
        escape(&inj.describe(&names).join("; ")),
    );
    body.push_str(&format!("<pre class=\"scenario\">{}</pre>\n", escape(&header(lab, &faulted.scenario, inj))));
    body.push_str(
        "<section class=\"compare\"><h2>Answers</h2><table>\n<thead><tr><th>#</th><th>question</th>\
                   <th>fault-free</th><th>with faults</th><th></th></tr></thead><tbody>\n",
    );
    for (i, ((q, before), (_, after))) in base.answers.iter().zip(&faulted.answers).enumerate() {
        let changed = before != after;
        body.push_str(&format!(
            "<tr{cls} data-question=\"{id}\"><td>{n}</td><td><code>{id}</code>: {ask}</td><td>{b}</td><td>{a}</td><td>{c}</td></tr>\n",
            cls = if changed { " class=\"changed\"" } else { "" },
            n = i + 1,
            id = escape(&q.id),
            ask = escape(&q.ask),
            b = escape(&before.to_string()),
            a = escape(&after.to_string()),
            c = if changed { "changed" } else { "" },
        ));
    }
    body.push_str("</tbody></table></section>\n<section class=\"run\">\n");
    body.push_str(TOOLBAR);
    body.push_str(&legend_html(true));
    body.push_str(&format!(
        "<div class=\"panels side-by-side\">{}{}</div>\n",
        panel_html(0, "fault-free"),
        panel_html(1, "with faults")
    ));
    body.push_str("</section>\n");
    body.push_str(&footer());
    let pics = [
        picture_json(&picture(&base.outcome, &base.scenario, view), "fault-free", true),
        picture_json(&picture(&faulted.outcome, &faulted.scenario, view), "with faults", true),
    ];
    let title = format!("distlab inject lab {:02} {} seed {}", lab.number, lab.slug, faulted.scenario.seed);
    page(&title, &body, &pics)
}

fn footer() -> String {
    format!(
        "<footer>Made by distlab {}. The same lab, seed and version always draw the same run; times are virtual.</footer>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Writes the report to `path` through a temporary file and a rename, so a
/// browser never opens half a page; `-` writes it to stdout.
pub fn write(path: &Path, page: &str) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        crate::output::emit(page)?;
        return Ok(());
    }
    let shown = path.display();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(anyhow!("--html {shown}: no such directory {}", dir.display()));
    }
    let name = path.file_name().ok_or_else(|| anyhow!("--html {shown}: give a file name, such as report.html"))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(page.as_bytes()).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow!("--html {shown}: cannot write: {e}"));
    }
    eprintln!("wrote {shown} ({} KB): open it in a browser", page.len().div_ceil(1024));
    Ok(())
}
