//! Hybrid logical clock: the version stamp that orders edits across sites.
//!
//! A stamp is wall-clock milliseconds + a counter + the site id. Its text form
//! `{ms:015}-{counter:06}-{site}` sorts the same way as the stamp itself, so SQLite can compare
//! stamps as text. The clock never reads the system time: callers pass `now` in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One version stamp.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Stamp {
    pub ms: i64,
    pub counter: u32,
    pub site: String,
}

impl Stamp {
    pub fn new(ms: i64, counter: u32, site: &str) -> Stamp {
        Stamp {
            ms,
            counter,
            site: site.to_string(),
        }
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}-{:06}-{}", self.ms, self.counter, self.site)
    }
}

/// A stamp's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("版本戳格式不正确：{0}")]
pub struct StampParseError(pub String);

impl FromStr for Stamp {
    type Err = StampParseError;
    fn from_str(s: &str) -> Result<Stamp, StampParseError> {
        let mut parts = s.splitn(3, '-');
        let ms = parts.next().and_then(|p| p.parse::<i64>().ok());
        let counter = parts.next().and_then(|p| p.parse::<u32>().ok());
        let site = parts.next().filter(|p| !p.is_empty());
        match (ms, counter, site) {
            (Some(ms), Some(counter), Some(site)) if ms >= 0 => Ok(Stamp::new(ms, counter, site)),
            _ => Err(StampParseError(s.chars().take(60).collect())),
        }
    }
}

impl TryFrom<String> for Stamp {
    type Error = StampParseError;
    fn try_from(s: String) -> Result<Stamp, StampParseError> {
        s.parse()
    }
}

impl From<Stamp> for String {
    fn from(s: Stamp) -> String {
        s.to_string()
    }
}

/// The clock of one site. Persisted by the register between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub site: String,
    pub last_ms: i64,
    pub counter: u32,
}

impl Clock {
    pub fn new(site: &str) -> Clock {
        Clock {
            site: site.to_string(),
            last_ms: 0,
            counter: 0,
        }
    }

    /// A new stamp for a local edit at wall-clock `now_ms`; always greater than every stamp seen.
    pub fn tick(&mut self, now_ms: i64) -> Stamp {
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        Stamp::new(self.last_ms, self.counter, &self.site)
    }

    /// Takes a stamp received from another site into account, so later local stamps sort after it.
    pub fn observe(&mut self, seen: &Stamp, now_ms: i64) {
        let max_ms = now_ms.max(self.last_ms).max(seen.ms);
        if max_ms == self.last_ms && max_ms == seen.ms {
            self.counter = self.counter.max(seen.counter);
        } else if max_ms == seen.ms {
            self.counter = seen.counter;
        } else if max_ms != self.last_ms {
            self.counter = 0;
        }
        self.last_ms = max_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_sorts_like_the_stamp() {
        let a = Stamp::new(5, 10, "b");
        let b = Stamp::new(40, 0, "a");
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<Stamp>().unwrap(), a);
    }

    #[test]
    fn tick_is_monotonic_even_when_the_wall_clock_goes_back() {
        let mut c = Clock::new("s1");
        let s1 = c.tick(1000);
        let s2 = c.tick(900);
        let s3 = c.tick(1000);
        assert!(s1 < s2 && s2 < s3);
    }

    #[test]
    fn observe_moves_past_remote_stamps() {
        let mut c = Clock::new("s1");
        c.tick(1000);
        c.observe(&Stamp::new(5000, 7, "s2"), 1200);
        let next = c.tick(1300);
        assert!(next > Stamp::new(5000, 7, "s2"));
    }
}
