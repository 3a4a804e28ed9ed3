//! Backstage `catalog-info.yaml` files.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ingest::sources::backstage::entities::parse(text, "fuzz.yaml");
    }
});
