//! Survey definitions: questions with an id, a dimension, a type and their
//! wording, read from TOML files (`surveys/templates/` ships the DevEx
//! quarterly survey).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The shipped DevEx quarterly survey.
pub const DEVEX_QUARTERLY: &str = include_str!("../templates/devex-quarterly.toml");

/// What a question measures: the DevEx framework's dimensions and SPACE's.
pub const DIMENSIONS: [&str; 8] = [
    "feedback_loops",
    "cognitive_load",
    "flow_state",
    "satisfaction",
    "performance",
    "activity",
    "communication",
    "efficiency",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    /// 1 (strongly disagree) to 5 (strongly agree).
    Likert5,
    /// 1 to 7.
    Likert7,
    /// 0 to 10, "how likely are you to recommend".
    Nps,
    SingleChoice,
    MultipleChoice,
    Text,
}

impl QuestionType {
    /// The numeric range of the answers, for numeric types.
    pub fn range(self) -> Option<(f64, f64)> {
        match self {
            QuestionType::Likert5 => Some((1.0, 5.0)),
            QuestionType::Likert7 => Some((1.0, 7.0)),
            QuestionType::Nps => Some((0.0, 10.0)),
            _ => None,
        }
    }

    /// The lowest favourable answer: the top two boxes of a Likert scale,
    /// promoters (9-10) of an NPS question.
    pub fn favourable_from(self) -> Option<f64> {
        match self {
            QuestionType::Likert5 => Some(4.0),
            QuestionType::Likert7 => Some(6.0),
            QuestionType::Nps => Some(9.0),
            _ => None,
        }
    }

    /// The labels survey tools export for a Likert answer, lower case.
    pub fn label_value(self, label: &str) -> Option<f64> {
        let label = label.trim().to_lowercase();
        let five = [
            "strongly disagree",
            "disagree",
            "neither agree nor disagree",
            "agree",
            "strongly agree",
        ];
        let seven = [
            "strongly disagree",
            "disagree",
            "somewhat disagree",
            "neither agree nor disagree",
            "somewhat agree",
            "agree",
            "strongly agree",
        ];
        let labels: &[&str] = match self {
            QuestionType::Likert5 => &five,
            QuestionType::Likert7 => &seven,
            _ => return None,
        };
        let neutral = ["neutral", "neither agree or disagree"];
        labels
            .iter()
            .position(|l| *l == label)
            .map(|i| i as f64 + 1.0)
            .or_else(|| {
                neutral
                    .contains(&label.as_str())
                    .then(|| (labels.len() as f64 + 1.0) / 2.0)
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub dimension: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub text: String,
    /// Choices of a choice question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDefinition {
    pub id: String,
    pub title: String,
    #[serde(rename = "question")]
    pub questions: Vec<Question>,
}

impl SurveyDefinition {
    /// Parses and checks a definition; `name` is what errors call the file.
    pub fn parse(name: &str, text: &str) -> Result<SurveyDefinition> {
        let invalid = |message: String| Error::InvalidDefinition {
            file: name.to_string(),
            message,
        };
        let definition: SurveyDefinition =
            toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for q in &definition.questions {
            if !seen.insert(q.id.as_str()) {
                return Err(invalid(format!("question id `{}` appears twice", q.id)));
            }
            if !DIMENSIONS.contains(&q.dimension.as_str()) {
                return Err(invalid(format!(
                    "question `{}`: dimension `{}` is not one of {}",
                    q.id,
                    q.dimension,
                    DIMENSIONS.join(", ")
                )));
            }
        }
        Ok(definition)
    }

    /// The shipped DevEx quarterly survey (a test checks it parses).
    pub fn devex_quarterly() -> Result<SurveyDefinition> {
        Self::parse("surveys/templates/devex-quarterly.toml", DEVEX_QUARTERLY)
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_template_covers_the_devex_measures() {
        let survey = SurveyDefinition::devex_quarterly().unwrap();
        // The demo answers exactly these, so they must be the template's.
        for id in ingest::demo::SURVEY_LIKERT_QUESTIONS {
            assert_eq!(
                survey.question(id).unwrap().kind,
                QuestionType::Likert5,
                "{id}"
            );
        }
        assert_eq!(survey.question("enps").unwrap().kind, QuestionType::Nps);
    }

    #[test]
    fn labels_map_to_numbers_and_bad_files_say_why() {
        assert_eq!(
            QuestionType::Likert5.label_value("Strongly agree"),
            Some(5.0)
        );
        assert_eq!(QuestionType::Likert5.label_value(" neutral "), Some(3.0));
        assert_eq!(
            QuestionType::Likert7.label_value("Somewhat agree"),
            Some(5.0)
        );
        assert_eq!(QuestionType::Likert5.label_value("maybe"), None);
        let err = SurveyDefinition::parse(
            "x.toml",
            "id = \"s\"\ntitle = \"t\"\n[[question]]\nid = \"q\"\ndimension = \"vibes\"\ntype = \"likert5\"\ntext = \"?\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x.toml") && err.contains("vibes"), "{err}");
    }
}
