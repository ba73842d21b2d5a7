//! SQL of the `site` table: the one row describing this register's office.

use crate::domain::{Site, SiteKind};
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub fn get(conn: &Connection) -> Result<Option<Site>> {
    let row = conn
        .query_row(
            "SELECT id, kind, name, region_code, school_code, created_at FROM site WHERE singleton = 1",
            [],
            |r| {
                let kind: String = r.get(1)?;
                Ok(Site {
                    id: r.get(0)?,
                    kind: SiteKind::parse(&kind).unwrap_or(SiteKind::Village),
                    name: r.get(2)?,
                    region_code: r.get(3)?,
                    school_code: r.get(4)?,
                    created_at: r.get(5)?,
                })
            },
        )
        .optional()?;
    Ok(row)
}

pub fn insert(conn: &Connection, site: &Site) -> Result<()> {
    conn.execute(
        "INSERT INTO site (singleton, id, kind, name, region_code, school_code, created_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            site.id,
            site.kind.as_str(),
            site.name,
            site.region_code,
            site.school_code,
            site.created_at
        ],
    )?;
    Ok(())
}
