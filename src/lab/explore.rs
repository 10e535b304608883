//! Fault exploration: run many random fault schedules drawn from the lab's
//! fault space, check its invariants, and shrink the first schedule that
//! breaks one to a minimal schedule that still breaks the same invariant.

use super::{FaultDef, Injection, Lab};
use crate::models::{check, Violation};
use crate::sim::{Corruption, Stream, Time, MS};

/// The first schedule that broke an invariant, before and after shrinking.
pub struct Found {
    /// Which schedule it was, counting from 1; 0 when the lab's own run,
    /// with no extra fault, already breaks the invariant.
    pub schedule: u64,
    pub original: Vec<FaultDef>,
    pub shrunk: Vec<FaultDef>,
    /// The violation the shrunk schedule causes.
    pub violation: Violation,
    /// Runs spent shrinking.
    pub shrink_runs: u64,
}

pub struct Exploration {
    pub tried: u64,
    pub horizon: Time,
    pub found: Option<Found>,
}

/// The lab with its own `[[fault]]`s left out, which exploration starts
/// from: the question is which schedules break the system, and a lab whose
/// scenario already crashes a node would otherwise break it in every one.
/// The override that does the same is recorded, so reproducers carry it.
pub fn without_own_faults(lab: &Lab) -> Lab {
    let mut lab = lab.clone();
    if !lab.faults.is_empty() {
        lab.faults.clear();
        lab.overrides.push("fault=[]".to_string());
    }
    lab
}

/// Runs a lab with extra faults and returns the violations of its invariants.
pub fn violations(lab: &Lab, seed: u64, faults: &[FaultDef]) -> Vec<Violation> {
    let inj = Injection { faults: faults.to_vec(), ..Injection::default() };
    check(&lab.scenario(seed, &inj))
}

/// The window faults are drawn in: the lab's, or the fault-free run's length.
pub fn horizon(lab: &Lab, seed: u64) -> Time {
    lab.explore.horizon.unwrap_or_else(|| {
        let end = crate::models::run(&lab.scenario(seed, &Injection::default())).end;
        end.max(MS)
    })
}

/// A time in [0, horizon), in whole milliseconds so reproducers read well.
fn time_in(s: &mut Stream, horizon: Time) -> Time {
    MS * s.below((horizon / MS).max(1))
}

fn window(s: &mut Stream, horizon: Time) -> (Time, Time) {
    let at = time_in(s, horizon);
    let len = MS * (1 + s.below((horizon / MS / 2).max(1)));
    (at, at + len)
}

/// Draws schedule number `index` (from 1): up to `max_faults` faults.
pub fn draw(lab: &Lab, seed: u64, index: u64, horizon: Time) -> Vec<FaultDef> {
    let mut s = Stream::new(seed, &format!("explore:{index}"));
    let names = lab.node_names();
    let n = names.len() as u64;
    let disks = lab.model.disk_blocks();
    let kinds = &lab.explore.faults;
    let count = 1 + s.below(lab.explore.max_faults as u64);
    let mut out = Vec::new();
    for _ in 0..count {
        match kinds[s.below(kinds.len() as u64) as usize].as_str() {
            "crash" => {
                let node = s.below(n) as usize;
                let at = time_in(&mut s, horizon);
                out.push(FaultDef::Crash { node, at });
                // Half the crashes come back by hand (models may also reboot).
                if s.chance(0.5) {
                    let back = at + MS * (1 + s.below((horizon / MS / 2).max(1)));
                    out.push(FaultDef::Restart { node, at: back });
                }
            }
            "partition" => {
                // A random proper, non-empty subset on one side.
                let mask = 1 + s.below((1u64 << n.min(16)) - 2);
                let (from, to): (Vec<usize>, Vec<usize>) = (0..n as usize).partition(|i| mask & (1 << i) != 0);
                let two_way = !s.chance(0.3);
                let (at, until) = window(&mut s, horizon);
                out.push(FaultDef::Partition { from, to, two_way, at, until });
            }
            "burst" => {
                let drop = [0.5, 0.8, 1.0][s.below(3) as usize];
                let (at, until) = window(&mut s, horizon);
                out.push(FaultDef::Burst { drop, duplicate: 0.0, at, until });
            }
            "duplicate" => {
                let duplicate = [0.5, 1.0][s.below(2) as usize];
                let (at, until) = window(&mut s, horizon);
                out.push(FaultDef::Burst { drop: 0.0, duplicate, at, until });
            }
            "corrupt" => {
                let with: Vec<usize> = (0..disks.len()).filter(|i| disks[*i] > 0).collect();
                if with.is_empty() {
                    continue;
                }
                let node = with[s.below(with.len() as u64) as usize];
                let block = s.below(disks[node] as u64) as usize;
                let kind = [
                    Corruption::Latent,
                    Corruption::BitFlip,
                    Corruption::Misdirected,
                    Corruption::LostWrite,
                    Corruption::Swap,
                ][s.below(5) as usize];
                out.push(FaultDef::Corrupt { node, block, kind, at: time_in(&mut s, horizon) });
            }
            _ => {}
        }
    }
    out
}

/// Explores up to `n` schedules; stops at the first that breaks an invariant
/// and shrinks it. `progress` is called after every schedule.
pub fn explore(lab: &Lab, seed: u64, n: u64, mut progress: impl FnMut(u64)) -> Exploration {
    let horizon = horizon(lab, seed);
    // A lab whose own run already breaks an invariant needs no extra fault:
    // say so, rather than shrink some schedule down to nothing.
    if let Some(violation) = violations(lab, seed, &[]).into_iter().next() {
        let found = Found { schedule: 0, original: Vec::new(), shrunk: Vec::new(), violation, shrink_runs: 0 };
        return Exploration { tried: 0, horizon, found: Some(found) };
    }
    for i in 1..=n {
        let faults = draw(lab, seed, i, horizon);
        let broken = violations(lab, seed, &faults);
        progress(i);
        if let Some(v) = broken.into_iter().next() {
            let (shrunk, violation, shrink_runs) = shrink(lab, seed, &faults, v);
            return Exploration {
                tried: i,
                horizon,
                found: Some(Found { schedule: i, original: faults, shrunk, violation, shrink_runs }),
            };
        }
    }
    Exploration { tried: n, horizon, found: None }
}

/// Simpler variants of one fault: shorter windows, earlier and rounder times.
fn simpler(f: &FaultDef) -> Vec<FaultDef> {
    let round = |t: Time| t / (10 * MS) * (10 * MS);
    let times = |at: Time| {
        let mut v = vec![round(at), at / 2 / MS * MS];
        v.retain(|t| *t < at);
        v.dedup();
        v
    };
    let mut out = Vec::new();
    match f.clone() {
        FaultDef::Crash { node, at } => out.extend(times(at).into_iter().map(|at| FaultDef::Crash { node, at })),
        FaultDef::Restart { node, at } => out.extend(times(at).into_iter().map(|at| FaultDef::Restart { node, at })),
        FaultDef::Corrupt { node, block, kind, at } => {
            out.extend(times(at).into_iter().map(|at| FaultDef::Corrupt { node, block, kind, at }))
        }
        FaultDef::Partition { from, to, two_way, at, until } => {
            let half = at + ((until - at) / 2 / MS).max(1) * MS;
            if half < until {
                out.push(FaultDef::Partition { from: from.clone(), to: to.clone(), two_way, at, until: half });
            }
            if two_way {
                out.push(FaultDef::Partition { from: from.clone(), to: to.clone(), two_way: false, at, until });
                out.push(FaultDef::Partition { from: to.clone(), to: from.clone(), two_way: false, at, until });
            }
            for t in times(at) {
                out.push(FaultDef::Partition {
                    from: from.clone(),
                    to: to.clone(),
                    two_way,
                    at: t,
                    until: t + (until - at),
                });
            }
        }
        FaultDef::Burst { drop, duplicate, at, until } => {
            let half = at + ((until - at) / 2 / MS).max(1) * MS;
            if half < until {
                out.push(FaultDef::Burst { drop, duplicate, at, until: half });
            }
            for t in times(at) {
                out.push(FaultDef::Burst { drop, duplicate, at: t, until: t + (until - at) });
            }
        }
    }
    out
}

/// Delta debugging, greedy: drop faults, then simplify each, while the same
/// invariant still breaks. Bounded, so it always ends.
pub fn shrink(lab: &Lab, seed: u64, faults: &[FaultDef], first: Violation) -> (Vec<FaultDef>, Violation, u64) {
    const BUDGET: u64 = 2_000;
    let mut current = faults.to_vec();
    let invariant = first.invariant.clone();
    let mut best = first;
    let mut runs = 0;
    let still = |candidate: &[FaultDef], runs: &mut u64| -> Option<Violation> {
        *runs += 1;
        violations(lab, seed, candidate).into_iter().find(|v| v.invariant == invariant)
    };
    loop {
        let mut changed = false;
        let mut i = 0;
        while i < current.len() && runs < BUDGET {
            let mut candidate = current.clone();
            candidate.remove(i);
            if let Some(v) = still(&candidate, &mut runs) {
                current = candidate;
                best = v;
                changed = true;
            } else {
                i += 1;
            }
        }
        for i in 0..current.len() {
            for simpler in simpler(&current[i]) {
                if runs >= BUDGET {
                    break;
                }
                let mut candidate = current.clone();
                candidate[i] = simpler;
                if let Some(v) = still(&candidate, &mut runs) {
                    current = candidate;
                    best = v;
                    changed = true;
                    break;
                }
            }
        }
        if !changed || runs >= BUDGET {
            return (current, best, runs);
        }
    }
}
