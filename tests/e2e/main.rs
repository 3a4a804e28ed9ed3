//! End-to-end tests: they drive the real `devex` binary and its HTTP server.
//! One test binary for the whole suite, so it links once.

mod access;
mod adoption;
mod ai;
mod ballista;
mod cli;
mod cost;
mod crash;
mod demo;
mod devex;
mod dora;
mod fake_github;
mod fake_idp;
mod github;
mod import;
mod login;
mod mcp;
mod mixed;
mod object_store;
mod openapi;
mod portal;
mod prometheus;
mod pulls;
mod serve;
mod sources;
mod support;
mod surveys;
mod unicode;
mod webhooks;
