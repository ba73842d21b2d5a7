//! Integration tests of the core and the `baoxue` CLI, built as one test binary.

mod casework;
mod casework_app;
mod casework_attendance;
mod casework_cases;
mod casework_fastpath;
mod casework_rules;
mod foundation;
mod reports;
mod util;

mod import_bulk;
mod import_files;
mod import_pipeline;
mod import_roll;
mod import_roll_people;
mod import_util;
mod jobs;

mod bundle;
mod bundle_bulk;
mod bundle_field;
mod bundle_persons;
mod bundle_property;
mod bundle_support;
mod bundle_waiting;
mod crash;
mod lists;
mod security;
mod security_encryption;
mod security_fuzz;
mod security_limits;
