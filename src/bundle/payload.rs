//! The payload: NDJSON of travelling records (`schemas/bundle-payload.schema.json`), compressed
//! with deflate and encrypted to the recipient with age. Line 1 names the bundle; then for each
//! table a header line with its columns, followed by one JSON array per record:
//! `[version vector or null, column values…]`.

use super::vv::Vv;
use super::{codes, err, FORMAT_VERSION};
use crate::error::Result;
use crate::hlc::Stamp;
use crate::store::{rows, TRAVELLING_TABLES};
use flate2::write::{DeflateDecoder, DeflateEncoder};
use flate2::Compression;
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use std::io::{Read, Write};

type Sink = DeflateEncoder<age::stream::StreamWriter<Vec<u8>>>;

/// Writes the payload of one bundle.
pub struct PayloadWriter {
    out: Sink,
    line: Vec<u8>,
    pub records: u64,
}

fn io_err(e: std::io::Error) -> crate::Error {
    err(codes::MALFORMED, format!("数据包写入失败：{e}"))
}

impl PayloadWriter {
    pub fn new(recipient: &age::x25519::Recipient, bundle_id: &str) -> Result<PayloadWriter> {
        let enc =
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                .map_err(|e| err(codes::NO_RECIPIENT, format!("无法加密到收件单位：{e}")))?;
        let stream = enc.wrap_output(Vec::new()).map_err(io_err)?;
        let mut w = PayloadWriter {
            out: DeflateEncoder::new(stream, Compression::new(1)),
            line: Vec::with_capacity(4096),
            records: 0,
        };
        let head = serde_json::json!({
            "type": "payload", "format_version": FORMAT_VERSION, "bundle_id": bundle_id
        });
        w.write_json_line(&head)?;
        Ok(w)
    }

    fn write_json_line(&mut self, v: &serde_json::Value) -> Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n").map_err(io_err)
    }

    /// Starts the records of one table.
    pub fn table(&mut self, table: &str, columns: &[String]) -> Result<()> {
        self.write_json_line(
            &serde_json::json!({"type": "table", "table": table, "columns": columns}),
        )
    }

    /// Writes one record: its version vector (None = the version alone) and its values.
    pub fn row<'a>(
        &mut self,
        vv: Option<&Vv>,
        values: impl Iterator<Item = ValueRef<'a>>,
    ) -> Result<()> {
        let line = &mut self.line;
        line.clear();
        line.push(b'[');
        match vv {
            Some(vv) => serde_json::to_writer(&mut *line, &vv.to_json())?,
            None => line.extend_from_slice(b"null"),
        }
        for v in values {
            line.push(b',');
            match v {
                ValueRef::Null => line.extend_from_slice(b"null"),
                ValueRef::Integer(n) => {
                    let _ = write!(line, "{n}");
                }
                ValueRef::Real(f) => serde_json::to_writer(&mut *line, &f)?,
                ValueRef::Text(t) => {
                    serde_json::to_writer(&mut *line, &String::from_utf8_lossy(t))?
                }
                ValueRef::Blob(b) => serde_json::to_writer(&mut *line, &hex::encode(b))?,
            }
        }
        line.extend_from_slice(b"]\n");
        self.out.write_all(line).map_err(io_err)?;
        self.records += 1;
        Ok(())
    }

    /// Finishes compression and encryption; returns the encrypted bytes.
    pub fn finish(self) -> Result<Vec<u8>> {
        let stream = self.out.finish().map_err(io_err)?;
        stream.finish().map_err(io_err)
    }
}

/// Where the meta columns sit in a table's local column order.
#[derive(Debug, Clone, Copy)]
pub struct MetaIdx {
    pub id: usize,
    pub origin_site: usize,
    pub version: usize,
    pub prev_version: usize,
    pub edits: usize,
    pub deleted: usize,
}

/// A travelling table as this register has it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: &'static str,
    /// The upsert statement for all columns (made once).
    pub upsert: String,
    /// The insert-if-new statement for all columns (made once).
    pub insert_new: String,
    pub columns: Vec<String>,
    pub not_null: Vec<bool>,
    pub meta: MetaIdx,
}

impl TableInfo {
    pub fn load(conn: &Connection, name: &'static str) -> Result<TableInfo> {
        let cols = rows::columns(conn, name)?;
        let pos = |c: &str| cols.iter().position(|(n, _)| n == c);
        let meta = match (
            pos("id"),
            pos("origin_site"),
            pos("version"),
            pos("prev_version"),
            pos("edits"),
            pos("deleted"),
        ) {
            (
                Some(id),
                Some(origin_site),
                Some(version),
                Some(prev_version),
                Some(edits),
                Some(deleted),
            ) => MetaIdx {
                id,
                origin_site,
                version,
                prev_version,
                edits,
                deleted,
            },
            _ => return Err(err(codes::MALFORMED, format!("表 {name} 缺少记录元数据列"))),
        };
        let names: Vec<String> = cols.iter().map(|c| c.0.clone()).collect();
        Ok(TableInfo {
            name,
            upsert: rows::upsert_sql(name, &names),
            insert_new: rows::insert_new_sql(name, &names),
            not_null: cols.iter().map(|c| c.1).collect(),
            columns: cols.into_iter().map(|c| c.0).collect(),
            meta,
        })
    }

    pub fn index_of(&self, col: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == col)
    }
}

/// Every travelling table of this register.
pub fn tables(conn: &Connection) -> Result<Vec<TableInfo>> {
    TRAVELLING_TABLES
        .iter()
        .map(|t| TableInfo::load(conn, t))
        .collect()
}

/// One record read from a payload, in this register's column order.
#[derive(Debug, Clone)]
pub struct Record {
    pub table: usize,
    pub values: Vec<Value>,
    pub vv: Option<Vv>,
}

impl Record {
    pub fn text(&self, i: usize) -> &str {
        match &self.values[i] {
            Value::Text(s) => s,
            _ => "",
        }
    }
    pub fn int(&self, i: usize) -> i64 {
        match &self.values[i] {
            Value::Integer(n) => *n,
            _ => 0,
        }
    }
}

/// A decrypted, parsed payload.
pub struct Decoded {
    pub bundle_id: String,
    pub records: Vec<Record>,
}

fn bad(line: usize, what: impl std::fmt::Display) -> crate::Error {
    err(
        codes::BAD_RECORD,
        format!("数据包第{line}行记录无效：{what}。整包不予导入，请联系发出单位重新导出"),
    )
}

/// Decrypts, decompresses and parses a payload, checking every record against the local schema.
pub fn decode(
    payload: &[u8],
    identity: &age::x25519::Identity,
    tables: &[TableInfo],
) -> Result<Decoded> {
    let decrypt_failed = || {
        err(
            codes::DECRYPT,
            "数据包无法解密：它不是发给本单位的，或内容已损坏",
        )
    };
    let dec = age::Decryptor::new_buffered(payload).map_err(|_| decrypt_failed())?;
    let mut reader = dec
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|_| decrypt_failed())?;
    let mut compressed = Vec::with_capacity(payload.len());
    reader
        .read_to_end(&mut compressed)
        .map_err(|_| decrypt_failed())?;
    let mut text = Vec::with_capacity(compressed.len() * 6);
    {
        let mut inflater = DeflateDecoder::new(&mut text);
        inflater
            .write_all(&compressed)
            .and_then(|_| inflater.finish().map(|_| ()))
            .map_err(|_| err(codes::BAD_RECORD, "数据包解压失败，内容已损坏"))?;
    }
    drop(compressed);
    let mut lines = text.split(|b| *b == b'\n').enumerate().peekable();
    let head: serde_json::Value = match lines.next() {
        Some((_, l)) => serde_json::from_slice(l).map_err(|e| bad(1, e))?,
        None => return Err(bad(1, "空数据包")),
    };
    if head.get("type").and_then(|v| v.as_str()) != Some("payload") {
        return Err(bad(1, "缺少数据包头"));
    }
    if head
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
        > FORMAT_VERSION as u64
    {
        return Err(err(
            codes::NEWER_FORMAT,
            "数据包格式版本较新，请升级保学后再导入",
        ));
    }
    let bundle_id = head
        .get("bundle_id")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    // (local table index, incoming column i → local column index)
    let mut current: Option<(usize, Vec<usize>)> = None;
    let mut records = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.is_empty() {
            continue;
        }
        if line[0] == b'{' {
            let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| bad(n, e))?;
            let name = v.get("table").and_then(|t| t.as_str()).unwrap_or("");
            let Some(t) = tables.iter().position(|t| t.name == name) else {
                return Err(bad(
                    n,
                    format!(
                        "本程序不认识的表“{}”",
                        name.chars().take(40).collect::<String>()
                    ),
                ));
            };
            let cols = v
                .get("columns")
                .and_then(|c| c.as_array())
                .ok_or_else(|| bad(n, "缺少列名"))?;
            let mut map = Vec::with_capacity(cols.len());
            for c in cols {
                let c = c.as_str().unwrap_or("");
                let Some(j) = tables[t].index_of(c) else {
                    return Err(err(
                        codes::NEWER_FORMAT,
                        format!(
                            "数据包中表 {name} 有本程序不认识的列“{}”，请升级保学后再导入",
                            c.chars().take(40).collect::<String>()
                        ),
                    ));
                };
                map.push(j);
            }
            current = Some((t, map));
            continue;
        }
        let Some((t, map)) = &current else {
            return Err(bad(n, "记录前缺少表头"));
        };
        let info = &tables[*t];
        let RowLine(vv_json, cells) = serde_json::from_slice(line).map_err(|e| bad(n, e))?;
        if cells.len() != map.len() {
            return Err(bad(n, format!("列数不符（应为{}）", map.len())));
        }
        let vv = match vv_json {
            None => None,
            Some(v) => Some(Vv::from_json(&v).ok_or_else(|| bad(n, "版本向量格式错误"))?),
        };
        let mut values = vec![Value::Null; info.columns.len()];
        for (v, &j) in cells.into_iter().zip(map.iter()) {
            values[j] = v.0;
        }
        let rec = Record {
            table: *t,
            values,
            vv,
        };
        check_record(info, &rec).map_err(|what| bad(n, format!("表 {}：{what}", info.name)))?;
        records.push(rec);
    }
    Ok(Decoded { bundle_id, records })
}

/// One record line, parsed straight into SQLite values (no intermediate JSON tree).
struct RowLine(Option<serde_json::Value>, Vec<Cell>);

/// One column value: null, integer, real or text (a boolean reads as 0/1).
struct Cell(Value);

impl<'de> serde::Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Cell, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("null, a number or a string")
            }
            fn visit_unit<E>(self) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Null))
            }
            fn visit_none<E>(self) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Null))
            }
            fn visit_bool<E>(self, b: bool) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Integer(b as i64)))
            }
            fn visit_i64<E>(self, n: i64) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Integer(n)))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> std::result::Result<Cell, E> {
                i64::try_from(n)
                    .map(|n| Cell(Value::Integer(n)))
                    .map_err(|_| E::custom("整数过大"))
            }
            fn visit_f64<E>(self, f: f64) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Real(f)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Text(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Cell, E> {
                Ok(Cell(Value::Text(s)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for RowLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<RowLine, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RowLine;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[version vector or null, values…]")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<RowLine, A::Error> {
                let vv: Option<serde_json::Value> = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::custom("空记录"))?;
                let mut cells = Vec::with_capacity(seq.size_hint().unwrap_or(24));
                while let Some(c) = seq.next_element::<Cell>()? {
                    cells.push(c);
                }
                Ok(RowLine(vv, cells))
            }
        }
        d.deserialize_seq(V)
    }
}

fn check_record(info: &TableInfo, r: &Record) -> std::result::Result<(), String> {
    let m = info.meta;
    if r.text(m.id).is_empty() {
        return Err("缺少记录编号 id".into());
    }
    if r.text(m.origin_site).is_empty() {
        return Err("缺少来源单位 origin_site".into());
    }
    let version = r.text(m.version);
    if version.parse::<Stamp>().is_err() {
        return Err("版本戳 version 格式不正确".into());
    }
    match &r.values[m.prev_version] {
        Value::Null => {}
        Value::Text(p) if p.parse::<Stamp>().is_ok() && p.as_str() < version => {}
        _ => return Err("前一版本 prev_version 格式不正确".into()),
    }
    if !matches!(r.values[m.edits], Value::Integer(n) if n >= 1) {
        return Err("edits 应为正整数".into());
    }
    if !matches!(r.values[m.deleted], Value::Integer(0 | 1)) {
        return Err("deleted 应为 0 或 1".into());
    }
    if let Some(vv) = &r.vv {
        if !vv.covers(version) {
            return Err("版本向量不含本版本".into());
        }
    }
    for (j, nn) in info.not_null.iter().enumerate() {
        if *nn && matches!(r.values[j], Value::Null) {
            return Err(format!("必填列 {} 为空", info.columns[j]));
        }
    }
    Ok(())
}
