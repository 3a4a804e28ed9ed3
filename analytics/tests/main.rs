//! The analytics crate's integration tests, one binary: golden `.slt` files
//! with hand-computed expectations, and an independent plain-Rust check of the
//! DORA numbers on a generated scenario, and properties of the metrics over
//! generated inputs.

mod golden;
mod independent;
mod properties;
