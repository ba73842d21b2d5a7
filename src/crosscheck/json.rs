//! The cross-check's JSON text (`baoxue --json crosscheck`), byte for byte what
//! `serde_json::to_string_pretty` writes. A county's lists are tens of megabytes of text, so the
//! two long lists are written by hand (field names as fixed bytes, strings escaped as serde_json
//! escapes them, no `Serializer` machinery per value), the suspected children in two halves on
//! two threads at once; the small rest goes through serde_json.

use super::{Candidate, CrossCheck, Suspected, ToConfirm};
use crate::error::Result;
use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter, Serializer};

/// Below this many entries the list is written on one thread.
const SPLIT_AT: usize = 4096;

/// The pretty JSON of `v` as the value of a key of the top-level object (one level in).
fn nested<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut f = PrettyFormatter::new();
    // Entering the top-level object: what follows is written one level in.
    f.begin_object(&mut std::io::sink())
        .map_err(serde_json::Error::io)?;
    let mut out = Vec::new();
    v.serialize(&mut Serializer::with_formatter(&mut out, f))?;
    Ok(out)
}

/// serde_json's escapes: `b'u'` for `\u00XX`, another letter for `\X`, 0 for a byte kept as is.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether any byte of `b` is one serde_json escapes (a control character, `"` or `\\`), eight
/// bytes at a time: a byte below 0x20 or equal to either has its high bit set in `has_less` /
/// `has_zero` (exact as a yes/no, whatever the other bytes).
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let x = u64::from_le_bytes(a);
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if below_space
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| ESCAPE[usize::from(c)] != 0)
}

/// `,⏎` and the indent of `level` (3 or 5), then `"name": `, as one static text.
macro_rules! field {
    (3, $name:literal) => {
        concat!(",\n      \"", $name, "\": ").as_bytes()
    };
    (5, $name:literal) => {
        concat!(",\n          \"", $name, "\": ").as_bytes()
    };
}

/// Writes pretty JSON as serde_json's `PrettyFormatter` does (two spaces a level).
struct Pretty<'a> {
    out: &'a mut Vec<u8>,
    /// The current nesting level.
    level: usize,
}

impl Pretty<'_> {
    fn indent(&mut self) {
        const SPACES: &[u8; 16] = b"                ";
        match SPACES.get(..2 * self.level) {
            Some(s) => self.out.extend_from_slice(s),
            None => {
                for _ in 0..self.level {
                    self.out.extend_from_slice(b"  ");
                }
            }
        }
    }

    /// A string, quoted and escaped.
    fn str(&mut self, s: &str) {
        let out = &mut *self.out;
        let bytes = s.as_bytes();
        if !needs_escape(bytes) {
            out.reserve(bytes.len() + 2);
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
            return;
        }
        out.push(b'"');
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let e = ESCAPE[usize::from(b)];
            if e == 0 {
                continue;
            }
            out.extend_from_slice(&bytes[start..i]);
            start = i + 1;
            if e == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
            } else {
                out.push(b'\\');
                out.push(e);
            }
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
    }

    fn opt_str(&mut self, s: &Option<String>) {
        match s {
            Some(s) => self.str(s),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn bool(&mut self, b: bool) {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
    }

    /// An object's field name (`key` is plain ASCII, nothing to escape): `first` says whether it
    /// is the object's first field.
    fn key(&mut self, key: &str, first: bool) {
        self.out
            .extend_from_slice(if first { b"\n" } else { b",\n" });
        self.indent();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    /// A field's name with what goes before it, as [`Pretty::key`] writes it at level 3 (the
    /// entries' fields) or 5 (a probable match's candidates' fields): `field!(3, "name")` is
    /// `,⏎      "name": `. The first field of an object goes through [`Pretty::key`].
    fn fixed(&mut self, text: &'static [u8]) {
        self.out.extend_from_slice(text);
    }

    /// An array, each element written by `each` at the element's place.
    fn array<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        if items.is_empty() {
            self.out.extend_from_slice(b"[]");
            return;
        }
        self.out.push(b'[');
        self.level += 1;
        for (i, x) in items.iter().enumerate() {
            self.out
                .extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            self.indent();
            each(self, x);
        }
        self.level -= 1;
        self.out.push(b'\n');
        self.indent();
        self.out.push(b']');
    }

    fn strs(&mut self, items: &[String]) {
        self.array(items, |p, s| p.str(s));
    }

    /// An object whose fields `body` writes (it has at least one).
    fn object(&mut self, body: impl FnOnce(&mut Self)) {
        self.out.push(b'{');
        self.level += 1;
        body(self);
        self.level -= 1;
        self.out.push(b'\n');
        self.indent();
        self.out.push(b'}');
    }

    fn suspected(&mut self, s: &Suspected) {
        self.object(|p| {
            debug_assert_eq!(p.level, 3, "field! texts are for level 3");
            p.key("child_id", true);
            p.opt_str(&s.child_id);
            p.fixed(field!(3, "id_number"));
            p.opt_str(&s.id_number);
            p.fixed(field!(3, "name"));
            p.str(&s.name);
            p.fixed(field!(3, "village"));
            p.opt_str(&s.village);
            p.fixed(field!(3, "birth_date"));
            p.str(&s.birth_date);
            p.fixed(field!(3, "reason"));
            p.str(&s.reason);
            p.fixed(field!(3, "category"));
            p.str(&s.category);
            p.fixed(field!(3, "priority"));
            p.bool(s.priority);
            p.fixed(field!(3, "sources"));
            p.strs(&s.sources);
            p.fixed(field!(3, "priority_groups"));
            p.strs(&s.priority_groups);
            p.fixed(field!(3, "priority_group_names"));
            p.strs(&s.priority_group_names);
            p.fixed(field!(3, "case_state"));
            p.opt_str(&s.case_state);
            p.fixed(field!(3, "school_code"));
            p.opt_str(&s.school_code);
        });
    }

    fn candidate(&mut self, c: &Candidate) {
        self.object(|p| {
            debug_assert_eq!(p.level, 5, "field! texts are for level 5");
            p.key("child_id", true);
            p.str(&c.child_id);
            p.fixed(field!(5, "school_code"));
            p.str(&c.school_code);
            p.fixed(field!(5, "village"));
            p.opt_str(&c.village);
            p.fixed(field!(5, "has_id"));
            p.bool(c.has_id);
        });
    }

    fn probable_match(&mut self, s: &ToConfirm) {
        self.object(|p| {
            debug_assert_eq!(p.level, 3, "field! texts are for level 3");
            p.key("child_id", true);
            p.opt_str(&s.child_id);
            p.fixed(field!(3, "id_number"));
            p.opt_str(&s.id_number);
            p.fixed(field!(3, "name"));
            p.str(&s.name);
            p.fixed(field!(3, "village"));
            p.opt_str(&s.village);
            p.fixed(field!(3, "birth_date"));
            p.str(&s.birth_date);
            p.fixed(field!(3, "reason"));
            p.str(&s.reason);
            p.fixed(field!(3, "sources"));
            p.strs(&s.sources);
            p.fixed(field!(3, "priority_groups"));
            p.strs(&s.priority_groups);
            p.fixed(field!(3, "candidates"));
            p.array(&s.candidates, |p, c| p.candidate(c));
        });
    }
}

/// Appends the text of a list as the value of a key of the top-level object (`nested(list)`)
/// to `out`, each entry written by `each`.
fn list_into<T>(out: &mut Vec<u8>, items: &[T], each: impl FnMut(&mut Pretty<'_>, &T)) {
    Pretty { out, level: 1 }.array(items, each);
}

/// Room for the text of `n` suspected children and `m` probable matches.
fn room(n: usize, m: usize) -> usize {
    n * 560 + m * 760 + 16
}

fn suspected_list(items: &[Suspected]) -> Vec<u8> {
    let mut out = Vec::with_capacity(room(items.len(), 0));
    list_into(&mut out, items, |p, s| p.suspected(s));
    out
}

fn confirm_list(items: &[ToConfirm]) -> Vec<u8> {
    let mut out = Vec::with_capacity(room(0, items.len()));
    list_into(&mut out, items, |p, s| p.probable_match(s));
    out
}

/// Appends `,⏎  "key": ` (or `⏎  "key": ` for the first key) to `out`.
fn key(out: &mut Vec<u8>, first: bool, key: &str) {
    out.extend_from_slice(if first { b"\n  \"" } else { b",\n  \"" });
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\": ");
}

/// Appends the values of `suspected` and `to_confirm` (with the second key) to `out`: the
/// suspected children in two parts, the first one written into `out` here while the second
/// one is written on another thread, and the probable matches written here after the first
/// part (so that both threads write about as much: a probable match, with its candidates, is
/// about 5/4 of a suspected entry's work); then the second part and the probable matches are
/// appended.
fn lists_into(out: &mut Vec<u8>, cc: &CrossCheck) -> Result<()> {
    let list = &cc.suspected;
    let start = out.len();
    if list.len() >= SPLIT_AT {
        let at = (list.len().saturating_sub(cc.to_confirm.len() * 5 / 4) / 2).max(1);
        let (head, tail) = list.split_at(at);
        let (confirm, tail) = std::thread::scope(|s| {
            let job = s.spawn(|| suspected_list(tail));
            list_into(out, head, |p, s| p.suspected(s));
            let confirm = confirm_list(&cc.to_confirm);
            (confirm, job.join())
        });
        let tail = super::joined(tail)?;
        // `[⏎    {…},⏎    {…}⏎  ]` and `[⏎    {…}⏎  ]`: drop the first one's closing `⏎  ]`
        // and the second one's opening `[`, and join them with a comma.
        const CLOSE: &[u8] = b"\n  ]";
        if out.ends_with(CLOSE) && tail.first() == Some(&b'[') {
            out.truncate(out.len() - CLOSE.len());
            out.push(b',');
            out.extend_from_slice(&tail[1..]);
            key(out, false, "to_confirm");
            out.extend_from_slice(&confirm);
            return Ok(());
        }
        out.truncate(start);
    }
    list_into(out, list, |p, s| p.suspected(s));
    key(out, false, "to_confirm");
    list_into(out, &cc.to_confirm, |p, s| p.probable_match(s));
    Ok(())
}

/// `serde_json::to_string_pretty(cc)`, as bytes (UTF-8), written into one buffer sized for it
/// up front.
pub fn to_json_pretty(cc: &CrossCheck) -> Result<Vec<u8>> {
    let as_of = nested(&cc.as_of)?;
    let window = nested(&cc.window)?;
    let checked = nested(&cc.children_checked)?;
    let by_source = nested(&cc.by_source)?;
    let mut out = Vec::with_capacity(
        as_of.len()
            + window.len()
            + checked.len()
            + by_source.len()
            + room(cc.suspected.len(), cc.to_confirm.len())
            + 128,
    );
    out.push(b'{');
    key(&mut out, true, "as_of");
    out.extend_from_slice(&as_of);
    key(&mut out, false, "window");
    out.extend_from_slice(&window);
    key(&mut out, false, "suspected");
    lists_into(&mut out, cc)?;
    key(&mut out, false, "children_checked");
    out.extend_from_slice(&checked);
    key(&mut out, false, "by_source");
    out.extend_from_slice(&by_source);
    out.extend_from_slice(b"\n}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts serde_json escapes in every way it can, and some it leaves alone.
    const TRICKY: [&str; 8] = [
        "",
        "基准儿童\"引号\"\\反斜杠",
        "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} ",
        "/\u{7f}\u{80}\u{2028}\u{2029}😀",
        "学户册有，户籍（鲁山县公安局 2026-10-31）无，学籍无",
        "a\"",
        "\\",
        "\u{1b}[0m",
    ];

    fn suspected(i: usize) -> Suspected {
        let t = |k: usize| TRICKY[(i + k) % TRICKY.len()].to_string();
        let some = |k: usize| !(i + k).is_multiple_of(3);
        Suspected {
            child_id: some(0).then(|| t(0)),
            id_number: some(1).then(|| t(1)),
            name: t(2),
            village: some(2).then(|| t(3)),
            birth_date: t(4),
            reason: t(5),
            category: t(6),
            priority: i.is_multiple_of(2),
            sources: (0..i % 3).map(t).collect(),
            priority_groups: (0..(i + 1) % 3).map(t).collect(),
            priority_group_names: (0..(i + 2) % 4).map(t).collect(),
            case_state: some(3).then(|| t(7)),
            school_code: some(4).then(|| t(1)),
        }
    }

    fn to_confirm(i: usize) -> ToConfirm {
        let s = suspected(i);
        ToConfirm {
            child_id: s.child_id,
            id_number: s.id_number,
            name: s.name,
            village: s.village,
            birth_date: s.birth_date,
            reason: s.reason,
            sources: s.sources,
            priority_groups: s.priority_groups,
            candidates: (0..i % 4)
                .map(|k| Candidate {
                    child_id: TRICKY[(i + k) % TRICKY.len()].into(),
                    school_code: TRICKY[(i + k + 1) % TRICKY.len()].into(),
                    village: k.is_multiple_of(2).then(|| TRICKY[k].into()),
                    has_id: k.is_multiple_of(3),
                })
                .collect(),
        }
    }

    #[test]
    fn the_lists_written_by_hand_are_what_serde_json_writes() {
        for n in [0, 1, 2, 5, 40] {
            let s: Vec<Suspected> = (0..n).map(suspected).collect();
            assert_eq!(
                String::from_utf8(suspected_list(&s)).unwrap(),
                String::from_utf8(nested(&s).unwrap()).unwrap()
            );
            let c: Vec<ToConfirm> = (0..n).map(to_confirm).collect();
            assert_eq!(
                String::from_utf8(confirm_list(&c)).unwrap(),
                String::from_utf8(nested(&c).unwrap()).unwrap()
            );
        }
        // Every byte value serde_json may see in a string, one string each.
        let every: Vec<Suspected> = (0u8..128)
            .map(|b| {
                let mut s = suspected(1);
                s.name = format!("x{}y", char::from(b));
                s
            })
            .collect();
        assert_eq!(suspected_list(&every), nested(&every).unwrap());
    }

    /// A string as serde_json writes it, and as [`Pretty::str`] does.
    fn both(s: &str) -> (String, String) {
        let mut out = Vec::new();
        Pretty {
            out: &mut out,
            level: 0,
        }
        .str(s);
        (
            String::from_utf8(out).unwrap(),
            serde_json::to_string(s).unwrap(),
        )
    }

    #[test]
    fn every_byte_to_escape_is_found_at_every_place_of_a_long_string() {
        for b in 0u8..128 {
            for at in 0..19 {
                let mut v = vec![b'a'; 19];
                v[at] = b;
                let s = String::from_utf8(v).unwrap();
                let slow = s.bytes().any(|c| ESCAPE[usize::from(c)] != 0);
                assert_eq!(needs_escape(s.as_bytes()), slow, "byte {b} at {at}");
                let (mine, theirs) = both(&s);
                assert_eq!(mine, theirs);
            }
        }
        // Multi-byte characters whose bytes are all 0x80 or above are never escaped.
        assert!(!needs_escape("学户册有，学籍无😀".as_bytes()));
    }

    proptest::proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in "\\PC*|[\\x00-\\x7f]*") {
            let (mine, theirs) = both(&s);
            proptest::prop_assert_eq!(mine, theirs);
        }
    }
}
