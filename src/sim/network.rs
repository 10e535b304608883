//! The network: per-link latency, loss and duplication, each link drawing from
//! its own random stream, and partitions over windows of time.

use super::rng::Stream;
use super::time::{fmt_time, Time, MS};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small, fast, deterministic hasher for the per-link stream table (the
/// FxHash mix). The table is only ever looked up, never iterated, so the hash
/// cannot leak into any output.
#[derive(Default, Clone, Copy)]
struct LinkHasher(u64);

impl Hasher for LinkHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type NodeId = usize;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    Constant(Time),
    Uniform { min: Time, max: Time },
    Exponential { mean: Time },
}

impl Latency {
    /// Whole milliseconds whenever the lab wrote whole milliseconds, so the
    /// timelines students read stay in round numbers.
    fn granularity(&self) -> Time {
        let whole = |t: Time| t % MS == 0;
        let all_whole = match *self {
            Latency::Constant(t) => whole(t),
            Latency::Uniform { min, max } => whole(min) && whole(max),
            Latency::Exponential { mean } => whole(mean),
        };
        if all_whole {
            MS
        } else {
            1
        }
    }

    pub fn sample(&self, s: &mut Stream) -> Time {
        let g = self.granularity();
        match *self {
            Latency::Constant(t) => {
                s.next_u64();
                t
            }
            Latency::Uniform { min, max } => g * s.range_inclusive(min / g, max / g),
            Latency::Exponential { mean } => {
                // -mean * ln(1 - u), with libm's portable ln so every platform
                // rounds the same way.
                let u = s.unit();
                let x = -(mean as f64) * libm::log(1.0 - u);
                let t = libm::round(x / g as f64) as Time;
                t.saturating_mul(g)
            }
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Latency::Constant(t) => format!("constant {}", fmt_time(t)),
            Latency::Uniform { min, max } => format!("uniform {}..{}", fmt_time(min), fmt_time(max)),
            Latency::Exponential { mean } => format!("exponential mean {}", fmt_time(mean)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    pub latency: Latency,
    pub drop: f64,
    pub duplicate: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { latency: Latency::Constant(10 * MS), drop: 0.0, duplicate: 0.0 }
    }
}

/// A window during which messages from `from` to `to` are lost; two-way
/// windows also cut `to` → `from`.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    pub from: Vec<NodeId>,
    pub to: Vec<NodeId>,
    pub two_way: bool,
    pub at: Time,
    pub until: Time,
}

impl Partition {
    pub fn cuts(&self, from: NodeId, to: NodeId, t: Time) -> bool {
        if t < self.at || t >= self.until {
            return false;
        }
        let forward = self.from.contains(&from) && self.to.contains(&to);
        let backward = self.two_way && self.to.contains(&from) && self.from.contains(&to);
        forward || backward
    }
}

/// A window during which every link drops messages with at least `drop`
/// and duplicates them with at least `duplicate`.
#[derive(Clone, Debug, PartialEq)]
pub struct Burst {
    pub at: Time,
    pub until: Time,
    pub drop: f64,
    pub duplicate: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossReason {
    /// The link's drop probability struck.
    Dropped,
    /// A partition window cut the link.
    Partitioned,
}

/// What the network decided for one transmission, at the moment it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Lost(LossReason),
    Delivered { delay: Time },
    Duplicated { delay: Time, copy_delay: Time },
}

pub struct Network {
    pub default: LinkConfig,
    pub links: Vec<((NodeId, NodeId), LinkConfig)>,
    pub partitions: Vec<Partition>,
    pub bursts: Vec<Burst>,
    seed: u64,
    names: Vec<String>,
    streams: HashMap<(NodeId, NodeId), Stream, BuildHasherDefault<LinkHasher>>,
}

impl Network {
    pub fn new(seed: u64, names: Vec<String>, default: LinkConfig) -> Network {
        Network {
            default,
            links: Vec::new(),
            partitions: Vec::new(),
            bursts: Vec::new(),
            seed,
            names,
            streams: HashMap::default(),
        }
    }

    pub fn config(&self, from: NodeId, to: NodeId) -> &LinkConfig {
        self.links.iter().find(|(k, _)| *k == (from, to)).map(|(_, c)| c).unwrap_or(&self.default)
    }

    /// Decides the fate of one transmission. Every call draws the same number
    /// of values from the link's stream, whatever the outcome, so changing a
    /// probability never shifts the draws of later messages.
    pub fn transmit(&mut self, from: NodeId, to: NodeId, now: Time) -> Fate {
        let config = self.config(from, to);
        let (mut drop, mut duplicate, latency) = (config.drop, config.duplicate, config.latency);
        for b in &self.bursts {
            if now >= b.at && now < b.until {
                drop = drop.max(b.drop);
                duplicate = duplicate.max(b.duplicate);
            }
        }
        let seed = self.seed;
        let names = &self.names;
        let stream = self
            .streams
            .entry((from, to))
            .or_insert_with(|| Stream::new(seed, &format!("net:{}->{}", names[from], names[to])));
        let lost = stream.chance(drop);
        let dup = stream.chance(duplicate);
        let delay = latency.sample(stream);
        let copy_delay = latency.sample(stream);
        if self.partitions.iter().any(|p| p.cuts(from, to, now)) {
            return Fate::Lost(LossReason::Partitioned);
        }
        if lost {
            Fate::Lost(LossReason::Dropped)
        } else if dup {
            Fate::Duplicated { delay, copy_delay }
        } else {
            Fate::Delivered { delay }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(drop: f64) -> Network {
        Network::new(
            3,
            vec!["a".into(), "b".into()],
            LinkConfig { latency: Latency::Uniform { min: 5 * MS, max: 25 * MS }, drop, duplicate: 0.0 },
        )
    }

    #[test]
    fn delays_do_not_depend_on_drop_probability() {
        let mut low = net(0.0);
        let mut high = net(0.9);
        let mut lost = 0;
        for i in 0..50 {
            let a = low.transmit(0, 1, i);
            let b = high.transmit(0, 1, i);
            match (a, b) {
                (Fate::Delivered { delay: x }, Fate::Delivered { delay: y }) => assert_eq!(x, y),
                (Fate::Delivered { delay }, Fate::Lost(LossReason::Dropped)) => {
                    assert!((5 * MS..=25 * MS).contains(&delay));
                    lost += 1;
                }
                other => panic!("unexpected fates {other:?}"),
            }
        }
        assert!(lost > 30, "a 0.9 drop rate lost only {lost} of 50");
    }

    #[test]
    fn partitions_cut_one_or_both_ways_inside_the_window() {
        let mut p = Partition { from: vec![0], to: vec![1], two_way: false, at: 10, until: 20 };
        assert!(p.cuts(0, 1, 10));
        assert!(!p.cuts(1, 0, 10));
        assert!(!p.cuts(0, 1, 20));
        assert!(!p.cuts(0, 1, 9));
        p.two_way = true;
        assert!(p.cuts(1, 0, 15));
    }

    #[test]
    fn latency_samples_whole_milliseconds() {
        let mut s = Stream::new(1, "x");
        for _ in 0..100 {
            let t = Latency::Exponential { mean: 20 * MS }.sample(&mut s);
            assert_eq!(t % MS, 0);
        }
    }
}
