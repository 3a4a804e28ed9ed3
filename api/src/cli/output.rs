//! Standard output of the commands: every answer ends with one newline, and
//! a reader that goes away (`devex report dora --deployments | head`) ends
//! the command quietly, with exit code 0, rather than a panic.

use std::io::Write;

use crate::error::{Error, Result};

/// Prints `text` and a newline (trailing whitespace trimmed).
pub fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.trim_end().as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => Ok(()),
        // The reader has what it wanted; nothing is wrong.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(source) => Err(Error::Io {
            context: "cannot write to standard output".into(),
            source,
        }),
    }
}

/// The exit code of a failed command: 2 for a usage or configuration
/// mistake (a bad flag value, an unknown name, a bad query), 1 for the rest.
pub fn exit_code(error: &Error) -> u8 {
    const USAGE: &[&str] = &[
        "invalid_configuration",
        "invalid_parameter",
        "invalid_query_string",
        "invalid_query",
        "not_read_only",
        "not_found",
        "unknown_table",
        "unknown_source",
        "unknown_team",
        "unknown_service",
        "unknown_repository",
        "unknown_survey",
        "unknown_deployment",
        "source_config",
        "group_below_minimum_size",
        "unsupported_lake",
    ];
    if USAGE.contains(&error.code()) {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_mistakes_exit_2_and_failures_1() {
        assert_eq!(exit_code(&Error::Config("x".into())), 2);
        assert_eq!(exit_code(&Error::invalid_parameter("from", "bad")), 2);
        assert_eq!(
            exit_code(&analytics::Error::invalid_parameter("tz", "bad").into()),
            2
        );
        assert_eq!(
            exit_code(
                &ingest::Error::UnknownTable {
                    name: "x".into(),
                    known: "y".into()
                }
                .into()
            ),
            2
        );
        assert_eq!(exit_code(&Error::Internal("x".into())), 1);
        assert_eq!(
            exit_code(&Error::Io {
                context: "c".into(),
                source: std::io::Error::other("disk")
            }),
            1
        );
    }
}
