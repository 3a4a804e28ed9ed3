//! The github webhook receiver on arbitrary deliveries.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    devex_fuzz::deliver(
        "github",
        &[
            "push",
            "pull_request",
            "pull_request_review",
            "workflow_run",
            "workflow_job",
            "deployment",
            "deployment_status",
            "release",
            "issues",
            "ping",
        ],
        data,
    );
});
