//! Faults as a lab declares them and as `inject` adds them: crashes, restarts
//! and partitions, with node names resolved and windows checked.

use super::diag::suggest;
use crate::sim::{fmt_time, parse_duration, Burst, Corruption, NodeFault, NodeId, Partition, Time};

#[derive(Clone, Debug, PartialEq)]
pub enum FaultDef {
    Crash {
        node: NodeId,
        at: Time,
    },
    Restart {
        node: NodeId,
        at: Time,
    },
    Partition {
        from: Vec<NodeId>,
        to: Vec<NodeId>,
        two_way: bool,
        at: Time,
        until: Time,
    },
    Corrupt {
        node: NodeId,
        block: usize,
        kind: Corruption,
        at: Time,
    },
    /// Every link drops with at least `drop` and duplicates with at least
    /// `duplicate` between `at` and `until`.
    Burst {
        drop: f64,
        duplicate: f64,
        at: Time,
        until: Time,
    },
}

impl FaultDef {
    pub fn describe(&self, names: &[String]) -> String {
        let group = |g: &[NodeId]| g.iter().map(|n| names[*n].as_str()).collect::<Vec<_>>().join(",");
        match self {
            FaultDef::Crash { node, at } => format!("crash {} at {}", names[*node], fmt_time(*at)),
            FaultDef::Restart { node, at } => format!("restart {} at {}", names[*node], fmt_time(*at)),
            FaultDef::Corrupt { node, block, kind, at } => {
                format!("{kind} on {} block {block} at {}", names[*node], fmt_time(*at))
            }
            FaultDef::Burst { drop, duplicate, at, until } => {
                let what = match (*drop > 0.0, *duplicate > 0.0) {
                    (true, true) => format!("drop {drop} and duplicate {duplicate} burst"),
                    (false, true) => format!("duplicate burst {duplicate}"),
                    _ => format!("drop burst {drop}"),
                };
                format!("{what} from {} to {}", fmt_time(*at), fmt_time(*until))
            }
            FaultDef::Partition { from, to, two_way, at, until } => format!(
                "partition {} {} {} from {} to {}",
                group(from),
                if *two_way { "|" } else { "-/->" },
                group(to),
                fmt_time(*at),
                fmt_time(*until)
            ),
        }
    }

    pub fn node_fault(&self) -> Option<NodeFault> {
        match *self {
            FaultDef::Crash { node, at } => Some(NodeFault::Crash { node, at }),
            FaultDef::Restart { node, at } => Some(NodeFault::Restart { node, at }),
            FaultDef::Corrupt { node, block, kind, at } => Some(NodeFault::Corrupt { node, block, kind, at }),
            FaultDef::Partition { .. } | FaultDef::Burst { .. } => None,
        }
    }

    pub fn burst(&self) -> Option<Burst> {
        match *self {
            FaultDef::Burst { drop, duplicate, at, until } => Some(Burst { at, until, drop, duplicate }),
            _ => None,
        }
    }

    /// The same fault as a command-line flag, for reproducers.
    pub fn flag(&self, names: &[String]) -> String {
        let group = |g: &[NodeId]| g.iter().map(|n| names[*n].as_str()).collect::<Vec<_>>().join(",");
        match self {
            FaultDef::Crash { node, at } => format!("--crash {}@{}", names[*node], fmt_time(*at)),
            FaultDef::Restart { node, at } => format!("--restart {}@{}", names[*node], fmt_time(*at)),
            FaultDef::Partition { from, to, two_way, at, until } => format!(
                "--partition {}{}{}@{}..{}",
                group(from),
                if *two_way { "/" } else { ">" },
                group(to),
                fmt_time(*at),
                fmt_time(*until)
            ),
            FaultDef::Corrupt { node, block, kind, at } => {
                let base = format!("{}:{block}@{}", names[*node], fmt_time(*at));
                match kind {
                    Corruption::Latent => format!("--lse {base}"),
                    Corruption::BitFlip => format!("--corrupt {base}"),
                    Corruption::Misdirected => format!("--corrupt {base}/misdirect"),
                    Corruption::LostWrite => format!("--corrupt {base}/lostwrite"),
                    Corruption::Swap => format!("--corrupt {base}/swap"),
                }
            }
            FaultDef::Burst { drop, duplicate, at, until } => {
                let window = format!("{}..{}", fmt_time(*at), fmt_time(*until));
                match (*drop > 0.0, *duplicate > 0.0) {
                    (true, true) => format!("--burst {drop}@{window} --dup-burst {duplicate}@{window}"),
                    (false, true) => format!("--dup-burst {duplicate}@{window}"),
                    _ => format!("--burst {drop}@{window}"),
                }
            }
        }
    }

    /// The same fault as a `[[fault]]` table of a plan file.
    pub fn plan_toml(&self, names: &[String]) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut s = String::from("[[fault]]\n");
        match self {
            FaultDef::Crash { node, at } => {
                s.push_str(&format!("at = {}\ncrash = {}\n", q(&fmt_time(*at)), q(&names[*node])))
            }
            FaultDef::Restart { node, at } => {
                s.push_str(&format!("at = {}\nrestart = {}\n", q(&fmt_time(*at)), q(&names[*node])))
            }
            FaultDef::Partition { from, to, two_way, at, until } => {
                let side = |g: &[NodeId]| g.iter().map(|n| q(&names[*n])).collect::<Vec<_>>().join(", ");
                s.push_str(&format!(
                    "at = {}\nuntil = {}\npartition = [[{}], [{}]]\n",
                    q(&fmt_time(*at)),
                    q(&fmt_time(*until)),
                    side(from),
                    side(to)
                ));
                if !two_way {
                    s.push_str("oneway = true\n");
                }
            }
            FaultDef::Corrupt { node, block, kind, at } => {
                let place = q(&format!("{}:{block}", names[*node]));
                match kind {
                    Corruption::Latent => s.push_str(&format!("at = {}\nlse = {place}\n", q(&fmt_time(*at)))),
                    k => {
                        let kind = match k {
                            Corruption::Misdirected => "misdirect",
                            Corruption::LostWrite => "lostwrite",
                            Corruption::Swap => "swap",
                            _ => "bitflip",
                        };
                        s.push_str(&format!("at = {}\ncorrupt = {place}\nkind = {}\n", q(&fmt_time(*at)), q(kind)))
                    }
                }
            }
            FaultDef::Burst { drop, duplicate, at, until } => {
                s.push_str(&format!("at = {}\nuntil = {}\n", q(&fmt_time(*at)), q(&fmt_time(*until))));
                if *drop > 0.0 {
                    s.push_str(&format!("drop = {drop}\n"));
                }
                if *duplicate > 0.0 {
                    s.push_str(&format!("duplicate = {duplicate}\n"));
                }
            }
        }
        s
    }

    pub fn partition(&self) -> Option<Partition> {
        match self {
            FaultDef::Partition { from, to, two_way, at, until } => {
                Some(Partition { from: from.clone(), to: to.clone(), two_way: *two_way, at: *at, until: *until })
            }
            _ => None,
        }
    }
}

/// Finds a node by name, or says which names exist.
pub fn node_id(names: &[String], name: &str) -> Result<NodeId, String> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        let hint = suggest(name, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        format!("no node `{name}` in this lab; {hint}nodes are {}", names.join(", "))
    })
}

fn time_of(s: &str) -> Result<Time, String> {
    parse_duration(s).map(|d| d.0)
}

/// `server@120ms`.
pub fn parse_node_at(spec: &str, names: &[String]) -> Result<(NodeId, Time), String> {
    let (node, at) = spec.split_once('@').ok_or_else(|| "write NODE@TIME, such as server@120ms".to_string())?;
    Ok((node_id(names, node.trim())?, time_of(at)?))
}

/// Checks that a node has a disk with this block.
pub fn check_block(names: &[String], disks: &[usize], node: NodeId, block: usize) -> Result<(), String> {
    let with_disks: Vec<&str> = names.iter().zip(disks).filter(|(_, d)| **d > 0).map(|(n, _)| n.as_str()).collect();
    match disks.get(node).copied().unwrap_or(0) {
        0 if with_disks.is_empty() => {
            Err(format!("no node in this lab has a disk, so `{}` cannot be corrupted", names[node]))
        }
        0 => Err(format!("node `{}` has no disk; nodes with disks: {}", names[node], with_disks.join(", "))),
        n if block >= n => Err(format!("{} has blocks 0 to {}; there is no block {block}", names[node], n - 1)),
        _ => Ok(()),
    }
}

/// `server:3` → (node, block), checked against the nodes' disks.
pub fn parse_block(spec: &str, names: &[String], disks: &[usize]) -> Result<(NodeId, usize), String> {
    let (node, block) =
        spec.split_once(':').ok_or_else(|| format!("`{spec}` names no block: write NODE:BLOCK, such as server:3"))?;
    let node = node_id(names, node.trim())?;
    let block: usize = block
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a block number: write NODE:BLOCK, such as server:3", block.trim()))?;
    check_block(names, disks, node, block)?;
    Ok((node, block))
}

pub const CORRUPT_HELP: &str =
    "write NODE:BLOCK@TIME, optionally /KIND with KIND one of bitflip (the default), swap, misdirect, lostwrite: such as server:3@50ms/misdirect";

/// `--corrupt server:3@50ms[/kind]` and `--lse server:3@50ms`.
pub fn parse_corrupt(spec: &str, names: &[String], disks: &[usize], latent: bool) -> Result<FaultDef, String> {
    let (what, kind) = match spec.rsplit_once('/') {
        Some((w, k)) if !latent => {
            let kind = Corruption::parse(k.trim()).filter(|k| *k != Corruption::Latent).ok_or_else(|| {
                format!("unknown corruption `{}`: {CORRUPT_HELP} (use --lse for latent sector errors)", k.trim())
            })?;
            (w, kind)
        }
        _ if latent => (spec, Corruption::Latent),
        _ => (spec, Corruption::BitFlip),
    };
    let (place, at) = what.split_once('@').ok_or_else(|| format!("no time: {CORRUPT_HELP}"))?;
    let (node, block) = parse_block(place, names, disks)?;
    Ok(FaultDef::Corrupt { node, block, kind, at: time_of(at)? })
}

pub const BURST_HELP: &str = "write P@START..END, such as 0.9@100ms..300ms";

/// `--burst 0.9@100ms..300ms`: a window of heavy loss on every link; with
/// `duplicate`, of duplication instead.
pub fn parse_burst(spec: &str, duplicate: bool) -> Result<FaultDef, String> {
    let (p, window) = spec.split_once('@').ok_or_else(|| format!("no time window: {BURST_HELP}"))?;
    let drop: f64 = p.trim().parse().map_err(|_| format!("`{}` is not a probability: {BURST_HELP}", p.trim()))?;
    let drop = super::schema::Prob::check(drop)?.0;
    let (at, until) = parse_window(window)?;
    if until == at {
        return Err("the burst window is empty: END must be after START".into());
    }
    Ok(if duplicate {
        FaultDef::Burst { drop: 0.0, duplicate: drop, at, until }
    } else {
        FaultDef::Burst { drop, duplicate: 0.0, at, until }
    })
}

/// `MIN..MAX` durations, such as `5ms..40ms`.
pub fn parse_window(spec: &str) -> Result<(Time, Time), String> {
    let (a, b) = spec
        .split_once("..")
        .ok_or_else(|| format!("`{spec}` is not a range: write START..END, such as 100ms..250ms"))?;
    let (a, b) = (time_of(a)?, time_of(b)?);
    if b < a {
        return Err(format!("the range ends before it starts ({}..{})", fmt_time(a), fmt_time(b)));
    }
    Ok((a, b))
}

pub const PARTITION_HELP: &str =
    "write A,B/C@START..END (two-way) or A,B>C@START..END (one-way, A and B cannot reach C), such as sender/receiver@100ms..300ms";

/// `a,b/c@10ms..50ms` cuts both ways; `a,b>c@10ms..50ms` cuts only a,b → c.
pub fn parse_partition(spec: &str, names: &[String]) -> Result<FaultDef, String> {
    let (groups, window) = spec.split_once('@').ok_or_else(|| format!("no time window: {PARTITION_HELP}"))?;
    let (left, right, two_way) = if let Some((l, r)) = groups.split_once('/') {
        (l, r, true)
    } else if let Some((l, r)) = groups.split_once('>') {
        (l, r, false)
    } else {
        return Err(format!("no `/` or `>` between the two sides: {PARTITION_HELP}"));
    };
    let side = |s: &str| -> Result<Vec<NodeId>, String> {
        let ids: Result<Vec<NodeId>, String> =
            s.split(',').map(str::trim).filter(|n| !n.is_empty()).map(|n| node_id(names, n)).collect();
        let ids = ids?;
        if ids.is_empty() {
            return Err(format!("one side of the partition is empty: {PARTITION_HELP}"));
        }
        Ok(ids)
    };
    let (from, to) = (side(left)?, side(right)?);
    if let Some(n) = from.iter().find(|n| to.contains(n)) {
        return Err(format!("node `{}` is on both sides of the partition", names[*n]));
    }
    let (at, until) = parse_window(window)?;
    if until == at {
        return Err("the partition window is empty: END must be after START".into());
    }
    Ok(FaultDef::Partition { from, to, two_way, at, until })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["client".into(), "server".into()]
    }

    #[test]
    fn partitions_parse_and_reject_mistakes() {
        let p = parse_partition("client/server@10ms..50ms", &names()).unwrap();
        assert_eq!(p, FaultDef::Partition { from: vec![0], to: vec![1], two_way: true, at: 10_000, until: 50_000 });
        let p = parse_partition("server>client@0ms..1s", &names()).unwrap();
        assert!(matches!(p, FaultDef::Partition { two_way: false, .. }));
        assert!(parse_partition("client/server@50ms..10ms", &names()).unwrap_err().contains("ends before it starts"));
        assert!(parse_partition("client/server", &names()).unwrap_err().contains("no time window"));
        assert!(parse_partition("client,server@1ms..2ms", &names()).unwrap_err().contains("`/` or `>`"));
        assert!(parse_partition("client/sever@1ms..2ms", &names()).unwrap_err().contains("did you mean `server`"));
        assert!(parse_partition("client/client@1ms..2ms", &names()).unwrap_err().contains("both sides"));
        assert!(parse_partition("/server@1ms..2ms", &names()).unwrap_err().contains("empty"));
    }

    #[test]
    fn corruptions_parse_against_the_disks() {
        let disks = [0, 4];
        assert_eq!(
            parse_corrupt("server:3@5ms/misdirect", &names(), &disks, false),
            Ok(FaultDef::Corrupt { node: 1, block: 3, kind: Corruption::Misdirected, at: 5000 })
        );
        assert_eq!(
            parse_corrupt("server:0@1ms", &names(), &disks, true),
            Ok(FaultDef::Corrupt { node: 1, block: 0, kind: Corruption::Latent, at: 1000 })
        );
        assert!(parse_corrupt("server:4@1ms", &names(), &disks, false).unwrap_err().contains("blocks 0 to 3"));
        assert!(parse_corrupt("client:0@1ms", &names(), &disks, false)
            .unwrap_err()
            .contains("has no disk; nodes with disks: server"));
        assert!(parse_corrupt("server:0@1ms/melt", &names(), &disks, false)
            .unwrap_err()
            .contains("unknown corruption `melt`"));
        assert!(parse_corrupt("server@1ms", &names(), &disks, false).unwrap_err().contains("NODE:BLOCK"));
        assert!(parse_corrupt("server:0@1ms", &names(), &[0, 0], false)
            .unwrap_err()
            .contains("no node in this lab has a disk"));
    }

    #[test]
    fn node_at_parses() {
        assert_eq!(parse_node_at("server@120ms", &names()), Ok((1, 120_000)));
        assert!(parse_node_at("server", &names()).is_err());
        assert!(parse_node_at("server@12", &names()).unwrap_err().contains("no unit"));
    }
}
