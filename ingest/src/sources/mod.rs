//! Where events come from besides files: source-specific parsers that turn a
//! source's payloads into canonical rows. Each source is a module; the
//! GitHub webhook parser is the first ([`github`]). Pull collectors (the
//! `Source` trait of the GitHub collector issue) will live here too.

pub mod github;
