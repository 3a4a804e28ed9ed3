//! Errors of the ingest crate.
//!
//! Variants split user mistakes (bad input files, unknown tables, a lake folder
//! that cannot be written) from faults (I/O, corrupt files) and bugs (internal).
//! Each user-facing message says what to do next.

use std::path::PathBuf;

/// One invalid value in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file (for CSV, the line where the record starts).
    pub line: u64,
    /// The canonical column name, or `-` when the whole row is at fault.
    pub field: String,
    /// What is wrong, quoting the offending value.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown table '{name}'; the canonical tables are: {known}")]
    UnknownTable { name: String, known: String },

    #[error("{}", format_invalid_rows(file, errors, *more))]
    InvalidRows {
        file: String,
        errors: Vec<RowError>,
        /// Errors found beyond the ones listed.
        more: usize,
    },

    #[error("{file}: {message}")]
    InvalidFile { file: String, message: String },

    #[error("cannot read {}: {source}", path.display())]
    ReadInput {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A lake given as a URL whose scheme devex cannot store in: refused,
    /// rather than made a local folder named after the scheme.
    #[error("--lake {lake}: lakes on `{scheme}://` are not supported; give a local folder (e.g. --lake ./devex-lake) or an s3://, gs:// or az:// URL")]
    UnsupportedLake { lake: String, scheme: String },

    /// `devex compact` on a lake in an object store.
    #[error("{lake} is in an object store, where devex does not compact yet: its small files stay (queries read them all); compact a local copy instead")]
    CompactionUnsupported { lake: String },

    #[error("{}", not_writable_message(path, source))]
    LakeNotWritable {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The lake could not be written by a shared writer (the group commit),
    /// which tells many callers of one failure.
    #[error("{message}")]
    LakeUnavailable { message: String },

    #[error("lake file {path} is corrupt ({message}); move it out of the lake folder and re-import or re-sync its source, the rest of the lake is intact")]
    CorruptFile { path: String, message: String },

    #[error("lake storage error at {path}: {source} (for a lake in an object store, check the bucket, the credentials, and AWS_ENDPOINT_URL / AWS_ALLOW_HTTP for a local S3 server)")]
    Storage {
        path: String,
        source: object_store::Error,
    },

    #[error("lake I/O error at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    #[error("parquet error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    #[error("unknown source '{name}'; the sources are: {known}")]
    UnknownSource { name: String, known: String },

    /// The source refused our credentials or their scope; the message says
    /// which token to make and where to put it.
    #[error("{message}")]
    SourceAuth { message: String },

    /// A configuration value of a source is missing or wrong.
    #[error("{message}")]
    SourceConfig { message: String },

    /// The source could not be reached or kept failing after retries.
    #[error("{url}: {message}")]
    SourceRequest { url: String, message: String },

    /// The source answered with something we cannot read.
    #[error("{url}: {message}; this looks like a change in the source's API, please report it")]
    SourcePayload { url: String, message: String },

    #[error("internal error: {0}; this is a bug in devex, please report it")]
    Internal(String),
}

impl Error {
    /// True when the user can fix the cause (bad input or configuration), as
    /// opposed to a fault of the machine or a bug.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::UnknownTable { .. }
                | Error::InvalidRows { .. }
                | Error::InvalidFile { .. }
                | Error::ReadInput { .. }
                | Error::LakeNotWritable { .. }
                | Error::UnsupportedLake { .. }
                | Error::CompactionUnsupported { .. }
                | Error::LakeUnavailable { .. }
                | Error::UnknownSource { .. }
                | Error::SourceAuth { .. }
                | Error::SourceConfig { .. }
        )
    }
}

fn format_invalid_rows(file: &str, errors: &[RowError], more: usize) -> String {
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{file}:{}: {}: {}", e.line, e.field, e.message));
    }
    if more > 0 {
        out.push_str(&format!("\n... and {more} more invalid values"));
    }
    out.push_str(&format!(
        "\n{file} was rejected and nothing from it was stored; fix the rows above and run the import again"
    ));
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A full disk is waited out; a folder that cannot be written is the
/// operator's to fix.
fn not_writable_message(path: &std::path::Path, source: &std::io::Error) -> String {
    if crate::lake::is_storage_full(source) {
        format!(
            "lake folder {} is full: {source}; free space (or raise the quota) and devex goes on by itself; nothing already stored is lost",
            path.display()
        )
    } else {
        format!(
            "lake folder {} is not writable: {source}; choose another --lake or fix its permissions",
            path.display()
        )
    }
}
