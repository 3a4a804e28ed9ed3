//! The analytics crate's integration tests, one binary: golden `.slt` files
//! with hand-computed expectations, and an independent plain-Rust check of the
//! DORA numbers on a generated scenario.

mod golden;
mod independent;
