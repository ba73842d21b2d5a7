//! Read-only queries across tables that the statistics and ledgers need in bulk: every live child
//! with its household's area and groups, every live enrolment, every live case. One pass each.

use crate::error::Result;
use crate::store::record::codes_from_text;
use rusqlite::Connection;

/// A child as the statistics see it.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub child_id: String,
    pub id_key: Option<String>,
    pub id_number: Option<String>,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    /// The child's village code, else its household's.
    pub village_code: Option<String>,
    pub household_id: Option<String>,
    pub head_name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Household priority groups + the child's own flags (+ `disabled`).
    pub groups: Vec<String>,
    pub disability_type: Option<String>,
    pub disability_grade: Option<String>,
    pub life_status: String,
}

pub fn list_people(conn: &Connection) -> Result<Vec<PersonRow>> {
    let mut st = conn.prepare(
        "SELECT c.id, c.id_key, c.id_number, c.name, c.sex, c.birth_date, COALESCE(c.village_code, h.village_code),
                c.household_id, h.head_name, h.phone, COALESCE(h.address, c.residence), COALESCE(h.priority_groups, '[]'),
                c.flags, c.disability_type, c.disability_grade, c.life_status
         FROM children c LEFT JOIN households h ON h.id = c.household_id AND h.deleted = 0
         WHERE c.deleted = 0 ORDER BY c.id",
    )?;
    let rows = st.query_map([], |r| {
        let mut groups = codes_from_text(&r.get::<_, String>(11)?);
        for f in codes_from_text(&r.get::<_, String>(12)?) {
            if !groups.contains(&f) {
                groups.push(f);
            }
        }
        let disability_type: Option<String> = r.get(13)?;
        if disability_type.is_some() && !groups.iter().any(|g| g == "disabled") {
            groups.push("disabled".into());
        }
        Ok(PersonRow {
            child_id: r.get(0)?,
            id_key: r.get(1)?,
            id_number: r.get(2)?,
            name: r.get(3)?,
            sex: r.get(4)?,
            birth_date: r.get(5)?,
            village_code: r.get(6)?,
            household_id: r.get(7)?,
            head_name: r.get(8)?,
            phone: r.get(9)?,
            address: r.get(10)?,
            groups,
            disability_type,
            disability_grade: r.get(14)?,
            life_status: r.get(15)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// An enrolment as the statistics see it.
#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    pub child_id: String,
    pub school_code: String,
    pub grade: Option<i64>,
    pub class_name: Option<String>,
    pub entry_date: Option<String>,
    pub status: String,
    pub status_date: Option<String>,
    pub term: Option<String>,
}

pub fn list_enrolments(conn: &Connection) -> Result<Vec<EnrolmentRow>> {
    let mut st = conn.prepare(
        "SELECT child_id, school_code, grade, class_name, entry_date, status, status_date, term
         FROM enrolments WHERE deleted = 0 ORDER BY child_id, entry_date, id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(EnrolmentRow {
            child_id: r.get(0)?,
            school_code: r.get(1)?,
            grade: r.get(2)?,
            class_name: r.get(3)?,
            entry_date: r.get(4)?,
            status: r.get(5)?,
            status_date: r.get(6)?,
            term: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Names of the county, townships and villages from the division list.
pub fn list_area_names(conn: &Connection) -> Result<std::collections::HashMap<String, String>> {
    Ok(crate::store::divisions::list(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect())
}
