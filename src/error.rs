//! The library's error type. Every variant says in Chinese what went wrong and what to do, and
//! carries a stable `code()` the UI maps to its own text. Row-level problems of an import are
//! not errors: they are returned in the import report.

use crate::idnum::IdError;

/// An error at the library boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("数据库错误：{0}")]
    Db(#[from] rusqlite::Error),
    #[error("文件读写失败（{path}）：{source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("此登记库由较新版本的保学创建（库版本 {found}，本程序支持到 {supported}），请升级保学后再打开")]
    NewerRegister { found: i64, supported: i64 },
    #[error("登记库尚未设置本单位，请先运行 `baoxue init` 或在程序中完成单位设置")]
    NotInitialised,
    #[error("登记库已设置过本单位（{0}），不能重复初始化")]
    AlreadyInitialised(String),
    #[error("{field}：{message}")]
    Invalid { field: String, message: String },
    #[error("身份证号无效：{0}")]
    Id(#[from] IdError),
    #[error("未找到{what}：{key}")]
    NotFound { what: String, key: String },
    #[error("数据格式错误：{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Other(String),
    #[error("{0}")]
    File(#[from] crate::import::FileError),
    /// A bundle, key card or trust problem; `code` is stable (see `bundle::codes`).
    #[error("{message}")]
    Bundle { code: &'static str, message: String },
    #[error("{0}")]
    Backup(#[from] crate::backup::BackupError),
    #[error("{0}")]
    Operator(#[from] crate::operators::OperatorError),
    #[error("{0}")]
    Passphrase(#[from] crate::encryption::PassphraseError),
}

impl Error {
    /// A stable code for the UI and scripts (never matched on message text).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Db(_) => "db",
            Error::Io { .. } => "io",
            Error::NewerRegister { .. } => "newer_register",
            Error::NotInitialised => "not_initialised",
            Error::AlreadyInitialised(_) => "already_initialised",
            Error::Invalid { .. } => "invalid",
            Error::Id(e) => e.code(),
            Error::NotFound { .. } => "not_found",
            Error::Json(_) => "json",
            Error::Other(_) => "other",
            Error::File(e) => e.code(),
            Error::Bundle { code, .. } => code,
            Error::Backup(e) => e.code(),
            Error::Operator(e) => e.code(),
            Error::Passphrase(e) => e.code(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
