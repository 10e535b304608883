//! Block devices. Each node may have one: durable blocks on the media, a
//! volatile write cache that a crash empties, per-block metadata (a checksum
//! and the physical address the writer stored with it), and the corruption
//! faults real drives suffer.

use super::rng::Stream;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a block holds: its data, plus what the writer chose to store beside
/// it (a checksum, the address it meant to write). The disk never checks
/// these itself; that is the reader's job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    pub data: Vec<u8>,
    pub checksum: Option<u32>,
    pub addr: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Corruption {
    /// A latent sector error: reads of the block fail, and the drive says so,
    /// until the block is written again.
    Latent,
    /// Bit rot: one bit of the stored data flips, silently.
    BitFlip,
    /// Two neighbouring bytes of the stored data trade places, silently (a
    /// firmware or DMA fault). It keeps the bytes' sum and XOR.
    Swap,
    /// The next write meant for this block lands on the next block instead.
    Misdirected,
    /// The next write to this block is acknowledged and never stored.
    LostWrite,
}

impl Corruption {
    pub const ACCEPTED: &'static str = "bitflip, swap, misdirect, lostwrite (and lse for latent sector errors)";

    pub fn parse(s: &str) -> Option<Corruption> {
        Some(match s {
            "lse" | "latent" => Corruption::Latent,
            "bitflip" | "flip" => Corruption::BitFlip,
            "swap" => Corruption::Swap,
            "misdirect" | "misdirected" => Corruption::Misdirected,
            "lostwrite" | "lost" => Corruption::LostWrite,
            _ => return None,
        })
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Corruption::Latent => "latent sector error",
            Corruption::BitFlip => "bit flip",
            Corruption::Swap => "byte swap",
            Corruption::Misdirected => "misdirected write",
            Corruption::LostWrite => "lost write",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// The drive reported the sector unreadable.
    Latent,
    /// No such block on this disk.
    OutOfRange,
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::Latent => write!(f, "read error (latent sector error)"),
            DiskError::OutOfRange => write!(f, "no such block"),
        }
    }
}

/// What a write actually did, for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteResult {
    Cached,
    Stored,
    /// Landed on another block: (intended, actual).
    Misdirected(usize),
    Lost,
}

/// What one corruption fault did, kept so facts can say which checks would
/// notice it. The drive itself never looks at this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The block the fault named.
    pub block: usize,
    pub kind: Corruption,
    /// Bit flips and swaps: the block's data just before and just after.
    pub change: Option<(Vec<u8>, Vec<u8>)>,
    /// Whether it has taken effect: at once for most kinds, at the next
    /// write to the block for misdirected and lost writes.
    pub fired: bool,
    /// Where a misdirected write landed.
    pub landed: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Disk {
    media: Vec<Stored>,
    cache: BTreeMap<usize, Stored>,
    latent: BTreeSet<usize>,
    armed: BTreeMap<usize, Corruption>,
    damage: Vec<Damage>,
    stream: Stream,
}

impl Disk {
    pub fn new(blocks: usize, stream: Stream) -> Disk {
        Disk {
            media: vec![Stored::default(); blocks],
            cache: BTreeMap::new(),
            latent: BTreeSet::new(),
            armed: BTreeMap::new(),
            damage: Vec::new(),
            stream,
        }
    }

    pub fn len(&self) -> usize {
        self.media.len()
    }

    pub fn is_empty(&self) -> bool {
        self.media.is_empty()
    }

    /// Reads a block: the cached copy if there is one, else the media.
    pub fn read(&self, block: usize) -> Result<Stored, DiskError> {
        if block >= self.media.len() {
            return Err(DiskError::OutOfRange);
        }
        if let Some(s) = self.cache.get(&block) {
            return Ok(s.clone());
        }
        if self.latent.contains(&block) {
            return Err(DiskError::Latent);
        }
        Ok(self.media[block].clone())
    }

    /// What is on the media, bypassing cache and faults: for facts and tests.
    pub fn media(&self, block: usize) -> Option<&Stored> {
        self.media.get(block)
    }

    /// Every corruption fault this disk suffered, in the order they came.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Marks the latest armed fault of this kind on this block as fired.
    fn fire(&mut self, block: usize, kind: Corruption, landed: Option<usize>) {
        if let Some(d) = self.damage.iter_mut().rev().find(|d| d.block == block && d.kind == kind && !d.fired) {
            d.fired = true;
            d.landed = landed;
        }
    }

    /// Writes a block, through to the media or into the volatile cache.
    pub fn write(&mut self, block: usize, stored: Stored, through: bool) -> WriteResult {
        if block >= self.media.len() {
            return WriteResult::Lost;
        }
        if !through {
            self.cache.insert(block, stored);
            return WriteResult::Cached;
        }
        self.cache.remove(&block);
        self.put_on_media(block, stored)
    }

    fn put_on_media(&mut self, block: usize, stored: Stored) -> WriteResult {
        match self.armed.remove(&block) {
            Some(Corruption::LostWrite) => {
                self.fire(block, Corruption::LostWrite, None);
                WriteResult::Lost
            }
            Some(Corruption::Misdirected) => {
                let target = (block + 1) % self.media.len();
                self.fire(block, Corruption::Misdirected, Some(target));
                self.latent.remove(&target);
                self.media[target] = stored;
                WriteResult::Misdirected(target)
            }
            _ => {
                self.latent.remove(&block);
                self.media[block] = stored;
                WriteResult::Stored
            }
        }
    }

    /// Writes every cached block to the media, in block order.
    pub fn flush(&mut self) -> Vec<(usize, WriteResult)> {
        let cached = std::mem::take(&mut self.cache);
        cached.into_iter().map(|(b, s)| (b, self.put_on_media(b, s))).collect()
    }

    /// A crash: the volatile cache is gone; the media keeps what it has.
    pub fn crash(&mut self) -> usize {
        let lost = self.cache.len();
        self.cache.clear();
        lost
    }

    /// Applies a corruption fault now. Returns what happened, for the trace.
    pub fn corrupt(&mut self, block: usize, kind: Corruption) -> String {
        if block >= self.media.len() {
            return format!("block {block} does not exist");
        }
        let mut record = Damage { block, kind, change: None, fired: true, landed: None };
        let before = self.media[block].data.clone();
        let what = match kind {
            Corruption::Latent => {
                self.latent.insert(block);
                format!("block {block} becomes unreadable")
            }
            Corruption::BitFlip => {
                let data = &mut self.media[block].data;
                if data.is_empty() {
                    record.fired = false;
                    format!("block {block} is empty: nothing to flip")
                } else {
                    let bit = self.stream.below(data.len() as u64 * 8) as usize;
                    data[bit / 8] ^= 1 << (bit % 8);
                    format!("bit {} of byte {} in block {block} flips", bit % 8, bit / 8)
                }
            }
            Corruption::Swap => {
                let data = &mut self.media[block].data;
                let pairs: Vec<usize> = (1..data.len()).filter(|i| data[i - 1] != data[*i]).collect();
                if pairs.is_empty() {
                    record.fired = false;
                    format!("block {block} has no two different neighbouring bytes: the swap changes nothing")
                } else {
                    let i = pairs[self.stream.below(pairs.len() as u64) as usize];
                    data.swap(i - 1, i);
                    format!("bytes {} and {i} of block {block} trade places", i - 1)
                }
            }
            Corruption::Misdirected => {
                record.fired = false;
                self.armed.insert(block, kind);
                format!("the next write to block {block} will land on block {}", (block + 1) % self.media.len())
            }
            Corruption::LostWrite => {
                record.fired = false;
                self.armed.insert(block, kind);
                format!("the next write to block {block} will be lost")
            }
        };
        if matches!(kind, Corruption::BitFlip | Corruption::Swap) && record.fired {
            record.change = Some((before, self.media[block].data.clone()));
        }
        self.damage.push(record);
        what
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk() -> Disk {
        Disk::new(4, Stream::new(1, "disk:x"))
    }

    fn s(data: &[u8]) -> Stored {
        Stored { data: data.to_vec(), checksum: None, addr: None }
    }

    #[test]
    fn only_written_through_data_survives_a_crash() {
        let mut d = disk();
        d.write(0, s(&[1]), true);
        d.write(1, s(&[2]), false);
        assert_eq!(d.read(1).unwrap().data, vec![2]);
        assert_eq!(d.crash(), 1);
        assert_eq!(d.read(0).unwrap().data, vec![1]);
        assert_eq!(d.read(1).unwrap().data, Vec::<u8>::new());
        d.write(2, s(&[3]), false);
        assert_eq!(d.flush(), vec![(2, WriteResult::Stored)]);
        d.crash();
        assert_eq!(d.read(2).unwrap().data, vec![3]);
    }

    #[test]
    fn corruption_faults_behave_like_drives() {
        let mut d = disk();
        for b in 0..4 {
            d.write(b, s(&[b as u8, 0xF0]), true);
        }
        d.corrupt(1, Corruption::Latent);
        assert_eq!(d.read(1), Err(DiskError::Latent));
        d.write(1, s(&[9]), true);
        assert_eq!(d.read(1).unwrap().data, vec![9], "a rewrite clears a latent error");

        d.corrupt(2, Corruption::BitFlip);
        let flipped = d.read(2).unwrap().data;
        let diff: u32 = flipped.iter().zip([2u8, 0xF0]).map(|(a, b)| (a ^ b).count_ones()).sum();
        assert_eq!(diff, 1, "exactly one bit flips");

        d.corrupt(0, Corruption::Misdirected);
        assert_eq!(d.write(0, s(&[7]), true), WriteResult::Misdirected(1));
        assert_eq!(d.read(0).unwrap().data, vec![0, 0xF0]);
        assert_eq!(d.read(1).unwrap().data, vec![7]);

        d.corrupt(3, Corruption::LostWrite);
        assert_eq!(d.write(3, s(&[8]), true), WriteResult::Lost);
        assert_eq!(d.read(3).unwrap().data, vec![3, 0xF0]);
        assert_eq!(d.write(3, s(&[8]), true), WriteResult::Stored, "only the next write is lost");
        assert_eq!(d.read(9), Err(DiskError::OutOfRange));
    }

    #[test]
    fn a_swap_trades_two_different_neighbouring_bytes() {
        let mut d = disk();
        d.write(0, s(&[7, 7, 9, 7]), true);
        let what = d.corrupt(0, Corruption::Swap);
        let after = d.read(0).unwrap().data;
        // Only (1,2) and (2,3) hold different neighbours.
        assert!(after == vec![7, 9, 7, 7] || after == vec![7, 7, 7, 9], "{after:?}");
        assert!(what.contains("trade places"), "{what}");
        d.write(1, s(&[5, 5]), true);
        assert!(d.corrupt(1, Corruption::Swap).contains("changes nothing"));
        assert_eq!(d.read(1).unwrap().data, vec![5, 5]);
    }

    #[test]
    fn the_damage_log_records_what_each_fault_did() {
        let mut d = disk();
        for b in 0..4 {
            d.write(b, s(&[b as u8, 1, 2]), true);
        }
        d.corrupt(0, Corruption::BitFlip);
        d.corrupt(3, Corruption::Misdirected);
        d.corrupt(2, Corruption::LostWrite);
        d.corrupt(1, Corruption::Latent);
        let log = d.damage().to_vec();
        assert_eq!(log.len(), 4);
        let (before, after) = log[0].change.clone().unwrap();
        assert_eq!(before, vec![0, 1, 2]);
        assert_eq!(after, d.read(0).unwrap().data);
        assert!(!log[1].fired && !log[2].fired && log[3].fired);
        d.write(3, s(&[9]), true);
        d.write(2, s(&[9]), true);
        let log = d.damage();
        assert_eq!((log[1].fired, log[1].landed), (true, Some(0)), "block 3's write wraps to block 0");
        assert_eq!((log[2].fired, log[2].landed), (true, None));
        assert_eq!(d.read(2).unwrap().data, vec![2, 1, 2]);
    }
}
