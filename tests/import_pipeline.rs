//! The import pipelines give the importer the same events: `import::pipeline` (cells parsed
//! on the reading thread), `import::pipeline_parsing_here` (the reading thread only reads an
//! .xlsx file's cells; header finding and parsing run on the calling thread) and
//! `import::pipeline_balanced` (each batch parsed by the reading thread, the calling thread, or
//! whichever is idle; rows finished in order on the calling thread). Real .xlsx and .csv
//! files with title rows, two-row headers, blank, footer and repeated header rows, more rows than
//! one batch, several sheets, a header and no data, and no header at all.

use baoxue::import::scan::ScanStats;
use baoxue::import::{pipeline, pipeline_balanced, pipeline_parsing_here, Balance, Event};
use baoxue::lists::schema::LIST_SCHEMA;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// What an importer sees: each event as text, then the counters (or the error's code).
fn events(
    path: &Path,
    sheet: Option<&str>,
    way: Option<Option<Balance>>,
    cancel: Option<&AtomicBool>,
) -> (Vec<String>, String) {
    let mut seen = Vec::new();
    let describe = |row: &baoxue::import::scan::DataRow<'_, '_>| {
        format!(
            "{} | {} | name={:?} id={:?}",
            row.row,
            row.texts().join(","),
            row.get("name"),
            row.get("id_number")
        )
    };
    // Each row numbered in the order the importer gets it (what depends on the rows before).
    let mut n = 0u32;
    let mut number = move |text: String, row: &baoxue::import::scan::DataRow<'_, '_>| {
        n += 1;
        format!("#{n} {text} (row {})", row.row)
    };
    let parse = |row: &baoxue::import::scan::DataRow<'_, '_>| {
        let text = describe(row);
        number(text, row)
    };
    let consume = |ev: Event<String>| {
        match ev {
            Event::Header(info, map) => seen.push(format!(
                "header {} ~{} at {}-{}: {:?} {:?}",
                info.name,
                info.rows_estimate,
                map.header_row,
                map.last_header_row,
                map.labels,
                map.mapping(&LIST_SCHEMA)
            )),
            Event::Rows(rows) => {
                seen.push(format!("batch of {}", rows.len()));
                seen.extend(rows);
            }
        }
        Ok(())
    };
    let result = match way {
        Some(None) => pipeline_parsing_here(path, sheet, &LIST_SCHEMA, cancel, parse, consume),
        None => pipeline(path, sheet, &LIST_SCHEMA, cancel, parse, consume),
        Some(Some(b)) => pipeline_balanced(
            path,
            sheet,
            &LIST_SCHEMA,
            cancel,
            b,
            describe,
            number,
            consume,
        ),
    };
    let end = match result {
        Ok(ScanStats {
            sheet,
            rows_estimate,
            data_rows,
            skipped_rows,
        }) => format!("ok {sheet} ~{rows_estimate} data={data_rows} skipped={skipped_rows}"),
        Err(e) => format!("error {} {e}", e.code()),
    };
    (seen, end)
}

fn same_events(path: &Path, sheet: Option<&str>) -> (Vec<String>, String) {
    let old = events(path, sheet, None, None);
    let new = events(path, sheet, Some(None), None);
    assert_eq!(old.1, new.1, "{}", path.display());
    assert_eq!(old.0, new.0, "{}", path.display());
    for b in [Balance::Writer, Balance::Reader, Balance::Adaptive] {
        let shared = events(path, sheet, Some(Some(b)), None);
        assert_eq!(old.1, shared.1, "{} {b:?}", path.display());
        assert_eq!(old.0, shared.0, "{} {b:?}", path.display());
    }
    new
}

/// A 公安-style extract: title, a two-row header, `rows` children with a blank row, a footer
/// and a repeated header every 700 rows, numbers and text mixed.
fn write_extract(wb: &mut Workbook, name: &str, rows: u32) {
    let ws = wb.add_worksheet();
    ws.set_name(name).unwrap();
    let bold = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 5, "鲁山县0-18周岁户籍人口信息表", &bold)
        .unwrap();
    ws.merge_range(1, 0, 2, 0, "序号", &bold).unwrap();
    ws.merge_range(1, 1, 1, 2, "户主信息", &bold).unwrap();
    ws.write_string(2, 1, "户主姓名").unwrap();
    ws.write_string(2, 2, "户主公民身份号码").unwrap();
    ws.merge_range(1, 3, 1, 5, "人员信息", &bold).unwrap();
    ws.write_string(2, 3, "姓名").unwrap();
    ws.write_string(2, 4, "公民身份号码").unwrap();
    ws.write_string(2, 5, "出生日期").unwrap();
    ws.write_string(2, 7, "备用列").unwrap();
    let mut r = 3u32;
    for i in 0..rows {
        if i % 700 == 350 {
            r += 1; // a blank row
        }
        if i % 700 == 699 {
            for (c, t) in [
                "序号",
                "户主姓名",
                "户主公民身份号码",
                "姓名",
                "公民身份号码",
            ]
            .iter()
            .enumerate()
            {
                ws.write_string(r, c as u16, *t).unwrap();
            }
            r += 1;
        }
        ws.write_number(r, 0, f64::from(i + 1)).unwrap();
        ws.write_string(r, 1, format!("户主{}", i / 3)).unwrap();
        ws.write_string(r, 2, "410423198001010016").unwrap();
        ws.write_string(r, 3, format!(" 王{} ", i % 97)).unwrap();
        if i % 5 != 0 {
            ws.write_string(r, 4, format!("41042320150308{:04}", i % 10_000))
                .unwrap();
        }
        if i % 3 == 0 {
            ws.write_number(r, 5, 42071.0 + f64::from(i % 300)).unwrap();
        } else {
            ws.write_string(r, 5, "2015年3月8日").unwrap();
        }
        if i % 11 == 0 {
            ws.write_string(r, 7, "　").unwrap();
        }
        r += 1;
    }
    ws.write_string(r + 1, 0, "合计：共计若干人").unwrap();
    ws.write_string(r + 2, 0, "制表人：张三").unwrap();
}

#[test]
fn both_pipelines_give_the_same_header_rows_and_counts() {
    let dir = tempfile::tempdir().unwrap();

    // More rows than three batches of 512, on the second sheet after an empty one.
    let big = dir.path().join("户籍.xlsx");
    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("说明").unwrap();
    write_extract(&mut wb, "户籍人口", 1_700);
    write_extract(&mut wb, "第二批", 20);
    wb.save(&big).unwrap();
    let (ev, end) = same_events(&big, None);
    assert!(end.starts_with("ok 户籍人口 "), "{end}");
    assert!(end.contains("data=1700 "), "{end}");
    assert_eq!(
        ev.iter()
            .filter(|e| e.starts_with("batch of"))
            .collect::<Vec<_>>(),
        [
            "batch of 512",
            "batch of 512",
            "batch of 512",
            "batch of 164"
        ]
    );
    assert!(ev[0].starts_with("header 户籍人口 "), "{}", ev[0]);
    let (ev, end) = same_events(&big, Some("第二批"));
    assert!(end.contains("data=20 "), "{end}");
    assert_eq!(ev.len(), 1 + 1 + 20);
    let (_, end) = same_events(&big, Some("没有这个表"));
    assert!(end.starts_with("error no_such_sheet"), "{end}");

    // A header and nothing under it.
    let bare = dir.path().join("只有表头.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, t) in ["姓名", "公民身份号码", "出生日期"].iter().enumerate() {
        ws.write_string(0, c as u16, *t).unwrap();
    }
    wb.save(&bare).unwrap();
    let (ev, end) = same_events(&bare, None);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(end.contains("data=0 skipped=0"), "{end}");

    // No header in the first 40 rows.
    let none = dir.path().join("无表头.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..60 {
        ws.write_string(r, 0, format!("第{r}行 说明文字")).unwrap();
    }
    wb.save(&none).unwrap();
    let (ev, end) = same_events(&none, None);
    assert!(ev.is_empty());
    assert!(end.starts_with("error no_header"), "{end}");

    // An empty workbook.
    let empty = dir.path().join("空.xlsx");
    let mut wb = Workbook::new();
    wb.add_worksheet();
    wb.save(&empty).unwrap();
    let (_, end) = same_events(&empty, None);
    assert!(end.starts_with("error file_empty"), "{end}");

    // A CSV goes through the one pipeline either way.
    let csv = dir.path().join("名单.csv");
    std::fs::write(
        &csv,
        "说明\n姓名,公民身份号码\n王一,410423201503080011\n\n合计,1\n",
    )
    .unwrap();
    let (ev, end) = same_events(&csv, None);
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert!(end.contains("data=1 skipped=1"), "{end}");

    // A cancelled read stops with the same error.
    let cancel = AtomicBool::new(true);
    let old = events(&big, None, None, Some(&cancel));
    let new = events(&big, None, Some(None), Some(&cancel));
    assert!(old.1.starts_with("error cancelled"), "{}", old.1);
    assert_eq!(old.1, new.1);
}
