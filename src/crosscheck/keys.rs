//! Compact sets of the keys the cross-check compares, so that its set logic runs over integers
//! instead of hundreds of thousands of owned strings: a person key (`idnum::link_key`: an
//! 18-character ID number) packs exactly into a `u64` (17 digits and a check character 0-9 /
//! X); any other key (a child record's own id, for a child without an ID) is kept as text.
//!
//! The packing is exact (no hashing of the key itself), so a set never confuses two people.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast hasher for keys that are integers (packed ID numbers).
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

/// A fast hasher for the cross-check's text keys (ID numbers, record ids, names): eight bytes
/// at a time (FxHash's step), then one multiply-fold so that every bit reaches the high bits
/// hashbrown uses. Not resistant to crafted collisions, which only a register's own clerks
/// could write, and which would only slow a cross-check down.
#[derive(Default, Clone, Copy)]
pub struct TextHasher(u64);

impl TextHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for TextHasher {
    #[inline]
    fn finish(&self) -> u64 {
        let m = u128::from(self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        (m as u64) ^ ((m >> 64) as u64)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.add(u64::from_le_bytes(a));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            // The length in the top byte: "ab" and "ab\0" hash apart.
            self.add(u64::from_le_bytes(a) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

pub type TextBuild = BuildHasherDefault<TextHasher>;
/// A map keyed by text, hashed with [`TextHasher`].
pub type TextMap<K, V> = std::collections::HashMap<K, V, TextBuild>;
/// A set of texts, hashed with [`TextHasher`].
pub type TextSet<K> = HashSet<K, TextBuild>;

/// An 18-character ID number packed into a `u64`, or `None` for any other text.
pub fn id_code(key: &str) -> Option<u64> {
    id_code_bytes(key.as_bytes())
}

/// [`id_code`] of the bytes of a text (as read from the register, without a UTF-8 check): the
/// first 16 digits eight at a time (one check and three multiplications for eight), then the
/// 17th digit and the check character.
pub fn id_code_bytes(b: &[u8]) -> Option<u64> {
    if b.len() != 18 {
        return None;
    }
    let eight = |at: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[at..at + 8]);
        eight_digits(u64::from_le_bytes(a))
    };
    let digit = b[16].wrapping_sub(b'0');
    if digit > 9 {
        return None;
    }
    let n = eight(0)? * 1_000_000_000 + eight(8)? * 10 + u64::from(digit);
    let last = match b[17] {
        c @ b'0'..=b'9' => u64::from(c - b'0'),
        b'X' => 10,
        _ => return None,
    };
    Some(n * 11 + last)
}

/// The number written by eight ASCII digits (the first one in the lowest byte), or `None` when
/// any byte is not a digit (D. Lemire's method: every byte's high half must be 3 and its low
/// half, plus 6, must not carry).
fn eight_digits(x: u64) -> Option<u64> {
    const HIGH_HALVES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let digits = (x & HIGH_HALVES) | ((x.wrapping_add(0x0606_0606_0606_0606) & HIGH_HALVES) >> 4);
    if digits != 0x3333_3333_3333_3333 {
        return None;
    }
    let x = x - 0x3030_3030_3030_3030;
    // Each pair of digits into one byte, then each pair of pairs, then the two halves.
    let x = x * 10 + (x >> 8);
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    Some(((x & MASK).wrapping_mul(MUL1)).wrapping_add(((x >> 16) & MASK).wrapping_mul(MUL2)) >> 32)
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

    /// Both sets in one (the smaller one's keys added to the larger one).
    pub fn union(self, other: KeySet) -> KeySet {
        let (mut big, small) = if self.len() >= other.len() {
            (self, other)
        } else {
            (other, self)
        };
        big.ids.extend(small.ids);
        big.other.extend(small.other);
        big
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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`id_code_bytes`] one digit at a time, as it was written first.
    fn id_code_plain(b: &[u8]) -> Option<u64> {
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

    #[test]
    fn eight_digits_at_a_time_reads_what_one_at_a_time_reads() {
        let base = *b"41042320150308001X";
        assert_eq!(id_code_bytes(&base), id_code_plain(&base));
        assert_eq!(
            id_code_bytes(b"999999999999999999"),
            id_code_plain(b"999999999999999999")
        );
        assert_eq!(id_code_bytes(b"000000000000000000"), Some(0));
        // Every byte value at every place.
        for at in 0..18 {
            for c in 0..=255u8 {
                let mut v = base;
                v[at] = c;
                assert_eq!(id_code_bytes(&v), id_code_plain(&v), "byte {c} at {at}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_packs_as_one_digit_at_a_time(s in "[0-9]{17}[0-9X]|[0-9:/X]{16,19}|\\PC{18}") {
            proptest::prop_assert_eq!(id_code_bytes(s.as_bytes()), id_code_plain(s.as_bytes()));
        }
    }

    #[test]
    fn the_text_hasher_tells_apart_texts_that_differ_in_a_byte_or_a_trailing_zero() {
        use std::hash::BuildHasher;
        let h = |s: &str| TextBuild::default().hash_one(s);
        let texts = [
            "",
            "a",
            "ab",
            "ab\0",
            "abcdefgh",
            "abcdefgh\0",
            "11010519491231002X",
        ];
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                assert_ne!(h(a), h(b), "{a:?} {b:?}");
            }
        }
        let mut m: TextMap<String, usize> = TextMap::default();
        for i in 0..10_000 {
            m.insert(format!("child-{i}"), i);
        }
        assert!((0..10_000).all(|i| m[&format!("child-{i}")] == i));
    }

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
        let mut s = KeySet::default();
        s.insert("11010519491231002X");
        s.insert("child-without-id");
        assert!(s.contains("11010519491231002X"));
        assert!(s.contains("child-without-id"));
        assert!(!s.contains("110105194912310021"));
        assert_eq!(s.len(), 2);
        let mut t = KeySet::default();
        t.insert("110105194912310021");
        t.insert("another-child");
        let u = s.union(t);
        assert_eq!(u.len(), 4);
        assert!(u.contains("110105194912310021") && u.contains("child-without-id"));
    }
}
