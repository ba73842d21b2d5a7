//! The CSV row reader (encoding detection, delimiter sniffing, quoting) and the cell value
//! parsers on every cell: errors are fine, panics are not.
#![no_main]
use baoxue::import::source::{read_rows, Flow};
use baoxue::import::value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("baoxue-fuzz-csv-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join("roll.csv");
    if std::fs::write(&p, data).is_err() {
        return;
    }
    let _ = read_rows(&p, None, &mut |_| {}, &mut |_, cells| {
        for c in cells {
            let _ = value::id_text(c);
            let _ = value::date(c);
            let _ = value::grade(c);
            let _ = value::sex(c);
            let _ = value::phone(c);
        }
        Ok(Flow::Continue)
    });
});
