//! Small domain types parsed straight from the command line and configuration: durations such
//! as `45s`, `2m30s` or `1.5h`, shard counts (`8` or `auto`) and shard indexes (`3` or `auto`).
//! Each has a precise parse error so clap can tell the user what it expected.

use std::fmt;
use std::str::FromStr;

/// A non-negative duration in seconds, written `90`, `90s`, `1.5m`, `2m30s`, `1h`, `250ms`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
pub struct Seconds(pub f64);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid duration `{text}`: expected a number of seconds or units such as `45s`, `2m30s`, `1.5h`, `250ms`"
            )
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(bad());
        }
        if let Ok(v) = s.parse::<f64>() {
            return if v.is_finite() && v >= 0.0 {
                Ok(Seconds(v))
            } else {
                Err(bad())
            };
        }
        let mut total = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            if num_len == 0 {
                return Err(bad());
            }
            let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ms" => 0.001,
                "s" | "sec" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            total += value * factor;
        }
        Ok(Seconds(total))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_seconds(self.0))
    }
}

/// Human form of a duration: `850ms`, `12.3s`, `4m05s`, `1h02m`.
pub fn format_seconds(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let whole = secs.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        let minutes = (secs / 60.0).round() as u64;
        format!("{}h{:02}m", minutes / 60, minutes % 60)
    }
}

/// How many shards: a fixed number, or `auto` (chosen from the target wall time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardCount {
    Fixed(usize),
    Auto,
}

impl FromStr for ShardCount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(ShardCount::Auto);
        }
        match s.parse::<usize>() {
            Ok(0) => Err("the shard count must be at least 1".into()),
            Ok(n) => Ok(ShardCount::Fixed(n)),
            Err(_) => Err(format!(
                "invalid shard count `{s}`: expected a whole number such as `8`, or `auto`"
            )),
        }
    }
}

/// xdist worker processes per shard: a number, or `auto` for the runner's cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerCount {
    Fixed(usize),
    Auto,
}

impl Default for WorkerCount {
    fn default() -> Self {
        WorkerCount::Fixed(1)
    }
}

impl FromStr for WorkerCount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(WorkerCount::Auto);
        }
        match s.parse::<usize>() {
            Ok(n @ 1..=1024) => Ok(WorkerCount::Fixed(n)),
            _ => Err(format!(
                "invalid worker count `{s}`: expected a number of processes per shard from 1 to 1024 (1: no xdist), or `auto`"
            )),
        }
    }
}

impl serde::Serialize for WorkerCount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            WorkerCount::Fixed(n) => s.serialize_u64(*n as u64),
            WorkerCount::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for WorkerCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => n.to_string().parse().map_err(serde::de::Error::custom),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Which shard (1-based, with the shard count when written `K/N`), or `auto` (read from the
/// CI's variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardIndex {
    Number(usize, Option<usize>),
    Auto,
}

impl FromStr for ShardIndex {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(ShardIndex::Auto);
        }
        // Accept `3/8` as nextest and pytest-split users write it; the total is checked
        // against the plan later.
        let bad = || format!("invalid shard `{s}`: expected a number from 1, `K/N`, or `auto`");
        let (first, total) = match s.split_once('/') {
            Some((k, n)) => (k, Some(n.parse::<usize>().map_err(|_| bad())?)),
            None => (s, None),
        };
        match first.parse::<usize>() {
            Ok(0) => Err("shards are numbered from 1".into()),
            Ok(n) if total.is_some_and(|t| n > t) => Err(format!(
                "invalid shard `{s}`: shard {n} of {} does not exist",
                total.unwrap_or_default()
            )),
            Ok(n) => Ok(ShardIndex::Number(n, total)),
            Err(_) => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        let cases = [
            ("90", 90.0),
            ("90s", 90.0),
            ("1.5m", 90.0),
            ("2m30s", 150.0),
            ("1h", 3600.0),
            ("250ms", 0.25),
            ("0", 0.0),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Seconds>().unwrap().0, want, "{text}");
        }
        for bad in ["", "abc", "-3", "5x", "m5", "1..2s", "inf"] {
            assert!(bad.parse::<Seconds>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn shard_specs_parse() {
        assert_eq!("8".parse::<ShardCount>(), Ok(ShardCount::Fixed(8)));
        assert_eq!("AUTO".parse::<ShardCount>(), Ok(ShardCount::Auto));
        assert!("0".parse::<ShardCount>().is_err());
        assert!("x".parse::<ShardCount>().is_err());
        assert_eq!("4".parse::<WorkerCount>(), Ok(WorkerCount::Fixed(4)));
        assert_eq!("Auto".parse::<WorkerCount>(), Ok(WorkerCount::Auto));
        assert!("0".parse::<WorkerCount>().is_err());
        assert!("-n".parse::<WorkerCount>().is_err());
        assert_eq!("3".parse::<ShardIndex>(), Ok(ShardIndex::Number(3, None)));
        assert_eq!(
            "3/8".parse::<ShardIndex>(),
            Ok(ShardIndex::Number(3, Some(8)))
        );
        assert!("3/x".parse::<ShardIndex>().is_err());
        assert!("9/8".parse::<ShardIndex>().is_err());
        assert_eq!("auto".parse::<ShardIndex>(), Ok(ShardIndex::Auto));
        assert!("0".parse::<ShardIndex>().is_err());
    }

    #[test]
    fn seconds_format_for_people() {
        assert_eq!(format_seconds(0.85), "850ms");
        assert_eq!(format_seconds(12.34), "12.3s");
        assert_eq!(format_seconds(245.0), "4m05s");
        assert_eq!(format_seconds(3720.0), "1h02m");
    }
}
