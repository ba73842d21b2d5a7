//! The cross-check's JSON text (`baoxue --json crosscheck`), byte for byte what
//! `serde_json::to_string_pretty` writes, with the long list of suspected children written in two
//! halves on two threads at once (a county's list is tens of megabytes of text).

use super::CrossCheck;
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

/// The texts of the two lists: the suspected children in two parts written on two threads and
/// joined, the probable matches written with the first part (so that both threads write about
/// as much: a probable match, with its candidates, is about 5/4 of a suspected entry's work).
fn lists(cc: &CrossCheck) -> Result<(Vec<u8>, Vec<u8>)> {
    let list = &cc.suspected;
    if list.len() < SPLIT_AT {
        return Ok((nested(list)?, nested(&cc.to_confirm)?));
    }
    let at = (list.len().saturating_sub(cc.to_confirm.len() * 5 / 4) / 2).max(1);
    let (head, tail) = list.split_at(at);
    let (head, confirm, tail) = std::thread::scope(|s| {
        let job = s.spawn(|| nested(tail));
        let head = nested(head);
        let confirm = nested(&cc.to_confirm);
        (head, confirm, job.join())
    });
    let (mut head, confirm, tail) = (head?, confirm?, super::joined(tail)??);
    // `[⏎    {…},⏎    {…}⏎  ]` and `[⏎    {…}⏎  ]`: drop the first one's closing `⏎  ]` and the
    // second one's opening `[`, and join them with a comma.
    const CLOSE: &[u8] = b"\n  ]";
    if !head.ends_with(CLOSE) || tail.first() != Some(&b'[') {
        return Ok((nested(list)?, confirm));
    }
    head.truncate(head.len() - CLOSE.len());
    head.push(b',');
    head.extend_from_slice(&tail[1..]);
    Ok((head, confirm))
}

/// `serde_json::to_string_pretty(cc)`, as bytes (UTF-8).
pub fn to_json_pretty(cc: &CrossCheck) -> Result<Vec<u8>> {
    let (suspected, to_confirm) = lists(cc)?;
    let fields: [(&str, Vec<u8>); 6] = [
        ("as_of", nested(&cc.as_of)?),
        ("window", nested(&cc.window)?),
        ("suspected", suspected),
        ("to_confirm", to_confirm),
        ("children_checked", nested(&cc.children_checked)?),
        ("by_source", nested(&cc.by_source)?),
    ];
    let mut out = Vec::with_capacity(fields.iter().map(|(k, v)| k.len() + v.len() + 8).sum());
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n  \"" } else { b",\n  \"" });
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\": ");
        out.extend_from_slice(value);
    }
    out.extend_from_slice(b"\n}");
    Ok(out)
}
