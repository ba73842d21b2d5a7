//! Baoxue (保学) core: the register of children of compulsory-school age, and everything the
//! county's 控辍保学 work does with it. See ARCHITECTURE.md for the map.
//!
//! Layers: `domain` (plain types) → `store` (all SQL, a file per table) → `register` (the one
//! write path: transaction + version stamps + audit) → feature modules (`households`, `demo`,
//! `snapshot` …). The CLI (`src/main.rs`, `src/cli/`) and the Tauri shell call the feature modules.

pub mod attendance;
pub mod backup;
pub mod bundle;
pub mod cases;
pub mod childfile;
pub mod codes;
pub mod crosscheck;
pub mod demo;
pub mod domain;
pub mod encryption;
pub mod error;
pub mod export;
pub mod hlc;
pub mod households;
pub mod idnum;
pub mod import;
pub mod ledger;
pub mod limits;
pub mod listexport;
pub mod lists;
pub mod notices;
pub mod operators;
pub mod paths;
pub mod persons;
pub mod progress;
pub mod register;
pub mod reveal;
pub mod roster;
pub mod schools;
pub mod search;
pub mod settings;
pub mod snapshot;
pub mod stats;
pub mod store;
pub mod trace;
pub mod verification;
pub mod worklists;

pub use error::{Error, Result};
pub use register::{Actor, Register};
