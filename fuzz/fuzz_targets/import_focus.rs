//! `devex import costs FILE`: FOCUS billing exports, CSV or Parquet (the
//! first byte picks the format), read to the end as cost batches.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let extension = if selector & 0x80 == 0 { "csv" } else { "parquet" };
    let Some(path) = devex_fuzz::scratch_file(extension, body) else {
        return;
    };
    let options = ingest::focus::FocusOptions::default();
    let Ok(mut batches) = ingest::focus::CostBatches::open(&path, &options) else {
        return;
    };
    while let Ok(Some(_)) = batches.next_batch() {}
});
