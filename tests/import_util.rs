//! Helpers of the import tests: a county register with one school, valid IDs, fixed actors.

#![allow(dead_code)]

use baoxue::domain::SiteKind;
use baoxue::register::NewSite;
use baoxue::{Actor, Register};
use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// The baoxue binary built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_baoxue"))
}

/// A fixed actor at a fixed time.
pub fn actor_at(rfc3339: &str) -> Actor {
    Actor::new(
        "测试员",
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc),
    )
}

/// A county register on disk with one school (`4141000001`, 城关第一小学).
pub fn county_with_school(dir: &std::path::Path) -> (Register, Actor) {
    let actor = actor_at("2026-09-05T08:00:00Z");
    let mut reg = Register::open(&dir.join("register.db")).unwrap();
    reg.init_site(
        NewSite {
            kind: SiteKind::County,
            name: "测试县".into(),
            region_code: "410423".into(),
            school_code: None,
        },
        &actor,
    )
    .unwrap();
    baoxue::schools::add_school(
        &mut reg,
        "4141000001",
        "城关第一小学",
        "primary",
        None,
        &actor,
    )
    .unwrap();
    (reg, actor)
}

/// A valid ID number from its first 17 digits.
pub fn id(first17: &str) -> String {
    format!("{first17}{}", baoxue::idnum::check_char(first17))
}
