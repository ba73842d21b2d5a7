//! Input limits on real files: a 2 GB file, zip bombs posing as .xlsx, a sheet with a million
//! columns, an .ods whose cell repeats a million times, deeply nested JSON in a bundle. Each is
//! refused with a Chinese message, nothing is written, and (through the CLI, under a 1 GB
//! address-space limit) memory stays bounded.

use crate::util::TempRegister;
use baoxue::import::source::{read_rows, Flow};
use baoxue::import::FileError;
use std::io::Write;
use std::path::Path;

fn read_err(path: &Path) -> FileError {
    let mut rows = 0u32;
    let r = read_rows(path, None, &mut |_| {}, &mut |_, _| {
        rows += 1;
        Ok(Flow::Continue)
    });
    match r {
        Err(e) => e,
        Ok(()) => panic!("{} was read ({rows} rows)", path.display()),
    }
}

fn county(r: &TempRegister) {
    r.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "测试县",
        "--region",
        "410423",
    ]);
    r.ok(&[
        "school",
        "add",
        "--code",
        "4141000001",
        "--name",
        "城关第一小学",
        "--kind",
        "primary",
    ]);
}

/// Runs `baoxue import roll FILE` under a 1 GB address-space limit; returns (success, stderr).
fn import_bounded(r: &TempRegister, file: &Path) -> (bool, String) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_baoxue"))
        .arg("--db")
        .arg(&r.db)
        .args(["--json", "import", "roll"])
        .arg(file)
        .args(["--school", "4141000001"])
        .env("BAOXUE_OPERATOR", "测试员")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    crate::util::assert_no_personal_numbers(&out, &["import", "roll"]);
    (out.status.success(), stderr)
}

fn children(r: &TempRegister) -> usize {
    let snap: serde_json::Value = serde_json::from_str(&r.ok(&["snapshot", "--json"])).unwrap();
    snap["tables"]["children"].as_array().unwrap().len()
}

#[test]
fn a_two_gigabyte_file_is_refused_before_it_is_read() {
    let r = TempRegister::new();
    county(&r);
    // Sparse files: 2 GiB on paper, nothing on disk.
    let csv = r.path("花名册.csv");
    let f = std::fs::File::create(&csv).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(f);
    let e = read_err(&csv);
    assert_eq!(e.code(), "file_too_large");
    assert!(e.to_string().contains("太大"), "{e}");
    // An .xlsx-looking one (zip header, then 2 GiB).
    let xlsx = r.path("花名册.xlsx");
    let mut f = std::fs::File::create(&xlsx).unwrap();
    f.write_all(b"PK\x03\x04").unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(f);
    assert_eq!(read_err(&xlsx).code(), "file_too_large");
    // Through the CLI: refused with the message, under 1 GB of address space, nothing written.
    let (ok, stderr) = import_bounded(&r, &csv);
    assert!(!ok);
    assert!(
        stderr.contains("太大") && stderr.contains("file_too_large"),
        "{stderr}"
    );
    let (ok, stderr) = import_bounded(&r, &xlsx);
    assert!(!ok && stderr.contains("太大"), "{stderr}");
    assert_eq!(children(&r), 0);
}

/// A minimal .xlsx whose worksheet is `sheet_bytes` of one repeated byte (deflated).
fn write_xlsx_with_sheet(path: &Path, sheet_bytes: usize) {
    write_xlsx_with_entry(path, "xl/worksheets/sheet1.xml", sheet_bytes);
}

/// A minimal .xlsx whose entry `entry` is `sheet_bytes` of one repeated byte (deflated).
fn write_xlsx_with_entry(path: &Path, entry: &str, sheet_bytes: usize) {
    use zip::write::SimpleFileOptions;
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(sheet_bytes > u32::MAX as usize);
    z.start_file("[Content_Types].xml", opts).unwrap();
    z.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#).unwrap();
    z.start_file("xl/workbook.xml", opts).unwrap();
    z.write_all(
        br#"<workbook><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    )
    .unwrap();
    z.start_file(entry, opts).unwrap();
    let block = vec![b' '; 1 << 20];
    let mut left = sheet_bytes;
    while left > 0 {
        let n = left.min(block.len());
        z.write_all(&block[..n]).unwrap();
        left -= n;
    }
    z.finish().unwrap();
}

#[test]
fn a_zip_bomb_posing_as_xlsx_is_refused() {
    let r = TempRegister::new();
    county(&r);
    // 200 MB of blanks compress about 1000:1.
    let bomb = r.path("花名册.xlsx");
    write_xlsx_with_sheet(&bomb, 200 * 1024 * 1024);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 * 1024 * 1024);
    let e = read_err(&bomb);
    assert_eq!(e.code(), "file_bomb", "{e}");
    assert!(e.to_string().contains("压缩炸弹"), "{e}");
    let (ok, stderr) = import_bounded(&r, &bomb);
    assert!(!ok && stderr.contains("file_bomb"), "{stderr}");

    // The same kind of file with a forged, small uncompressed size in both zip headers: the
    // central directory looks harmless, the inflating pass stops one byte past the lie.
    let honest = r.path("honest.xlsx");
    write_xlsx_with_sheet(&honest, 20 * 1024 * 1024);
    let liar = r.path("liar.xlsx");
    forge_size(&honest, "xl/worksheets/sheet1.xml", &liar);
    let e = read_err(&liar);
    assert!(e.code() == "file_bomb" || e.code() == "file_corrupt", "{e}");
    let (ok, stderr) = import_bounded(&r, &liar);
    assert!(!ok, "{stderr}");
    assert_eq!(children(&r), 0);
}

/// Copies the .xlsx `from` to `to` with the uncompressed size of its entry `name` forged to
/// 1 000 bytes in both zip headers.
fn forge_size(from: &Path, name: &str, to: &Path) {
    let mut bytes = std::fs::read(from).unwrap();
    let name = name.as_bytes();
    let mut patched = 0;
    for (sig, size_at, name_at) in [(b"PK\x03\x04", 22usize, 30usize), (b"PK\x01\x02", 24, 46)] {
        let mut i = 0;
        while i + name_at + name.len() <= bytes.len() {
            if &bytes[i..i + 4] == sig && &bytes[i + name_at..i + name_at + name.len()] == name {
                bytes[i + size_at..i + size_at + 4].copy_from_slice(&1000u32.to_le_bytes());
                patched += 1;
            }
            i += 1;
        }
    }
    assert_eq!(patched, 2, "local and central headers patched");
    std::fs::write(to, &bytes).unwrap();
}

#[test]
fn a_bomb_in_the_shared_strings_or_a_worksheet_is_refused_when_the_workbook_is_opened() {
    // The streamed import's open (`XlsxBook::open`) checks the shared strings before reading
    // them and the worksheets on a second thread meanwhile: both kinds are refused, with the
    // same codes as the whole-file check gives.
    use baoxue::import::source::XlsxBook;
    let dir = tempfile::tempdir().unwrap();
    let open_err = |p: &Path| match XlsxBook::open(p) {
        Err(e) => e,
        Ok(_) => panic!("{} was opened", p.display()),
    };
    for entry in ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"] {
        let bomb = dir.path().join("bomb.xlsx");
        write_xlsx_with_entry(&bomb, entry, 200 * 1024 * 1024);
        let e = open_err(&bomb);
        assert_eq!(e.code(), "file_bomb", "{entry}: {e}");
        assert!(e.to_string().contains("压缩炸弹"), "{entry}: {e}");
        let honest = dir.path().join("honest.xlsx");
        write_xlsx_with_entry(&honest, entry, 20 * 1024 * 1024);
        let liar = dir.path().join("liar.xlsx");
        forge_size(&honest, entry, &liar);
        let e = open_err(&liar);
        assert!(
            e.code() == "file_bomb" || e.code() == "file_corrupt",
            "{entry}: {e}"
        );
        assert_eq!(
            e.code(),
            read_err(&liar).code(),
            "{entry}: the same as the whole-file check"
        );
    }
    let ordinary = dir.path().join("花名册.xlsx");
    baoxue::import::sample::write_roll_xlsx(&ordinary, 500, "城关第一小学").unwrap();
    assert!(XlsxBook::open(&ordinary).unwrap().is_some());
}

#[test]
fn a_sheet_with_a_million_columns_is_refused() {
    let r = TempRegister::new();
    county(&r);
    // CSV: a header row, then one row of a million cells.
    let csv = r.path("宽表.csv");
    let mut text = String::from("姓名,性别,身份证号,学籍号,年级,班级\n");
    text.push_str(&"1,".repeat(1_000_000));
    text.push('\n');
    std::fs::write(&csv, text).unwrap();
    let e = read_err(&csv);
    assert_eq!(e.code(), "too_many_columns");
    assert!(
        e.to_string().contains("第2行") && e.to_string().contains("16384"),
        "{e}"
    );
    let (ok, stderr) = import_bounded(&r, &csv);
    assert!(!ok && stderr.contains("列"), "{stderr}");

    // .ods: one cell that says it repeats a million times across (calamine would build it).
    let ods = r.path("宽表.ods");
    let f = std::fs::File::create(&ods).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("mimetype", stored).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    z.start_file("content.xml", stored).unwrap();
    z.write_all(
        br#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Sheet1"><table:table-row><table:table-cell table:number-columns-repeated="1000000" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
    )
    .unwrap();
    z.finish().unwrap();
    let e = read_err(&ods);
    assert_eq!(e.code(), "file_bomb", "{e}");
    assert!(e.to_string().contains("1000000"), "{e}");
    assert_eq!(children(&r), 0);
}

#[test]
fn an_ordinary_xlsx_passes_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("花名册.xlsx");
    baoxue::import::sample::write_roll_xlsx(&p, 500, "城关第一小学").unwrap();
    let f = baoxue::import::source::detect(&p).unwrap();
    baoxue::limits::check_file(&p, f).unwrap();
    let mut rows = 0;
    read_rows(&p, None, &mut |_| {}, &mut |_, _| {
        rows += 1;
        Ok(Flow::Continue)
    })
    .unwrap();
    assert!(rows >= 500);
}

#[test]
fn deeply_nested_json_in_a_bundle_is_refused_without_a_crash() {
    let r = TempRegister::new();
    county(&r);
    // A bundle container whose manifest is 100,000 nested arrays.
    let depth = 100_000;
    let mut manifest = "[".repeat(depth);
    manifest.push_str(&"]".repeat(depth));
    let mut bytes = b"BAOXUEB1".to_vec();
    bytes.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    bytes.extend_from_slice(manifest.as_bytes());
    bytes.extend_from_slice(&[0u8; 64]);
    let file = r.path("深层.bxb");
    std::fs::write(&file, &bytes).unwrap();
    for args in [
        vec!["bundle", "inspect", file.to_str().unwrap()],
        vec!["--json", "bundle", "import", file.to_str().unwrap()],
    ] {
        let out = r.run(&args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(
            !all.contains("panicked") && !all.contains("overflow"),
            "{all}"
        );
        assert!(all.contains("清单") || all.contains("refused"), "{all}");
    }
    // And a bundle "file" that claims 2 GB is refused before it is read.
    let big = r.path("大.bxb");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(f);
    let out = r.run(&["bundle", "inspect", big.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("无法读取"));
    let e = baoxue::limits::read_bounded(&big, baoxue::limits::MAX_BUNDLE_BYTES).unwrap_err();
    assert!(e.to_string().contains("太大"), "{e}");
    assert_eq!(children(&r), 0);
}
