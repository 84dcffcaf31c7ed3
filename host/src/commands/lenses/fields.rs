//! A row's input fields from a JSON object (`lenses call --input`, a fixtures line), read as
//! `summary` reads a JSON Lines row (`data/jsonl.rs`): text is used as it is, a null skips the row
//! with the reason, and any other value is an error naming the field and what it holds.

use crate::pipeline::Inputs;
use serde_json::Value;

/// What a JSON object makes of a row.
#[derive(Debug, PartialEq)]
pub enum RowFields {
    /// Every input field holds text.
    Text(Inputs),
    /// A field is null: `summary` skips such a row, with this reason.
    Skip(String),
}

/// The lens's `input_fields` from `value`, or one sentence saying what is wrong with it.
pub fn read(value: &Value, input_fields: &[String]) -> Result<RowFields, String> {
    let Value::Object(object) = value else {
        return Err(format!(
            "is {}, not a JSON object of the input fields ({})",
            kind(value),
            input_fields.join(", ")
        ));
    };
    let mut fields = Inputs::new();
    for field in input_fields {
        match object.get(field) {
            Some(Value::String(text)) => {
                fields.insert(field.clone(), text.clone());
            }
            // The same reason `summary` gives for a null cell (there it names the column).
            Some(Value::Null) => return Ok(RowFields::Skip(format!("null in field `{field}`"))),
            Some(other) => {
                return Err(format!(
                    "field `{field}` holds {}, not text; give it a JSON string",
                    kind(other)
                ));
            }
            None => {
                return Err(format!(
                    "has no input field `{field}` (the lens reads {})",
                    input_fields.join(", ")
                ));
            }
        }
    }
    Ok(RowFields::Text(fields))
}

/// The kind of a JSON value, in the words `data/jsonl.rs` uses for non-text cells.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<String> {
        vec!["instruction".into(), "output".into()]
    }

    #[test]
    fn text_fields_are_read_and_extra_keys_ignored() {
        let got = read(
            &json!({"instruction": "Add 2+2.", "output": "4", "extra": 1}),
            &fields(),
        );
        assert_eq!(
            got,
            Ok(RowFields::Text(Inputs::from([
                ("instruction".to_string(), "Add 2+2.".to_string()),
                ("output".to_string(), "4".to_string()),
            ])))
        );
    }

    #[test]
    fn a_null_skips_the_row_like_summary() {
        assert_eq!(
            read(&json!({"instruction": "x", "output": null}), &fields()),
            Ok(RowFields::Skip("null in field `output`".into()))
        );
    }

    #[test]
    fn a_value_that_is_not_text_is_an_error_naming_the_field() {
        for (value, kind) in [
            (json!(42), "a number"),
            (json!(true), "a boolean"),
            (json!(["a"]), "a list"),
            (json!({"a": 1}), "an object"),
        ] {
            let e = read(&json!({"instruction": value, "output": "4"}), &fields()).unwrap_err();
            assert_eq!(
                e,
                format!("field `instruction` holds {kind}, not text; give it a JSON string")
            );
        }
    }

    #[test]
    fn a_missing_field_or_a_non_object_is_an_error() {
        let e = read(&json!({"instruction": "x"}), &fields()).unwrap_err();
        assert!(e.contains("no input field `output`"), "{e}");
        let e = read(&json!("text"), &fields()).unwrap_err();
        assert!(e.contains("is a string, not a JSON object"), "{e}");
    }
}
