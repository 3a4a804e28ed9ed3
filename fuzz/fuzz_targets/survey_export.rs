//! `devex survey import`: Google Forms, Typeform, Qualtrics and Microsoft
//! Forms exports, CSV or XLSX (the first byte picks the format), read and
//! checked against the built-in DevEx survey.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use surveys::definition::SurveyDefinition;
use surveys::import::{read_export, Identities, Mapping};

fn definition() -> &'static SurveyDefinition {
    static DEFINITION: OnceLock<SurveyDefinition> = OnceLock::new();
    DEFINITION.get_or_init(|| SurveyDefinition::devex_quarterly().expect("the built-in survey"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let extension = if selector & 0x80 == 0 { "csv" } else { "xlsx" };
    let Some(path) = devex_fuzz::scratch_file(extension, body) else {
        return;
    };
    let developers = ingest::identity::Pseudonymizer::new(b"developers");
    let identities = Identities {
        respondents: ingest::identity::Pseudonymizer::new(b"respondents"),
        developers: &developers,
        teams: HashMap::new(),
    };
    let _ = read_export(
        definition(),
        "fuzz-wave",
        &path,
        &Mapping::default(),
        &identities,
    );
});
