//! The bundle container and manifest reader (`UnverifiedBundle::parse`), which sees bytes
//! before any signature is checked.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut with_magic = b"BAOXUEB1".to_vec();
    with_magic.extend_from_slice(data);
    let _ = baoxue::bundle::UnverifiedBundle::parse(with_magic);
    let _ = baoxue::bundle::UnverifiedBundle::parse(data.to_vec());
});
