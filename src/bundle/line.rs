//! A fast path for the record lines of a payload. The exporter writes every record as one line
//! `[null,"text",12,null,…]`: a JSON array with no spaces, whose first element (the version
//! vector) is almost always `null`, whose cells are `null`, integers and strings. Such a line is
//! read here in one pass (the line is checked to be UTF-8 once, strings are found with `memchr`)
//! instead of through serde's visitor for every cell, about half the decoding thread's parsing
//! time in a full bundle.
//!
//! Any line outside that shape (a version vector, an escape in a string, a real number, a
//! boolean, spaces, anything malformed) returns `None`, and the caller parses it with
//! serde_json as before, which accepts or refuses it exactly as it always did. For the lines this
//! path reads, it gives the same result as serde_json's path (tests compare both).

use super::payload::{Cell, RowParts};

/// Reads `line` (without its newline) if it has the common shape; incoming cell `k` goes to
/// local column `map[k]` of `ncols`.
pub(super) fn parse(line: &[u8], map: &[usize], ncols: usize) -> Option<RowParts> {
    // A control byte is not allowed unescaped in JSON strings; outside them it can only be
    // whitespace, which the fast path does not read either.
    if line.iter().fold(false, |acc, &b| acc | (b < 0x20)) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let b = line;
    if !b.starts_with(b"[null") {
        return None;
    }
    let mut i = 5;
    let mut parts = RowParts {
        vv: None,
        buf: String::with_capacity(line.len()),
        cells: vec![Cell::Null; ncols],
        seen: 0,
    };
    loop {
        match b.get(i)? {
            b']' => {
                i += 1;
                break;
            }
            b',' => i += 1,
            _ => return None,
        }
        let cell = match *b.get(i)? {
            b'n' => {
                if b.get(i..i + 4)? != b"null" {
                    return None;
                }
                i += 4;
                Cell::Null
            }
            b'"' => {
                let rest = b.get(i + 1..)?;
                let end = memchr::memchr2(b'"', b'\\', rest)?;
                if rest[end] != b'"' {
                    return None;
                }
                // Between two ASCII quotes of valid UTF-8: valid UTF-8.
                let s = text.get(i + 1..i + 1 + end)?;
                let start = u32::try_from(parts.buf.len()).ok()?;
                parts.buf.push_str(s);
                let stop = u32::try_from(parts.buf.len()).ok()?;
                i += end + 2;
                Cell::Text(start, stop)
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                if b[i] == b'-' {
                    i += 1;
                }
                let digits = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                // Leading zeros ("01", "-0") and non-integers are left to serde_json.
                if i == digits || (b[digits] == b'0' && (i - digits > 1 || digits > start)) {
                    return None;
                }
                if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
                    return None;
                }
                Cell::Int(text.get(start..i)?.parse().ok()?)
            }
            _ => return None,
        };
        if let Some(&j) = map.get(parts.seen) {
            *parts.cells.get_mut(j)? = cell;
        }
        parts.seen += 1;
    }
    (i == b.len()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::super::payload::parse_row_slow;
    use super::*;

    fn same(line: &str) {
        let map = [2, 0, 1, 3, 4];
        let fast = parse(line.as_bytes(), &map, 5);
        let slow = parse_row_slow(line.as_bytes(), &map, 5);
        match (fast, slow) {
            (Some(f), Ok(s)) => {
                assert_eq!(f.vv, s.vv, "{line}");
                assert_eq!(f.buf, s.buf, "{line}");
                assert_eq!(format!("{:?}", f.cells), format!("{:?}", s.cells), "{line}");
                assert_eq!(f.seen, s.seen, "{line}");
            }
            (Some(_), Err(e)) => panic!("fast path read a line serde refuses: {line} ({e})"),
            (None, _) => {}
        }
    }

    #[test]
    fn reads_common_lines_as_serde_json_does_and_leaves_the_rest_to_it() {
        let read = [
            r#"[null,"a","学生1",12,null,"x"]"#,
            r#"[null,"",-5,0,"青山县第1组",null]"#,
            r#"[null,9223372036854775807,-9223372036854775808,"z"]"#,
            r#"[null]"#,
            r#"[null,"a","b","c","d","e","f","g"]"#,
            r#"[null,"01a04d1a-ff10-7000-8103-3435395a90f6",1]"#,
        ];
        for l in read {
            assert!(parse(l.as_bytes(), &[2, 0, 1, 3, 4], 5).is_some(), "{l}");
            same(l);
        }
        let left = [
            r#"[{"s":"v"},"a"]"#,
            r#"[null,"a\"b"]"#,
            r#"[null,"a\nb"]"#,
            "[null,\"a\tb\"]",
            r#"[null, "a"]"#,
            r#"[null,1.5]"#,
            r#"[null,1e3]"#,
            r#"[null,01]"#,
            r#"[null,-0]"#,
            r#"[null,true]"#,
            r#"[null,9223372036854775808]"#,
            r#"[null,"a"] "#,
            r#"[null,"a"]x"#,
            r#"[null,"a""#,
            r#"[null,]"#,
            r#"[null,,1]"#,
            r#"[null,nul]"#,
            r#"[nul]"#,
            r#"[null,-]"#,
            r#"[null"#,
            "",
        ];
        for l in left {
            assert!(parse(l.as_bytes(), &[2, 0, 1, 3, 4], 5).is_none(), "{l}");
            same(l);
        }
        assert!(parse(b"[null,\"\xff\"]", &[0], 1).is_none());
    }
}
