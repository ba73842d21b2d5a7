//! ID number and student number parsing, normalising and masking: no input may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok(id) = baoxue::idnum::IdNumber::parse(&s) {
        let again = baoxue::idnum::IdNumber::parse(id.as_str()).expect("a parsed ID parses again");
        assert_eq!(again.as_str(), id.as_str());
    }
    let _ = baoxue::idnum::StudentNo::parse(&s);
    let _ = baoxue::idnum::normalize(&s);
    assert_eq!(baoxue::idnum::mask_id(&s).chars().count(), s.chars().count());
    let _ = baoxue::idnum::mask_phone(&s);
    let _ = baoxue::idnum::link_key(Some(&s), Some(&s));
    let _ = baoxue::households::parse_date(&s);
    let _ = baoxue::import::value::parse_grade(&s);
});
