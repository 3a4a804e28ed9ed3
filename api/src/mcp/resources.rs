//! The resources: every metric definition (the header of its SQL file, with
//! its source), the DORA performance levels in use and the survey template,
//! so an assistant can quote the definition behind a number.

use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use rmcp::ErrorData as McpError;

use crate::config::Config;

const DEFINITIONS: &str = "devex://definitions/";
const LEVELS: &str = "devex://dora/levels";
const SURVEY_TEMPLATE: &str = "devex://surveys/template";

pub fn list(config: &Config) -> Vec<Resource> {
    let mut resources: Vec<Resource> = analytics::definitions::definitions()
        .into_iter()
        .map(|d| {
            Resource::new(format!("{DEFINITIONS}{}", d.name), d.name)
                .with_title(format!("{}: {}", d.area, d.name))
                .with_description(d.summary)
                .with_mime_type("text/markdown")
        })
        .collect();
    resources.push(
        Resource::new(LEVELS, "dora_levels")
            .with_title("DORA performance levels")
            .with_description(format!(
                "The bands that grade each DORA key elite, high, medium or low ({} report by default), with the published cluster values they come from.",
                config.dora.levels_year
            ))
            .with_mime_type("application/toml"),
    );
    resources.push(
        Resource::new(SURVEY_TEMPLATE, "survey_template")
            .with_title("Developer survey template")
            .with_description(
                "The survey's questions, their scales and dimensions: what survey_results reports on.",
            )
            .with_mime_type("application/toml"),
    );
    resources
}

pub fn read(config: &Config, uri: &str) -> Result<ReadResourceResult, McpError> {
    let text = if let Some(name) = uri.strip_prefix(DEFINITIONS) {
        analytics::definitions::definitions()
            .into_iter()
            .find(|d| d.name == name)
            .map(|d| format!("# {}: {}\n\n{}\n", d.area, d.name, d.text))
            .ok_or_else(|| not_found(uri))?
    } else if uri == LEVELS {
        analytics::dora::levels::levels_file_text(config.dora.levels_file.as_deref())
            .map(|(_, text)| text)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?
    } else if uri == SURVEY_TEMPLATE {
        match &config.surveys.definition {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                McpError::internal_error(
                    format!("cannot read the survey definition {}: {e}", path.display()),
                    None,
                )
            })?,
            None => surveys::definition::DEVEX_QUARTERLY.to_string(),
        }
    } else {
        return Err(not_found(uri));
    };
    Ok(ReadResourceResult::new(vec![ResourceContents::text(
        text, uri,
    )]))
}

fn not_found(uri: &str) -> McpError {
    McpError::resource_not_found(
        format!("no resource {uri}; resources/list names every definition"),
        None,
    )
}
