//! The workload notation: a script of client steps, each `[TIME] CLIENT OP
//! ARGS`, read with errors that point at the offending word.

use super::fs::split_path;
use super::show_bytes;
use crate::sim::{Dur, Time};
use std::collections::BTreeSet;
use std::fmt;

/// Limits that keep a lab small enough to read.
pub const MAX_DATA: usize = 256;
pub const MAX_OFFSET: u64 = 65_536;

/// When a step starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// As soon as the client's previous step has returned.
    Next,
    /// At this time, or when the previous step returns if that is later.
    At(Time),
    /// This long after the client's previous step returned.
    After(Time),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create(String),
    Mkdir(String),
    Remove(String),
    Open(String),
    Close(String),
    /// The whole file, or `count` bytes from `off`.
    Read {
        path: String,
        range: Option<(u64, u64)>,
    },
    Write {
        path: String,
        off: u64,
        data: Vec<u8>,
    },
}

impl Op {
    pub fn path(&self) -> &str {
        match self {
            Op::Create(p) | Op::Mkdir(p) | Op::Remove(p) | Op::Open(p) | Op::Close(p) => p,
            Op::Read { path, .. } | Op::Write { path, .. } => path,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create(p) => write!(f, "create {p}"),
            Op::Mkdir(p) => write!(f, "mkdir {p}"),
            Op::Remove(p) => write!(f, "remove {p}"),
            Op::Open(p) => write!(f, "open {p}"),
            Op::Close(p) => write!(f, "close {p}"),
            Op::Read { path, range: None } => write!(f, "read {path}"),
            Op::Read { path, range: Some((o, c)) } => write!(f, "read {path} {o} {c}"),
            Op::Write { path, off, data } => write!(f, "write {path} {off} {}", show_bytes(data)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub when: When,
    pub client: usize,
    pub op: Op,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{} {}", self.client, self.op)
    }
}

pub const STEP_HELP: &str = "a step is [TIME] CLIENT OP ARGS, such as \"200ms c0 write /a 0 hello\", \"+3s c1 read /a\" or \"c0 close /a\": TIME is absolute (200ms) or after the client's previous step (+3s), and OP is create PATH, mkdir PATH, remove PATH, open PATH, read PATH [OFFSET COUNT], write PATH OFFSET DATA or close PATH";

/// A problem in a script step: where in the step's text, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub at: usize,
    pub message: String,
}

fn step_err(at: usize, message: impl Into<String>) -> StepError {
    StepError { at, message: message.into() }
}

/// Words with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

pub const PATH_HELP: &str =
    "a path starts with / and its names use letters, digits, `.`, `_` and `-`, such as /a or /dir/notes.txt";

/// Checks a path: absolute, plain names, not too deep.
pub fn check_path(path: &str) -> Result<(), String> {
    let parts = split_path(path);
    let plain = |p: &String| {
        p != "." && p != ".." && p.len() <= 32 && p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if !path.starts_with('/') || path.contains("//") || parts.is_empty() || !parts.iter().all(plain) {
        return Err(format!("`{path}` is not a usable path: {PATH_HELP}"));
    }
    if parts.len() > 8 {
        return Err(format!("`{path}` is more than 8 names deep"));
    }
    Ok(())
}

fn number(at: usize, word: &str, what: &str) -> Result<u64, StepError> {
    match word.parse::<u64>() {
        Ok(n) if n <= MAX_OFFSET => Ok(n),
        _ => Err(step_err(at, format!("{what} `{word}` must be a whole number from 0 to {MAX_OFFSET}"))),
    }
}

/// Reads one script step.
pub fn parse_step(text: &str, clients: usize) -> Result<Step, StepError> {
    let w = words(text);
    let Some(&(first_at, first)) = w.first() else {
        return Err(step_err(0, format!("an empty step: {STEP_HELP}")));
    };
    let mut i = 0;
    let mut when = When::Next;
    if first.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '.') {
        let (rel, t) = match first.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, first),
        };
        let d = crate::sim::parse_duration(t).map_err(|e| step_err(first_at, format!("time `{first}`: {e}")))?;
        when = if rel { When::After(d.0) } else { When::At(d.0) };
        i += 1;
    }
    let clients_list = || (0..clients).map(|c| format!("c{c}")).collect::<Vec<_>>().join(", ");
    let Some(&(c_at, c_word)) = w.get(i) else {
        return Err(step_err(text.len(), format!("no client after the time: {STEP_HELP}")));
    };
    let client = c_word
        .strip_prefix('c')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < clients && c_word == format!("c{n}"))
        .ok_or_else(|| step_err(c_at, format!("no client `{c_word}`: clients are {}; {STEP_HELP}", clients_list())))?;
    i += 1;
    let Some(&(op_at, verb)) = w.get(i) else {
        return Err(step_err(text.len(), format!("no operation after `{c_word}`: {STEP_HELP}")));
    };
    i += 1;
    let Some(&(path_at, path)) = w.get(i) else {
        return Err(step_err(text.len(), format!("`{verb}` needs a path: {STEP_HELP}")));
    };
    i += 1;
    let path_op = |make: fn(String) -> Op| -> Result<Op, StepError> {
        match w.get(i) {
            Some(&(at, extra)) => Err(step_err(at, format!("`{verb}` takes only a path, not `{extra}`"))),
            None => Ok(make(path.to_string())),
        }
    };
    let op = match verb {
        "create" => path_op(Op::Create)?,
        "mkdir" => path_op(Op::Mkdir)?,
        "remove" => path_op(Op::Remove)?,
        "open" => path_op(Op::Open)?,
        "close" => path_op(Op::Close)?,
        "read" => match &w[i..] {
            [] => Op::Read { path: path.to_string(), range: None },
            [(oa, o), (ca, c)] => {
                let (off, count) = (number(*oa, o, "OFFSET")?, number(*ca, c, "COUNT")?);
                if count == 0 {
                    return Err(step_err(*ca, "COUNT must be at least 1"));
                }
                Op::Read { path: path.to_string(), range: Some((off, count)) }
            }
            [(at, _), ..] => {
                return Err(step_err(*at, "`read` takes a path, or a path, an OFFSET and a COUNT: read /a 0 4"))
            }
        },
        "write" => {
            let Some(&(oa, o)) = w.get(i) else {
                return Err(step_err(text.len(), "`write` needs an OFFSET and DATA: write /a 0 hello"));
            };
            let off = number(oa, o, "OFFSET")?;
            let Some(&(da, _)) = w.get(i + 1) else {
                return Err(step_err(text.len(), "`write` needs DATA after the offset: write /a 0 hello"));
            };
            let rest = text[da..].trim_end();
            let data = match rest.strip_prefix('"') {
                Some(inner) => {
                    inner.strip_suffix('"').ok_or_else(|| step_err(da, "DATA that opens with \" must close with \""))?
                }
                None => rest,
            };
            if data.is_empty() || data.len() > MAX_DATA {
                return Err(step_err(da, format!("DATA must be 1 to {MAX_DATA} bytes")));
            }
            Op::Write { path: path.to_string(), off, data: data.as_bytes().to_vec() }
        }
        other => {
            return Err(step_err(
                op_at,
                format!(
                    "unknown operation `{other}`: use create, mkdir, remove, open, read, write or close; {STEP_HELP}"
                ),
            ))
        }
    };
    check_path(path).map_err(|e| step_err(path_at, e))?;
    Ok(Step { when, client, op })
}

/// Checks the script as a whole: each client opens a file before it reads,
/// writes or closes it, never opens it twice, and its absolute times do not
/// go backwards. Returns the index of the offending step and why.
pub fn check_script(steps: &[Step], clients: usize) -> Result<(), (usize, String)> {
    let mut open: Vec<BTreeSet<String>> = vec![BTreeSet::new(); clients];
    let mut last: Vec<Option<Time>> = vec![None; clients];
    for (i, s) in steps.iter().enumerate() {
        let c = s.client;
        if let When::At(t) = s.when {
            if let Some(prev) = last[c].filter(|p| *p > t) {
                return Err((
                    i,
                    format!(
                        "c{c}'s steps go back in time: {} comes after a step at {}; list each client's steps in time order",
                        Dur(t),
                        Dur(prev)
                    ),
                ));
            }
            last[c] = Some(t);
        }
        let path = s.op.path().to_string();
        match &s.op {
            Op::Open(_) if open[c].contains(&path) => {
                return Err((i, format!("c{c} opens {path} again without closing it first")))
            }
            Op::Open(_) => {
                open[c].insert(path);
            }
            Op::Read { .. } | Op::Write { .. } | Op::Close(_) if !open[c].contains(&path) => {
                return Err((i, format!("c{c} has not opened {path}: add \"c{c} open {path}\" before this step")))
            }
            Op::Close(_) => {
                open[c].remove(&path);
            }
            _ => {}
        }
    }
    Ok(())
}

/// A script time as a lab would write it: `12.2s`, `500ms`.
pub(super) fn seconds(t: Time) -> String {
    let sec = crate::sim::SEC;
    if t >= sec && t % crate::sim::MS == 0 {
        let ms = format!("{:03}", (t % sec) / crate::sim::MS);
        let frac = ms.trim_end_matches('0');
        if frac.is_empty() {
            format!("{}s", t / sec)
        } else {
            format!("{}.{frac}s", t / sec)
        }
    } else {
        Dur(t).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{MS, SEC};

    #[test]
    fn the_script_notation_reads_times_clients_and_data() {
        let s = parse_step("200ms c0 write /a 0 hello world", 2).unwrap();
        assert_eq!(s.when, When::At(200 * MS));
        assert_eq!(s.op, Op::Write { path: "/a".into(), off: 0, data: b"hello world".to_vec() });
        let s = parse_step("  +3s   c1 read /d/x.txt 4 2", 2).unwrap();
        assert_eq!((s.when, s.client), (When::After(3 * SEC), 1));
        assert_eq!(s.op, Op::Read { path: "/d/x.txt".into(), range: Some((4, 2)) });
        assert_eq!(parse_step("c0 close /a", 1).unwrap().when, When::Next);
        let quoted = parse_step("c0 write /a 3 \" two  spaces\"", 1).unwrap();
        assert_eq!(quoted.op, Op::Write { path: "/a".into(), off: 3, data: b" two  spaces".to_vec() });
        assert_eq!(quoted.to_string(), "c0 write /a 3  two  spaces");
        assert_eq!(seconds(12_200 * MS), "12.2s");
        assert_eq!(seconds(500 * MS), "500ms");
        assert_eq!(seconds(3 * SEC), "3s");
    }

    #[test]
    fn the_script_notation_points_at_the_bad_word() {
        let err = |text: &str| parse_step(text, 2).unwrap_err();
        let e = err("1s c2 open /a");
        assert_eq!(e.at, 3);
        assert!(e.message.contains("no client `c2`: clients are c0, c1"), "{}", e.message);
        let e = err("1s c0 opne /a");
        assert_eq!(e.at, 6);
        assert!(e.message.contains("unknown operation `opne`") && e.message.contains("read PATH [OFFSET COUNT]"));
        assert_eq!(err("c0 open a").at, 8);
        assert!(err("c0 open /a/../b").message.contains("not a usable path"));
        let e = err("c0 write /a x hi");
        assert_eq!((e.at, e.message.contains("OFFSET `x`")), (12, true));
        assert!(err("c0 write /a 0").message.contains("needs DATA"));
        assert!(err("c0 write /a 0 \"open").message.contains("must close"));
        assert_eq!(err("c0 read /a 1").at, 11);
        assert!(err("c0 read /a 0 0").message.contains("COUNT must be at least 1"));
        assert!(err("c0 close /a /b").message.contains("takes only a path"));
        let e = err("10 c0 open /a");
        assert_eq!(e.at, 0);
        assert!(e.message.contains("time `10`") && e.message.contains("no unit"));
        assert!(err("   ").message.contains("an empty step"));
        assert!(err("5ms").message.contains("no client"));
        assert!(err("c0").message.contains("no operation"));
        assert!(err("c0 open").message.contains("needs a path"));
        assert!(err("c01 open /a").message.contains("no client `c01`"));
    }

    #[test]
    fn the_script_is_checked_as_a_whole() {
        let script = |lines: &[&str]| -> Result<(), (usize, String)> {
            let steps: Vec<Step> = lines.iter().map(|l| parse_step(l, 2).unwrap()).collect();
            check_script(&steps, 2)
        };
        assert_eq!(script(&["c0 open /a", "c1 open /a", "c0 read /a", "c0 close /a", "c0 open /a"]), Ok(()));
        let (i, m) = script(&["c0 open /a", "c1 read /a"]).unwrap_err();
        assert_eq!(i, 1);
        assert!(m.contains("c1 has not opened /a: add \"c1 open /a\""), "{m}");
        assert_eq!(script(&["c0 open /a", "c0 open /a"]).unwrap_err().0, 1);
        assert_eq!(script(&["c0 open /a", "c0 close /a", "c0 write /a 0 x"]).unwrap_err().0, 2);
        let (i, m) = script(&["1s c0 create /a", "c1 create /b", "500ms c0 remove /a"]).unwrap_err();
        assert_eq!(i, 2);
        assert!(m.contains("go back in time: 500ms comes after a step at 1s"), "{m}");
    }
}
