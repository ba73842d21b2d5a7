//! The payload: NDJSON of travelling records (`schemas/bundle-payload.schema.json`), compressed
//! with deflate and encrypted to the recipient with age. Line 1 names the bundle; then for each
//! table a header line with its columns, followed by one JSON array per record:
//! `[version vector or null, column values…]`.

use super::vv::Vv;
use super::{codes, err, FORMAT_VERSION};
use crate::error::Result;
use crate::hlc::Stamp;
use crate::store::{rows, TRAVELLING_TABLES};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use std::io::{BufRead, BufReader, Read, Write};

type Sink = DeflateEncoder<age::stream::StreamWriter<Vec<u8>>>;

/// Uncompressed bytes handed to the compressing thread at a time.
const BLOCK: usize = 1 << 18;

/// Writes the payload of one bundle. Lines are serialised on the caller's thread; compression
/// and encryption run on a second thread, fed in blocks.
pub struct PayloadWriter {
    block: Vec<u8>,
    line: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    worker: Option<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>,
    pub records: u64,
}

fn io_err(e: std::io::Error) -> crate::Error {
    err(codes::MALFORMED, format!("数据包写入失败：{e}"))
}

fn worker_gone() -> crate::Error {
    err(codes::MALFORMED, "数据包写入失败：压缩线程已退出")
}

/// Appends `s` as a JSON string (quotes, backslashes and control characters escaped).
fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    // Most text needs no escape: check without branching per byte, then copy it whole.
    let plain = !s.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&s[start..i]);
                let _ = write!(out, "\\u{:04x}", b);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

impl PayloadWriter {
    pub fn new(recipient: &age::x25519::Recipient, bundle_id: &str) -> Result<PayloadWriter> {
        let enc =
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                .map_err(|e| err(codes::NO_RECIPIENT, format!("无法加密到收件单位：{e}")))?;
        let stream = enc.wrap_output(Vec::new()).map_err(io_err)?;
        let mut out: Sink = DeflateEncoder::new(stream, Compression::new(1));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let worker = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
            for block in rx {
                out.write_all(&block)?;
            }
            out.finish()?.finish()
        });
        let mut w = PayloadWriter {
            block: Vec::with_capacity(BLOCK + 4096),
            line: Vec::with_capacity(4096),
            tx: Some(tx),
            worker: Some(worker),
            records: 0,
        };
        let head = serde_json::json!({
            "type": "payload", "format_version": FORMAT_VERSION, "bundle_id": bundle_id
        });
        w.write_json_line(&head)?;
        Ok(w)
    }

    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.block.extend_from_slice(bytes);
        if self.block.len() >= BLOCK {
            let full = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK + 4096));
            let tx = self.tx.as_ref().ok_or_else(worker_gone)?;
            tx.send(full).map_err(|_| worker_gone())?;
        }
        Ok(())
    }

    fn write_json_line(&mut self, v: &serde_json::Value) -> Result<()> {
        let mut line = serde_json::to_vec(v)?;
        line.push(b'\n');
        self.push(&line)
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
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.push(b'[');
        match vv {
            Some(vv) => serde_json::to_writer(&mut line, &vv.to_json())?,
            None => line.extend_from_slice(b"null"),
        }
        for v in values {
            line.push(b',');
            match v {
                ValueRef::Null => line.extend_from_slice(b"null"),
                ValueRef::Integer(n) => {
                    let _ = write!(line, "{n}");
                }
                ValueRef::Real(f) => serde_json::to_writer(&mut line, &f)?,
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(_) => push_json_str(&mut line, t),
                    Err(_) => push_json_str(&mut line, String::from_utf8_lossy(t).as_bytes()),
                },
                ValueRef::Blob(b) => serde_json::to_writer(&mut line, &hex::encode(b))?,
            }
        }
        line.extend_from_slice(b"]\n");
        let r = self.push(&line);
        self.line = line;
        r?;
        self.records += 1;
        Ok(())
    }

    /// Finishes compression and encryption; returns the encrypted bytes.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let last = std::mem::take(&mut self.block);
        let tx = self.tx.take().ok_or_else(worker_gone)?;
        if !last.is_empty() {
            tx.send(last).map_err(|_| worker_gone())?;
        }
        drop(tx);
        let worker = self.worker.take().ok_or_else(worker_gone)?;
        worker.join().map_err(|_| worker_gone())?.map_err(io_err)
    }
}

impl Drop for PayloadWriter {
    fn drop(&mut self) {
        // An abandoned writer: close the channel so the worker ends, and wait for it.
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
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

/// One column value of a record read from a payload; text lives in the record's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    /// Byte range in `Record::text`.
    Text(u32, u32),
}

/// One record read from a payload, in this register's column order. All its text sits in one
/// buffer, so a record costs two allocations however many columns it has.
#[derive(Debug, Clone)]
pub struct Record {
    pub table: usize,
    pub vv: Option<Vv>,
    buf: String,
    cells: Vec<Cell>,
}

impl Record {
    /// A record from SQLite values (tests and tools).
    pub fn from_values(table: usize, values: &[Value], vv: Option<Vv>) -> Record {
        let mut buf = String::new();
        let cells = values
            .iter()
            .map(|v| match v {
                Value::Null | Value::Blob(_) => Cell::Null,
                Value::Integer(n) => Cell::Int(*n),
                Value::Real(f) => Cell::Real(*f),
                Value::Text(t) => {
                    let start = buf.len() as u32;
                    buf.push_str(t);
                    Cell::Text(start, buf.len() as u32)
                }
            })
            .collect();
        Record {
            table,
            vv,
            buf,
            cells,
        }
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Column `i` as a borrowed SQLite value.
    pub fn get(&self, i: usize) -> ValueRef<'_> {
        match self.cells.get(i).copied().unwrap_or(Cell::Null) {
            Cell::Null => ValueRef::Null,
            Cell::Int(n) => ValueRef::Integer(n),
            Cell::Real(f) => ValueRef::Real(f),
            Cell::Text(a, b) => ValueRef::Text(&self.buf.as_bytes()[a as usize..b as usize]),
        }
    }

    /// Every column as a borrowed SQLite value, for binding.
    pub fn refs(&self) -> impl Iterator<Item = ValueRef<'_>> {
        (0..self.cells.len()).map(|i| self.get(i))
    }

    /// Bytes of text this record holds (all columns).
    pub fn text_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Every column as an owned SQLite value.
    pub fn values(&self) -> Vec<Value> {
        self.refs()
            .map(|v| match v {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Integer(n),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            })
            .collect()
    }

    pub fn is_null(&self, i: usize) -> bool {
        matches!(self.cells.get(i), None | Some(Cell::Null))
    }

    /// Column `i` if it is text, else "".
    pub fn text(&self, i: usize) -> &str {
        match self.cells.get(i) {
            Some(Cell::Text(a, b)) => self.buf.get(*a as usize..*b as usize).unwrap_or(""),
            _ => "",
        }
    }

    /// Column `i` if it is text.
    pub fn opt_text(&self, i: usize) -> Option<&str> {
        match self.cells.get(i) {
            Some(Cell::Text(a, b)) => self.buf.get(*a as usize..*b as usize),
            _ => None,
        }
    }

    /// Column `i` if it is an integer, else 0.
    pub fn int(&self, i: usize) -> i64 {
        match self.cells.get(i) {
            Some(Cell::Int(n)) => *n,
            _ => 0,
        }
    }
}

fn bad(line: usize, what: impl std::fmt::Display) -> crate::Error {
    err(
        codes::BAD_RECORD,
        format!("数据包第{line}行记录无效：{what}。整包不予导入，请联系发出单位重新导出"),
    )
}

fn decrypt_failed() -> crate::Error {
    err(
        codes::DECRYPT,
        "数据包无法解密：它不是发给本单位的，或内容已损坏",
    )
}

/// The decrypting reader, remembering whether decryption (rather than decompression) failed.
struct Decrypting<R> {
    inner: R,
    failed: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Decrypting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed.set(true))
    }
}

type Lines<'p> = BufReader<DeflateDecoder<Decrypting<age::stream::StreamReader<&'p [u8]>>>>;

/// Streams a payload: decrypts, decompresses and parses it line by line, checking every record
/// against the local schema. Nothing is buffered beyond one line.
pub struct Decoder<'p, 't> {
    lines: Lines<'p>,
    decrypt_failed: std::rc::Rc<std::cell::Cell<bool>>,
    tables: &'t [TableInfo],
    /// (local table index, incoming column i → local column index)
    current: Option<(usize, Vec<usize>)>,
    line: Vec<u8>,
    line_no: usize,
    pub bundle_id: String,
    pub records: u64,
}

impl<'p, 't> Decoder<'p, 't> {
    /// Opens the payload and reads its head line.
    pub fn new(
        payload: &'p [u8],
        identity: &age::x25519::Identity,
        tables: &'t [TableInfo],
    ) -> Result<Decoder<'p, 't>> {
        let dec = age::Decryptor::new_buffered(payload).map_err(|_| decrypt_failed())?;
        let reader = dec
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .map_err(|_| decrypt_failed())?;
        let failed = std::rc::Rc::new(std::cell::Cell::new(false));
        let mut d = Decoder {
            lines: BufReader::with_capacity(
                1 << 18,
                DeflateDecoder::new(Decrypting {
                    inner: reader,
                    failed: failed.clone(),
                }),
            ),
            decrypt_failed: failed,
            tables,
            current: None,
            line: Vec::with_capacity(4096),
            line_no: 0,
            bundle_id: String::new(),
            records: 0,
        };
        if !d.read_line()? {
            return Err(bad(1, "空数据包"));
        }
        let head: serde_json::Value = serde_json::from_slice(&d.line).map_err(|e| bad(1, e))?;
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
        d.bundle_id = head
            .get("bundle_id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        Ok(d)
    }

    /// Reads the next line (without its newline) into `self.line`; false at the end.
    fn read_line(&mut self) -> Result<bool> {
        self.line.clear();
        match self.lines.read_until(b'\n', &mut self.line) {
            Ok(0) => Ok(false),
            Ok(_) => {
                self.line_no += 1;
                if self.line.last() == Some(&b'\n') {
                    self.line.pop();
                }
                Ok(true)
            }
            Err(_) if self.decrypt_failed.get() => Err(decrypt_failed()),
            Err(_) => Err(err(codes::BAD_RECORD, "数据包解压失败，内容已损坏")),
        }
    }

    /// The next record, or `None` at the end of the payload.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            let n = self.line_no;
            let line = &self.line[..];
            if line.is_empty() {
                continue;
            }
            if line[0] == b'{' {
                self.current = Some(self.table_header(n)?);
                continue;
            }
            let Some((t, map)) = &self.current else {
                return Err(bad(n, "记录前缺少表头"));
            };
            let info = &self.tables[*t];
            let ncols = info.columns.len();
            let parts = match super::line::parse(line, map, ncols) {
                Some(p) => p,
                None => parse_row_slow(line, map, ncols).map_err(|e| bad(n, e))?,
            };
            if parts.seen != map.len() {
                return Err(bad(n, format!("列数不符（应为{}）", map.len())));
            }
            let vv = match parts.vv {
                None => None,
                Some(v) => Some(Vv::from_json(&v).ok_or_else(|| bad(n, "版本向量格式错误"))?),
            };
            let rec = Record {
                table: *t,
                vv,
                buf: parts.buf,
                cells: parts.cells,
            };
            check_record(info, &rec).map_err(|what| bad(n, format!("表 {}：{what}", info.name)))?;
            self.records += 1;
            return Ok(Some(rec));
        }
    }

    fn table_header(&self, n: usize) -> Result<(usize, Vec<usize>)> {
        let v: serde_json::Value = serde_json::from_slice(&self.line).map_err(|e| bad(n, e))?;
        let name = v.get("table").and_then(|t| t.as_str()).unwrap_or("");
        let Some(t) = self.tables.iter().position(|t| t.name == name) else {
            // A table added by a later build (tables are only ever added): ask for an upgrade.
            return Err(err(
                codes::NEWER_FORMAT,
                format!(
                    "数据包第{n}行：本程序不认识的表“{}”，数据包来自较新版本的保学，请升级后再导入",
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
            let Some(j) = self.tables[t].index_of(c) else {
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
        Ok((t, map))
    }
}

/// Parses one record line `[vv, cells…]` with serde_json (every line `line::parse` leaves).
pub(super) fn parse_row_slow(
    line: &[u8],
    map: &[usize],
    ncols: usize,
) -> std::result::Result<RowParts, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let parts = serde::de::DeserializeSeed::deserialize(RowSeed { map, ncols }, &mut de)?;
    de.end()?;
    Ok(parts)
}

/// Parses one record line `[vv, cells…]` straight into a `Record` (no intermediate JSON tree):
/// incoming cell `k` goes to local column `map[k]`.
struct RowSeed<'m> {
    map: &'m [usize],
    ncols: usize,
}

/// What a record line holds before it becomes a `Record`.
pub(super) struct RowParts {
    pub(super) vv: Option<serde_json::Value>,
    pub(super) buf: String,
    pub(super) cells: Vec<Cell>,
    /// Cells seen (must equal the header's column count).
    pub(super) seen: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for RowSeed<'_> {
    type Value = RowParts;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<RowParts, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RowSeed<'_> {
    type Value = RowParts;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[version vector or null, values…]")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<RowParts, A::Error> {
        let vv: Option<serde_json::Value> = seq
            .next_element()?
            .ok_or_else(|| serde::de::Error::custom("空记录"))?;
        let mut parts = RowParts {
            vv,
            buf: String::with_capacity(256),
            cells: vec![Cell::Null; self.ncols],
            seen: 0,
        };
        loop {
            let slot = self.map.get(parts.seen).copied();
            let seed = CellSeed {
                buf: &mut parts.buf,
            };
            match seq.next_element_seed(seed)? {
                None => break,
                Some(c) => {
                    if let Some(j) = slot {
                        parts.cells[j] = c;
                    }
                    parts.seen += 1;
                }
            }
        }
        Ok(parts)
    }
}

/// One column value: null, integer, real or text (a boolean reads as 0/1).
struct CellSeed<'b> {
    buf: &'b mut String,
}

impl<'de> serde::de::DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Cell, D::Error> {
        d.deserialize_any(self)
    }
}

impl serde::de::Visitor<'_> for CellSeed<'_> {
    type Value = Cell;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("null, a number or a string")
    }
    fn visit_unit<E>(self) -> std::result::Result<Cell, E> {
        Ok(Cell::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Cell, E> {
        Ok(Cell::Null)
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Cell, E> {
        Ok(Cell::Int(b as i64))
    }
    fn visit_i64<E>(self, n: i64) -> std::result::Result<Cell, E> {
        Ok(Cell::Int(n))
    }
    fn visit_u64<E: serde::de::Error>(self, n: u64) -> std::result::Result<Cell, E> {
        i64::try_from(n)
            .map(Cell::Int)
            .map_err(|_| E::custom("整数过大"))
    }
    fn visit_f64<E>(self, f: f64) -> std::result::Result<Cell, E> {
        Ok(Cell::Real(f))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Cell, E> {
        let start = self.buf.len();
        self.buf.push_str(s);
        match (u32::try_from(start), u32::try_from(self.buf.len())) {
            (Ok(a), Ok(b)) => Ok(Cell::Text(a, b)),
            _ => Err(E::custom("记录过长")),
        }
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
    match r.get(m.prev_version) {
        ValueRef::Null => {}
        ValueRef::Text(_)
            if r.text(m.prev_version).parse::<Stamp>().is_ok()
                && r.text(m.prev_version) < version => {}
        _ => return Err("前一版本 prev_version 格式不正确".into()),
    }
    if !matches!(r.get(m.edits), ValueRef::Integer(n) if n >= 1) {
        return Err("edits 应为正整数".into());
    }
    if !matches!(r.get(m.deleted), ValueRef::Integer(0 | 1)) {
        return Err("deleted 应为 0 或 1".into());
    }
    if let Some(vv) = &r.vv {
        if !vv.covers(version) {
            return Err("版本向量不含本版本".into());
        }
    }
    for (j, nn) in info.not_null.iter().enumerate() {
        if *nn && r.is_null(j) {
            return Err(format!("必填列 {} 为空", info.columns[j]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::push_json_str;

    #[test]
    fn json_strings_round_trip() {
        for s in [
            "",
            "学生1",
            "a\"b\\c",
            "line\nbreak\t\r",
            "\u{1}\u{1f}x",
            "é—“引号”",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s.as_bytes());
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
