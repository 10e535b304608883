//! The checksums of lab 06, written out plainly so a student can follow them
//! by hand: additive, XOR, Fletcher (as OSTEP defines it) and CRC-32.

use std::fmt;

/// A checksum a writer can store beside a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algo {
    None,
    Add,
    Xor,
    Fletcher,
    Crc32,
}

impl Algo {
    /// Every real checksum, in the order facts and output list them.
    pub const ALL: [Algo; 4] = [Algo::Add, Algo::Xor, Algo::Fletcher, Algo::Crc32];
    pub const NAMES: &'static [&'static str] = &["none", "add", "xor", "fletcher", "crc32"];

    pub fn parse(s: &str) -> Option<Algo> {
        Some(match s {
            "none" => Algo::None,
            "add" => Algo::Add,
            "xor" => Algo::Xor,
            "fletcher" => Algo::Fletcher,
            "crc32" => Algo::Crc32,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Algo::None => "none",
            Algo::Add => "add",
            Algo::Xor => "xor",
            Algo::Fletcher => "fletcher",
            Algo::Crc32 => "crc32",
        }
    }

    /// The value stored beside a block: one byte for add and xor, s1 and s2
    /// packed as `s1 << 8 | s2` for Fletcher, four bytes for CRC-32.
    pub fn compute(self, data: &[u8]) -> Option<u32> {
        match self {
            Algo::None => None,
            Algo::Add => Some(add(data) as u32),
            Algo::Xor => Some(xor(data) as u32),
            Algo::Fletcher => {
                let (s1, s2) = fletcher(data);
                Some((s1 as u32) << 8 | s2 as u32)
            }
            Algo::Crc32 => Some(crc32(data)),
        }
    }

    /// A stored value as people write it: `71`, `73,196`, `0x4e549e94`.
    pub fn show(self, value: u32) -> String {
        match self {
            Algo::None => "-".to_string(),
            Algo::Add | Algo::Xor => value.to_string(),
            Algo::Fletcher => format!("{},{}", value >> 8, value & 0xff),
            Algo::Crc32 => format!("{value:#010x}"),
        }
    }
}

impl fmt::Display for Algo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sum of the bytes, mod 256.
pub fn add(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |sum, d| sum.wrapping_add(*d))
}

/// Every byte XORed together.
pub fn xor(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |x, d| x ^ d)
}

/// Fletcher as OSTEP writes it: s1 = (s1 + d) mod 255, s2 = (s2 + s1) mod 255.
/// Mod 255, a byte 255 counts the same as a byte 0.
pub fn fletcher(data: &[u8]) -> (u8, u8) {
    let (mut s1, mut s2) = (0u32, 0u32);
    for d in data {
        s1 = (s1 + *d as u32) % 255;
        s2 = (s2 + s1) % 255;
    }
    (s1 as u8, s2 as u8)
}

/// CRC-32 as IEEE 802.3, zlib and PNG use it: reflected polynomial
/// 0xEDB88320, initial value and final XOR 0xFFFFFFFF. Bit by bit: blocks
/// here are a few bytes, and the loop is the definition itself.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for d in data {
        crc ^= *d as u32;
        for _ in 0..8 {
            let low = crc & 1;
            crc >>= 1;
            if low == 1 {
                crc ^= 0xEDB8_8320;
            }
        }
    }
    !crc
}

/// A byte as the book's checksum homework prints it: `0x0d`, `0b00001101`.
pub fn hex(b: u8) -> String {
    format!("{b:#04x}")
}

pub fn bin(b: u8) -> String {
    format!("{b:#010b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (add, xor, fletcher, crc32) of some bytes.
    fn all(data: &[u8]) -> (u8, u8, (u8, u8), u32) {
        (add(data), xor(data), fletcher(data), crc32(data))
    }

    #[test]
    fn the_homework_example_by_hand() {
        // 216 + 194 + 107 + 66 = 583 = 2 × 256 + 71.
        // XOR: 11011000 ^ 11000010 = 00011010; ^ 01101011 = 01110001; ^ 01000010 = 00110011 = 51.
        // Fletcher: s1 216, 410 mod 255 = 155, 262 mod 255 = 7, 73;
        //           s2 216, 371 mod 255 = 116, 123, 196.
        assert_eq!(all(&[216, 194, 107, 66]), (71, 51, (73, 196), 0x4e54_9e94));
        assert_eq!(all(&[1, 2, 3, 4]), (10, 4, (10, 20), 0xb63c_fbcd));
    }

    #[test]
    fn crc32_has_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(&[]), 0);
        assert_eq!(crc32(&[0, 0, 0, 0]), 0x2144_df1c);
    }

    #[test]
    fn fletcher_wraps_to_zero_when_the_bytes_sum_to_510() {
        // 255 mod 255 = 0, so s1 stays 0 and s2 stays 0: the same as two zero bytes.
        assert_eq!(fletcher(&[255, 255]), (0, 0));
        assert_eq!(fletcher(&[255, 255]), fletcher(&[0, 0]));
        // 200, 400 mod 255 = 145, 255 mod 255 = 0: s1 wraps to 0; s2 = 200 + 145 + 0 = 345 mod 255 = 90.
        assert_eq!(fletcher(&[200, 200, 110]), (0, 90));
        // The additive sum does not wrap to 0 there: 510 mod 256 = 254.
        assert_eq!(add(&[255, 255]), 254);
        assert_eq!(add(&[200, 200, 110]), 254);
    }

    #[test]
    fn swapping_two_bytes_fools_add_and_xor_but_not_fletcher() {
        let a = all(&[1, 2, 3, 4]);
        let b = all(&[2, 1, 3, 4]);
        assert_eq!((a.0, a.1), (b.0, b.1), "add and xor ignore order");
        // Fletcher's s1 is the same sum; s2 weighs each byte by its position: 2,3,6,10 → 2+5+11+21.
        assert_eq!(a.2, (10, 20));
        assert_eq!(b.2, (10, 21));
        assert_ne!(a.3, b.3);
    }

    #[test]
    fn zero_and_255_look_alike_to_fletcher_only() {
        // 0,1,2,3: add 6, xor 0 (1 ^ 2 = 3, 3 ^ 3 = 0), Fletcher s1 0,1,3,6 and s2 0,1,4,10.
        // 255,1,2,3: add 261 mod 256 = 5, xor 255, Fletcher the same (6, 10).
        let a = all(&[0, 1, 2, 3]);
        let b = all(&[255, 1, 2, 3]);
        assert_eq!(a, (6, 0, (6, 10), 0x8bb9_8613));
        assert_eq!(b, (5, 255, (6, 10), 0x55bc_80e2));
    }

    #[test]
    fn a_single_bit_flip_changes_every_checksum() {
        let data = [216u8, 194, 107, 66];
        for byte in 0..4 {
            for bit in 0..8 {
                let mut d = data;
                d[byte] ^= 1 << bit;
                for algo in Algo::ALL {
                    assert_ne!(algo.compute(&d), algo.compute(&data), "{algo} missed byte {byte} bit {bit}");
                }
            }
        }
    }

    #[test]
    fn stored_values_pack_and_print() {
        assert_eq!(Algo::Fletcher.compute(&[216, 194, 107, 66]), Some(73 << 8 | 196));
        assert_eq!(Algo::Fletcher.show(73 << 8 | 196), "73,196");
        assert_eq!(Algo::Crc32.show(0x2144_df1c), "0x2144df1c");
        assert_eq!(Algo::Add.show(71), "71");
        assert_eq!(Algo::None.compute(&[1]), None);
        assert_eq!((hex(13), bin(13)), ("0x0d".to_string(), "0b00001101".to_string()));
        for name in Algo::NAMES {
            assert_eq!(Algo::parse(name).map(Algo::name), Some(*name));
        }
        assert_eq!(Algo::parse("md5"), None);
    }
}
