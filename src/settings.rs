//! County settings with their defaults (school-entry cutoff, entry age, warning thresholds …).
//! Stored as key/value rows in the `settings` table; a missing key means the default.

use crate::error::{Error, Result};
use crate::store;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// Every county setting the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// School-entry cutoff as `MM-DD`: a child must have reached the entry age by this day.
    pub entry_cutoff: String,
    /// Age at which compulsory schooling starts (6, some provinces 7).
    pub entry_age: u32,
    /// 疑似辍学 after this many consecutive school days absent without leave.
    pub suspected_absence_days: u32,
    /// 辍学 after this many consecutive school days absent without leave (4 weeks).
    pub dropout_absence_days: u32,
    /// Joint persuasion attempts required before 延缓入学 / 休学 may be approved.
    pub joint_attempts_required: u32,
    /// A bundle stamp this many hours ahead of the local clock holds the bundle.
    pub clock_tolerance_hours: u32,
    /// Weekdays that are not school days, 1 = Monday … 7 = Sunday.
    pub weekend_days: Vec<u32>,
    /// Extra holidays (`YYYY-MM-DD`), not school days.
    pub holidays: Vec<String>,
    /// Make-up school days on a weekend (调休上课日, `YYYY-MM-DD`): school days after all.
    #[serde(default)]
    pub extra_school_days: Vec<String>,
    /// Which 巩固率 formula to use (`cohort`).
    pub retention_rate_variant: String,
    /// How many of the app's daily backups (`<register dir>/backups`) are kept, newest first.
    pub daily_backups_kept: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            entry_cutoff: "08-31".into(),
            entry_age: 6,
            suspected_absence_days: 5,
            dropout_absence_days: 20,
            joint_attempts_required: 3,
            clock_tolerance_hours: 24,
            weekend_days: vec![6, 7],
            holidays: vec![],
            extra_school_days: vec![],
            retention_rate_variant: "cohort".into(),
            daily_backups_kept: 7,
        }
    }
}

impl Settings {
    /// Loads the settings, filling missing keys with defaults.
    pub fn load(conn: &Connection) -> Result<Settings> {
        let mut value = serde_json::to_value(Settings::default())?;
        if let Some(obj) = value.as_object_mut() {
            for (k, v) in store::settings::list(conn)? {
                if obj.contains_key(&k) {
                    let parsed = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                    obj.insert(k, parsed);
                }
            }
        }
        serde_json::from_value(value).map_err(|e| Error::Other(format!("设置值无法读取：{e}")))
    }

    /// Sets one key from its text form, checking it against the type of the setting.
    pub fn set(conn: &Connection, key: &str, raw: &str) -> Result<Settings> {
        let mut value = serde_json::to_value(Settings::load(conn)?)?;
        let obj = value
            .as_object_mut()
            .ok_or_else(|| Error::Other("设置格式错误".into()))?;
        if !obj.contains_key(key) {
            let known: Vec<&String> = obj.keys().collect();
            return Err(Error::invalid(
                "设置项",
                format!("没有名为 {key} 的设置，可用：{known:?}"),
            ));
        }
        let parsed =
            serde_json::from_str(raw).unwrap_or(serde_json::Value::String(raw.to_string()));
        obj.insert(key.to_string(), parsed.clone());
        let checked: Settings = serde_json::from_value(value)
            .map_err(|e| Error::invalid(key, format!("取值“{raw}”不合适：{e}")))?;
        checked.validate()?;
        store::settings::put(conn, key, &parsed.to_string())?;
        Ok(checked)
    }

    fn validate(&self) -> Result<()> {
        let ok =
            chrono::NaiveDate::parse_from_str(&format!("2024-{}", self.entry_cutoff), "%Y-%m-%d")
                .is_ok();
        if !ok {
            return Err(Error::invalid(
                "entry_cutoff",
                "入学截止日应写成 MM-DD，例如 08-31",
            ));
        }
        for (key, days) in [
            ("holidays", &self.holidays),
            ("extra_school_days", &self.extra_school_days),
        ] {
            if let Some(bad) = days
                .iter()
                .find(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
            {
                return Err(Error::invalid(
                    key,
                    format!(
                        "“{bad}”不是有效日期，请写成 [\"2026-10-01\", \"2026-10-02\"] 这样的列表"
                    ),
                ));
            }
        }
        if self.weekend_days.iter().any(|d| !(1..=7).contains(d)) {
            return Err(Error::invalid(
                "weekend_days",
                "休息日用 1（周一）到 7（周日）表示，例如 [6, 7]",
            ));
        }
        if !(5..=8).contains(&self.entry_age) {
            return Err(Error::invalid("entry_age", "入学年龄应在5到8岁之间"));
        }
        if self.suspected_absence_days == 0
            || self.dropout_absence_days < self.suspected_absence_days
        {
            return Err(Error::invalid(
                "dropout_absence_days",
                "辍学天数阈值不能小于疑似辍学阈值",
            ));
        }
        if !(1..=366).contains(&self.daily_backups_kept) {
            return Err(Error::invalid(
                "daily_backups_kept",
                "每日备份保留份数应在1到366之间",
            ));
        }
        Ok(())
    }

    /// The cutoff day of the school year that starts in `year`.
    pub fn cutoff_in(&self, year: i32) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(&format!("{year}-{}", self.entry_cutoff), "%Y-%m-%d")
            .unwrap_or_else(|_| chrono::NaiveDate::from_ymd_opt(year, 8, 31).unwrap_or_default())
    }
}
