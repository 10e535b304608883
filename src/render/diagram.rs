//! Space-time diagrams: one vertical line per node, time running downward,
//! and an arrow per message from its send to its arrival.
//!
//! [`picture`] turns a run into what is to be drawn, with the question-mode
//! rules of the timeline already applied (outcome rows left out, secret pieces
//! shown as `?`), so the terminal diagram here and the HTML report draw the
//! same blanks.
//!
//! The terminal drawing gives every event its own row. A message in flight
//! runs down its own lane between the node lines: it leaves the sender on the
//! send row, turns down, and turns into the receiver on its arrival row. Lanes
//! never cross one another; a message that overtakes another crosses that
//! one's lane with `┼`, which is exactly where the reordering is.

use super::{label_text, View};
use crate::models::{Outcome, Scenario};
use crate::sim::{fmt_time, Event, Fate, LossReason, MsgId, NodeId, Partition, Time};
use std::collections::BTreeMap;

/// How a drawn message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Arrived(Time),
    /// It reached a node that was down, and died there.
    Down(Time),
    /// The network decided at send time that it would never arrive.
    Lost(LossReason),
    /// Question mode: where and when it lands is for the student to work out.
    Hidden,
    /// Still travelling when the run ended.
    InFlight,
}

/// One transmission, or the network's extra copy of one (`copy` 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub id: MsgId,
    pub copy: u8,
    pub from: NodeId,
    pub to: NodeId,
    pub sent: Time,
    /// The message as the student sees it (secrets are `?` in question mode).
    pub label: String,
    /// What the network decided at send time, as the timeline prints it.
    pub fate: String,
    /// When the network was to deliver it (None when it was lost).
    pub due: Option<Time>,
    pub end: End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Crash,
    Restart,
    Timer,
    Call,
    Return,
    Note,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A send: its arrow, and the arrow of the network's copy if there is one.
    Send(Vec<usize>),
    /// An arrow's arrival (or its death at a node that was down).
    Arrive(usize),
    Mark {
        node: NodeId,
        kind: MarkKind,
        text: String,
    },
    Partition {
        index: usize,
        begin: bool,
    },
}

/// Everything a diagram draws, in trace order, with the view applied.
pub struct Picture {
    pub nodes: Vec<String>,
    pub items: Vec<(Time, Item)>,
    pub arrows: Vec<Arrow>,
    pub partitions: Vec<Partition>,
    pub end: Time,
}

pub fn fate_text(f: &Fate) -> String {
    match f {
        Fate::Delivered { delay } => format!("+{}", fmt_time(*delay)),
        Fate::Duplicated { delay, copy_delay } => format!("+{}, copy +{}", fmt_time(*delay), fmt_time(*copy_delay)),
        Fate::Lost(LossReason::Dropped) => "lost".into(),
        Fate::Lost(LossReason::Partitioned) => "cut by partition".into(),
    }
}

pub fn picture(out: &Outcome, sc: &Scenario, view: View) -> Picture {
    let mut arrows: Vec<Arrow> = Vec::new();
    let mut items = Vec::new();
    let mut by_id: BTreeMap<(MsgId, u8), usize> = BTreeMap::new();
    // Arrivals are outcome rows: question mode leaves them out, so a message
    // is drawn leaving and its landing stays a blank.
    let unlanded = if view.solve { End::InFlight } else { End::Hidden };
    for e in &out.trace {
        let mark = |node: NodeId, kind, text: String| Item::Mark { node, kind, text };
        let item = match &e.event {
            Event::Send { from, to, id, msg, fate, level } => {
                // A message the model keeps at a higher detail level (a
                // heartbeat), or one that is itself an answer, is not drawn.
                if !view.shows(*level) || (out.outcome_msgs.contains(id) && !view.solve) {
                    continue;
                }
                let label = label_text(msg, view.solve);
                let end = match fate {
                    Fate::Lost(r) => End::Lost(*r),
                    _ => unlanded,
                };
                let dues = match fate {
                    Fate::Delivered { delay } => vec![Some(e.time.saturating_add(*delay))],
                    Fate::Duplicated { delay, copy_delay } => {
                        vec![Some(e.time.saturating_add(*delay)), Some(e.time.saturating_add(*copy_delay))]
                    }
                    Fate::Lost(_) => vec![None],
                };
                let mut drawn = Vec::new();
                for (copy, due) in (0u8..).zip(dues) {
                    by_id.insert((*id, copy), arrows.len());
                    drawn.push(arrows.len());
                    arrows.push(Arrow {
                        id: *id,
                        copy,
                        from: *from,
                        to: *to,
                        sent: e.time,
                        label: label.clone(),
                        fate: fate_text(fate),
                        due,
                        end,
                    });
                }
                Item::Send(drawn)
            }
            Event::Deliver { id, copy, .. } => {
                let Some(&a) = by_id.get(&(*id, *copy)) else { continue };
                if !view.solve {
                    continue;
                }
                arrows[a].end = End::Arrived(e.time);
                Item::Arrive(a)
            }
            Event::DropAtDown { id, copy, .. } => {
                let Some(&a) = by_id.get(&(*id, *copy)) else { continue };
                arrows[a].end = End::Down(e.time);
                Item::Arrive(a)
            }
            Event::Timer { node, level, label, .. } => {
                if !view.shows(*level) {
                    continue;
                }
                mark(*node, MarkKind::Timer, label_text(label, view.solve))
            }
            Event::Crash { node } => mark(*node, MarkKind::Crash, "CRASH: memory and timers lost".into()),
            Event::Restart { node } => mark(*node, MarkKind::Restart, "RESTART".into()),
            Event::Partition { index, begin } => Item::Partition { index: *index, begin: *begin },
            Event::Call { node, label } => mark(*node, MarkKind::Call, label_text(label, view.solve)),
            Event::Return { node, label } => {
                if !view.solve {
                    continue;
                }
                mark(*node, MarkKind::Return, label_text(label, view.solve))
            }
            Event::Note { node, level, outcome, label } => {
                if !view.shows(*level) || (*outcome && !view.solve) {
                    continue;
                }
                mark(*node, MarkKind::Note, label_text(label, view.solve))
            }
        };
        items.push((e.time, item));
    }
    Picture { nodes: out.nodes.clone(), items, arrows, partitions: sc.partitions.clone(), end: out.end }
}

impl Picture {
    /// A partition as the text shows it: `a,b | c` both ways, `a -/-> c` one way.
    pub fn partition_text(&self, index: usize) -> String {
        self.partition_text_with(index, &self.nodes)
    }

    fn partition_text_with(&self, index: usize, names: &[String]) -> String {
        let p = &self.partitions[index];
        let group = |g: &[NodeId]| g.iter().map(|n| names[*n].as_str()).collect::<Vec<_>>().join(",");
        let sep = if p.two_way { " | " } else { " -/-> " };
        format!("{}{sep}{}", group(&p.from), group(&p.to))
    }

    /// Whether partition `index` separates the nodes left of gutter `g` (the
    /// gap between node g and node g+1) from those right of it.
    fn cuts_gutter(&self, index: usize, g: usize) -> bool {
        let p = &self.partitions[index];
        let left = |n: &NodeId| *n <= g;
        (p.from.iter().any(left) && p.to.iter().any(|n| !left(n)))
            || (p.to.iter().any(left) && p.from.iter().any(|n| !left(n)))
    }
}

// ---------------------------------------------------------------------------
// The terminal drawing.

/// The width the diagram fits, annotations included.
pub const WIDTH: usize = 100;
/// Up to this many nodes get full names and Unicode lines.
pub const MAX_FULL_NODES: usize = 6;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Opts {
    /// ASCII only (also forced past [`MAX_FULL_NODES`] nodes).
    pub ascii: bool,
    /// ANSI colour; the caller decides (a terminal, NO_COLOR unset).
    pub colour: bool,
}

pub fn diagram(out: &Outcome, sc: &Scenario, view: View, opts: Opts) -> String {
    render(&picture(out, sc, view), opts)
}

struct Glyphs {
    line: char,
    down: char,
    event: char,
    h: char,
    v: char,
    hc: char,
    vc: char,
    /// Corners, named by where the path goes: out of a node then down toward
    /// the right (`┐`) or the left (`┌`); down a lane then into a node on the
    /// right (`└`) or the left (`┘`). The `c_` ones are for network copies.
    out_r: char,
    out_l: char,
    in_r: char,
    in_l: char,
    c_out_r: char,
    c_out_l: char,
    c_in_r: char,
    c_in_l: char,
    /// A horizontal crossing a vertical: single over single, single over
    /// double, double over single, double over double. `None`: the vertical
    /// is kept (ASCII).
    cross: Option<[char; 4]>,
    /// A horizontal running through a corner (a duplicate's two lanes).
    tee: char,
    right: char,
    left: char,
    lost: char,
    crash: char,
    restart: char,
    timer: char,
    call: char,
    ret: char,
    note: char,
    band: char,
    dash: char,
    unknown: char,
    flight: char,
}

const UNICODE: Glyphs = Glyphs {
    line: '│',
    down: '┊',
    event: '●',
    h: '─',
    v: '│',
    hc: '═',
    vc: '║',
    out_r: '┐',
    out_l: '┌',
    in_r: '└',
    in_l: '┘',
    c_out_r: '╗',
    c_out_l: '╔',
    c_in_r: '╚',
    c_in_l: '╝',
    cross: Some(['┼', '╫', '╪', '╬']),
    tee: '┬',
    right: '▶',
    left: '◀',
    lost: '✗',
    crash: '╳',
    restart: '↻',
    timer: '◷',
    call: '◆',
    ret: '◇',
    note: '•',
    band: '░',
    dash: '┄',
    unknown: '?',
    flight: '▼',
};

const ASCII: Glyphs = Glyphs {
    line: '|',
    down: ':',
    event: 'o',
    h: '-',
    v: '|',
    hc: '=',
    vc: '"',
    out_r: '+',
    out_l: '+',
    in_r: '+',
    in_l: '+',
    c_out_r: '+',
    c_out_l: '+',
    c_in_r: '+',
    c_in_l: '+',
    cross: None,
    tee: '+',
    right: '>',
    left: '<',
    lost: 'x',
    crash: 'X',
    restart: '^',
    timer: 'T',
    call: 'C',
    ret: 'R',
    note: '*',
    band: '#',
    dash: '.',
    unknown: '?',
    flight: 'v',
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Paint {
    None,
    Red,
    Green,
    Yellow,
    Magenta,
    Cyan,
    Dim,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::None => "",
            Paint::Red => "\x1b[31m",
            Paint::Green => "\x1b[32m",
            Paint::Yellow => "\x1b[33m",
            Paint::Magenta => "\x1b[35m",
            Paint::Cyan => "\x1b[36m",
            Paint::Dim => "\x1b[2m",
        }
    }
}

/// What occupies a cell, so that a horizontal knows what it crosses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Empty,
    Node,
    Lane,
    CopyLane,
    Corner,
    /// A horizontal piece of a message's path.
    Path,
    Band,
    Other,
}

#[derive(Clone, Copy)]
struct Cell {
    ch: char,
    paint: Paint,
    kind: Kind,
}

const EMPTY: Cell = Cell { ch: ' ', paint: Paint::None, kind: Kind::Empty };

#[derive(Clone, Copy, Debug)]
struct Lane {
    col: usize,
    start: usize,
    /// The arrival row, or the closing row for a message still in flight.
    end: usize,
}

/// Where a gutter's lanes come from: messages going right use slots counted
/// from the gutter's left node, messages going left slots counted from its
/// right node, so each message's lane stays near its sender.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Rightward,
    Leftward,
}

struct Layout {
    /// Grid column of each node's line.
    xs: Vec<usize>,
    /// Grid columns of the partition band in each gutter that ever has one.
    band: Vec<Option<(usize, usize)>>,
    lanes: Vec<Option<Lane>>,
    width: usize,
}

/// Short, unique names: the first letter and any digits (`replica12` → `r12`),
/// or longer prefixes when those collide.
pub fn abbreviations(names: &[String]) -> Vec<String> {
    let unique = |v: &[String]| {
        let mut s = v.to_vec();
        s.sort();
        s.dedup();
        s.len() == v.len()
    };
    let initials: Vec<String> = names
        .iter()
        .map(|n| n.chars().take(1).chain(n.chars().skip(1).filter(char::is_ascii_digit)).collect())
        .collect();
    if unique(&initials) {
        return initials;
    }
    for k in 2..=4 {
        let prefixes: Vec<String> = names.iter().map(|n| n.chars().take(k).collect()).collect();
        if unique(&prefixes) {
            return prefixes;
        }
    }
    (0..names.len()).map(|i| format!("n{i}")).collect()
}

/// Replaces the non-ASCII characters that labels use, for `--ascii`.
pub fn asciify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if c.is_ascii() => out.push(c),
            '→' | '⟶' => out.push_str("->"),
            '←' => out.push_str("<-"),
            '✗' | '×' => out.push('x'),
            '▶' | '▷' => out.push('>'),
            '◀' | '◁' => out.push('<'),
            '─' | '━' | '┄' | '–' | '—' => out.push('-'),
            '│' | '┊' => out.push('|'),
            '↻' => out.push('^'),
            '…' => out.push_str("..."),
            'µ' => out.push('u'),
            '‘' | '’' => out.push('\''),
            '“' | '”' => out.push('"'),
            '·' | '•' | '●' => out.push('*'),
            _ => out.push('?'),
        }
    }
    out
}

struct Drawer<'a> {
    p: &'a Picture,
    g: &'static Glyphs,
    short: bool,
    ascii: bool,
    /// Node names as the diagram writes them.
    names: Vec<String>,
    /// Row of each item; arrows' send rows.
    send_row: Vec<usize>,
    end_row: Vec<Option<usize>>,
    /// Whether a closing row lists what was still in flight.
    closing: bool,
    layout: Layout,
}

pub fn render(p: &Picture, opts: Opts) -> String {
    // Past six nodes, names are abbreviated and gutters narrow; ASCII then too,
    // as the lines get dense. `--ascii` alone changes only the characters.
    let short = p.nodes.len() > MAX_FULL_NODES;
    let ascii = opts.ascii || short;
    let g = if ascii { &ASCII } else { &UNICODE };
    let names = if short { abbreviations(&p.nodes) } else { p.nodes.clone() };
    let mut send_row = vec![0; p.arrows.len()];
    let mut end_row = vec![None; p.arrows.len()];
    for (r, (_, item)) in p.items.iter().enumerate() {
        match item {
            Item::Send(v) => v.iter().for_each(|a| send_row[*a] = r),
            Item::Arrive(a) => end_row[*a] = Some(r),
            _ => {}
        }
    }
    let closing = p.arrows.iter().any(|a| a.end == End::InFlight);
    for (a, arrow) in p.arrows.iter().enumerate() {
        if arrow.end == End::InFlight {
            end_row[a] = Some(p.items.len());
        }
    }
    let mut d = Drawer {
        p,
        g,
        short,
        ascii,
        names,
        send_row,
        end_row,
        closing,
        layout: Layout { xs: vec![], band: vec![], lanes: vec![], width: 0 },
    };
    d.layout = d.layout();
    d.draw(opts.colour)
}

impl Drawer<'_> {
    fn rows(&self) -> usize {
        self.p.items.len() + usize::from(self.closing)
    }

    fn axis_width(&self) -> usize {
        self.p.items.iter().map(|(t, _)| fmt_time(*t).len()).max().unwrap_or(0).max(fmt_time(self.p.end).len()).max(6)
            + 2
    }

    /// Allocates lanes with at most `cap[(gutter, side)]` slots per pool
    /// (`None`: as many as needed). Returns each arrow's (gutter, side, slot).
    #[allow(clippy::type_complexity)]
    fn allocate(
        &self,
        cap: &BTreeMap<(usize, Side), usize>,
    ) -> (Vec<Option<(usize, Side, usize)>>, BTreeMap<(usize, Side), usize>) {
        // busy[(gutter, side)][slot] = the last row the slot is taken.
        let mut busy: BTreeMap<(usize, Side), Vec<usize>> = BTreeMap::new();
        let mut out = vec![None; self.p.arrows.len()];
        for (a, arrow) in self.p.arrows.iter().enumerate() {
            let Some(end) = self.end_row[a] else { continue };
            let start = self.send_row[a];
            let pools: Vec<(usize, Side)> = if arrow.to > arrow.from {
                (arrow.from..arrow.to).map(|g| (g, Side::Rightward)).collect()
            } else {
                (arrow.to..arrow.from).rev().map(|g| (g, Side::Leftward)).collect()
            };
            'pools: for pool in pools {
                let slots = busy.entry(pool).or_default();
                for (j, until) in slots.iter_mut().enumerate() {
                    if *until < start {
                        *until = end;
                        out[a] = Some((pool.0, pool.1, j));
                        break 'pools;
                    }
                }
                if cap.get(&pool).is_none_or(|c| slots.len() < *c) {
                    slots.push(end);
                    out[a] = Some((pool.0, pool.1, slots.len() - 1));
                    break 'pools;
                }
            }
        }
        let used = busy.into_iter().map(|(k, v)| (k, v.len())).collect();
        (out, used)
    }

    fn layout(&self) -> Layout {
        let n = self.p.nodes.len();
        let gutters = n.saturating_sub(1);
        let banded: Vec<bool> =
            (0..gutters).map(|g| (0..self.p.partitions.len()).any(|i| self.p.cuts_gutter(i, g))).collect();
        let name_w: Vec<usize> = self.names.iter().map(|s| s.chars().count()).collect();
        let x0 = name_w.first().map_or(0, |w| w / 2).max(1);
        let annotation_min = if self.short { 30 } else { 40 };
        let last_half = name_w.last().map_or(0, |w| w.div_ceil(2));
        let budget = WIDTH
            .saturating_sub(self.axis_width() + 2 + x0 + 1 + last_half + 2 + self.prefix_width() + 2 + annotation_min);
        // Room to breathe when there is room (a gutter of up to 24 columns),
        // but not at the cost of wrapping the annotations.
        // (An outlier of a note may wrap rather than squeeze every arrow.)
        let longest = (0..self.rows()).map(|r| self.annotation(r).1.chars().count()).max().unwrap_or(0).min(48);
        let spare = WIDTH.saturating_sub(self.axis_width() + 2 + x0 + 2 + self.prefix_width() + 2 + longest + 2);
        let comfy = if self.short { 6 } else { (spare / gutters.max(1)).min(budget / gutters.max(1)).clamp(8, 24) };
        // The narrowest gutter that holds `l` lanes going right and `r` going
        // left, `sp` columns apart, the band between them, and the names above.
        let need = |g: usize, l: usize, r: usize, sp: usize| -> usize {
            let lanes = if banded[g] {
                2 * (5 + sp * l.max(r).saturating_sub(1)) + 1
            } else if l + r == 0 {
                0
            } else {
                4 + sp * (l + r - 1)
            };
            let names = name_w[g].div_ceil(2) + name_w[g + 1] / 2 + 2;
            lanes.max(names).max(comfy).max(6)
        };
        let (mut slots, mut used) = self.allocate(&BTreeMap::new());
        let pools = |used: &BTreeMap<(usize, Side), usize>, g: usize| {
            (
                used.get(&(g, Side::Rightward)).copied().unwrap_or(0),
                used.get(&(g, Side::Leftward)).copied().unwrap_or(0),
            )
        };
        let widths = |used: &BTreeMap<(usize, Side), usize>, sp: usize| -> Vec<usize> {
            (0..gutters)
                .map(|g| {
                    let (l, r) = pools(used, g);
                    need(g, l, r, sp)
                })
                .collect()
        };
        let mut sp = 3;
        let mut w = widths(&used, sp);
        if w.iter().sum::<usize>() > budget {
            sp = 2;
            w = widths(&used, sp);
        }
        if gutters > 0 && w.iter().sum::<usize>() > budget {
            // Too many messages at once: give each gutter its share, and let
            // the rest go without a lane (drawn as short stubs at both ends).
            let share = (budget / gutters).max(6);
            let mut cap = BTreeMap::new();
            for (g, banded) in banded.iter().enumerate() {
                let (l, r) = pools(&used, g);
                let (cl, cr) = if *banded {
                    let side = (share.saturating_sub(11) / 4 + 1).max(1);
                    (side, side)
                } else {
                    let total = (share.saturating_sub(4) / sp + 1).max(2);
                    let cl = (total * l).checked_div(l + r).map_or(0, |c| c.max(usize::from(l > 0)));
                    (cl, total.saturating_sub(cl).max(usize::from(r > 0)))
                };
                cap.insert((g, Side::Rightward), cl);
                cap.insert((g, Side::Leftward), cr);
            }
            (slots, used) = self.allocate(&cap);
            w = widths(&used, sp);
        }
        let mut xs = vec![x0];
        for wg in &w {
            let last = xs[xs.len() - 1];
            xs.push(last + wg);
        }
        let band = (0..gutters)
            .map(|g| {
                banded[g].then(|| {
                    let m = xs[g] + w[g] / 2;
                    (m - 1, m + 1)
                })
            })
            .collect();
        let lanes = slots
            .iter()
            .enumerate()
            .map(|(a, s)| {
                s.map(|(g, side, j)| {
                    let col = match side {
                        Side::Rightward => xs[g] + 2 + sp * j,
                        Side::Leftward => xs[g + 1] - 2 - sp * j,
                    };
                    Lane { col, start: self.send_row[a], end: self.end_row[a].unwrap_or(0) }
                })
            })
            .collect();
        let width = xs.last().copied().unwrap_or(0) + 1 + (name_w.last().copied().unwrap_or(0)).div_ceil(2);
        Layout { xs, band, lanes, width }
    }

    /// Node states and partition bands row by row: (down[node], banded[gutter])
    /// as they stand on each row, and after it.
    #[allow(clippy::type_complexity)]
    fn states(&self) -> Vec<(Vec<bool>, Vec<bool>, Vec<bool>, Vec<bool>)> {
        let n = self.p.nodes.len();
        let gutters = n.saturating_sub(1);
        let mut down = vec![false; n];
        let mut active = vec![false; self.p.partitions.len()];
        let band_of = |active: &[bool]| -> Vec<bool> {
            (0..gutters).map(|g| active.iter().enumerate().any(|(i, on)| *on && self.p.cuts_gutter(i, g))).collect()
        };
        let mut out = Vec::new();
        for r in 0..self.rows() {
            let mut on_row_active = active.clone();
            match self.p.items.get(r).map(|(_, i)| i) {
                Some(Item::Mark { node, kind: MarkKind::Crash, .. }) => down[*node] = true,
                Some(Item::Mark { node, kind: MarkKind::Restart, .. }) => down[*node] = false,
                Some(Item::Partition { index, begin }) => {
                    // Both the opening and the closing row belong to the band.
                    on_row_active[*index] = true;
                    active[*index] = *begin;
                }
                _ => {}
            }
            let row_down = down.clone();
            out.push((row_down, band_of(&on_row_active), down.clone(), band_of(&active)));
        }
        out
    }

    fn draw(&self, colour: bool) -> String {
        let lay = &self.layout;
        let axis = self.axis_width();
        let prefix_w = self.prefix_width();
        let ann_w = WIDTH.saturating_sub(axis + 2 + lay.width + 2 + prefix_w + 2).max(24);
        let states = self.states();
        let paint = |text: &str, p: Paint| {
            if colour && p != Paint::None {
                format!("{}{text}\x1b[0m", p.code())
            } else {
                text.to_string()
            }
        };
        let mut lines: Vec<String> = Vec::new();
        // Header: node names centred over their lines.
        let mut head: Vec<char> = vec![' '; lay.width];
        for (i, name) in self.names.iter().enumerate() {
            let w = name.chars().count();
            let start = lay.xs[i].saturating_sub(w / 2);
            for (k, c) in name.chars().enumerate() {
                if let Some(slot) = head.get_mut(start + k) {
                    *slot = c;
                }
            }
        }
        let head: String = head.into_iter().collect();
        lines.push(format!("{:>axis$}  {}", "time", paint(head.trim_end(), Paint::None)).trim_end().to_string());
        let (h, tee) = if self.ascii { ('-', '+') } else { ('─', '┬') };
        let mut rule: Vec<char> = vec![h; lay.width];
        for x in &lay.xs {
            rule[*x] = tee;
        }
        let rule_h = h.to_string().repeat(6);
        lines.push(format!("{:>axis$}  {}", rule_h, rule.into_iter().collect::<String>()).trim_end().to_string());

        let mut last_time: Option<Time> = None;
        for (r, (down, band, down_after, band_after)) in states.iter().enumerate() {
            let (time, text) = self.annotation(r);
            let cells = self.row_cells(r, false, down, band);
            let wrapped = wrap_text(&text, ann_w);
            let time_text = match (last_time, time) {
                (Some(t0), Some(t)) if t0 == t => String::new(),
                (_, Some(t)) => fmt_time(t),
                (_, None) => "end".to_string(),
            };
            last_time = time.or(last_time);
            let who = self.who(r);
            for (k, piece) in wrapped.iter().enumerate() {
                let cells = if k == 0 { cells.clone() } else { self.row_cells(r, true, down_after, band_after) };
                let mut line = String::new();
                let t = if k == 0 { time_text.as_str() } else { "" };
                line.push_str(&paint(&format!("{t:>axis$}"), Paint::Dim));
                line.push_str("  ");
                line.push_str(&cells_text(&cells, colour));
                let prefix = if k == 0 { who.as_str() } else { "" };
                line.push_str(&format!("  {prefix:<prefix_w$}  {piece}"));
                lines.push(line.trim_end().to_string());
            }
        }
        let mut s = String::new();
        for l in lines {
            s.push_str(&l);
            s.push('\n');
        }
        if self.short {
            let legend: Vec<String> = self
                .names
                .iter()
                .zip(&self.p.nodes)
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("{a} = {b}"))
                .collect();
            if !legend.is_empty() {
                let indent = " ".repeat(self.axis_width() + 2);
                let opts = textwrap::Options::new(WIDTH).initial_indent(&indent).subsequent_indent(&indent);
                for line in textwrap::wrap(&format!("nodes: {}", legend.join(", ")), opts) {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        }
        s.push_str(&self.legend());
        if self.ascii {
            asciify(&s)
        } else {
            s
        }
    }

    fn prefix_width(&self) -> usize {
        self.names.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(self.network_name().chars().count())
    }

    fn network_name(&self) -> &'static str {
        if self.short {
            "net"
        } else {
            "network"
        }
    }

    /// Who the row's annotation is about.
    fn who(&self, r: usize) -> String {
        match self.p.items.get(r).map(|(_, i)| i) {
            Some(Item::Send(v)) => v.first().map(|a| self.names[self.p.arrows[*a].from].clone()).unwrap_or_default(),
            Some(Item::Arrive(a)) => self.names[self.p.arrows[*a].to].clone(),
            Some(Item::Mark { node, .. }) => self.names[*node].clone(),
            Some(Item::Partition { .. }) | None => self.network_name().to_string(),
        }
    }

    fn annotation(&self, r: usize) -> (Option<Time>, String) {
        let arrow_word = if self.ascii { "->" } else { "→" };
        let Some((time, item)) = self.p.items.get(r) else {
            let mut flying: Vec<String> = Vec::new();
            for a in self.p.arrows.iter().filter(|a| a.end == End::InFlight) {
                let what = if a.copy == 1 { format!("{} (copy)", a.label) } else { a.label.clone() };
                if flying.last() != Some(&what) {
                    flying.push(what);
                }
            }
            return (None, format!("still in flight at {}: {}", fmt_time(self.p.end), flying.join(", ")));
        };
        let text = match item {
            Item::Send(v) => {
                let a = &self.p.arrows[v[0]];
                let fate = match a.end {
                    End::Lost(_) => format!("{} {}", self.g.lost, a.fate),
                    _ => a.fate.clone(),
                };
                let lane_note = if v.iter().any(|x| self.p.arrows[*x].end != End::Hidden && self.no_lane(*x)) {
                    " (no lane free)"
                } else {
                    ""
                };
                format!("send {} {arrow_word} {}: {fate}{lane_note}", a.label, self.names[a.to])
            }
            Item::Arrive(x) => {
                let a = &self.p.arrows[*x];
                let copy = if a.copy == 1 { " (network copy)" } else { "" };
                let sent = if self.no_lane(*x) { format!(" (sent {})", fmt_time(a.sent)) } else { String::new() };
                match a.end {
                    End::Down(_) => {
                        format!("{} {}{copy} lost: {} is down{sent}", self.g.lost, a.label, self.names[a.to])
                    }
                    _ => format!("arrives: {}{copy}{sent}", a.label),
                }
            }
            Item::Mark { text, .. } => text.clone(),
            Item::Partition { index, begin } => {
                let what = self.p.partition_text_with(*index, &self.names);
                if *begin {
                    format!("partition begins: {what}")
                } else {
                    format!("partition heals: {what}")
                }
            }
        };
        (Some(*time), text)
    }

    fn no_lane(&self, a: usize) -> bool {
        // Before the layout exists (while sizing it), every message has its lane.
        self.end_row[a].is_some() && self.layout.lanes.get(a).is_some_and(Option::is_none)
    }

    /// The cells of row `r`, or of a continuation line under it (`cont`):
    /// lines, bands and lanes only.
    fn row_cells(&self, r: usize, cont: bool, down: &[bool], band: &[bool]) -> Vec<Cell> {
        let g = self.g;
        let lay = &self.layout;
        let mut cells = vec![EMPTY; lay.width];
        for (gut, on) in band.iter().enumerate() {
            if let (true, Some((a, b))) = (*on, lay.band[gut]) {
                for c in &mut cells[a..=b] {
                    *c = Cell { ch: g.band, paint: Paint::Magenta, kind: Kind::Band };
                }
            }
        }
        for (i, x) in lay.xs.iter().enumerate() {
            cells[*x] = if down[i] {
                Cell { ch: g.down, paint: Paint::Dim, kind: Kind::Node }
            } else {
                Cell { ch: g.line, paint: Paint::None, kind: Kind::Node }
            };
        }
        for (a, lane) in lay.lanes.iter().enumerate() {
            let Some(lane) = lane else { continue };
            let through = if cont { lane.start <= r && r < lane.end } else { lane.start < r && r < lane.end };
            if through {
                cells[lane.col] = self.vertical(a);
            }
        }
        if cont {
            return cells;
        }
        let Some((_, item)) = self.p.items.get(r) else {
            // The closing row: lanes still in flight end in an arrow down.
            for (a, lane) in lay.lanes.iter().enumerate() {
                if let Some(lane) = lane.filter(|l| l.end == r) {
                    cells[lane.col] = Cell { ch: g.flight, paint: self.lane_paint(a), kind: Kind::Other };
                }
            }
            return cells;
        };
        match item {
            Item::Send(v) => {
                let from = self.p.arrows[v[0]].from;
                // The farther lane first, so the nearer one's corner becomes a tee.
                let mut order = v.clone();
                order.sort_by_key(|a| std::cmp::Reverse(lay.lanes[*a].map_or(0, |l| l.col.abs_diff(lay.xs[from]))));
                let mut hidden_done = false;
                for a in order {
                    self.draw_send(&mut cells, a, &mut hidden_done);
                }
                cells[lay.xs[from]] = Cell { ch: g.event, paint: Paint::None, kind: Kind::Other };
            }
            Item::Arrive(a) => self.draw_arrival(&mut cells, *a),
            Item::Mark { node, kind, .. } => {
                let (ch, paint) = match kind {
                    MarkKind::Crash => (g.crash, Paint::Red),
                    MarkKind::Restart => (g.restart, Paint::Green),
                    MarkKind::Timer => (g.timer, Paint::Cyan),
                    MarkKind::Call => (g.call, Paint::None),
                    MarkKind::Return => (g.ret, Paint::None),
                    MarkKind::Note => (g.note, Paint::None),
                };
                cells[lay.xs[*node]] = Cell { ch, paint, kind: Kind::Other };
            }
            Item::Partition { .. } => {}
        }
        cells
    }

    fn lane_paint(&self, a: usize) -> Paint {
        if self.p.arrows[a].copy == 1 {
            Paint::Yellow
        } else {
            Paint::None
        }
    }

    fn vertical(&self, a: usize) -> Cell {
        if self.p.arrows[a].copy == 1 {
            Cell { ch: self.g.vc, paint: Paint::Yellow, kind: Kind::CopyLane }
        } else {
            Cell { ch: self.g.v, paint: Paint::None, kind: Kind::Lane }
        }
    }

    /// Draws a horizontal piece over `cells[c]`, crossing what is there.
    fn put_h(&self, cells: &mut [Cell], c: usize, copy: bool, paint: Paint) {
        let g = self.g;
        let here = cells[c];
        let h = if copy { g.hc } else { g.h };
        cells[c] = match (here.kind, g.cross) {
            (Kind::Lane | Kind::Node | Kind::CopyLane, None) => here,
            (Kind::Lane | Kind::Node, Some(x)) => Cell { ch: x[if copy { 2 } else { 0 }], ..here },
            (Kind::CopyLane, Some(x)) => Cell { ch: x[if copy { 3 } else { 1 }], ..here },
            (Kind::Corner, _) => Cell { ch: g.tee, ..here },
            _ => Cell { ch: h, paint, kind: Kind::Path },
        };
    }

    fn span(&self, cells: &mut [Cell], from: usize, to: usize, copy: bool, paint: Paint) {
        let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
        for c in lo..=hi {
            self.put_h(cells, c, copy, paint);
        }
    }

    fn draw_send(&self, cells: &mut [Cell], a: usize, hidden_done: &mut bool) {
        let g = self.g;
        let lay = &self.layout;
        let arrow = &self.p.arrows[a];
        let (xf, xt) = (lay.xs[arrow.from], lay.xs[arrow.to]);
        if xf == xt {
            // A node messaging itself: its mark and the annotation say it all.
            return;
        }
        let right = xt > xf;
        let step = |x: usize, k: usize| if right { x + k } else { x - k };
        let copy = arrow.copy == 1;
        match arrow.end {
            End::Lost(reason) => {
                let at = self.death_point(arrow, reason);
                self.span(cells, step(xf, 1), at, false, Paint::None);
                cells[at] = Cell { ch: g.lost, paint: Paint::Red, kind: Kind::Other };
            }
            End::Hidden => {
                if std::mem::replace(hidden_done, true) {
                    return;
                }
                // Dashed toward the receiver, ending in `?`: it goes there,
                // and when it lands is the student's to work out.
                let stop = if right { xt - 1 } else { xt + 1 };
                let (lo, hi) = if right { (xf + 1, stop) } else { (stop, xf - 1) };
                for c in &mut cells[lo..=hi] {
                    if c.kind == Kind::Empty || c.kind == Kind::Band {
                        *c = Cell { ch: g.dash, paint: Paint::Dim, kind: Kind::Other };
                    }
                }
                cells[stop] = Cell { ch: g.unknown, paint: Paint::None, kind: Kind::Other };
            }
            End::Arrived(_) | End::Down(_) | End::InFlight => match lay.lanes[a] {
                Some(lane) => {
                    let paint = self.lane_paint(a);
                    self.span(cells, step(xf, 1), if right { lane.col - 1 } else { lane.col + 1 }, copy, paint);
                    let ch = match (right, copy) {
                        (true, false) => g.out_r,
                        (false, false) => g.out_l,
                        (true, true) => g.c_out_r,
                        (false, true) => g.c_out_l,
                    };
                    // A duplicate's nearer lane branches off the farther one's path.
                    let ch = if cells[lane.col].kind == Kind::Path { g.tee } else { ch };
                    cells[lane.col] = Cell { ch, paint, kind: Kind::Corner };
                }
                None => {
                    // No lane free: a dashed stub over the gaps between lanes;
                    // the arrival row says when it was sent.
                    for k in 1..=3 {
                        let c = &mut cells[step(xf, k)];
                        if c.kind == Kind::Empty {
                            *c = Cell { ch: g.dash, paint: Paint::Dim, kind: Kind::Other };
                        }
                    }
                }
            },
        }
    }

    /// Where a lost message dies: at the partition's band if one cut it,
    /// otherwise half-way, since the network decided as it left.
    fn death_point(&self, arrow: &Arrow, reason: LossReason) -> usize {
        let lay = &self.layout;
        let (xf, xt) = (lay.xs[arrow.from], lay.xs[arrow.to]);
        let right = xt > xf;
        if reason == LossReason::Partitioned {
            let gutters: Vec<usize> =
                if right { (arrow.from..arrow.to).collect() } else { (arrow.to..arrow.from).rev().collect() };
            for gut in gutters {
                if let Some((a, b)) = lay.band[gut] {
                    return if right { a - 1 } else { b + 1 };
                }
            }
        }
        (xf + xt) / 2
    }

    fn draw_arrival(&self, cells: &mut [Cell], a: usize) {
        let g = self.g;
        let lay = &self.layout;
        let arrow = &self.p.arrows[a];
        let xt = lay.xs[arrow.to];
        if arrow.from == arrow.to {
            cells[xt] = Cell { ch: g.event, paint: Paint::None, kind: Kind::Other };
            return;
        }
        let copy = arrow.copy == 1;
        let paint = self.lane_paint(a);
        let down = matches!(arrow.end, End::Down(_));
        let (start, right) = match lay.lanes[a] {
            Some(lane) => {
                let right = xt > lane.col;
                let ch = match (right, copy) {
                    (true, false) => g.in_r,
                    (false, false) => g.in_l,
                    (true, true) => g.c_in_r,
                    (false, true) => g.c_in_l,
                };
                cells[lane.col] = Cell { ch, paint, kind: Kind::Corner };
                (if right { lane.col + 1 } else { lane.col - 1 }, right)
            }
            None => {
                let right = xt > lay.xs[arrow.from];
                for k in 2..=3 {
                    let c = &mut cells[if right { xt - k } else { xt + k }];
                    if c.kind == Kind::Empty {
                        *c = Cell { ch: g.dash, paint: Paint::Dim, kind: Kind::Other };
                    }
                }
                (if right { xt - 1 } else { xt + 1 }, right)
            }
        };
        let head = if right { xt - 1 } else { xt + 1 };
        if down {
            self.span(cells, start, head, copy, paint);
            cells[xt] = Cell { ch: g.lost, paint: Paint::Red, kind: Kind::Other };
        } else {
            if start != head {
                self.span(cells, start, if right { head - 1 } else { head + 1 }, copy, paint);
            }
            cells[head] = Cell { ch: if right { g.right } else { g.left }, paint, kind: Kind::Other };
            cells[xt] = Cell { ch: g.event, paint: Paint::None, kind: Kind::Other };
        }
    }

    fn legend(&self) -> String {
        let g = self.g;
        let mut used: Vec<(char, &str)> = Vec::new();
        let mut add = |c: char, what: &'static str| {
            if !used.iter().any(|(_, w)| *w == what) {
                used.push((c, what));
            }
        };
        add(g.event, "send/arrival");
        for a in &self.p.arrows {
            match a.end {
                End::Lost(_) | End::Down(_) => add(g.lost, "lost"),
                End::Hidden => add(g.unknown, "arrival is yours to work out"),
                End::InFlight => add(g.flight, "still in flight"),
                End::Arrived(_) => {}
            }
            if a.copy == 1 && a.end != End::Hidden {
                add(g.vc, "network copy");
            }
        }
        for (_, item) in &self.p.items {
            match item {
                Item::Mark { kind, .. } => match kind {
                    MarkKind::Crash => add(g.crash, "crash"),
                    MarkKind::Restart => add(g.restart, "restart"),
                    MarkKind::Timer => add(g.timer, "timer"),
                    MarkKind::Call => add(g.call, "call"),
                    MarkKind::Return => add(g.ret, "return"),
                    MarkKind::Note => add(g.note, "note"),
                },
                Item::Partition { .. } => add(g.band, "partition"),
                _ => {}
            }
        }
        if self.p.items.iter().any(|(_, i)| matches!(i, Item::Mark { kind: MarkKind::Crash, .. })) {
            add(g.down, "node down");
        }
        let parts: Vec<String> = used.iter().map(|(c, w)| format!("{c} {w}")).collect();
        // Wrapped between entries, never inside one.
        let indent = " ".repeat(self.axis_width() + 2);
        let mut s = String::new();
        let mut line = format!("{indent}key:");
        let mut first = true;
        for part in parts {
            if line.chars().count() + 3 + part.chars().count() > WIDTH {
                s.push_str(&line);
                s.push('\n');
                line = format!("{indent}    ");
                first = true;
            }
            line.push_str(if first { " " } else { "   " });
            line.push_str(&part);
            first = false;
        }
        s.push_str(&line);
        s.push('\n');
        s
    }
}

fn cells_text(cells: &[Cell], colour: bool) -> String {
    let mut s = String::new();
    let mut current = Paint::None;
    for c in cells {
        if colour && c.paint != current {
            if current != Paint::None {
                s.push_str("\x1b[0m");
            }
            s.push_str(c.paint.code());
            current = c.paint;
        }
        s.push(c.ch);
    }
    if colour && current != Paint::None {
        s.push_str("\x1b[0m");
    }
    s
}

fn wrap_text(text: &str, width: usize) -> Vec<String> {
    if text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let lines: Vec<String> = textwrap::wrap(text, width).into_iter().map(|c| c.into_owned()).collect();
    if lines.is_empty() {
        vec![String::new()]
    } else {
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::MS;

    /// A picture of `n` nodes: each message (from, to, sent ms, arrival ms or
    /// None for lost) gets a send row and, if it lands, an arrival row.
    fn synth(n: usize, msgs: &[(usize, usize, u64, Option<u64>)]) -> Picture {
        let nodes: Vec<String> = (1..=n).map(|i| format!("node{i}")).collect();
        let mut arrows = Vec::new();
        let mut events: Vec<(Time, usize, Item)> = Vec::new();
        for (k, (from, to, sent, arrive)) in msgs.iter().enumerate() {
            let end = match arrive {
                Some(t) => End::Arrived(t * MS),
                None => End::Lost(LossReason::Dropped),
            };
            arrows.push(Arrow {
                id: k as u64,
                copy: 0,
                from: *from,
                to: *to,
                sent: sent * MS,
                label: format!("m{}", k + 1),
                fate: "+?".into(),
                due: arrive.map(|t| t * MS),
                end,
            });
            events.push((sent * MS, 2 * k, Item::Send(vec![k])));
            if let Some(t) = arrive {
                events.push((t * MS, 2 * k + 1, Item::Arrive(k)));
            }
        }
        events.sort_by_key(|(t, seq, _)| (*t, *seq));
        let end = events.last().map_or(0, |e| e.0);
        Picture { nodes, items: events.into_iter().map(|(t, _, i)| (t, i)).collect(), arrows, partitions: vec![], end }
    }

    fn width(s: &str) -> usize {
        s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    #[test]
    fn six_nodes_fit_100_columns_in_unicode() {
        let msgs: Vec<_> = (0..12)
            .map(|k| (k % 6, (k * 5 + 1) % 6, k as u64 * 5, Some(k as u64 * 5 + 12 + (k as u64 % 3) * 9)))
            .collect();
        let msgs: Vec<_> = msgs.into_iter().filter(|m| m.0 != m.1).collect();
        let s = render(&synth(6, &msgs), Opts::default());
        println!("{s}");
        assert!(width(&s) <= WIDTH, "{s}");
        assert!(s.contains('●') && s.contains('▶') && s.contains('◀'));
        assert!(s.contains("node6"));
        // Every message's send and arrival are annotated.
        assert_eq!(s.matches("send m").count(), msgs.len());
        assert_eq!(s.matches("arrives: m").count(), msgs.len());
    }

    #[test]
    fn past_six_nodes_it_is_ascii_with_short_names() {
        let msgs: Vec<_> = (0..10).map(|k| (k % 8, (k + 3) % 8, k as u64 * 4, Some(k as u64 * 4 + 10))).collect();
        let s = render(&synth(8, &msgs), Opts::default());
        println!("{s}");
        assert!(s.is_ascii(), "{s}");
        assert!(width(&s) <= WIDTH, "{s}");
        assert!(s.contains("nodes: n1 = node1, n2 = node2"), "{s}");
        assert_eq!(s.matches("arrives: m").count(), 10);
    }

    #[test]
    fn too_many_messages_at_once_go_without_lanes_and_still_fit() {
        // 60 messages all in flight together: more lanes than 100 columns hold.
        let msgs: Vec<_> = (0..60).map(|k| (0, 1, k as u64, Some(200 + k as u64))).collect();
        let s = render(&synth(2, &msgs), Opts::default());
        assert!(width(&s) <= WIDTH, "{s}");
        assert_eq!(s.matches("arrives: m").count(), 60);
        // Those without a lane say when they left, on arrival.
        assert!(s.contains("(sent "), "{s}");
        assert!(s.contains("(no lane free)"), "{s}");
    }

    #[test]
    fn colour_only_when_asked_and_never_inside_the_layout() {
        let msgs = [(0, 1, 0, Some(10)), (0, 1, 5, None), (1, 0, 12, Some(30))];
        let plain = render(&synth(2, &msgs), Opts { ascii: false, colour: false });
        let colour = render(&synth(2, &msgs), Opts { ascii: false, colour: true });
        assert!(!plain.contains('\x1b'));
        assert!(colour.contains("\x1b[31m✗\x1b[0m"), "{colour}");
        // Without the escapes, the coloured drawing is the plain one.
        let mut stripped = String::new();
        let mut chars = colour.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                stripped.push(c);
            }
        }
        assert_eq!(stripped, plain);
    }

    #[test]
    fn abbreviations_are_short_and_unique() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(abbreviations(&names(&["sender", "receiver"])), ["s", "r"]);
        assert_eq!(abbreviations(&names(&["replica1", "replica12", "client"])), ["r1", "r12", "c"]);
        assert_eq!(abbreviations(&names(&["server", "sender"])), ["ser", "sen"]);
        assert_eq!(abbreviations(&names(&["a", "a"])), ["n0", "n1"]);
    }

    #[test]
    fn a_node_messaging_itself_does_not_break_the_drawing() {
        let msgs = [(0, 0, 0, Some(5)), (1, 1, 2, None), (1, 0, 3, Some(9))];
        let s = render(&synth(2, &msgs), Opts::default());
        assert_eq!(s.matches("arrives: m").count(), 2, "{s}");
        let q = render(&synth(2, &msgs), Opts { ascii: true, colour: false });
        assert!(q.is_ascii());
    }
}
