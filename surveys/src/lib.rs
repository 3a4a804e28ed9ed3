//! The quarterly developer survey: survey definitions ([`definition`]),
//! response import from survey tools ([`import`]), anonymity protection
//! ([`anonymity`]: the minimum group size and the differencing rule) and
//! survey statistics ([`results`], [`welch`]).
//!
//! It does not store responses (they are rows of the canonical
//! `survey_responses` table, written by `ingest::lake`), does not run SQL
//! engines (it reads through `analytics::LakeQueries`) and does not serve
//! results (`api`).

pub mod anonymity;
pub mod definition;
pub mod error;
pub mod import;
pub mod results;
pub mod welch;

pub use error::{Error, Result};

/// The smallest group whose survey results may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnonymityThreshold(u32);

/// Below this, a group is small enough that answers point at a person.
pub const MINIMUM_ANONYMITY_THRESHOLD: u32 = 3;
pub const DEFAULT_ANONYMITY_THRESHOLD: u32 = 5;

impl AnonymityThreshold {
    pub fn new(respondents: u32) -> Result<Self> {
        if respondents < MINIMUM_ANONYMITY_THRESHOLD {
            return Err(Error::ThresholdTooLow(respondents));
        }
        Ok(AnonymityThreshold(respondents))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether a group of this many respondents may be shown on its own.
    pub fn allows(self, respondents: u32) -> bool {
        respondents >= self.0
    }
}

impl Default for AnonymityThreshold {
    fn default() -> Self {
        AnonymityThreshold(DEFAULT_ANONYMITY_THRESHOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_never_below_three() {
        assert!(matches!(
            AnonymityThreshold::new(2),
            Err(Error::ThresholdTooLow(2))
        ));
        let t = AnonymityThreshold::new(3).unwrap();
        assert!(t.allows(3) && !t.allows(2));
        assert_eq!(AnonymityThreshold::default().get(), 5);
    }
}
