//! Property-driven fuzzing in the normal test run (the cargo-fuzz targets in `fuzz/` explore the
//! same entry points for longer): the ID parsers, the CSV/sheet row reader, the cell value
//! parsers and the bundle reader must never panic, whatever bytes they are given, and a damaged
//! bundle must never change the register.

use crate::bundle_support::*;
use baoxue::domain::SiteKind;
use baoxue::import::source::{read_rows, Cell, Flow};
use baoxue::import::value;
use proptest::prelude::*;
use std::borrow::Cow;

/// Text that looks like what clerks type into ID columns, plus anything at all.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{15,18}[Xx]?",
        "[ 0-9Xx０-９ｘＸ'\u{3000}-]{0,25}",
        "[0-9]{6}(19|20)[0-9]{2}(0[0-9]|1[0-3])[0-3][0-9][0-9]{3}[0-9Xx]",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn id_and_student_number_parsers_never_panic(s in id_like()) {
        let parsed = baoxue::idnum::IdNumber::parse(&s);
        let _ = baoxue::idnum::StudentNo::parse(&s);
        let _ = baoxue::idnum::normalize(&s);
        let masked = baoxue::idnum::mask_id(&s);
        prop_assert_eq!(masked.chars().count(), s.chars().count());
        let _ = baoxue::idnum::mask_phone(&s);
        let _ = baoxue::idnum::link_key(Some(&s), Some(&s));
        if let Ok(id) = parsed {
            // A number that parses, parses again to itself.
            let again = baoxue::idnum::IdNumber::parse(id.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), id.as_str());
        }
    }

    #[test]
    fn valid_generated_ids_parse(
        region in "[1-6][0-9]{5}",
        y in 1950u32..2025, m in 1u32..=12, d in 1u32..=28, seq in 0u32..1000,
    ) {
        let first = format!("{region}{y:04}{m:02}{d:02}{seq:03}");
        let full = format!("{first}{}", baoxue::idnum::check_char(&first));
        prop_assert!(baoxue::idnum::IdNumber::parse(&full).is_ok(), "{}", full);
        // A wrong check character is refused.
        let wrong = if full.ends_with('0') { "1" } else { "0" };
        let bad = format!("{first}{wrong}");
        prop_assert!(baoxue::idnum::IdNumber::parse(&bad).is_err());
    }

    #[test]
    fn cell_value_parsers_never_panic(s in any::<String>(), f in any::<f64>(), i in any::<i64>()) {
        for cell in [
            Cell::Text(Cow::Borrowed(s.as_str())),
            Cell::Float(f),
            Cell::Int(i),
            Cell::Date(f),
            Cell::Bool(i % 2 == 0),
            Cell::Empty,
            Cell::Error,
        ] {
            let _ = value::text(&cell);
            let _ = value::name(&cell);
            let _ = value::id_text(&cell);
            let _ = value::date(&cell);
            let _ = value::grade(&cell);
            let _ = value::sex(&cell);
            let _ = value::flag(&cell);
            let _ = value::phone(&cell);
            let _ = cell.display();
        }
        let _ = value::parse_grade(&s);
        let _ = baoxue::households::parse_date(&s);
        let _ = baoxue::households::clean_name(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a .csv (UTF-8, GBK, BOMs, quotes, tabs, NULs …): an error or rows, no
    /// panic, and every row number given is positive and increasing.
    #[test]
    fn csv_reader_never_panics(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            "[姓名性别身份证号,\"\t\r\n 0-9a-zX号班级]{0,600}".prop_map(String::into_bytes),
        ]
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("花名册.csv");
        std::fs::write(&p, &bytes).unwrap();
        let mut last = 0u32;
        let r = read_rows(&p, None, &mut |_| {}, &mut |row, cells| {
            assert!(row > last, "row numbers increase: {row} after {last}");
            last = row;
            for c in cells {
                let _ = value::id_text(c);
                let _ = value::date(c);
            }
            Ok(Flow::Continue)
        });
        if let Err(e) = r {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Arbitrary bytes behind a zip signature, named .xlsx / .ods: refused, never a panic.
    #[test]
    fn spreadsheet_reader_never_panics_on_garbage(
        tail in proptest::collection::vec(any::<u8>(), 0..4096),
        ext in prop_oneof![Just("xlsx"), Just("ods"), Just("xls"), Just("xlsb")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("花名册.{ext}"));
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(&tail);
        std::fs::write(&p, &bytes).unwrap();
        let r = read_rows(&p, None, &mut |_| {}, &mut |_, _| Ok(Flow::Continue));
        prop_assert!(r.is_err());
        let _ = baoxue::import::source::sheet_names(&p);
    }
}

/// A real .xlsx, damaged at random places: read or refused, never a panic.
#[test]
fn damaged_real_xlsx_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.xlsx");
    baoxue::import::sample::write_roll_xlsx(&good, 50, "城关第一小学").unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(
                proptest::collection::vec((0..bytes.len(), any::<u8>()), 1..8),
                0..=bytes.len(),
            ),
            |(flips, cut)| {
                let mut b = bytes.clone();
                for (at, v) in flips {
                    b[at] = v;
                }
                b.truncate(cut.max(4));
                let p = dir.path().join("damaged.xlsx");
                std::fs::write(&p, &b).unwrap();
                let _ = read_rows(&p, None, &mut |_| {}, &mut |_, _| Ok(Flow::Continue));
                Ok(())
            },
        )
        .unwrap();
}

/// A real signed bundle, damaged at random places (bytes changed, cut short, bytes appended),
/// then parsed and imported by a county that trusts the sender: never a panic, never applied,
/// and the county's register unchanged.
#[test]
fn damaged_bundles_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = site(
        dir.path(),
        "county.db",
        SiteKind::County,
        "青山县教育局",
        COUNTY,
        None,
    );
    let mut v = site(dir.path(), "v1.db", SiteKind::Village, "柳树湾村", V1, None);
    trusts(&mut c, &v);
    trusts(&mut v, &c);
    for i in 0..3 {
        add_child(&mut v, V1, &format!("王小{i}"), 10 + i, 10);
    }
    let file = dir.path().join("v1.bxb");
    export(&mut v, &c, false, &file, 20);
    let bytes = std::fs::read(&file).unwrap();
    let before = snapshot(&c);
    let c = std::cell::RefCell::new(c);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(
                proptest::collection::vec((0..bytes.len(), 1u8..=255), 1..6),
                0..=bytes.len(),
                proptest::collection::vec(any::<u8>(), 0..16),
            ),
            |(flips, cut, extra)| {
                let mut b = bytes.clone();
                for (at, x) in flips {
                    b[at] ^= x;
                }
                b.truncate(cut);
                b.extend_from_slice(&extra);
                if b == bytes {
                    return Ok(());
                }
                if let Ok(u) = baoxue::bundle::UnverifiedBundle::parse(b.clone()) {
                    let _ = u.signature_status(c.borrow().reg.conn());
                }
                let r = import_bytes(&mut c.borrow_mut(), b, 30);
                prop_assert_ne!(r.status.as_str(), "applied");
                prop_assert_eq!(r.applied, 0);
                Ok(())
            },
        )
        .unwrap();
    let mut c = c.into_inner();
    assert_eq!(snapshot(&c), before);
    // The undamaged bundle still applies afterwards.
    let r = import_bytes(&mut c, bytes, 40);
    assert_eq!(r.status, "applied");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes after the bundle magic: refused with a reason, never a panic.
    #[test]
    fn bundle_parser_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..1024), len in any::<u32>()) {
        let mut b = b"BAOXUEB1".to_vec();
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&tail);
        let _ = baoxue::bundle::UnverifiedBundle::parse(b.clone());
        let _ = baoxue::bundle::UnverifiedBundle::parse(tail);
    }
}
