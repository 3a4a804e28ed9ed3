//! The cdevents webhook receiver on arbitrary deliveries.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    devex_fuzz::deliver(
        "cdevents",
        &[
            "dev.cdevents.service.deployed.0.3.0",
            "dev.cdevents.pipelinerun.finished.0.2.0",
            "dev.cdevents.incident.detected.0.2.0",
            "dev.cdevents.change.merged.0.2.0",
        ],
        data,
    );
});
