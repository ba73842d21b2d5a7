//! The spreadsheet readers (.xlsx streamed, .ods/.xls/.xlsb through ranges) behind the input
//! limits: the first byte picks the extension, the rest is the file.
#![no_main]
use baoxue::import::source::{read_rows, Flow};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let ext = ["xlsx", "ods", "xls", "xlsb"][pick as usize % 4];
    let dir = std::env::temp_dir().join(format!("baoxue-fuzz-sheet-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("roll.{ext}"));
    if std::fs::write(&p, body).is_err() {
        return;
    }
    let _ = baoxue::import::source::sheet_names(&p);
    let _ = read_rows(&p, None, &mut |_| {}, &mut |_, _| Ok(Flow::Continue));
});
