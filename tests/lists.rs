//! Department lists (公安户籍, 残联, 乡村振兴, 民政, 资助) on a hand-built county: real .xlsx and
//! GBK .csv files written here, imported through the CLI (`baoxue import list … --json`), then
//! compared with the rolls: versions, re-import, adults skipped, head vs member ID columns,
//! division names, the cross-source layer and the information reports.

use crate::util::{id_number, TempRegister};
use baoxue::lists::query;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;
use std::path::Path;

/// The county's people: (name, ID) — every ID valid, region 410423 unless said otherwise.
pub struct People {
    /// On hukou and poverty lists, not enrolled (a child on two lists).
    pub a_wang: String,
    /// On hukou; enrolled with only a G-form 学籍号 on the roll.
    pub b_li: String,
    /// On hukou; enrolled with a full-width ID on the roll.
    pub c_zhang: String,
    /// On hukou; turns 6 on the cutoff day (2020-08-31), not enrolled.
    pub d_zhao: String,
    /// On hukou; turns 6 a day after the cutoff (2020-09-01), not enrolled.
    pub e_qian: String,
    /// On hukou; 17 years old, not enrolled.
    pub f_sun: String,
    /// On the 残联 list only, not enrolled.
    pub g_zhou: String,
    /// Adult household head on the hukou and poverty lists.
    pub h_head: String,
    /// On hukou and the welfare list (孤儿), enrolled, on no aid list.
    pub i_wu: String,
    /// Enrolled, ID of another county, on no hukou list.
    pub j_zheng: String,
    /// On hukou and the 残联 list, enrolled; on the aid list.
    pub k_feng: String,
}

pub fn people() -> People {
    People {
        a_wang: id_number("410423", "20150308", 11),
        b_li: id_number("410423", "20140501", 21),
        c_zhang: id_number("410423", "20160707", 31),
        d_zhao: id_number("410423", "20200831", 41),
        e_qian: id_number("410423", "20200901", 51),
        f_sun: id_number("410423", "20090601", 61),
        g_zhou: id_number("410423", "20130202", 71),
        h_head: id_number("410423", "19800101", 81),
        i_wu: id_number("410423", "20121212", 92),
        j_zheng: id_number("410102", "20140909", 13),
        k_feng: id_number("410423", "20110315", 23),
    }
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
            'X' => 'ｘ',
            c => c,
        })
        .collect()
}

/// Writes a sheet: optional title row, then the given rows (all text).
fn write_xlsx(path: &Path, title: Option<&str>, rows: &[Vec<String>]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let mut r0 = 0;
    if let Some(t) = title {
        ws.merge_range(0, 0, 0, 6, t, &bold).unwrap();
        ws.write_string(1, 0, "填报单位：（盖章）").unwrap();
        r0 = 2;
    }
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r0 + i as u32, c as u16, v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// The 公安 extract: title rows, a two-row header (户主信息 / 人员信息 merged over their
/// columns), village names written three ways, one village not in the division list.
pub fn write_hukou(path: &Path, p: &People) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("0-18周岁户籍人口").unwrap();
    let bold = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 8, "鲁山县0-18周岁户籍人口信息表", &bold)
        .unwrap();
    ws.write_string(1, 0, "数据截止：2026年10月31日").unwrap();
    ws.merge_range(2, 0, 3, 0, "序号", &bold).unwrap();
    ws.merge_range(2, 1, 2, 2, "户主信息", &bold).unwrap();
    ws.write_string(3, 1, "姓名").unwrap();
    ws.write_string(3, 2, "公民身份号码").unwrap();
    ws.merge_range(2, 3, 2, 6, "人员信息", &bold).unwrap();
    for (c, t) in ["姓名", "公民身份号码", "与户主关系", "出生日期"]
        .iter()
        .enumerate()
    {
        ws.write_string(3, 3 + c as u16, *t).unwrap();
    }
    ws.merge_range(2, 7, 3, 7, "乡镇（街道）", &bold).unwrap();
    ws.merge_range(2, 8, 3, 8, "村（居）委会", &bold).unwrap();
    let head = p.h_head.as_str();
    let rows: Vec<[&str; 8]> = vec![
        [
            "王大山",
            head,
            "王大山",
            head,
            "户主",
            "1980-01-01",
            "张良镇",
            "张庄村委会",
        ],
        [
            "王大山",
            head,
            "王小明",
            &p.a_wang,
            "子",
            "2015-03-08",
            "张良镇",
            "张庄村",
        ],
        [
            "李大海",
            "",
            "李  四",
            &p.b_li,
            "子",
            "",
            "城关镇",
            "东关村民委员会",
        ],
        [
            "张大河",
            "",
            "张三",
            &p.c_zhang,
            "女",
            "2016.7.7",
            "城关镇",
            "东关",
        ],
        [
            "赵大江",
            "",
            "赵六",
            &p.d_zhao,
            "子",
            "",
            "张良镇",
            "李庄村",
        ],
        [
            "钱大湖",
            "",
            "钱七",
            &p.e_qian,
            "子",
            "",
            "张良镇",
            "李庄村",
        ],
        ["孙大林", "", "孙八", &p.f_sun, "子", "", "张良镇", "王家湾"],
        [
            "吴大森",
            "",
            "吴十",
            &p.i_wu,
            "孙子",
            "",
            "城关镇",
            "东关村",
        ],
        [
            "冯大伟",
            "",
            "冯十一",
            &p.k_feng,
            "子",
            "",
            "城关镇",
            "东关村",
        ],
    ];
    for (i, r) in rows.iter().enumerate() {
        let x = 4 + i as u32;
        ws.write_number(x, 0, (i + 1) as f64).unwrap();
        for (c, v) in r.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(x, 1 + c as u16, *v).unwrap();
            }
        }
    }
    ws.write_string(4 + rows.len() as u32, 0, "合计：9人")
        .unwrap();
    wb.save(path).unwrap();
}

/// 乡村振兴: one row per household member, both the head's and the member's ID columns.
pub fn write_poverty(path: &Path, p: &People) {
    write_xlsx(
        path,
        Some("张良镇脱贫户及监测户家庭成员明细"),
        &[
            row(&[
                "序号",
                "户主姓名",
                "户主身份证号",
                "家庭成员姓名",
                "与户主关系",
                "成员身份证号码",
                "户类型",
                "所属乡镇",
                "行政村",
            ]),
            row(&[
                "1",
                "王大山",
                &p.h_head,
                "王大山",
                "户主",
                &p.h_head,
                "脱贫户",
                "张良镇",
                "张庄村",
            ]),
            row(&[
                "2",
                "王大山",
                &p.h_head,
                "王晓明",
                "之子",
                &p.a_wang,
                "脱贫户",
                "张良镇",
                "张庄村",
            ]),
        ],
    );
}

/// 残联: title row, 残疾类别 / 残疾等级, 残疾证号.
pub fn write_disabled(path: &Path, p: &People) {
    let cert = |id: &str| format!("{id}42");
    write_xlsx(
        path,
        Some("鲁山县适龄残疾儿童少年花名册"),
        &[
            row(&[
                "序号",
                "姓名",
                "性别",
                "残疾证号",
                "身份证号码",
                "残疾类别",
                "残疾等级",
                "乡镇",
                "村（社区）",
            ]),
            row(&[
                "1",
                "周九",
                "男",
                &cert(&p.g_zhou),
                "",
                "肢体",
                "二级",
                "张良镇",
                "李庄村",
            ]),
            row(&[
                "2",
                "冯十一",
                "男",
                &cert(&p.k_feng),
                &p.k_feng,
                "听力",
                "三级",
                "城关镇",
                "东关村",
            ]),
        ],
    );
}

/// 民政 as Chinese Excel saves CSV: GBK, no BOM.
pub fn write_welfare_csv(path: &Path, p: &People) {
    let text = format!(
        "姓名,证件号码,救助类别,乡镇（街道）,村（居）委会\r\n吴十,{},孤儿,城关镇,东关村\r\n",
        p.i_wu
    );
    let (bytes, _, _) = encoding_rs::GBK.encode(&text);
    std::fs::write(path, bytes).unwrap();
}

/// 资助: items and terms; 冯十一 receives two items.
pub fn write_aid(path: &Path, p: &People) {
    write_xlsx(
        path,
        None,
        &[
            row(&[
                "姓名",
                "身份证号",
                "学籍号",
                "资助项目",
                "资助学期",
                "就读学校",
            ]),
            row(&[
                "冯十一",
                &p.k_feng,
                "",
                "两免一补",
                "2026秋",
                "城关第一小学",
            ]),
            row(&[
                "冯十一",
                &p.k_feng,
                "",
                "营养改善计划",
                "2026秋",
                "城关第一小学",
            ]),
        ],
    );
}

/// The school's roll: B with only a G-form 学籍号, C with a full-width ID.
pub fn write_roll(path: &Path, p: &People) {
    write_xlsx(
        path,
        Some("城关第一小学2026年秋季学生花名册"),
        &[
            row(&[
                "序号",
                "姓名",
                "身份证号",
                "全国学籍号",
                "出生日期",
                "年级",
                "班级",
            ]),
            row(&[
                "1",
                "李四",
                "",
                &format!("G{}", p.b_li),
                "2014-05-01",
                "六年级",
                "1班",
            ]),
            row(&["2", "张叁", &fullwidth(&p.c_zhang), "", "", "四年级", "2班"]),
            row(&["3", "吴十", &p.i_wu, "", "", "初一", "1班"]),
            row(&["4", "郑十二", &p.j_zheng, "", "", "六年级", "1班"]),
            row(&["5", "冯十一", &p.k_feng, "", "", "初三", "1班"]),
        ],
    );
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The hand-built county: divisions, a school, its roll, every list imported through the CLI.
pub fn county() -> (TempRegister, People) {
    let t = TempRegister::new();
    let p = people();
    t.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "鲁山县",
        "--region",
        "410423",
    ]);
    for (code, name) in [
        ("410423100", "城关镇"),
        ("410423101", "张良镇"),
        ("410423100201", "东关村"),
        ("410423101201", "张庄村"),
        ("410423101202", "李庄村"),
    ] {
        t.ok(&["division", "add", "--code", code, "--name", name]);
    }
    t.ok(&[
        "school",
        "add",
        "--code",
        "4141000001",
        "--name",
        "城关第一小学",
        "--kind",
        "nine-year",
    ]);
    let roll = t.path("roll.xlsx");
    write_roll(&roll, &p);
    t.ok(&[
        "import",
        "roll",
        roll.to_str().unwrap(),
        "--school",
        "4141000001",
        "--term",
        "2026秋",
    ]);
    let files = [
        ("hukou", "hukou.xlsx", "鲁山县公安局"),
        ("poverty", "poverty.xlsx", "鲁山县乡村振兴局"),
        ("disabled", "disabled.xlsx", "鲁山县残联"),
        ("welfare", "welfare.csv", "鲁山县民政局"),
        ("aid", "aid.xlsx", "鲁山县学生资助管理中心"),
    ];
    write_hukou(&t.path("hukou.xlsx"), &p);
    write_poverty(&t.path("poverty.xlsx"), &p);
    write_disabled(&t.path("disabled.xlsx"), &p);
    write_welfare_csv(&t.path("welfare.csv"), &p);
    write_aid(&t.path("aid.xlsx"), &p);
    for (kind, file, source) in files {
        let f = t.path(file);
        t.ok(&[
            "import",
            "list",
            kind,
            f.to_str().unwrap(),
            "--source",
            source,
            "--as-of",
            "2026-10-31",
        ]);
    }
    (t, p)
}

fn import_json(t: &TempRegister, kind: &str, file: &Path, source: &str, as_of: &str) -> Value {
    json(&t.ok(&[
        "--json",
        "import",
        "list",
        kind,
        file.to_str().unwrap(),
        "--source",
        source,
        "--as-of",
        as_of,
    ]))
}

#[test]
fn hukou_extract_two_row_header_adults_skipped_names_mapped() {
    let t = TempRegister::new();
    let p = people();
    t.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "鲁山县",
        "--region",
        "410423",
    ]);
    for (code, name) in [
        ("410423100", "城关镇"),
        ("410423101", "张良镇"),
        ("410423100201", "东关村"),
        ("410423101201", "张庄村"),
        ("410423101202", "李庄村"),
    ] {
        t.ok(&["division", "add", "--code", code, "--name", name]);
    }
    let f = t.path("hukou.xlsx");
    write_hukou(&f, &p);
    let r = import_json(&t, "hukou", &f, "鲁山县公安局", "2026-10-31");
    assert_eq!(r["kind"], "hukou");
    assert_eq!(r["source"], "鲁山县公安局");
    assert_eq!(r["as_of"], "2026-10-31");
    assert_eq!(r["rows_read"], 9);
    assert_eq!(
        r["out_of_age"], 1,
        "the adult household head: counted, skipped"
    );
    assert_eq!(r["inserted"], 8);
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["version"], "new");
    assert_eq!(r["header_row"], 3);
    // The member's ID column is the child's; the head's is read as the head's.
    assert_eq!(r["mapping"]["身份证号"], "E 人员信息/公民身份号码");
    assert_eq!(r["mapping"]["户主身份证号"], "C 户主信息/公民身份号码");
    // One warning for the village that is not in the division list, none for the others.
    let warnings = r["warnings"].as_array().unwrap();
    let unknown: Vec<&Value> = warnings
        .iter()
        .filter(|w| w["code"] == "division_unknown")
        .collect();
    assert_eq!(unknown.len(), 1, "{warnings:?}");
    assert!(unknown[0]["message"].as_str().unwrap().contains("王家湾"));
    assert_eq!(unknown[0]["row"], 11);

    let reg = baoxue::Register::open(&t.db).unwrap();
    let v = baoxue::store::list_versions::list(reg.conn()).unwrap();
    let rows = baoxue::store::list_rows::list_by_version(reg.conn(), v[0].id).unwrap();
    let by_name = |n: &str| rows.iter().find(|r| r.name == n).unwrap().clone();
    let wang = by_name("王小明");
    assert_eq!(wang.id_key.as_deref(), Some(p.a_wang.as_str()));
    assert_eq!(wang.head_name.as_deref(), Some("王大山"));
    assert_eq!(wang.village_code.as_deref(), Some("410423101201"));
    // 村委会 / 村民委员会 / no 村: all the same village.
    assert_eq!(
        by_name("李四").village_code.as_deref(),
        Some("410423100201")
    );
    assert_eq!(
        by_name("张三").village_code.as_deref(),
        Some("410423100201")
    );
    assert_eq!(by_name("张三").birth_date, "2016-07-07");
    let sun = by_name("孙八");
    assert_eq!(sun.village.as_deref(), Some("王家湾"), "kept as written");
    assert_eq!(sun.village_code, None);
    assert_eq!(sun.township_code.as_deref(), Some("410423101"));
    assert!(rows
        .iter()
        .all(|r| r.id_key.as_deref() != Some(p.h_head.as_str())));
}

#[test]
fn versions_reimport_newer_and_older() {
    let t = TempRegister::new();
    let p = people();
    t.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "鲁山县",
        "--region",
        "410423",
    ]);
    let f = t.path("hukou.xlsx");
    write_hukou(&f, &p);
    let first = import_json(&t, "hukou", &f, "鲁山县公安局", "2026-10-31");
    assert_eq!(first["version"], "new");
    let snap = t.ok(&["snapshot"]);
    // The same file again: nothing changes.
    let again = import_json(&t, "hukou", &f, "鲁山县公安局", "2026-10-31");
    assert_eq!(again["version"], "unchanged");
    assert_eq!(again["inserted"], 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["unchanged"], 8);
    assert_eq!(again["compared_with"], "2026-10-31");
    assert_eq!(t.ok(&["snapshot"]), snap);
    // A newer extract of the same source, without 钱七: a new current version.
    let mut wb_rows = vec![row(&["姓名", "公民身份号码"])];
    for id in [
        &p.a_wang, &p.b_li, &p.c_zhang, &p.d_zhao, &p.f_sun, &p.g_zhou,
    ] {
        wb_rows.push(row(&["某某", id]));
    }
    let f2 = t.path("hukou-2026-11.xlsx");
    write_xlsx(&f2, Some("户籍人口"), &wb_rows);
    let newer = import_json(&t, "hukou", &f2, "鲁山县公安局", "2026-11-30");
    assert_eq!(newer["version"], "new");
    assert_eq!(newer["compared_with"], "2026-10-31");
    assert_eq!(newer["inserted"], 1, "周九 is new");
    assert_eq!(newer["updated"], 5, "names differ");
    assert_eq!(newer["removed"], 3, "钱七, 吴十, 冯十一 are gone");
    assert_eq!(newer["current"], true);
    // An older one, imported late: kept for reference, not used.
    let older = import_json(&t, "hukou", &f, "鲁山县公安局", "2026-09-30");
    assert_eq!(older["current"], false);
    assert!(older["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "older_version"));
    let s = json(&t.ok(&["--json", "list", "sources"]));
    let src = &s["sources"][0];
    assert_eq!(src["kind"], "hukou");
    assert_eq!(src["source"], "鲁山县公安局");
    assert_eq!(src["as_of"], "2026-11-30");
    assert_eq!(src["rows"], 6);
    let dates: Vec<&str> = src["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["as_of"].as_str().unwrap())
        .collect();
    assert_eq!(dates, vec!["2026-11-30", "2026-10-31", "2026-09-30"]);
    // The cross-source layer uses the newest version only.
    let reg = baoxue::Register::open(&t.db).unwrap();
    let by = query::by_person(reg.conn(), &[]).unwrap();
    assert!(!by.contains_key(&p.e_qian));
    assert_eq!(
        by[&p.g_zhou].mentions[0].label,
        "户籍（鲁山县公安局 2026-11-30）"
    );
    // A dry run of a corrected same-date file writes nothing.
    let before = t.ok(&["--json", "list", "sources"]);
    t.ok(&[
        "import",
        "list",
        "hukou",
        f.to_str().unwrap(),
        "--source",
        "鲁山县公安局",
        "--as-of",
        "2026-11-30",
        "--dry-run",
    ]);
    assert_eq!(t.ok(&["--json", "list", "sources"]), before);
}

#[test]
fn child_on_two_lists_is_one_person_with_both_sources() {
    let (t, p) = county();
    let reg = baoxue::Register::open(&t.db).unwrap();
    let by = query::by_person(reg.conn(), &[]).unwrap();
    let a = &by[&p.a_wang];
    assert_eq!(a.kinds(), vec!["hukou", "poverty"]);
    assert_eq!(a.groups(), vec!["jiandang"]);
    assert_eq!(
        a.labels(),
        vec![
            "户籍（鲁山县公安局 2026-10-31）",
            "脱贫监测名单（鲁山县乡村振兴局 2026-10-31）"
        ]
    );
    // The poverty list's head (an adult) is skipped; his ID is never a child's.
    assert!(!by.contains_key(&p.h_head));
    // The disabled child on the 残联 list only: ID read from the 残疾证号.
    let g = &by[&p.g_zhou];
    assert_eq!(g.kinds(), vec!["disabled"]);
    assert_eq!(g.groups(), vec!["disabled"]);
    assert_eq!(g.mentions[0].category.as_deref(), Some("肢体"));
    // The welfare CSV (GBK): 孤儿.
    assert_eq!(by[&p.i_wu].groups(), vec!["orphan"]);
    assert_eq!(by[&p.i_wu].kinds(), vec!["hukou", "welfare"]);
    // 冯十一 on two aid items, the 残联 list and hukou.
    assert_eq!(by[&p.k_feng].kinds(), vec!["hukou", "disabled", "aid"]);
    assert_eq!(
        by[&p.k_feng]
            .mentions
            .iter()
            .filter(|m| m.kind == "aid")
            .count(),
        2
    );
    let s = json(&t.ok(&["--json", "list", "sources"]));
    let kinds: Vec<(&str, i64)> = s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["rows"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("hukou", 8),
            ("disabled", 2),
            ("poverty", 1),
            ("welfare", 1),
            ("aid", 2)
        ]
    );
}

#[test]
fn information_reports() {
    let (t, p) = county();
    let c = json(&t.ok(&["--json", "list", "check", "--full"]));
    assert_eq!(c["hukou_loaded"], true);
    assert_eq!(c["aid_loaded"], true);
    assert_eq!(c["pupils_checked"], 5);
    assert_eq!(
        c["pupils_without_id"], 0,
        "the G-form 学籍号 carries the ID"
    );
    let ids = |k: &str| -> Vec<String> {
        c[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x["id_number"].as_str().unwrap().to_string())
            .collect()
    };
    // Pupils whose ID is on no hukou list: only the out-of-county pupil (the full-width ID and
    // the G-form 学籍号 match).
    assert_eq!(ids("not_on_hukou"), vec![p.j_zheng.clone()]);
    assert!(c["not_on_hukou"][0]["note"]
        .as_str()
        .unwrap()
        .contains("外县"));
    // On the 残联 list and enrolled.
    assert_eq!(ids("disabled_enrolled"), vec![p.k_feng.clone()]);
    assert!(c["disabled_enrolled"][0]["note"]
        .as_str()
        .unwrap()
        .contains("听力"));
    // 应享尽享: the orphan pupil is on no aid list; 冯十一 is.
    assert_eq!(ids("aid_missing"), vec![p.i_wu.clone()]);
    assert_eq!(
        c["aid_missing"][0]["priority_groups"],
        serde_json::json!(["orphan"])
    );
    // Masked by default.
    let m = json(&t.ok(&["--json", "list", "check"]));
    assert_eq!(
        m["not_on_hukou"][0]["id_number"],
        baoxue::idnum::mask_id(&p.j_zheng)
    );
}

#[test]
fn refused_rows_errors_out_and_messages() {
    let t = TempRegister::new();
    t.ok(&[
        "init",
        "--kind",
        "county",
        "--name",
        "鲁山县",
        "--region",
        "410423",
    ]);
    let ok = id_number("410423", "20150308", 11);
    let mut bad = id_number("410423", "20150309", 11);
    bad.replace_range(17.., if bad.ends_with('1') { "2" } else { "1" });
    let f = t.path("welfare.xlsx");
    {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["姓名", "身份证号", "出生日期", "救助类别"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "甲").unwrap();
        ws.write_string(1, 1, &ok).unwrap();
        ws.write_string(1, 3, "低保").unwrap();
        ws.write_string(2, 0, "乙").unwrap();
        ws.write_number(2, 1, 4.10423201503e17).unwrap();
        ws.write_string(3, 0, "丙").unwrap();
        ws.write_string(3, 1, &bad).unwrap();
        ws.write_string(4, 0, "丁").unwrap();
        ws.write_string(4, 3, "特困").unwrap();
        ws.write_string(5, 0, "戊").unwrap();
        ws.write_string(5, 2, "2016-01-01").unwrap();
        ws.write_string(5, 3, "事实无人抚养儿童").unwrap();
        ws.write_string(6, 0, "甲").unwrap();
        ws.write_string(6, 1, &ok).unwrap();
        ws.write_string(6, 3, "低保").unwrap();
        wb.save(&f).unwrap();
    }
    let eo = t.path("errors.xlsx");
    let r = json(&t.ok(&[
        "--json",
        "import",
        "list",
        "welfare",
        f.to_str().unwrap(),
        "--source",
        "鲁山县民政局",
        "--as-of",
        "2026-10-31",
        "--errors-out",
        eo.to_str().unwrap(),
    ]));
    let codes: Vec<(u64, &str)> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["row"].as_u64().unwrap(), x["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (3, "id_excel_precision"),
            (4, "id_check_digit"),
            (5, "no_key")
        ]
    );
    for x in r["refused"].as_array().unwrap() {
        let m = x["message"].as_str().unwrap();
        assert!(!m.contains(&bad[..17]), "no ID number in messages: {m}");
    }
    assert_eq!(r["inserted"], 2);
    assert_eq!(r["duplicates"], 1);
    assert!(eo.exists());
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&eo).unwrap();
    use calamine::Reader;
    let range = wb.worksheet_range("拒收行").unwrap();
    assert_eq!(range.height(), 4);
    // Unknown KIND and bad dates are refused with a Chinese message and exit 1.
    let out = t.run(&[
        "import",
        "list",
        "tax",
        f.to_str().unwrap(),
        "--source",
        "x",
        "--as-of",
        "2026-10-31",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("名单种类"));
    let out = t.run(&[
        "import",
        "list",
        "hukou",
        f.to_str().unwrap(),
        "--source",
        "x",
        "--as-of",
        "明天",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("名单日期"));
}

#[test]
fn lists_do_not_travel() {
    for t in ["list_versions", "list_rows"] {
        assert!(!baoxue::store::TRAVELLING_TABLES.contains(&t));
    }
    let (t, _) = county();
    let snap = t.ok(&["snapshot"]);
    assert!(!snap.contains("鲁山县公安局"));
}

#[test]
fn window_keys_cover_the_school_age_window() {
    let (t, p) = county();
    let reg = baoxue::Register::open(&t.db).unwrap();
    let v = baoxue::store::list_versions::list_current(reg.conn(), Some("hukou")).unwrap();
    let keys =
        baoxue::store::list_rows::list_window_keys(reg.conn(), v[0].id, "2020-08-31", "2010-10-31")
            .unwrap();
    let rowids: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let mut names: Vec<String> = baoxue::store::list_rows::list_by_rowids(reg.conn(), &rowids)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    let mut want = vec!["王小明", "李四", "张三", "赵六", "吴十", "冯十一"];
    want.sort();
    assert_eq!(
        names, want,
        "born on the cutoff day in, a day later out; 17-year-old out"
    );
    assert!(keys
        .iter()
        .any(|k| k.1.as_deref() == Some(p.d_zhao.as_str())));
    assert!(!keys
        .iter()
        .any(|k| k.1.as_deref() == Some(p.e_qian.as_str())));
}

/// `(name, id, sources, priority_groups, reason)` of a suspected entry.
type Entry = (String, String, Vec<String>, Vec<String>, String);

fn suspected(v: &Value) -> Vec<Entry> {
    let strs = |x: &Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut out: Vec<_> = v["suspected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(
                s["priority"].as_bool().unwrap(),
                !s["priority_groups"].as_array().unwrap().is_empty()
            );
            (
                s["name"].as_str().unwrap().to_string(),
                s["id_number"].as_str().unwrap_or("").to_string(),
                strs(&s["sources"]),
                strs(&s["priority_groups"]),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn crosscheck_lists_each_child_once_with_sources_and_groups() {
    let (t, p) = county();
    let r = json(&t.ok(&["--json", "crosscheck", "--as-of", "2026-10-31", "--full"]));
    assert_eq!(r["as_of"], "2026-10-31");
    let hukou = "户籍（鲁山县公安局 2026-10-31）";
    let mut want = vec![
        // On hukou and poverty lists: listed once, with both sources and the poverty group.
        (
            "王小明".to_string(),
            p.a_wang.clone(),
            v(&["hukou", "poverty"]),
            v(&["jiandang"]),
            format!("{hukou}、脱贫监测名单（鲁山县乡村振兴局 2026-10-31）有，学籍无"),
        ),
        // Turns 6 on the cutoff day: of school age.
        (
            "赵六".to_string(),
            p.d_zhao.clone(),
            v(&["hukou"]),
            v(&[]),
            format!("{hukou}有，学籍无"),
        ),
        // On the 残联 list only, neither enrolled nor placed.
        (
            "周九".to_string(),
            p.g_zhou.clone(),
            v(&["disabled"]),
            v(&["disabled"]),
            // The reason names the sources that have the child and the complete ones (the
            // hukou extract) that do not.
            format!("残联名册（鲁山县残联 2026-10-31）有，{hukou}无，学籍无；残疾儿童，未入学也未安置（随班就读、特殊教育学校、送教上门）"),
        ),
    ];
    want.sort();
    let got = suspected(&r);
    assert_eq!(got, want, "{r:#}");
    // Not listed: the G-form-only and full-width-ID pupils (enrolled), the child turning 6 a day
    // after the cutoff, the 17-year-old, the adult head, the enrolled orphan and disabled pupil.
    for id in [
        &p.b_li, &p.c_zhang, &p.e_qian, &p.f_sun, &p.h_head, &p.i_wu, &p.k_feng,
    ] {
        assert!(!got.iter().any(|g| &g.1 == id));
    }
}

#[test]
fn crosscheck_uses_the_newest_version_of_a_source() {
    let (t, p) = county();
    // A newer 公安 extract without 赵六 and 王小明: only the older version had them.
    let f = t.path("hukou-new.xlsx");
    write_xlsx(
        &f,
        None,
        &[row(&["姓名", "公民身份号码"]), row(&["李四", &p.b_li])],
    );
    import_json(&t, "hukou", &f, "鲁山县公安局", "2026-11-30");
    let r = json(&t.ok(&["--json", "crosscheck", "--as-of", "2026-11-30", "--full"]));
    let got = suspected(&r);
    let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    // The poverty list spells him 王晓明; the ID is what matches.
    assert_eq!(names, vec!["周九", "王晓明"]);
    let wang = got.iter().find(|g| g.1 == p.a_wang).unwrap();
    assert_eq!(wang.2, v(&["poverty"]));
    assert_eq!(
        wang.4,
        "脱贫监测名单（鲁山县乡村振兴局 2026-10-31）有，户籍（鲁山县公安局 2026-11-30）无，学籍无",
        "the newer hukou extract lacks him, and the reason says so"
    );
    // Enrolling 王小明 (a roll with his ID and another spelling of his name) clears him.
    let roll = t.path("roll2.xlsx");
    write_xlsx(
        &roll,
        None,
        &[
            row(&["姓名", "身份证号", "年级"]),
            row(&["王晓明", &p.a_wang, "六年级"]),
        ],
    );
    t.ok(&[
        "import",
        "roll",
        roll.to_str().unwrap(),
        "--school",
        "4141000001",
        "--term",
        "2026秋",
    ]);
    let r = json(&t.ok(&["--json", "crosscheck", "--as-of", "2026-11-30", "--full"]));
    let names: Vec<String> = suspected(&r).into_iter().map(|g| g.0).collect();
    assert_eq!(names, vec!["周九"]);
}

#[test]
fn reason_names_the_complete_sources_that_lack_the_child() {
    let (t, p) = county();
    // A village roster (学户册) is loaded too: 赵六 is on it (and on the hukou list); 钱学户 is on
    // the roster only. The roster does not name 王小明, who is on the hukou list.
    let roster_only = id_number("410423", "20170405", 33);
    t.ok(&[
        "household",
        "add",
        "--head",
        "赵大",
        "--village",
        "410423100201",
        "--child",
        &format!("赵六,{}", p.d_zhao),
        "--child",
        &format!("钱学户,{roster_only}"),
    ]);
    let r = json(&t.ok(&["--json", "crosscheck", "--as-of", "2026-10-31", "--full"]));
    let got = suspected(&r);
    let reason = |id: &str| -> String {
        got.iter()
            .find(|g| g.1 == id)
            .unwrap_or_else(|| panic!("{id} listed: {r:#}"))
            .4
            .clone()
    };
    let hukou = "户籍（鲁山县公安局 2026-10-31）";
    assert_eq!(reason(&p.d_zhao), format!("学户册、{hukou}有，学籍无"));
    assert_eq!(reason(&roster_only), format!("学户册有，{hukou}无，学籍无"));
    assert_eq!(
        reason(&p.a_wang),
        format!("{hukou}、脱贫监测名单（鲁山县乡村振兴局 2026-10-31）有，学户册无，学籍无")
    );
    // Listed once, with both sources.
    let zhao: Vec<&Entry> = got.iter().filter(|g| g.1 == p.d_zhao).collect();
    assert_eq!(zhao.len(), 1);
    assert_eq!(zhao[0].2, v(&["hukou", "roster"]));
}
