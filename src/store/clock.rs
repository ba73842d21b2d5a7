//! SQL of the `clock` table: the persisted state of this site's hybrid logical clock.

use crate::error::Result;
use crate::hlc::Clock;
use rusqlite::{params, Connection, OptionalExtension};

pub fn get(conn: &Connection, site_id: &str) -> Result<Clock> {
    let row: Option<(i64, u32)> = conn
        .query_row(
            "SELECT last_ms, counter FROM clock WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let mut clock = Clock::new(site_id);
    if let Some((last_ms, counter)) = row {
        clock.last_ms = last_ms;
        clock.counter = counter;
    }
    Ok(clock)
}

pub fn put(conn: &Connection, clock: &Clock) -> Result<()> {
    conn.execute(
        "INSERT INTO clock (singleton, last_ms, counter) VALUES (1, ?1, ?2)
         ON CONFLICT(singleton) DO UPDATE SET last_ms = excluded.last_ms, counter = excluded.counter",
        params![clock.last_ms, clock.counter],
    )?;
    Ok(())
}
