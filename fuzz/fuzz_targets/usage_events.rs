//! `POST /api/v1/events/usage` bodies.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ingest::usage::parse(&json, &ingest::identity::Pseudonymizer::new(b"fuzz"));
    }
});
