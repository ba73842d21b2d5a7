//! Checking a bundle. `UnverifiedBundle::parse` reads the container and the manifest (enough for
//! `bundle inspect`); `UnverifiedBundle::verify` turns it into a `VerifiedBundle` only when the
//! sender is trusted, the signature holds, the bundle is addressed to this site, the payload hash
//! matches and the payload opens with this site's key. The two are different types: only a
//! `VerifiedBundle` can be merged. Its records (parse, schema, declared version range, count, the
//! sender's scope) are checked as they are decoded; the merge writes inside one transaction and
//! commits only after the last record passed, so any failure leaves the register unchanged. The
//! payload is authenticated (signed hash) before a single byte of it is decrypted.

use super::file;
use super::keys::{self, SiteKeys};
use super::manifest::Manifest;
use super::payload::{self, Record, TableInfo};
use super::scope::{BundleIndex, Checker, RecordView, Scope};
use super::trust::{self, TrustedSite};
use super::vv::stamp_site;
use super::{codes, err, FORMAT_VERSION};
use crate::domain::Site;
use crate::error::Result;
use rusqlite::Connection;

/// A bundle file read from disk, not yet trusted.
pub struct UnverifiedBundle {
    bytes: Vec<u8>,
    manifest: Manifest,
    hash: String,
}

/// A bundle whose origin, integrity and recipient have been checked; its records are checked as
/// they are decoded.
pub struct VerifiedBundle {
    pub manifest: Manifest,
    pub hash: String,
    pub sender: TrustedSite,
    pub tables: Vec<TableInfo>,
    bytes: Vec<u8>,
}

impl VerifiedBundle {
    /// The original file (kept when a bundle is held).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn manifest_json(&self) -> String {
        serde_json::to_string(&self.manifest).unwrap_or_default()
    }
}

/// Whether the signature of a bundle could be checked, for `inspect`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    Valid,
    Invalid,
    /// The sender is not trusted here, so there is no key to check it with.
    UnknownSender,
}

impl UnverifiedBundle {
    /// Reads the container and the manifest.
    pub fn parse(bytes: Vec<u8>) -> Result<UnverifiedBundle> {
        let parts = file::split(&bytes)?;
        let value: serde_json::Value = serde_json::from_slice(parts.manifest).map_err(|_| {
            err(
                codes::MALFORMED,
                "数据包清单无法读取（内容已损坏），请从原单位重新拷贝",
            )
        })?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if version > FORMAT_VERSION as u64 {
            return Err(err(
                codes::NEWER_FORMAT,
                format!(
                    "数据包格式版本 {version} 较新，本程序只支持到 {FORMAT_VERSION}，请升级保学"
                ),
            ));
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| {
            err(
                codes::MALFORMED,
                format!("数据包清单字段不完整（{e}），请从原单位重新拷贝"),
            )
        })?;
        let hash = file::manifest_hash(parts.manifest);
        Ok(UnverifiedBundle {
            bytes,
            manifest,
            hash,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The bundle's identity: SHA-256 of its signed manifest.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    fn parts(&self) -> Result<file::Parts<'_>> {
        file::split(&self.bytes)
    }

    /// Checks the signature against the sender's trusted key, if the sender is trusted here.
    pub fn signature_status(&self, conn: &Connection) -> Result<SignatureStatus> {
        let Some(t) = crate::store::trusted_sites::get(conn, &self.manifest.from_site.id)? else {
            return Ok(SignatureStatus::UnknownSender);
        };
        let Some(vk) = keys::parse_sign_public(&t.sign_public) else {
            return Ok(SignatureStatus::Invalid);
        };
        let parts = self.parts()?;
        Ok(
            if keys::verify_signature(&vk, &file::signed_message(parts.manifest), parts.signature) {
                SignatureStatus::Valid
            } else {
                SignatureStatus::Invalid
            },
        )
    }

    /// The checks that need no decryption: trusted sender, signature, recipient, payload hash.
    pub fn check_envelope(&self, conn: &Connection, me: &Site) -> Result<TrustedSite> {
        let m = &self.manifest;
        let sender = trust::get(conn, &m.from_site.id)?.ok_or_else(|| {
            err(
                codes::UNTRUSTED,
                format!(
                    "发出单位“{}”（{}）未被本单位信任，请先核对指纹并运行 `baoxue site trust 对方密钥卡`",
                    m.from_site.name, m.from_site.id
                ),
            )
        })?;
        match self.signature_status(conn)? {
            SignatureStatus::Valid => {}
            _ => {
                return Err(err(
                    codes::BAD_SIGNATURE,
                    format!(
                    "数据包签名不符：它不是“{}”签发的，或清单被改动过。请勿导入，从原单位重新拷贝",
                    sender.name
                ),
                ))
            }
        }
        if m.to_site != me.id {
            let to = trust::get(conn, &m.to_site)?
                .map(|t| t.name)
                .unwrap_or_else(|| m.to_site.clone());
            return Err(err(
                codes::WRONG_RECIPIENT,
                format!(
                    "此数据包是发给“{to}”的，不是发给本单位（{}）的，不能导入",
                    me.name
                ),
            ));
        }
        let parts = self.parts()?;
        let payload = parts.payload;
        if (payload.len() as u64) < m.payload.bytes {
            return Err(file::truncated());
        }
        if payload.len() as u64 != m.payload.bytes || file::sha256_hex(payload) != m.payload.sha256
        {
            return Err(err(
                codes::PAYLOAD_HASH,
                "数据包内容与清单中的校验值不符（文件被改动或损坏），请从原单位重新拷贝",
            ));
        }
        Ok(sender)
    }

    /// Every check of the envelope (trusted sender, signature, recipient, payload hash) and that
    /// the payload opens with this site's key. The records themselves are checked as they are
    /// decoded (`VerifiedBundle::stream` / `decode_all`); a merge commits only after the last one
    /// passed, so a bad record anywhere leaves the register unchanged.
    pub fn verify(self, conn: &Connection, me: &Site, keys: &SiteKeys) -> Result<VerifiedBundle> {
        let sender = self.check_envelope(conn, me)?;
        self.verify_opened(conn, sender, keys)
    }

    /// [`verify`](Self::verify) after [`check_envelope`](Self::check_envelope) passed and gave
    /// `sender`: only that the payload opens with this site's key. The envelope (signature and
    /// the payload's SHA-256 over the whole file) is not checked a second time.
    pub fn verify_opened(
        self,
        conn: &Connection,
        sender: TrustedSite,
        keys: &SiteKeys,
    ) -> Result<VerifiedBundle> {
        let tables = payload::tables(conn)?;
        {
            let parts = self.parts()?;
            let d = payload::Decoder::new(parts.payload, keys.identity(), &tables)?;
            if d.bundle_id != self.manifest.bundle_id {
                return Err(err(codes::BAD_RECORD, "数据包内容与清单不一致（编号不符）"));
            }
        }
        Ok(VerifiedBundle {
            manifest: self.manifest,
            hash: self.hash,
            sender,
            tables,
            bytes: self.bytes,
        })
    }
}

impl VerifiedBundle {
    /// Whether the sender's records must pass the scope check (every sender but a county).
    pub fn needs_scope_check(&self) -> bool {
        self.sender.scope() != Scope::All
    }

    /// Decodes the payload and checks every record (parse, local schema, the version range the
    /// manifest declares, the record count), handing them to `sink` in chunks of `chunk`
    /// records; `sink` returns false to stop. Does not check the sender's scope: callers do that
    /// with `check_scope` unless `needs_scope_check` is false.
    pub fn stream(
        &self,
        identity: &age::x25519::Identity,
        chunk: usize,
        mut sink: impl FnMut(Vec<Record>) -> bool,
    ) -> Result<u64> {
        let m = &self.manifest;
        let parts = file::split(&self.bytes)?;
        let mut d = payload::Decoder::new(parts.payload, identity, &self.tables)?;
        if d.bundle_id != m.bundle_id {
            return Err(err(codes::BAD_RECORD, "数据包内容与清单不一致（编号不符）"));
        }
        let mut buf = Vec::with_capacity(chunk);
        while let Some(r) = d.next_record()? {
            let info = &self.tables[r.table];
            let version = r.text(info.meta.version);
            let ok = m
                .covers
                .get(stamp_site(version))
                .is_some_and(|c| c.from.as_str() <= version && version <= c.to.as_str());
            if !ok {
                return Err(err(
                    codes::BAD_RECORD,
                    "数据包中有记录的版本不在清单声明的范围内",
                ));
            }
            buf.push(r);
            if buf.len() >= chunk && !sink(std::mem::replace(&mut buf, Vec::with_capacity(chunk))) {
                return Ok(d.records);
            }
        }
        if d.records != m.payload.records {
            return Err(err(
                codes::BAD_RECORD,
                "数据包内容与清单不一致（记录数不符）",
            ));
        }
        if !buf.is_empty() {
            sink(buf);
        }
        Ok(d.records)
    }

    /// Every record, all checks done including the sender's scope.
    pub fn decode_all(&self, conn: &Connection, keys: &SiteKeys) -> Result<Vec<Record>> {
        let mut all = Vec::new();
        self.stream(keys.identity(), 4096, |mut c| {
            all.append(&mut c);
            true
        })?;
        if self.needs_scope_check() {
            check_scope(conn, &self.sender, &self.tables, &all)?;
        }
        Ok(all)
    }
}

/// Checks that every record lies inside the sender's scope.
pub fn check_scope(
    conn: &Connection,
    sender: &TrustedSite,
    tables: &[TableInfo],
    records: &[Record],
) -> Result<()> {
    let scope = sender.scope();
    if scope == Scope::All {
        return Ok(());
    }
    let mut index = BundleIndex::default();
    let col = |r: &Record, c: &str| -> Option<String> {
        tables[r.table]
            .index_of(c)
            .and_then(|i| r.opt_text(i).map(str::to_string))
    };
    for r in records {
        let info = &tables[r.table];
        let id = r.text(info.meta.id).to_string();
        match info.name {
            "children" => {
                index
                    .children
                    .insert(id, (col(r, "village_code"), col(r, "household_id")));
            }
            "households" => {
                index
                    .households
                    .insert(id, col(r, "village_code").unwrap_or_default());
            }
            "cases" => {
                if let Some(c) = col(r, "child_id") {
                    index.cases.insert(id, c);
                }
            }
            "enrolments" => {
                if let (Some(c), Some(s)) = (col(r, "child_id"), col(r, "school_code")) {
                    index.enrolled.insert((c, s));
                }
            }
            _ => {}
        }
    }
    if let Scope::School(_) = scope {
        let mut hh = std::collections::HashSet::new();
        {
            let ch = Checker {
                scope: &scope,
                conn,
                index: &index,
            };
            for r in records
                .iter()
                .filter(|r| tables[r.table].name == "children")
            {
                let info = &tables[r.table];
                let values = r.values();
                let get = |c: &str| info.index_of(c).map(|i| &values[i]);
                let view = RecordView {
                    table: info.name,
                    id: r.text(info.meta.id),
                    get: &get,
                };
                if ch.admits(&view)? {
                    if let Some(h) = col(r, "household_id") {
                        hh.insert(h);
                    }
                }
            }
        }
        index.households_of_children = hh;
    }
    let ch = Checker {
        scope: &scope,
        conn,
        index: &index,
    };
    for (n, r) in records.iter().enumerate() {
        let info = &tables[r.table];
        let values = r.values();
        let get = |c: &str| info.index_of(c).map(|i| &values[i]);
        let view = RecordView {
            table: info.name,
            id: r.text(info.meta.id),
            get: &get,
        };
        if !ch.admits(&view)? {
            return Err(err(
                codes::OUT_OF_SCOPE,
                format!(
                    "数据包第{}条记录（表 {}）不属于“{}”的管理范围（{}），整包不予导入。请联系该单位核实",
                    n + 1,
                    info.name,
                    sender.name,
                    scope.describe()
                ),
            ));
        }
    }
    Ok(())
}
