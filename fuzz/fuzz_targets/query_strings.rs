//! The report parameters as typed in a query string or on the command line:
//! windows, time zones, groupings.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\n');
    let (from, to, tz, group) = (parts.next(), parts.next(), parts.next(), parts.next());
    let _ = analytics::window::Window::parse(from, to, tz, 90);
    let _ = analytics::adoption::AdoptionRequest::parse(
        from,
        to,
        tz,
        group,
        Default::default(),
        Default::default(),
    );
    let _ = analytics::onboarding::OnboardingRequest::parse(
        from,
        to,
        tz,
        group,
        Default::default(),
        Default::default(),
    );
    let _ = analytics::dora::DoraRequest::parse(
        from.unwrap_or(""),
        to.unwrap_or(""),
        tz,
        None,
        None,
        group,
        Default::default(),
    );
});
