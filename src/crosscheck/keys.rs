//! Compact sets of the keys the cross-check compares, so that its set logic runs over integers
//! instead of hundreds of thousands of owned strings:
//!
//! - a person key (`idnum::link_key`: an 18-character ID number) packs exactly into a `u64`
//!   (17 digits and a check character 0-9 / X); any other key (a child record's own id, for a
//!   child without an ID) is kept as text;
//! - a record id (a lower-case hyphenated UUID) packs exactly into a `u128`; anything else is
//!   kept as text.
//!
//! Both packings are exact (no hashing of the key itself), so a set never confuses two people.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast hasher for keys that are already well spread integers (ID numbers, UUIDs).
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Multiply-fold: every input bit reaches the high bits hashbrown uses.
        let m = u128::from(n ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
}

pub type IntBuild = BuildHasherDefault<IntHasher>;

/// An 18-character ID number packed into a `u64`, or `None` for any other text.
pub fn id_code(key: &str) -> Option<u64> {
    id_code_bytes(key.as_bytes())
}

/// [`id_code`] of the bytes of a text (as read from the register, without a UTF-8 check).
pub fn id_code_bytes(b: &[u8]) -> Option<u64> {
    if b.len() != 18 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in &b[..17] {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    let last = match b[17] {
        c @ b'0'..=b'9' => u64::from(c - b'0'),
        b'X' => 10,
        _ => return None,
    };
    Some(n * 11 + last)
}

/// Lower-case hex digit values; 255 for any other byte.
const HEX: [u8; 256] = {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// A lower-case hyphenated UUID packed into a `u128`, or `None` for any other text.
pub fn uuid_code(id: &str) -> Option<u128> {
    uuid_code_bytes(id.as_bytes())
}

/// [`uuid_code`] of the bytes of a text (as read from the register, without a UTF-8 check).
pub fn uuid_code_bytes(b: &[u8]) -> Option<u128> {
    if b.len() != 36 {
        return None;
    }
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut n: u128 = 0;
    for part in [&b[0..8], &b[9..13], &b[14..18], &b[19..23], &b[24..36]] {
        for &c in part {
            let v = HEX[usize::from(c)];
            if v > 15 {
                return None;
            }
            n = (n << 4) | u128::from(v);
        }
    }
    Some(n)
}

/// The text of a packed UUID (lower-case, hyphenated): the inverse of [`uuid_code`].
pub fn uuid_text(n: u128) -> String {
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// One person key read by a scan before the set of pupils studying is known: an ID number
/// packed, any other key as text, or none (a list row without an ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Id(u64),
    Text(Box<str>),
    None,
}

impl Key {
    /// The key of a text read from the register.
    pub fn of(key: Option<&str>) -> Key {
        match key {
            None => Key::None,
            Some(k) => match id_code(k) {
                Some(c) => Key::Id(c),
                None => Key::Text(k.into()),
            },
        }
    }
}

/// A set of person keys (ID numbers packed, other keys as text).
#[derive(Default)]
pub struct KeySet {
    ids: HashSet<u64, IntBuild>,
    other: HashSet<Box<str>>,
}

impl KeySet {
    pub fn with_capacity(n: usize) -> KeySet {
        KeySet {
            ids: HashSet::with_capacity_and_hasher(n, IntBuild::default()),
            other: HashSet::new(),
        }
    }

    pub fn insert(&mut self, key: &str) {
        match id_code(key) {
            Some(c) => {
                self.ids.insert(c);
            }
            None => {
                if !self.other.contains(key) {
                    self.other.insert(key.into());
                }
            }
        }
    }

    /// [`KeySet::insert`] of a key's bytes as read from the register.
    pub fn insert_bytes(&mut self, key: &[u8]) {
        match id_code_bytes(key) {
            Some(c) => {
                self.ids.insert(c);
            }
            None => self.insert(&String::from_utf8_lossy(key)),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        match id_code(key) {
            Some(c) => self.ids.contains(&c),
            None => self.other.contains(key),
        }
    }

    /// Whether the set has this key ([`Key::None`] never).
    pub fn contains_key(&self, key: &Key) -> bool {
        match key {
            Key::Id(c) => self.ids.contains(c),
            Key::Text(t) => self.other.contains(t),
            Key::None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A set of record ids (UUIDs packed, other ids as text).
#[derive(Default)]
pub struct IdSet {
    uuids: HashSet<u128, IntBuild>,
    other: HashSet<Box<str>>,
}

impl IdSet {
    pub fn with_capacity(n: usize) -> IdSet {
        IdSet {
            uuids: HashSet::with_capacity_and_hasher(n, IntBuild::default()),
            other: HashSet::new(),
        }
    }

    pub fn insert(&mut self, id: &str) {
        match uuid_code(id) {
            Some(c) => {
                self.uuids.insert(c);
            }
            None => {
                self.other.insert(id.into());
            }
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        match uuid_code(id) {
            Some(c) => self.uuids.contains(&c),
            None => self.other.contains(id),
        }
    }

    /// Removes an id; whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        match uuid_code(id) {
            Some(c) => self.uuids.remove(&c),
            None => self.other.remove(id),
        }
    }

    /// The ids left, as text.
    pub fn into_texts(self) -> Vec<String> {
        let mut out: Vec<String> = self.uuids.into_iter().map(uuid_text).collect();
        out.extend(self.other.into_iter().map(String::from));
        out.sort_unstable();
        out
    }

    pub fn len(&self) -> usize {
        self.uuids.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packings_are_exact_and_refuse_other_text() {
        assert_eq!(
            id_code("11010519491231002X"),
            Some(11010519491231002 * 11 + 10)
        );
        assert_ne!(id_code("110105194912310021"), id_code("11010519491231002X"));
        assert_eq!(id_code("11010519491231002x"), None, "keys are upper-case");
        assert_eq!(id_code("1101051949123100２X"), None);
        assert_eq!(id_code("41042320150308001"), None);
        let u = "0190f5a2-7c3e-7d4a-9b1c-2d3e4f5a6b7c";
        assert!(uuid_code(u).is_some());
        assert_eq!(uuid_code(&u.to_uppercase()), None);
        assert_eq!(uuid_code("0190f5a2x7c3e-7d4a-9b1c-2d3e4f5a6b7c"), None);
        let mut s = KeySet::default();
        s.insert("11010519491231002X");
        s.insert("child-without-id");
        assert!(s.contains("11010519491231002X"));
        assert!(s.contains("child-without-id"));
        assert!(!s.contains("110105194912310021"));
        assert_eq!(s.len(), 2);
        let mut ids = IdSet::default();
        ids.insert(u);
        ids.insert("demo-1");
        assert!(ids.contains(u) && ids.contains("demo-1") && !ids.contains("demo-2"));
        assert!(ids.remove("demo-1") && !ids.remove("demo-1"));
        assert_eq!(ids.into_texts(), vec![u.to_string()]);
    }
}
