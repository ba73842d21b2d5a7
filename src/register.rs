//! The register: one SQLite file per site. `Register` opens it; `Writer` is the one way to change
//! it: a transaction that stamps each edit with the site's clock, fills the meta columns and
//! writes an audit row, and commits all or nothing.

use crate::domain::{Meta, Site, SiteKind};
use crate::error::{Error, Result};
use crate::hlc::{Clock, Stamp};
use crate::store;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;

/// Who is making a change, and when (time is passed in; only the CLI and the app read the clock).
#[derive(Debug, Clone)]
pub struct Actor {
    pub operator: String,
    pub now: DateTime<Utc>,
}

impl Actor {
    pub fn new(operator: &str, now: DateTime<Utc>) -> Actor {
        let operator = operator.trim();
        Actor {
            operator: if operator.is_empty() {
                "未署名".into()
            } else {
                operator.into()
            },
            now,
        }
    }
}

/// An open register.
pub struct Register {
    conn: Connection,
    encrypted: bool,
    /// The passphrase that opened an encrypted register, kept (zeroed on drop) so the app's
    /// daily backup on exit can encrypt with it without asking again.
    passphrase: Option<zeroize::Zeroizing<String>>,
}

/// What `init_site` needs.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub kind: SiteKind,
    pub name: String,
    pub region_code: String,
    pub school_code: Option<String>,
}

impl Register {
    /// Opens (or creates) a plain register file, migrating it to the current schema. An
    /// encrypted register is refused (`passphrase_required`): use [`Register::open_with`].
    pub fn open(path: &Path) -> Result<Register> {
        Register::open_with(path, None)
    }

    /// Opens a register with its passphrase (`None` for a plain one). A missing file is created,
    /// encrypted when a passphrase is given. A wrong passphrase is refused with
    /// `wrong_passphrase` and nothing is written. See `crate::encryption`.
    pub fn open_with(path: &Path, passphrase: Option<&str>) -> Result<Register> {
        let conn = store::open_with(path, passphrase)?;
        let encrypted = crate::encryption::needs_passphrase(path)?;
        let passphrase = passphrase
            .filter(|_| encrypted)
            .map(|p| zeroize::Zeroizing::new(p.to_string()));
        Ok(Register {
            conn,
            encrypted,
            passphrase,
        })
    }

    pub fn open_in_memory() -> Result<Register> {
        Ok(Register {
            conn: store::open_in_memory()?,
            encrypted: false,
            passphrase: None,
        })
    }

    /// Runs `f` with this connection's foreign-key checks off (a merge, whose records may
    /// arrive before their parents; a bulk import, whose records refer to children it has just
    /// written), and switches them on again whatever `f` returns. Call outside a transaction:
    /// SQLite ignores the switch inside one.
    pub fn without_foreign_keys<T>(
        &mut self,
        f: impl FnOnce(&mut Register) -> Result<T>,
    ) -> Result<T> {
        store::rows::foreign_keys(&self.conn, false)?;
        let result = f(self);
        let on = store::rows::foreign_keys(&self.conn, true);
        let out = result?;
        on?;
        Ok(out)
    }

    /// True when the register file is encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The passphrase this encrypted register was opened with (`None` for a plain one).
    pub fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_deref().map(String::as_str)
    }

    /// Re-encrypts an encrypted register with a new passphrase (`PRAGMA rekey`, one write
    /// transaction: a power cut leaves the old passphrase valid) and writes an audit row
    /// (`rekey`, no value). A plain register is refused: see `crate::encryption::encrypt_file`.
    pub fn change_passphrase(&mut self, new_passphrase: &str, actor: &Actor) -> Result<()> {
        crate::encryption::check_new_passphrase(new_passphrase)?;
        self.require_site()?;
        if !self.encrypted {
            return Err(Error::Other(
                "此登记库未加密，不能更换口令：请先为它设定口令（加密）".into(),
            ));
        }
        store::cipher::put_rekey(&self.conn, new_passphrase)?;
        self.passphrase = Some(zeroize::Zeroizing::new(new_passphrase.to_string()));
        let mut w = self.writer(actor)?;
        let site_id = w.site().id.clone();
        w.audit("site", &site_id, "rekey", &[])?;
        w.commit()
    }

    /// Read access for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn site(&self) -> Result<Option<Site>> {
        store::site::get(&self.conn)
    }

    /// This register's site, or `NotInitialised`.
    pub fn require_site(&self) -> Result<Site> {
        self.site()?.ok_or(Error::NotInitialised)
    }

    /// Sets up this register's office. Refused if already set up.
    pub fn init_site(&mut self, new: NewSite, actor: &Actor) -> Result<Site> {
        if let Some(existing) = self.site()? {
            return Err(Error::AlreadyInitialised(existing.name));
        }
        let name = new.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("单位名称", "不能为空"));
        }
        check_region_code(&new.region_code, new.kind)?;
        if new.kind == SiteKind::School
            && new
                .school_code
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .is_empty()
        {
            return Err(Error::invalid(
                "学校标识码",
                "学校单位必须填写 --school-code",
            ));
        }
        let site = Site {
            id: uuid::Uuid::new_v7(uuid_ts(actor.now)).to_string(),
            kind: new.kind,
            name,
            region_code: new.region_code.trim().to_string(),
            school_code: new
                .school_code
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            created_at: actor.now.to_rfc3339(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        store::site::insert(&tx, &site)?;
        store::audit::append(
            &tx,
            &store::audit::Entry {
                at: &site.created_at,
                operator: &actor.operator,
                site_id: &site.id,
                table: "site",
                record_id: &site.id,
                action: "insert",
                fields: &["kind", "name", "region_code", "school_code"],
            },
            None,
        )?;
        crate::bundle::keys::create_in(&tx, actor.now)?;
        tx.commit()?;
        Ok(site)
    }

    /// Starts a write transaction for this site.
    pub fn writer(&mut self, actor: &Actor) -> Result<Writer<'_>> {
        let site = self.require_site()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let clock = store::clock::get(&tx, &site.id)?;
        let audit_head = store::audit::head(&tx)?;
        Ok(Writer {
            tx,
            clock,
            site,
            now_text: actor.now.to_rfc3339(),
            actor: actor.clone(),
            audit_head,
            ids: IdSeq::new(actor.now),
        })
    }
}

/// Checks a division code: 6 (county), 9 (township) or 12 (village) digits; a county site 6.
pub fn check_region_code(code: &str, kind: SiteKind) -> Result<()> {
    let code = code.trim();
    if !code.chars().all(|c| c.is_ascii_digit()) || !(6..=12).contains(&code.len()) {
        return Err(Error::invalid(
            "区划代码",
            format!("“{code}”应为6至12位数字（县6位，乡镇9位，村12位）"),
        ));
    }
    let ok = match kind {
        SiteKind::County => code.len() == 6,
        SiteKind::Township => code.len() == 9,
        SiteKind::Village => code.len() == 12,
        SiteKind::School => matches!(code.len(), 6 | 9 | 12),
    };
    if !ok {
        return Err(Error::invalid(
            "区划代码",
            format!(
                "{}的区划代码位数不对：县6位，乡镇9位，村12位，现为{}位",
                kind.label(),
                code.len()
            ),
        ));
    }
    Ok(())
}

/// A UUID v7 timestamp from an injected time.
pub fn uuid_ts(now: DateTime<Utc>) -> uuid::Timestamp {
    let ms = now.timestamp_millis().max(0) as u64;
    uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32)
}

/// One write transaction. Dropping it without `commit` rolls everything back.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    clock: Clock,
    site: Site,
    actor: Actor,
    audit_head: String,
    /// `actor.now` as RFC 3339 (formatted once: every record written carries it).
    now_text: String,
    ids: IdSeq,
}

/// The ids of the records one writer creates: UUID v7 of `actor.now`'s millisecond whose 74
/// random bits start at a random value (one `getrandom` per writer, not per record) and count
/// up, so that a writer's ids sort in creation order. Every B-tree keyed by a record id (the
/// tables' id indexes, `enrolments_child`, `guardians_child` …) then grows by appending instead
/// of inserting at random places: a bulk import touches the last page of each, not all of them.
struct IdSeq {
    ms: u64,
    next: u128,
}

impl IdSeq {
    const BITS: u32 = 74;

    fn new(now: DateTime<Utc>) -> IdSeq {
        // 73 random bits: the count can go on for 2^73 ids without carrying out of the 74.
        let seed = uuid::Uuid::new_v4().as_u128() & ((1u128 << (Self::BITS - 1)) - 1);
        IdSeq {
            ms: (now.timestamp_millis().max(0) as u64) & ((1 << 48) - 1),
            next: seed,
        }
    }

    fn next(&mut self) -> uuid::Uuid {
        let c = self.next & ((1u128 << Self::BITS) - 1);
        self.next += 1;
        let rand_a = c >> 62;
        let rand_b = c & ((1u128 << 62) - 1);
        uuid::Uuid::from_u128(
            (u128::from(self.ms) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b,
        )
    }
}

impl Writer<'_> {
    pub fn conn(&self) -> &Connection {
        &self.tx
    }
    pub fn site(&self) -> &Site {
        &self.site
    }
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    pub fn now_text(&self) -> String {
        self.now_text.clone()
    }

    /// A fresh stamp for a local edit.
    pub fn stamp(&mut self) -> Stamp {
        self.clock.tick(self.actor.now.timestamp_millis())
    }

    /// Moves this site's clock past a stamp received from elsewhere.
    pub fn observe(&mut self, seen: &Stamp) {
        self.clock.observe(seen, self.actor.now.timestamp_millis());
    }

    /// Meta columns for a new record created here.
    pub fn new_meta(&mut self) -> Meta {
        Meta {
            id: self.ids.next().to_string(),
            origin_site: self.site.id.clone(),
            version: self.stamp(),
            prev_version: None,
            edits: 1,
            updated_at: self.now_text(),
            deleted: false,
        }
    }

    /// Meta columns for an edit of an existing record.
    pub fn next_meta(&mut self, old: &Meta) -> Meta {
        crate::bundle::vv::note_local_edit(&self.tx, &self.site.id, old);
        Meta {
            id: old.id.clone(),
            origin_site: old.origin_site.clone(),
            version: self.stamp(),
            prev_version: Some(old.version.clone()),
            edits: old.edits + 1,
            updated_at: self.now_text(),
            deleted: old.deleted,
        }
    }

    /// Writes one audit row (field names only, never values).
    pub fn audit(
        &mut self,
        table: &str,
        record_id: &str,
        action: &str,
        fields: &[&str],
    ) -> Result<()> {
        let at = self.now_text();
        let head = store::audit::append(
            &self.tx,
            &store::audit::Entry {
                at: &at,
                operator: &self.actor.operator,
                site_id: &self.site.id,
                table,
                record_id,
                action,
                fields,
            },
            Some(&self.audit_head),
        )?;
        self.audit_head = head;
        Ok(())
    }

    /// Persists the clock and commits.
    pub fn commit(self) -> Result<()> {
        store::clock::put(&self.tx, &self.clock)?;
        self.tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_keys_are_off_inside_and_on_again_after_success_or_failure() {
        let mut reg = Register::open_in_memory().unwrap();
        let fk = |r: &Register| -> i64 {
            r.conn()
                .pragma_query_value(None, "foreign_keys", |x| x.get(0))
                .unwrap()
        };
        assert_eq!(fk(&reg), 1);
        let inside = reg.without_foreign_keys(|r| Ok(fk(r))).unwrap();
        assert_eq!(inside, 0);
        assert_eq!(fk(&reg), 1);
        let failed: Result<()> = reg.without_foreign_keys(|_| Err(Error::Other("中止".into())));
        assert!(failed.is_err());
        assert_eq!(fk(&reg), 1, "on again after a failure");
    }

    fn actor() -> Actor {
        Actor::new(
            "测试员",
            DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    #[test]
    fn a_writers_ids_are_uuid_v7_of_its_time_in_creation_order() {
        let now = actor().now;
        let mut seq = IdSeq::new(now);
        let ids: Vec<uuid::Uuid> = (0..1000).map(|_| seq.next()).collect();
        for id in &ids {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!(secs as i64, now.timestamp());
            assert_eq!(nanos, 0);
        }
        let texts: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        assert!(
            texts.windows(2).all(|w| w[0] < w[1]),
            "ids sort in creation order"
        );
        let other: Vec<uuid::Uuid> = (0..1000).map(|_| IdSeq::new(now).next()).collect();
        let mut seen = std::collections::HashSet::new();
        assert!(
            other.iter().chain(&ids).all(|i| seen.insert(*i)),
            "no id twice"
        );
    }

    #[test]
    fn init_is_refused_twice_and_checks_codes() {
        let mut r = Register::open_in_memory().unwrap();
        let bad = NewSite {
            kind: SiteKind::Village,
            name: "张庄村".into(),
            region_code: "4104".into(),
            school_code: None,
        };
        assert_eq!(r.init_site(bad, &actor()).unwrap_err().code(), "invalid");
        let ok = NewSite {
            kind: SiteKind::Village,
            name: "张庄村".into(),
            region_code: "410423100201".into(),
            school_code: None,
        };
        r.init_site(ok.clone(), &actor()).unwrap();
        assert_eq!(
            r.init_site(ok, &actor()).unwrap_err().code(),
            "already_initialised"
        );
    }

    #[test]
    fn writer_without_site_is_refused() {
        let mut r = Register::open_in_memory().unwrap();
        assert_eq!(
            r.writer(&actor()).err().map(|e| e.code()),
            Some("not_initialised")
        );
    }
}
