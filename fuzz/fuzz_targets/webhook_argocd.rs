//! The argocd webhook receiver on arbitrary deliveries.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    devex_fuzz::deliver("argocd", &["sync"], data);
});
