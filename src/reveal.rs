//! Showing one masked number in full: the screens show ID and phone numbers masked, and a click
//! reveals one of them for one person. Every reveal writes an audit row first — who (the
//! operator), when, which record (child or household id) and which field — never the value.
//! A county can list them with `baoxue audit list --action reveal`.

use crate::error::{Error, Result};
use crate::register::{Actor, Register};
use crate::store;

/// The audit action of a reveal.
pub const ACTION: &str = "reveal";

/// A number the screens mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A child's ID number (`children.id_number`).
    ChildIdNumber,
    /// The household head's ID number (`households.head_id_number`).
    HeadIdNumber,
    /// The household's phone number (`households.phone`).
    HouseholdPhone,
}

impl Field {
    /// From the UI's name: `child.id_number`, `household.head_id_number`, `household.phone`.
    pub fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "child.id_number" => Field::ChildIdNumber,
            "household.head_id_number" => Field::HeadIdNumber,
            "household.phone" => Field::HouseholdPhone,
            _ => return None,
        })
    }

    /// The table and column named in the audit row.
    pub fn table_column(self) -> (&'static str, &'static str) {
        match self {
            Field::ChildIdNumber => ("children", "id_number"),
            Field::HeadIdNumber => ("households", "head_id_number"),
            Field::HouseholdPhone => ("households", "phone"),
        }
    }
}

/// The full value of `field` of the record `record_id`, after an audit row (`reveal`, the field's
/// name) is committed: no audit row, no value. `None` (and no audit row) when the record has no
/// such number. A record that does not exist (or was deleted) is `not_found`.
pub fn reveal(
    reg: &mut Register,
    record_id: &str,
    field: Field,
    actor: &Actor,
) -> Result<Option<String>> {
    let not_found = |what: &str| Error::NotFound {
        what: what.into(),
        key: record_id.into(),
    };
    let value = match field {
        Field::ChildIdNumber => {
            store::children::get(reg.conn(), record_id)?
                .filter(|c| !c.meta.deleted)
                .ok_or_else(|| not_found("儿童"))?
                .id_number
        }
        Field::HeadIdNumber | Field::HouseholdPhone => {
            let h = store::households::get(reg.conn(), record_id)?
                .filter(|h| !h.meta.deleted)
                .ok_or_else(|| not_found("户"))?;
            if field == Field::HeadIdNumber {
                h.head_id_number
            } else {
                h.phone
            }
        }
    };
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let (table, column) = field.table_column();
    let mut w = reg.writer(actor)?;
    w.audit(table, record_id, ACTION, &[column])?;
    w.commit()?;
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::households::{add_household, NewChild, NewHousehold};
    use crate::register::NewSite;

    #[test]
    fn a_reveal_is_audited_without_its_value() {
        let mut reg = Register::open_in_memory().unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let actor = Actor::new("李文书", now);
        reg.init_site(
            NewSite {
                kind: crate::domain::SiteKind::Village,
                name: "张庄村".into(),
                region_code: "410423100201".into(),
                school_code: None,
            },
            &actor,
        )
        .unwrap();
        let view = add_household(
            &mut reg,
            NewHousehold {
                head_name: "王建军".into(),
                phone: Some("13812345678".into()),
                village_code: "410423100201".into(),
                children: vec![
                    NewChild {
                        name: "王小雨".into(),
                        id_number: Some("410423201706151235".into()),
                        ..Default::default()
                    },
                    NewChild {
                        name: "王小雪".into(),
                        birth_date: Some("2019-01-02".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            &actor,
        )
        .unwrap();
        let child = view.children[0].child.meta.id.clone();
        let no_id = view.children[1].child.meta.id.clone();
        let household = view.household.meta.id.clone();
        let before = store::audit::count(reg.conn()).unwrap();

        let id = reveal(&mut reg, &child, Field::ChildIdNumber, &actor).unwrap();
        assert_eq!(id.as_deref(), Some("410423201706151235"));
        let phone = reveal(&mut reg, &household, Field::HouseholdPhone, &actor).unwrap();
        assert_eq!(phone.as_deref(), Some("13812345678"));
        // Nothing to reveal: no value, no audit row.
        assert_eq!(
            reveal(&mut reg, &no_id, Field::ChildIdNumber, &actor).unwrap(),
            None
        );
        assert_eq!(
            reveal(&mut reg, "no-such-child", Field::ChildIdNumber, &actor)
                .unwrap_err()
                .code(),
            "not_found"
        );
        assert_eq!(store::audit::count(reg.conn()).unwrap(), before + 2);

        let rows = store::audit::list_recent(reg.conn(), Some(ACTION), 10).unwrap();
        assert_eq!(rows.len(), 2);
        let r = rows.iter().find(|r| r.record_id == child).unwrap();
        assert_eq!(
            (
                r.operator.as_str(),
                r.table_name.as_str(),
                r.fields.as_str()
            ),
            ("李文书", "children", "[\"id_number\"]")
        );
        assert!(r.at.starts_with("2026-11-23T08:00:00"), "{}", r.at);
        for r in &rows {
            let text = serde_json::to_string(r).unwrap();
            assert!(!text.contains("410423201706151235") && !text.contains("13812345678"));
        }
        assert_eq!(store::audit::verify(reg.conn()).unwrap(), None);
        assert_eq!(Field::parse("household.phone"), Some(Field::HouseholdPhone));
        assert_eq!(Field::parse("phone"), None);
    }
}
