//! `devex import TABLE FILE` on arbitrary JSON Lines and CSV files of any
//! canonical table (the first byte picks the table and the format).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let tables = ingest::schema::TABLES;
    let table = tables[*selector as usize % tables.len()];
    let extension = if selector & 0x80 == 0 { "jsonl" } else { "csv" };
    let Some(path) = devex_fuzz::scratch_file(extension, body) else {
        return;
    };
    let _ = ingest::import::parse_file(
        table,
        &path,
        None,
        &ingest::identity::Pseudonymizer::new(b"fuzz"),
        &ingest::progress::NoProgress,
    );
});
