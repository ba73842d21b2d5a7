//! The register's schema as an append-only list of migrations, keyed by `PRAGMA user_version`.
//! Never edit a shipped migration: add a new one at the end.

/// Columns every travelling record carries (see ARCHITECTURE.md, "Records that travel").
macro_rules! meta_columns {
    () => {
        "id TEXT PRIMARY KEY NOT NULL,
         origin_site TEXT NOT NULL,
         version TEXT NOT NULL,
         prev_version TEXT,
         edits INTEGER NOT NULL DEFAULT 1,
         updated_at TEXT NOT NULL,
         deleted INTEGER NOT NULL DEFAULT 0"
    };
}

/// Migration N (1-based) brings the register from user_version N-1 to N.
pub const MIGRATIONS: &[&str] = &[
    // 1: the foundation tables.
    concat!(
        "CREATE TABLE site (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('county','township','village','school')),
            name TEXT NOT NULL,
            region_code TEXT NOT NULL,
            school_code TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
        CREATE TABLE clock (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            last_ms INTEGER NOT NULL,
            counter INTEGER NOT NULL
        );
        CREATE TABLE schools (",
        meta_columns!(),
        ",
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('primary','junior','nine-year','special')),
            township_code TEXT
        );
        CREATE INDEX schools_code ON schools(code);
        CREATE TABLE households (",
        meta_columns!(),
        ",
            head_name TEXT NOT NULL,
            head_id_number TEXT,
            phone TEXT,
            address TEXT,
            village_code TEXT NOT NULL,
            priority_groups TEXT NOT NULL DEFAULT '[]',
            note TEXT
        );
        CREATE INDEX households_village ON households(village_code);
        CREATE TABLE children (",
        meta_columns!(),
        ",
            household_id TEXT REFERENCES households(id) DEFERRABLE INITIALLY DEFERRED,
            name TEXT NOT NULL,
            sex TEXT,
            birth_date TEXT,
            id_number TEXT,
            id_key TEXT,
            student_no TEXT,
            village_code TEXT,
            hukou_place TEXT,
            residence TEXT,
            flags TEXT NOT NULL DEFAULT '[]',
            disability_type TEXT,
            disability_grade TEXT,
            life_status TEXT NOT NULL DEFAULT 'normal',
            life_status_detail TEXT,
            note TEXT
        );
        CREATE INDEX children_id_key ON children(id_key);
        CREATE INDEX children_household ON children(household_id);
        CREATE INDEX children_student_no ON children(student_no);
        CREATE INDEX children_village ON children(village_code);
        CREATE TABLE guardians (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL REFERENCES children(id) DEFERRABLE INITIALLY DEFERRED,
            name TEXT NOT NULL,
            relation TEXT,
            phone TEXT
        );
        CREATE INDEX guardians_child ON guardians(child_id);
        CREATE TABLE enrolments (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL REFERENCES children(id) DEFERRABLE INITIALLY DEFERRED,
            school_code TEXT NOT NULL,
            student_no TEXT,
            grade INTEGER,
            class_name TEXT,
            entry_date TEXT,
            status TEXT NOT NULL DEFAULT 'studying',
            status_date TEXT,
            term TEXT,
            note TEXT
        );
        CREATE INDEX enrolments_child ON enrolments(child_id);
        CREATE INDEX enrolments_school ON enrolments(school_code, status);
        CREATE TABLE attendance (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL REFERENCES children(id) DEFERRABLE INITIALLY DEFERRED,
            school_code TEXT NOT NULL,
            date TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('present','absent','leave')),
            note TEXT
        );
        CREATE INDEX attendance_child_date ON attendance(child_id, date);
        CREATE TABLE cases (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL REFERENCES children(id) DEFERRABLE INITIALLY DEFERRED,
            state TEXT NOT NULL,
            reason_code TEXT,
            priority_groups TEXT NOT NULL DEFAULT '[]',
            resp_school TEXT,
            resp_township TEXT,
            resp_village TEXT,
            plan TEXT,
            opened_on TEXT NOT NULL,
            closed_on TEXT
        );
        CREATE INDEX cases_child ON cases(child_id);
        CREATE TABLE case_events (",
        meta_columns!(),
        ",
            case_id TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
            on_date TEXT NOT NULL,
            kind TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT,
            payload TEXT NOT NULL DEFAULT '{}',
            operator TEXT NOT NULL
        );
        CREATE INDEX case_events_case ON case_events(case_id);
        CREATE TABLE verification_tasks (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL REFERENCES children(id) DEFERRABLE INITIALLY DEFERRED,
            area_code TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            finding TEXT,
            finding_detail TEXT,
            found_on TEXT,
            found_by TEXT
        );
        CREATE INDEX verification_tasks_child ON verification_tasks(child_id);
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            operator TEXT NOT NULL,
            site_id TEXT NOT NULL,
            table_name TEXT NOT NULL,
            record_id TEXT NOT NULL,
            action TEXT NOT NULL,
            fields TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );"
    ),
    // 2 (import): which children each roll-sheet import contained, so the next sheet of the same
    // school can list the pupils missing from it. Local bookkeeping: these rows never travel.
    "CREATE TABLE roll_import_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        school_code TEXT NOT NULL,
        term TEXT NOT NULL,
        file_name TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        rows INTEGER NOT NULL
    );
    CREATE INDEX roll_import_runs_school ON roll_import_runs(school_code, id);
    CREATE TABLE roll_import_children (
        run_id INTEGER NOT NULL REFERENCES roll_import_runs(id),
        child_id TEXT NOT NULL,
        PRIMARY KEY (run_id, child_id)
    ) WITHOUT ROWID;",
    // 3: the county's division list (code → name), local reference data.
    "CREATE TABLE divisions (
        code TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('county','township','village'))
    );
    CREATE INDEX divisions_name ON divisions(name);",
    // 4 (bundles, src/bundle/): this site's keys, the sites it trusts, the bundle chains sent and
    // received, acknowledgements, per-record version vectors and conflict heads. All local
    // bookkeeping: none of these tables travel, none is in the snapshot.
    "CREATE TABLE site_keys (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        sign_secret TEXT NOT NULL,
        age_identity TEXT NOT NULL,
        sign_public TEXT NOT NULL,
        age_recipient TEXT NOT NULL,
        epoch TEXT NOT NULL,
        restored TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE trusted_sites (
        site_id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        region_code TEXT NOT NULL,
        school_code TEXT,
        sign_public TEXT NOT NULL,
        age_recipient TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        card TEXT NOT NULL,
        trusted_at TEXT NOT NULL,
        trusted_by TEXT NOT NULL,
        frozen TEXT
    );
    CREATE TABLE bundles_sent (
        bundle_id TEXT PRIMARY KEY NOT NULL,
        to_site TEXT NOT NULL,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        own_to TEXT,
        records INTEGER NOT NULL
    );
    CREATE INDEX bundles_sent_to ON bundles_sent(to_site, epoch, seq);
    CREATE TABLE bundles_received (
        hash TEXT PRIMARY KEY NOT NULL,
        bundle_id TEXT NOT NULL,
        from_site TEXT NOT NULL,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL,
        prev_hash TEXT,
        created_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        received_by TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        manifest TEXT NOT NULL,
        file BLOB,
        applied INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX bundles_received_chain ON bundles_received(from_site, epoch, seq);
    CREATE INDEX bundles_received_id ON bundles_received(bundle_id);
    CREATE TABLE bundle_acks (
        peer_site TEXT PRIMARY KEY NOT NULL,
        own_to TEXT NOT NULL,
        bundle_id TEXT NOT NULL
    );
    CREATE TABLE record_base (
        id TEXT PRIMARY KEY NOT NULL,
        version TEXT NOT NULL,
        vv TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE record_heads (
        id TEXT NOT NULL,
        version TEXT NOT NULL,
        tbl TEXT NOT NULL,
        vv TEXT NOT NULL,
        row TEXT NOT NULL,
        PRIMARY KEY (id, version)
    ) WITHOUT ROWID;
    CREATE TABLE conflict_decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tbl TEXT NOT NULL,
        record_id TEXT NOT NULL,
        kept_version TEXT NOT NULL,
        new_version TEXT NOT NULL,
        dropped TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE bundle_decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        subject TEXT NOT NULL,
        action TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        reason TEXT NOT NULL
    );",
    // 5 (security): operators (name + optional hashed PIN) and the restores this register came
    // from. Local bookkeeping: these rows never travel.
    "CREATE TABLE operators (
        name TEXT PRIMARY KEY NOT NULL,
        pin_hash TEXT,
        created_at TEXT NOT NULL,
        disabled_at TEXT
    );
    CREATE TABLE restores (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        restored_at TEXT NOT NULL,
        backup_created_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        source_file TEXT NOT NULL,
        announced_at TEXT
    );",
    // 6 (department lists): dated versions of the departments' lists (公安户籍, 残联, 乡村振兴, 民政,
    // 资助) and their rows. County-local reference data: never travels in bundles.
    "CREATE TABLE list_versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('hukou','disabled','poverty','welfare','aid')),
        source TEXT NOT NULL,
        as_of TEXT NOT NULL,
        file_name TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        rows_read INTEGER NOT NULL DEFAULT 0,
        rows_kept INTEGER NOT NULL DEFAULT 0,
        rows_out_of_age INTEGER NOT NULL DEFAULT 0,
        rows_refused INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, source, as_of)
    );
    CREATE TABLE list_rows (
        version_id INTEGER NOT NULL REFERENCES list_versions(id),
        row INTEGER NOT NULL,
        id_key TEXT,
        name TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        sex TEXT,
        head_name TEXT,
        relation TEXT,
        township TEXT,
        township_code TEXT,
        village TEXT,
        village_code TEXT,
        address TEXT,
        category TEXT,
        disability_grade TEXT,
        groups TEXT NOT NULL DEFAULT '[]',
        term TEXT,
        school TEXT,
        PRIMARY KEY (version_id, row)
    );
    CREATE INDEX list_rows_key ON list_rows(id_key);
    CREATE INDEX list_rows_birth ON list_rows(version_id, birth_date);",
    // 7 (case work): placements (安置: 送教上门, 随班就读 … for disabled children and returned pupils),
    // and indexes for the cross-check, attendance and verification lists.
    concat!(
        "CREATE TABLE placements (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL REFERENCES children(id) DEFERRABLE INITIALLY DEFERRED,
            placement TEXT NOT NULL,
            school_code TEXT,
            since TEXT NOT NULL,
            until TEXT,
            note TEXT
        );
        CREATE INDEX placements_child ON placements(child_id);
        CREATE INDEX attendance_school_date ON attendance(school_code, date);
        CREATE INDEX verification_tasks_area ON verification_tasks(area_code, state);
        CREATE INDEX children_name_birth ON children(name, birth_date);
        CREATE INDEX children_id_cover ON children(id, id_key, deleted);
        CREATE INDEX children_roster ON children(household_id, birth_date, id_key, id, deleted)
            WHERE household_id IS NOT NULL;"
    ),
    // 8 (department lists): a covering index for the cross-check's window query (version, birth
    // date → ID), replacing the narrower one.
    "DROP INDEX list_rows_birth;
    CREATE INDEX list_rows_window ON list_rows(version_id, birth_date, id_key);",
    // 9 (import): what a roll-sheet import did to each child on it (`insert`, `update`, or empty),
    // so that one audit row per import run, naming the run, can stand for its records.
    "ALTER TABLE roll_import_children ADD COLUMN change TEXT NOT NULL DEFAULT '';",
    // 10 (case work): covering indexes for the cross-check's scans, which join in memory instead
    // of by one index search per row: the 在读 enrolments' child ids; the school's own pupil
    // records (children outside any household) by id; the roster children by birth date (a range
    // for the school-age window); a household's village and groups by id. They replace the two
    // wider indexes of migration 7.
    "CREATE INDEX enrolments_studying ON enrolments(status, deleted, child_id);
    CREATE INDEX children_roll ON children(id, id_key, deleted) WHERE household_id IS NULL;
    CREATE INDEX children_roster_birth ON children(birth_date, id_key, id, deleted)
        WHERE household_id IS NOT NULL;
    CREATE INDEX households_cover ON households(id, village_code, priority_groups, deleted);
    DROP INDEX children_id_cover;
    DROP INDEX children_roster;",
    // 11 (case work): rejected probable matches of the cross-check (`baoxue crosscheck reject`):
    // the pair is never proposed again. Local bookkeeping: never travels.
    "CREATE TABLE match_rejections (
        child_id TEXT NOT NULL,
        pupil_id TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (child_id, pupil_id)
    );",
    // 12 (bundles in the field, src/bundle/): person links, a travelling table (a person's decision
    // that two child records are, or are not, the same child; its id is derived from the pair, so
    // two sites deciding on one pair make two versions of one record, never a key clash); and the
    // records received but not applied because their base version is missing behind a gap in
    // their bundle's chain (local bookkeeping, never travels, not in the snapshot).
    concat!(
        "CREATE TABLE person_links (",
        meta_columns!(),
        ",
            child_id TEXT NOT NULL,
            other_child_id TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('same','different')),
            reason TEXT NOT NULL,
            decided_by TEXT NOT NULL
        );
        CREATE INDEX person_links_child ON person_links(child_id);
        CREATE INDEX person_links_other ON person_links(other_child_id);
        CREATE TABLE waiting_records (
            id TEXT NOT NULL,
            version TEXT NOT NULL,
            tbl TEXT NOT NULL,
            base_version TEXT NOT NULL,
            vv TEXT,
            row TEXT NOT NULL,
            bundle_hash TEXT NOT NULL,
            bundle_id TEXT NOT NULL,
            from_site TEXT NOT NULL,
            epoch TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (id, version, bundle_hash)
        ) WITHOUT ROWID;"
    ),
    // 13 (speed, session 3): fewer B-trees per child written. Every query in
    // src/store/ was checked against these:
    // - `children_village`: no query filters or orders children by their own village code
    //   (the cross-check, statistics and ledgers read it from a full scan or by id): dropped.
    // - `children_household`: partial (roll pupils have no household, so a roll-sheet import no
    //   longer writes it); `household_id = ?` implies the index's condition, so every look-up
    //   by household (a household's children, the roster import's household + name + birth
    //   date) still uses it.
    // - `children_student_no`: partial (roster children mostly have no 学籍号).
    // - `children_id_key` stays whole: the cross-check reads the children without an ID
    //   through it (`id_key IS NULL`).
    // The enrolment indexes stay: folding `enrolments_school` into `enrolments_studying`
    // (status, deleted, school_code, child_id) would cost the cross-check its look-up of a
    // child's 在读 enrolment by (status, deleted, child_id).
    "DROP INDEX children_village;
    DROP INDEX children_household;
    CREATE INDEX children_household ON children(household_id) WHERE household_id IS NOT NULL;
    DROP INDEX children_student_no;
    CREATE INDEX children_student_no ON children(student_no) WHERE student_no IS NOT NULL;",
    // 14 (import): household-roster import runs and the records each inserted or updated, so
    // that one audit row per run (with a digest of this list) stands for its records, as
    // migration 9 did for roll sheets. Local bookkeeping: never travels.
    "CREATE TABLE roster_import_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_name TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        rows INTEGER NOT NULL
    );
    CREATE TABLE roster_import_records (
        run_id INTEGER NOT NULL REFERENCES roster_import_runs(id),
        table_name TEXT NOT NULL,
        record_id TEXT NOT NULL,
        change TEXT NOT NULL,
        PRIMARY KEY (run_id, table_name, record_id)
    ) WITHOUT ROWID;",
    // 15 (app): the search index's key (`search::CachedIndex`). A new child raises the children
    // table's greatest rowid (children are never deleted, only tombstoned); an edit of a field
    // the search reads, or a delete, bumps this counter. So a write to any other table (an
    // attendance mark, a case note, an audit row) no longer costs the next keystroke a rebuild,
    // and a first import of new children pays nothing (no trigger runs on INSERT).
    "CREATE TABLE search_generation (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        n INTEGER NOT NULL
    );
    INSERT INTO search_generation VALUES (1, 0);
    CREATE TRIGGER children_search_edit
        AFTER UPDATE OF name, id_number, student_no, birth_date, village_code, household_id, deleted
        ON children
    BEGIN
        UPDATE search_generation SET n = n + 1 WHERE singleton = 1;
    END;
    CREATE TRIGGER children_search_delete AFTER DELETE ON children
    BEGIN
        UPDATE search_generation SET n = n + 1 WHERE singleton = 1;
    END;",
    // 16 (case work): the households that have priority groups, by id (a partial covering
    // index: only those households, about one in ten, are written to it). The cross-check reads
    // it once instead of joining every fetched roster child to its household; a household's
    // village is looked up only for a child that has none of its own.
    "CREATE INDEX households_groups ON households(id, priority_groups)
        WHERE priority_groups != '[]';",
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
