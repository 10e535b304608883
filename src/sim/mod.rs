//! The simulation engine. It knows nothing of any protocol: models plug in
//! through [`world::Model`].

pub mod disk;
pub mod network;
pub mod rng;
pub mod time;
pub mod trace;
pub mod world;

pub use disk::{Corruption, Damage, Disk, DiskError, Stored, WriteResult};
pub use network::{Burst, Fate, Latency, LinkConfig, LossReason, Network, NodeId, Partition};
pub use rng::Stream;
pub use time::{fmt_time, parse_duration, Dur, Time, DURATION_HELP, MS, SEC, US};
pub use trace::{plain, secret, shown, Entry, Event, Label, MsgId, Seg, TimerId};
pub use world::{Ctx, Durable, Effect, Model, NodeFault, Run, Stats, World};
