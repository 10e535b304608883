//! Seeded random streams. Each component draws from its own ChaCha8 stream,
//! derived from (seed, component name), so a fault injected in one place leaves
//! every other component's draws exactly as they were.
//!
//! Range sampling is our own, on `next_u64`, because the rand crate's
//! distributions may change their values between versions.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug)]
pub struct Stream {
    rng: ChaCha8Rng,
}

/// SplitMix64: a fixed, documented mixer used only to spread (seed, name) into
/// a 32-byte ChaCha key.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over the component name: stable across platforms and versions.
fn name_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Stream {
    pub fn new(seed: u64, component: &str) -> Stream {
        let mut state = seed ^ name_hash(component).rotate_left(17);
        let mut key = [0u8; 32];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        Stream { rng: ChaCha8Rng::from_seed(key) }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform integer in `0..n` (n > 0), by rejection so there is no bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniform integer in `lo..=hi`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// A uniform float in [0, 1) from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`. Always consumes one draw, so the stream stays
    /// aligned whatever `p` is.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_separate() {
        let mut a = Stream::new(7, "net:a->b");
        let mut b = Stream::new(7, "net:a->b");
        let mut c = Stream::new(7, "net:b->a");
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert_ne!(Stream::new(8, "net:a->b").next_u64(), xs[0]);
    }

    #[test]
    fn ranges_stay_in_bounds_and_cover_them() {
        let mut s = Stream::new(1, "t");
        let mut seen = [false; 5];
        for _ in 0..500 {
            let v = s.range_inclusive(10, 14);
            assert!((10..=14).contains(&v));
            seen[(v - 10) as usize] = true;
        }
        assert!(seen.iter().all(|x| *x));
        for _ in 0..100 {
            let u = s.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(s.range_inclusive(3, 3), 3);
        assert!(!s.chance(0.0));
        assert!(s.chance(1.0));
    }
}
