//! The timeline: a column per node, time running downward. Question mode
//! leaves out the rows that are outcomes and prints secret pieces as `?`.

use super::View;
use crate::models::{Outcome, Scenario};
use crate::sim::{fmt_time, Event, Fate, Label, LossReason, NodeId, Seg, Time};

struct Row {
    time: Time,
    /// None: a row about the whole system (a partition), spanning the columns.
    node: Option<NodeId>,
    label: Label,
    outcome: bool,
    level: u8,
}

fn s(text: impl Into<String>) -> Seg {
    Seg { text: text.into(), secret: false }
}

fn fate_text(f: &Fate) -> String {
    match f {
        Fate::Delivered { delay } => format!("+{}", fmt_time(*delay)),
        Fate::Duplicated { delay, copy_delay } => {
            format!("+{}, copy +{}", fmt_time(*delay), fmt_time(*copy_delay))
        }
        Fate::Lost(LossReason::Dropped) => "lost".into(),
        Fate::Lost(LossReason::Partitioned) => "cut by partition".into(),
    }
}

fn rows(out: &Outcome, sc: &Scenario) -> Vec<Row> {
    let names = &out.nodes;
    let outcome = |id: &u64| out.outcome_msgs.contains(id);
    let mut rows = Vec::new();
    for e in &out.trace {
        let row = |node, label, outcome, level| Row { time: e.time, node, label, outcome, level };
        rows.push(match &e.event {
            Event::Send { from, to, id, msg, fate, level } => {
                let lost = matches!(fate, Fate::Lost(_));
                let mut label = Vec::new();
                if to > from {
                    label.push(s("send "));
                    label.extend(msg.iter().cloned());
                    label.push(s(if lost { " ──✗ " } else { " ──▶ " }));
                } else {
                    label.push(s(if lost { "✗── send " } else { "◀── send " }));
                    label.extend(msg.iter().cloned());
                    label.push(s(" "));
                }
                label.push(s(fate_text(fate)));
                row(Some(*from), label, outcome(id), *level)
            }
            Event::Deliver { to, msg, copy, level, .. } => {
                let mut label = vec![s("arrives: ")];
                label.extend(msg.iter().cloned());
                if *copy == 1 {
                    label.push(s(" (network copy)"));
                }
                row(Some(*to), label, true, *level)
            }
            Event::DropAtDown { to, id, msg, level, .. } => {
                let mut label = vec![s("✗ ")];
                label.extend(msg.iter().cloned());
                label.push(s(format!(" lost: {} is down", names[*to])));
                row(Some(*to), label, outcome(id), *level)
            }
            Event::Timer { node, level, label, .. } => row(Some(*node), label.clone(), false, *level),
            Event::Crash { node } => row(Some(*node), vec![s("✗ CRASH: memory and timers lost")], false, 0),
            Event::Restart { node } => row(Some(*node), vec![s("↻ RESTART")], false, 0),
            Event::Partition { index, begin } => {
                let p = &sc.partitions[*index];
                let group = |g: &[NodeId]| g.iter().map(|n| names[*n].as_str()).collect::<Vec<_>>().join(",");
                let sep = if p.two_way { " | " } else { " -/-> " };
                let what = format!("{}{sep}{}", group(&p.from), group(&p.to));
                let text = if *begin {
                    format!("─── partition begins: {what} ───")
                } else {
                    format!("─── partition heals: {what} ───")
                };
                row(None, vec![s(text)], false, 0)
            }
            Event::Call { node, label } => row(Some(*node), label.clone(), false, 0),
            Event::Return { node, label } => row(Some(*node), label.clone(), true, 0),
            Event::Note { node, level, outcome, label } => row(Some(*node), label.clone(), *outcome, *level),
        });
    }
    rows
}

fn text(label: &Label, solve: bool) -> String {
    label.iter().map(|seg| if seg.secret && !solve { "?" } else { seg.text.as_str() }).collect()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

pub fn timeline(out: &Outcome, sc: &Scenario, view: View) -> String {
    let all = rows(out, sc);
    let visible: Vec<&Row> = all.iter().filter(|r| view.shows(r.level)).collect();
    // Column widths come from the solved text, so both modes line up alike.
    let mut widths: Vec<usize> = out.nodes.iter().map(|n| width(n).max(12)).collect();
    for r in &visible {
        if let Some(n) = r.node {
            widths[n] = widths[n].max(width(&text(&r.label, true)).min(48));
        }
    }
    let mut lines = Vec::new();
    let mut head = format!("{:>8}", "time");
    let mut rule = format!("{:>8}", "──────");
    for (n, name) in out.nodes.iter().enumerate() {
        head.push_str(&format!("  {:<w$}", name, w = widths[n]));
        rule.push_str(&format!("  {}", "─".repeat(widths[n])));
    }
    lines.push(head.trim_end().to_string());
    lines.push(rule);
    for r in visible {
        if r.outcome && !view.solve {
            continue;
        }
        let body = text(&r.label, view.solve);
        let mut line = format!("{:>8}", fmt_time(r.time));
        match r.node {
            None => line.push_str(&format!("  {body}")),
            Some(node) => {
                for (n, w) in widths.iter().enumerate() {
                    if n == node {
                        line.push_str(&format!("  {:<w$}", body, w = w));
                        break;
                    }
                    line.push_str(&" ".repeat(w + 2));
                }
            }
        }
        lines.push(line.trim_end().to_string());
    }
    let mut s = lines.join("\n");
    s.push('\n');
    s
}
