//! `tag_value(tags, keys)`: the value of the first of `keys` (comma
//! separated) present in `tags`, a JSON object as text (FOCUS `Tags`,
//! catalog annotations). Strings as they are, numbers and booleans as text;
//! null when no key is present or the text is not a JSON object.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The value of the first key of `keys` that `tags` holds.
pub fn tag_value(tags: &str, keys: &[&str]) -> Option<String> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(tags).ok()?;
    keys.iter().find_map(|key| match object.get(key.trim())? {
        serde_json::Value::String(value) => Some(value.clone()),
        serde_json::Value::Number(value) => Some(value.to_string()),
        serde_json::Value::Bool(value) => Some(value.to_string()),
        _ => None,
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TagValue {
    signature: Signature,
}

fn text(value: &ColumnarValue, rows: usize) -> datafusion::error::Result<ArrayRef> {
    arrow::compute::cast(&value.to_array(rows)?, &DataType::Utf8)
        .map_err(|e| DataFusionError::Execution(format!("tag_value: {e}")))
}

impl ScalarUDFImpl for TagValue {
    fn name(&self) -> &str {
        "tag_value"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let rows = args.number_rows;
        let tags = text(&args.args[0], rows)?;
        let keys = text(&args.args[1], rows)?;
        let (tags, keys) = (tags.as_string::<i32>(), keys.as_string::<i32>());
        let values: StringArray = (0..rows)
            .map(|i| {
                if tags.is_null(i) || keys.is_null(i) {
                    return None;
                }
                let keys: Vec<&str> = keys.value(i).split(',').collect();
                tag_value(tags.value(i), &keys)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(values)))
    }
}

/// The SQL function.
pub fn tag_value_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(TagValue {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_present_wins() {
        let tags = r#"{"app":"web","service":"pay","shared":true,"cost":3}"#;
        assert_eq!(tag_value(tags, &["service", "app"]).as_deref(), Some("pay"));
        assert_eq!(tag_value(tags, &["owner", "app"]).as_deref(), Some("web"));
        assert_eq!(tag_value(tags, &["shared"]).as_deref(), Some("true"));
        assert_eq!(tag_value(tags, &["cost"]).as_deref(), Some("3"));
        assert_eq!(tag_value(tags, &["team"]), None);
        assert_eq!(tag_value("not json", &["team"]), None);
    }
}
