//! Shards: one of N machines sending a deterministic 1/N of a workload's arrival schedule.
//!
//! Shard `I` of `N` sends arrivals `I`, `I + N`, `I + 2N`, … of the schedule (0-based): each
//! shard has the traffic's shape at 1/N of its rate, and together they send every arrival once.
//! The numbering is Kubernetes' `JOB_COMPLETION_INDEX` of an Indexed Job (0 … completions − 1).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which part of the schedule this process sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// When `count` is 0 or `index` is not below it.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the count {count} (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Self { index, count })
    }

    /// This shard's part of `schedule`: every `count`-th arrival from the `index`-th.
    pub fn select<I: Iterator<Item = Duration>>(self, schedule: I) -> impl Iterator<Item = Duration> {
        schedule.skip(self.index as usize).step_by(self.count as usize)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, as `--shard 2/8` takes it.
    fn from_str(text: &str) -> Result<Self, String> {
        let (index, count) =
            text.split_once('/').ok_or_else(|| format!("`{text}` is not INDEX/COUNT (e.g. 0/4, 0-based)"))?;
        let number = |part: &str, what: &str| {
            part.trim().parse::<u32>().map_err(|_| format!("{what} `{part}` in `{text}` is not a whole number"))
        };
        Self::new(number(index, "the index")?, number(count, "the count")?)
    }
}

/// The digest `ShardInfo::workload_digest` holds (`metrics::ShardInfo`).
pub fn digest(bytes: &[u8]) -> String {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_schedule_into_disjoint_interleaved_parts() {
        let schedule: Vec<Duration> = (0..10).map(Duration::from_millis).collect();
        let parts: Vec<Vec<Duration>> =
            (0..3).map(|i| Shard::new(i, 3).unwrap().select(schedule.clone().into_iter()).collect()).collect();
        assert_eq!(parts[0], [0, 3, 6, 9].map(Duration::from_millis));
        assert_eq!(parts[2], [2, 5, 8].map(Duration::from_millis));
        let mut all: Vec<Duration> = parts.concat();
        all.sort();
        assert_eq!(all, schedule);
    }

    #[test]
    fn a_shard_is_read_as_index_over_count() {
        assert_eq!("2/8".parse::<Shard>().unwrap(), Shard { index: 2, count: 8 });
        assert!("8/8".parse::<Shard>().unwrap_err().contains("not below the count 8"));
        assert!("1/0".parse::<Shard>().unwrap_err().contains("at least 1"));
        assert!("two/8".parse::<Shard>().unwrap_err().contains("`two`"));
        assert!("3".parse::<Shard>().unwrap_err().contains("INDEX/COUNT"));
    }
}
