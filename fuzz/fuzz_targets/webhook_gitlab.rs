//! The gitlab webhook receiver on arbitrary deliveries.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    devex_fuzz::deliver(
        "gitlab",
        &[
            "Push Hook",
            "Merge Request Hook",
            "Pipeline Hook",
            "Job Hook",
            "Deployment Hook",
            "Issue Hook",
            "Release Hook",
        ],
        data,
    );
});
