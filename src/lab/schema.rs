//! The lab file as it is written: serde structs that reject unknown keys, and
//! value types (durations, probabilities, latencies) that check themselves as
//! they are read, so every error carries the position of the offending value.

use crate::sim::{parse_duration, Dur, Latency, DURATION_HELP};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a duration in quotes ({DURATION_HELP})")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dur, E> {
                Err(E::custom(format!("duration {n} has no unit: write it in quotes with a unit, such as \"{n}ms\"")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Dur, E> {
                Err(E::custom(format!("duration {n} has no unit: write it in quotes with a unit, such as \"{n}ms\"")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A probability, checked to lie in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Prob(pub f64);

pub const PROB_HELP: &str = "use a number from 0 to 1, such as 0.25";

impl Prob {
    pub fn check(x: f64) -> Result<Prob, String> {
        if (0.0..=1.0).contains(&x) {
            Ok(Prob(x))
        } else {
            Err(format!("probability {x} is out of range: {PROB_HELP}"))
        }
    }
}

impl<'de> Deserialize<'de> for Prob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Prob, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Prob;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a probability ({PROB_HELP})")
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Prob, E> {
                Prob::check(x).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Prob, E> {
                Prob::check(x as f64).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `latency = "20ms"` or `latency = { dist = "uniform", min = "5ms", max = "25ms" }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySpec(pub Latency);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyTable {
    dist: String,
    value: Option<Dur>,
    min: Option<Dur>,
    max: Option<Dur>,
    mean: Option<Dur>,
}

pub const LATENCY_HELP: &str = "write \"20ms\", { dist = \"constant\", value = \"20ms\" }, { dist = \"uniform\", min = \"5ms\", max = \"25ms\" } or { dist = \"exponential\", mean = \"15ms\" }";

impl LatencyTable {
    fn into_latency(self) -> Result<Latency, String> {
        let need = |v: Option<Dur>, key: &str| {
            v.map(|d| d.0).ok_or_else(|| format!("a {} latency needs `{key}`: {LATENCY_HELP}", self.dist))
        };
        let used: &[&str] = match self.dist.as_str() {
            "constant" => &["value"],
            "uniform" => &["min", "max"],
            "exponential" => &["mean"],
            _ => &["value", "min", "max", "mean"],
        };
        for (key, present) in [("value", self.value), ("min", self.min), ("max", self.max), ("mean", self.mean)] {
            if present.is_some() && !used.contains(&key) {
                return Err(format!("`{key}` does not apply to a {} latency: {LATENCY_HELP}", self.dist));
            }
        }
        let latency = match self.dist.as_str() {
            "constant" => Latency::Constant(need(self.value, "value")?),
            "uniform" => {
                let (min, max) = (need(self.min, "min")?, need(self.max, "max")?);
                if min > max {
                    return Err(format!("uniform latency has min {} above max {}", Dur(min), Dur(max)));
                }
                Latency::Uniform { min, max }
            }
            "exponential" => Latency::Exponential { mean: need(self.mean, "mean")? },
            other => {
                return Err(format!(
                    "unknown latency distribution `{other}`: use constant, uniform or exponential ({LATENCY_HELP})"
                ))
            }
        };
        Ok(latency)
    }
}

impl<'de> Deserialize<'de> for LatencySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LatencySpec, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LatencySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a latency: {LATENCY_HELP}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LatencySpec, E> {
                parse_duration(s).map(|d| LatencySpec(Latency::Constant(d.0))).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LatencySpec, A::Error> {
                let table = LatencyTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                table.into_latency().map(LatencySpec).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Just enough of a lab file to know which model's schema to read it with.
#[derive(Deserialize)]
pub struct Probe {
    pub model: Option<ProbeModel>,
}

#[derive(Deserialize)]
pub struct ProbeModel {
    pub name: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LabKind {
    Predict,
    Tune,
    Implement,
}

impl fmt::Display for LabKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LabKind::Predict => "predict",
            LabKind::Tune => "tune",
            LabKind::Implement => "implement",
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile<P> {
    pub number: Spanned<u32>,
    pub slug: Spanned<String>,
    pub title: String,
    pub kind: Spanned<LabKind>,
    pub seed: u64,
    pub intro: String,
    pub duration: Option<Spanned<Dur>>,
    pub model: P,
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub fault: Vec<FaultSection>,
    #[serde(default)]
    pub question: Vec<QuestionSection>,
    #[serde(default)]
    pub invariant: Vec<InvariantSection>,
    pub explore: Option<ExploreSection>,
    pub tune: Option<Spanned<TuneSection>>,
}

/// `[tune]`: what a tune lab's parameter file may set, how many seeds it is
/// graded over, and the goals it is graded against.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneSection {
    pub seeds: Option<Spanned<u32>>,
    pub params: Option<Spanned<TuneParamsSection>>,
    #[serde(default)]
    pub goal: Vec<GoalSection>,
}

/// The model parameters a submission may set, each with its allowed range.
/// Spelled out (not a free map) so a typo gets a suggestion like any key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneParamsSection {
    pub timeout: Option<Spanned<RangeSection<Dur>>>,
    pub backoff: Option<Spanned<RangeSection<f64>>>,
    pub max_retries: Option<Spanned<RangeSection<u32>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSection<T> {
    pub min: Spanned<T>,
    pub max: Spanned<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalSection {
    pub metric: Spanned<String>,
    /// A count or a duration, depending on the metric.
    pub max: Option<Spanned<toml::Value>>,
    pub percentile: Option<Spanned<u32>>,
    #[serde(default = "one")]
    pub points: u32,
}

/// `[[invariant]] name = "at-most-once"`: a property every run must keep.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvariantSection {
    pub name: Spanned<String>,
}

/// The fault space `inject --explore` draws schedules from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExploreSection {
    pub faults: Option<Vec<Spanned<String>>>,
    pub max_faults: Option<Spanned<u32>>,
    pub horizon: Option<Spanned<Dur>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    pub latency: Option<LatencySpec>,
    pub drop: Option<Prob>,
    pub duplicate: Option<Prob>,
    #[serde(default)]
    pub link: Vec<LinkSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub latency: Option<LatencySpec>,
    pub drop: Option<Prob>,
    pub duplicate: Option<Prob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    pub at: Spanned<Dur>,
    pub until: Option<Spanned<Dur>>,
    pub crash: Option<Spanned<String>>,
    pub restart: Option<Spanned<String>>,
    pub partition: Option<Spanned<Vec<Vec<Spanned<String>>>>>,
    pub oneway: Option<bool>,
    /// `corrupt = "server:3"`, with `kind` bitflip (default), swap, misdirect or lostwrite.
    pub corrupt: Option<Spanned<String>>,
    /// `lse = "server:3"`: a latent sector error.
    pub lse: Option<Spanned<String>>,
    /// `drop = 0.9` and/or `duplicate = 0.5` with `until`: a burst of loss or
    /// duplication on every link.
    pub drop: Option<Prob>,
    pub duplicate: Option<Prob>,
    pub kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSection {
    pub id: Spanned<String>,
    pub ask: String,
    pub kind: Spanned<String>,
    pub answer: Spanned<ExprSection>,
    #[serde(default = "one")]
    pub points: u32,
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub partial: bool,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprSection {
    pub fact: Spanned<String>,
    pub key: Option<KeySection>,
    pub op: Option<Spanned<String>>,
    /// Evaluate on the same run with these `--set` overrides: a what-if.
    pub under: Option<Spanned<Vec<String>>>,
}

/// A key may be written as a name (`"m3"`) or a position (`2`).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum KeySection {
    Name(String),
    Position(u32),
}

/// An injection plan: `distlab inject LAB --plan FILE.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub drop: Option<Prob>,
    pub duplicate: Option<Prob>,
    pub latency: Option<LatencySpec>,
    #[serde(default)]
    pub fault: Vec<FaultSection>,
}

// The model sections, one per built-in model. `name` selects the schema.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatagramSection {
    pub name: String,
    pub messages: Spanned<u32>,
    pub interval: Dur,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliableSection {
    pub name: String,
    pub messages: Spanned<u32>,
    pub timeout: Spanned<Dur>,
    pub max_retries: Spanned<u32>,
    pub backoff: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSection {
    pub name: String,
    pub calls: Spanned<Vec<Spanned<String>>>,
    pub semantics: Spanned<String>,
    #[serde(default)]
    pub durable_table: bool,
    pub timeout: Spanned<Dur>,
    pub max_retries: Spanned<u32>,
    #[serde(default)]
    pub work: Dur,
    #[serde(default)]
    pub working_ack: bool,
    pub reboot: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfsSection {
    pub name: String,
    pub clients: Option<Spanned<u32>>,
    pub steps: Option<Spanned<u32>>,
    pub files: Option<Spanned<u32>>,
    pub read_ratio: Option<Prob>,
    pub actions: Option<Spanned<String>>,
    pub schedule: Option<Spanned<String>>,
    pub interval: Option<Spanned<Dur>>,
    pub timeout: Option<Spanned<Dur>>,
    pub max_retries: Option<Spanned<u32>>,
    pub reboot: Option<Dur>,
    pub revalidate: Option<bool>,
}

/// `name = "nfs"`: see docs/LAB_FORMAT.md for every key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NfsSection {
    pub name: String,
    pub clients: Option<Spanned<u32>>,
    pub script: Spanned<Vec<Spanned<String>>>,
    pub files: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
    pub timeout: Option<Spanned<Dur>>,
    pub attr_timeout: Option<Dur>,
    #[serde(default)]
    pub unsafe_writes: bool,
    pub sync: Option<Spanned<Dur>>,
    pub reboot: Option<Dur>,
    pub block_size: Option<Spanned<u32>>,
    pub inodes: Option<Spanned<u32>>,
    pub data_blocks: Option<Spanned<u32>>,
}

/// Bytes written as a list (`[216, 194, 0xd8]`) or one string
/// (`"216,194,107,66"`, as `--set model.data=216,194,107,66` gives it), each
/// a whole number from 0 to 255.
#[derive(Clone, Debug, PartialEq)]
pub struct ByteList(pub Vec<u8>);

pub const BYTES_HELP: &str =
    "write whole numbers from 0 to 255, as a list [216, 194, 107, 66] or a string \"216,194,107,66\"";

fn byte_at(item: usize, value: i64) -> Result<u8, String> {
    u8::try_from(value).map_err(|_| format!("item {item} of data is {value}, not a byte: {BYTES_HELP}"))
}

/// One word of the string form: decimal, or `0x`/`0b` as the homework prints them.
fn parse_byte(item: usize, word: &str) -> Result<u8, String> {
    let parsed = if let Some(h) = word.strip_prefix("0x") {
        i64::from_str_radix(h, 16)
    } else if let Some(b) = word.strip_prefix("0b") {
        i64::from_str_radix(b, 2)
    } else {
        word.parse::<i64>()
    };
    let value = parsed.map_err(|_| format!("item {item} of data, `{word}`, is not a number: {BYTES_HELP}"))?;
    byte_at(item, value)
}

impl<'de> Deserialize<'de> for ByteList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "bytes: {BYTES_HELP}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ByteList, E> {
                let words = s.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty());
                let bytes = words.enumerate().map(|(i, w)| parse_byte(i + 1, w)).collect::<Result<Vec<u8>, _>>();
                nonempty(bytes.map_err(E::custom)?).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ByteList, E> {
                byte_at(1, n).map(|b| ByteList(vec![b])).map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ByteList, A::Error> {
                let mut bytes = Vec::new();
                while let Some(v) = seq.next_element::<toml::Value>()? {
                    let item = bytes.len() + 1;
                    let n = v.as_integer().ok_or_else(|| {
                        de::Error::custom(format!("item {item} of data is not a whole number: {BYTES_HELP}"))
                    })?;
                    bytes.push(byte_at(item, n).map_err(de::Error::custom)?);
                }
                nonempty(bytes).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn nonempty(bytes: Vec<u8>) -> Result<ByteList, String> {
    if bytes.is_empty() {
        return Err(format!("data is empty: {BYTES_HELP}"));
    }
    Ok(ByteList(bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegritySection {
    pub name: String,
    pub blocks: Spanned<u32>,
    pub block_size: Option<Spanned<u32>>,
    pub data: Option<Spanned<ByteList>>,
    pub checksum: Spanned<String>,
    pub address: Option<bool>,
    pub write_at: Option<Spanned<Dur>>,
    pub read_at: Option<Spanned<Dur>>,
    pub scrub_at: Option<Spanned<Dur>>,
    pub timeout: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbSection {
    pub name: String,
    pub replication: Spanned<String>,
    #[serde(default)]
    pub view_service: bool,
    pub writes: Spanned<u32>,
    #[serde(default)]
    pub interval: Dur,
    pub heartbeat: Spanned<Dur>,
    pub timeout: Spanned<Dur>,
    pub lease: Option<Spanned<Dur>>,
    pub client_timeout: Spanned<Dur>,
    pub reboot: Option<Dur>,
    #[serde(default)]
    pub primary_at: Vec<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuorumSection {
    pub name: String,
    pub n: Spanned<u32>,
    pub r: Spanned<u32>,
    pub w: Spanned<u32>,
    #[serde(default)]
    pub read_repair: bool,
    pub timeout: Spanned<Dur>,
    pub think: Option<Dur>,
    /// One string of operations per client: `["write read", "read write"]`.
    pub workload: Option<Spanned<Vec<Spanned<String>>>>,
    /// A random workload instead: how many clients, operations each, reads.
    pub clients: Option<Spanned<u32>>,
    pub operations: Option<Spanned<u32>>,
    pub read_ratio: Option<Prob>,
}
