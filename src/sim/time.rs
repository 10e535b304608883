//! Virtual time: an integer count of microseconds, so runs never depend on
//! floating-point clocks.

use std::fmt;

/// A point in virtual time, or a span of it, in microseconds.
pub type Time = u64;

pub const US: Time = 1;
pub const MS: Time = 1_000;
pub const SEC: Time = 1_000_000;

/// Formats a time the way every output shows it: milliseconds, with a
/// fraction only when the value has one (`14ms`, `2.5ms`, `1500ms`).
pub fn fmt_time(t: Time) -> String {
    let ms = t / MS;
    let frac = t % MS;
    if frac == 0 {
        format!("{ms}ms")
    } else {
        let digits = format!("{frac:03}");
        format!("{ms}.{}ms", digits.trim_end_matches('0'))
    }
}

/// A time as a number of milliseconds, for facts and JSON.
pub fn time_ms(t: Time) -> f64 {
    t as f64 / MS as f64
}

/// A duration written with a unit, as lab files and flags write them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Time);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        if t != 0 && t % SEC == 0 {
            write!(f, "{}s", t / SEC)
        } else if t % MS == 0 {
            write!(f, "{}ms", t / MS)
        } else {
            write!(f, "{}us", t)
        }
    }
}

pub const DURATION_HELP: &str = "write a number and a unit, such as 250us, 40ms or 1.5s";

/// Parses `40ms`, `1.5s`, `250us`. Decimal fractions are parsed exactly, never
/// through floating point.
pub fn parse_duration(text: &str) -> Result<Dur, String> {
    let s = text.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = unit.trim();
    let scale = match unit {
        "us" | "µs" => US,
        "ms" => MS,
        "s" => SEC,
        "" => return Err(format!("duration `{text}` has no unit: {DURATION_HELP}")),
        _ => return Err(format!("duration `{text}` has an unknown unit `{unit}`: {DURATION_HELP}")),
    };
    let bad = || format!("`{text}` is not a duration: {DURATION_HELP}");
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if frac.contains('.') {
        return Err(bad());
    }
    let int_val: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
    let mut total = int_val.checked_mul(scale).ok_or_else(bad)?;
    let mut place = scale;
    for d in frac.chars() {
        place /= 10;
        let digit = d.to_digit(10).ok_or_else(bad)? as u64;
        if place == 0 {
            if digit != 0 {
                return Err(format!("duration `{text}` is finer than a microsecond, the simulator's resolution"));
            }
            continue;
        }
        total = total.checked_add(digit * place).ok_or_else(bad)?;
    }
    if total > MAX_DURATION {
        return Err(format!("duration `{text}` is too long: the limit is 1000000s (about 11 days)"));
    }
    Ok(Dur(total))
}

/// Longer than any lab needs; keeps every sum of times far from overflow.
pub const MAX_DURATION: Time = 1_000_000 * SEC;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_exactly() {
        assert_eq!(parse_duration("40ms"), Ok(Dur(40_000)));
        assert_eq!(parse_duration("1.5s"), Ok(Dur(1_500_000)));
        assert_eq!(parse_duration("250us"), Ok(Dur(250)));
        assert_eq!(parse_duration("0.001ms"), Ok(Dur(1)));
        assert!(parse_duration("40").unwrap_err().contains("no unit"));
        assert!(parse_duration("40 msec").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.2.3ms").is_err());
        assert!(parse_duration("0.0001ms").unwrap_err().contains("microsecond"));
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("1000001s").unwrap_err().contains("too long"));
        assert_eq!(parse_duration("1000000s"), Ok(Dur(MAX_DURATION)));
    }

    #[test]
    fn formats_times() {
        assert_eq!(fmt_time(14_000), "14ms");
        assert_eq!(fmt_time(2_500), "2.5ms");
        assert_eq!(fmt_time(0), "0ms");
        assert_eq!(Dur(2 * SEC).to_string(), "2s");
        assert_eq!(Dur(40 * MS).to_string(), "40ms");
        assert_eq!(Dur(7).to_string(), "7us");
    }
}
