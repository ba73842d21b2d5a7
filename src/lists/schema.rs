//! The columns of the departments' lists and every name they go by (one [`Schema`] for all five
//! KINDs, read by the import module's header finder), and the mapping of the lists' category
//! texts (户类型, 救助类别, 残疾类别) to priority-group and disability codes.

use crate::import::header::{Field, Schema};

/// Every field a department list may have.
pub const LIST_FIELDS: &[Field] = &[
    Field {
        key: "name",
        label: "姓名",
        synonyms: &[
            "家庭成员姓名",
            "成员姓名",
            "儿童姓名",
            "学生姓名",
            "人员姓名",
            "残疾人姓名",
            "救助对象姓名",
            "保障对象姓名",
            "受助学生姓名",
            "受助人姓名",
            "对象姓名",
        ],
    },
    Field {
        key: "id_number",
        label: "身份证号",
        synonyms: &[
            "公民身份号码",
            "身份证号码",
            "身份证件号码",
            "身份证件号",
            "证件号码",
            "证件号",
            "身份证",
            "成员身份证号码",
            "成员身份证号",
            "成员证件号码",
            "家庭成员身份证号",
            "家庭成员身份证号码",
            "家庭成员证件号码",
            "公民身份证号",
            "公民身份证号码",
            "儿童身份证号",
            "学生身份证号",
            "残疾人身份证号",
            "残疾人身份证号码",
            "救助对象身份证号",
            "保障对象身份证号",
            "受助学生身份证号",
        ],
    },
    Field {
        key: "head_id_number",
        label: "户主身份证号",
        synonyms: &[
            "户主身份证号码",
            "户主公民身份号码",
            "户主证件号码",
            "户主身份证件号码",
            "申请人身份证号",
            "申请人身份证号码",
        ],
    },
    Field {
        key: "student_no",
        label: "全国学籍号",
        synonyms: &["学籍号", "学籍编号", "学籍号码"],
    },
    Field {
        key: "disability_cert",
        label: "残疾证号",
        synonyms: &[
            "残疾人证号",
            "残疾证号码",
            "残疾人证号码",
            "第二代残疾人证号",
        ],
    },
    Field {
        key: "birth_date",
        label: "出生日期",
        synonyms: &["出生年月", "出生年月日", "生日", "出生时间"],
    },
    Field {
        key: "sex",
        label: "性别",
        synonyms: &[],
    },
    Field {
        key: "head_name",
        label: "户主姓名",
        synonyms: &["户主", "申请人姓名", "申请人"],
    },
    Field {
        key: "relation",
        label: "与户主关系",
        synonyms: &["与户主的关系", "与申请人关系", "家庭关系", "关系"],
    },
    Field {
        key: "township",
        label: "乡镇",
        synonyms: &[
            "乡镇（街道）",
            "乡镇(街道)",
            "所属乡镇",
            "乡（镇）",
            "乡镇街道",
            "乡镇名称",
            "街道",
            "所在乡镇",
        ],
    },
    Field {
        key: "village",
        label: "村",
        synonyms: &[
            "村（居）委会",
            "村(居)委会",
            "村（社区）",
            "村(社区)",
            "行政村",
            "村委会",
            "村居委会",
            "所属村",
            "所在村",
            "村名",
            "村居",
            "社区",
            "村（居）",
        ],
    },
    Field {
        key: "division_code",
        label: "区划代码",
        synonyms: &["行政区划代码", "统计用区划代码", "村代码", "村级区划代码"],
    },
    Field {
        key: "address",
        label: "户籍地址",
        synonyms: &[
            "住址",
            "户籍地",
            "户籍所在地",
            "户口所在地",
            "户籍详址",
            "家庭住址",
            "现住址",
            "居住地址",
            "地址",
        ],
    },
    Field {
        key: "disability_type",
        label: "残疾类别",
        synonyms: &["残疾类型", "残疾种类"],
    },
    Field {
        key: "disability_grade",
        label: "残疾等级",
        synonyms: &["残疾级别"],
    },
    Field {
        key: "household_type",
        label: "户类型",
        synonyms: &[
            "户属性",
            "监测类型",
            "监测对象类型",
            "户类别",
            "脱贫户属性",
            "贫困户属性",
            "帮扶对象类型",
            "识别类型",
        ],
    },
    Field {
        key: "welfare_type",
        label: "救助类别",
        synonyms: &[
            "救助类型",
            "保障类别",
            "救助对象类别",
            "保障对象类别",
            "对象类别",
            "人员类别",
        ],
    },
    Field {
        key: "aid_item",
        label: "资助项目",
        synonyms: &[
            "资助类型",
            "资助项目名称",
            "受助项目",
            "补助项目",
            "项目名称",
            "资助名称",
        ],
    },
    Field {
        key: "aid_term",
        label: "学期",
        synonyms: &["资助学期", "发放学期", "受助学期", "学年学期", "资助时间"],
    },
    Field {
        key: "school",
        label: "就读学校",
        synonyms: &["学校", "学校名称", "所在学校", "就读学校名称"],
    },
];

/// One schema for every KIND: a header needs 姓名 and something that tells the child's age.
pub const LIST_SCHEMA: Schema = Schema {
    fields: LIST_FIELDS,
    ignored: &[
        "序号",
        "编号",
        "户编号",
        "民族",
        "备注",
        "联系电话",
        "电话",
        "手机号码",
        "家庭人口数",
        "人口数",
        "文化程度",
        "年龄",
        "户籍类型",
        "证件类型",
        "身份证件类型",
    ],
    required: &[
        &["name"],
        &["id_number", "birth_date", "student_no", "disability_cert"],
    ],
};

/// Priority groups named by a poverty list's 户类型 / 监测类型 text (脱贫户, 监测户 and its kinds).
pub fn poverty_groups(raw: &str) -> Vec<String> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    let mut push = |c: &str| {
        if !out.iter().any(|g| g == c) {
            out.push(c.to_string());
        }
    };
    if s.contains("不稳定") {
        push("tuopin_unstable");
    }
    if s.contains("边缘") {
        push("edge_poverty");
    }
    if s.contains("突发") || s.contains("严重困难") {
        push("sudden_hardship");
    }
    let specific =
        s.contains("不稳定") || s.contains("边缘") || s.contains("突发") || s.contains("严重困难");
    if !specific {
        if s.contains("监测") || s.contains("防返贫") {
            push("monitored");
        } else if s.contains("脱贫") || s.contains("建档立卡") || s.contains("贫困") {
            push("jiandang");
        }
    }
    out
}

/// Priority groups named by a welfare list's 救助类别 text (低保, 特困, 孤儿, 事实无人抚养).
pub fn welfare_groups(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |c: &str| {
        if !out.iter().any(|g| g == c) {
            out.push(c.to_string());
        }
    };
    if raw.contains("低保") || raw.contains("最低生活保障") {
        push("dibao");
    }
    if raw.contains("特困") || raw.contains("五保") {
        push("tekun");
    }
    if raw.contains("孤儿") {
        push("orphan");
    }
    if raw.contains("无人抚养") {
        push("unsupported");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_texts_map_to_groups() {
        assert_eq!(poverty_groups("脱贫户"), vec!["jiandang"]);
        assert_eq!(poverty_groups("脱贫不稳定户"), vec!["tuopin_unstable"]);
        assert_eq!(poverty_groups("边缘易致贫户"), vec!["edge_poverty"]);
        assert_eq!(poverty_groups("突发严重困难户"), vec!["sudden_hardship"]);
        assert_eq!(poverty_groups("监测户"), vec!["monitored"]);
        assert!(poverty_groups("一般农户").is_empty());
        assert_eq!(welfare_groups("农村低保"), vec!["dibao"]);
        assert_eq!(welfare_groups("低保、孤儿"), vec!["dibao", "orphan"]);
        assert_eq!(welfare_groups("事实无人抚养儿童"), vec!["unsupported"]);
        assert_eq!(welfare_groups("特困供养"), vec!["tekun"]);
    }

    /// Every column name issue #10 asks for is found, each as the right field.
    #[test]
    fn every_header_name_of_the_issue_is_accepted() {
        use crate::import::header::map_header;
        for (label, key) in [
            ("姓名", "name"),
            ("家庭成员姓名", "name"),
            ("成员姓名", "name"),
            ("公民身份号码", "id_number"),
            ("身份证号", "id_number"),
            ("身份证号码", "id_number"),
            ("身份证件号码", "id_number"),
            ("证件号码", "id_number"),
            ("成员身份证号码", "id_number"),
            ("出生日期", "birth_date"),
            ("出生年月", "birth_date"),
            ("性别", "sex"),
            ("户主姓名", "head_name"),
            ("与户主关系", "relation"),
            ("乡镇", "township"),
            ("乡镇（街道）", "township"),
            ("所属乡镇", "township"),
            ("村", "village"),
            ("村（居）委会", "village"),
            ("村（社区）", "village"),
            ("行政村", "village"),
            ("户籍地址", "address"),
            ("住址", "address"),
            ("区划代码", "division_code"),
            ("残疾类别", "disability_type"),
            ("残疾类型", "disability_type"),
            ("残疾等级", "disability_grade"),
            ("户类型", "household_type"),
            ("户属性", "household_type"),
            ("监测类型", "household_type"),
            ("救助类别", "welfare_type"),
            ("资助项目", "aid_item"),
        ] {
            let m = map_header(&LIST_SCHEMA, 1, &[label.to_string()], None);
            assert_eq!(m.column_of(&LIST_SCHEMA, key), Some(0), "{label}");
        }
        // Both a head's and a member's ID column: the member's is the child's.
        let cols: Vec<String> = ["户主姓名", "户主身份证号", "成员姓名", "成员身份证号码"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = map_header(&LIST_SCHEMA, 1, &cols, None);
        assert_eq!(m.column_of(&LIST_SCHEMA, "id_number"), Some(3));
        assert_eq!(m.column_of(&LIST_SCHEMA, "head_id_number"), Some(1));
        assert_eq!(m.column_of(&LIST_SCHEMA, "name"), Some(2));
    }
}
