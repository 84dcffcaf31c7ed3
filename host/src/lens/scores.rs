//! What function.json allows each score to be (integer, range, enum), and the check every score
//! passes before it is used, from a model's answer or from a component alike.

use serde_json::Value;

/// The schema of one score property, in the subset of JSON Schema that constrains a number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreSpec {
    pub label: String,
    /// `"type": "integer"`: a whole number.
    pub integer: bool,
    /// `minimum` / `maximum`, and whether each bound excludes itself (`exclusiveMinimum`, as a
    /// number in current JSON Schema or `true` in draft 4).
    pub minimum: Option<Bound>,
    pub maximum: Option<Bound>,
    /// `enum`: the only values allowed.
    pub allowed: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub exclusive: bool,
}

impl ScoreSpec {
    /// Read the constraints of score `label` from its property schema.
    pub fn from_schema(label: &str, prop: &Value) -> Result<ScoreSpec, String> {
        let number = |key: &str| -> Result<Option<f64>, String> {
            match prop.get(key) {
                None | Some(Value::Bool(_)) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        format!("score {label:?} has \"{key}\": {v}, which is not a number")
                    }),
            }
        };
        let flag = |key: &str| prop.get(key) == Some(&Value::Bool(true));
        let bound = |inclusive: &str, exclusive: &str| -> Result<Option<Bound>, String> {
            // A numeric exclusive bound is the tighter one when both are given.
            Ok(match (number(inclusive)?, number(exclusive)?) {
                (_, Some(value)) => Some(Bound {
                    value,
                    exclusive: true,
                }),
                (Some(value), None) => Some(Bound {
                    value,
                    exclusive: flag(exclusive),
                }),
                (None, None) => None,
            })
        };
        let allowed = match prop.get("enum") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_f64().filter(|f| f.is_finite()))
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| {
                        format!("score {label:?} has an \"enum\" that is not all numbers")
                    })?,
            ),
            Some(other) => {
                return Err(format!(
                    "score {label:?} has \"enum\": {other}, which is not a list"
                ));
            }
        };
        Ok(ScoreSpec {
            label: label.to_string(),
            integer: prop.get("type").and_then(Value::as_str) == Some("integer"),
            minimum: bound("minimum", "exclusiveMinimum")?,
            maximum: bound("maximum", "exclusiveMaximum")?,
            allowed,
        })
    }

    /// `Ok` when `value` is what the schema allows, else the end of a sentence saying why not:
    /// "score `overall` = 7, above the maximum of 3 in function.json".
    pub fn check(&self, value: f64) -> Result<(), String> {
        let label = &self.label;
        let shown = show(value);
        let at = format!("score `{label}` = {shown}");
        if !value.is_finite() {
            return Err(format!("{at}, which is not a finite number"));
        }
        if self.integer && value.fract() != 0.0 {
            return Err(format!("{at}, not the whole number function.json asks for"));
        }
        if let Some(b) = self.minimum
            && (value < b.value || (b.exclusive && value == b.value))
        {
            let what = if b.exclusive { "at or below" } else { "below" };
            return Err(format!(
                "{at}, {what} the minimum of {} in function.json",
                show(b.value)
            ));
        }
        if let Some(b) = self.maximum
            && (value > b.value || (b.exclusive && value == b.value))
        {
            let what = if b.exclusive { "at or above" } else { "above" };
            return Err(format!(
                "{at}, {what} the maximum of {} in function.json",
                show(b.value)
            ));
        }
        if let Some(allowed) = &self.allowed
            && !allowed.contains(&value)
        {
            let list: Vec<String> = allowed.iter().map(|v| show(*v)).collect();
            return Err(format!(
                "{at}, not one of the values function.json allows ({})",
                list.join(", ")
            ));
        }
        Ok(())
    }
}

/// A number for a sentence, short whatever its size: 3, 2.5, 1e308.
fn show(value: f64) -> String {
    if value.is_finite() && value.abs() < 1e15 {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// Check scores in label order against the lens's specs; the first problem found.
pub fn check(specs: &[ScoreSpec], scores: &[f64]) -> Result<(), String> {
    specs
        .iter()
        .zip(scores)
        .try_for_each(|(spec, &value)| spec.check(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(prop: Value) -> ScoreSpec {
        ScoreSpec::from_schema("overall", &prop).unwrap()
    }

    #[test]
    fn range_integer_and_enum_are_enforced() {
        let s = spec(json!({"type": "integer", "minimum": 1, "maximum": 3}));
        assert!(s.check(1.0).is_ok() && s.check(3.0).is_ok());
        assert_eq!(
            s.check(1e9).unwrap_err(),
            "score `overall` = 1000000000, above the maximum of 3 in function.json"
        );
        assert_eq!(
            s.check(-1e308).unwrap_err(),
            "score `overall` = -1e308, below the minimum of 1 in function.json"
        );
        assert!(s.check(2.5).unwrap_err().contains("whole number"));
        assert!(
            s.check(f64::NAN)
                .unwrap_err()
                .contains("not a finite number")
        );
        assert!(
            s.check(f64::INFINITY)
                .unwrap_err()
                .contains("not a finite number")
        );

        let s = spec(json!({"type": "number", "exclusiveMinimum": 0, "maximum": 1}));
        assert!(s.check(0.5).is_ok() && s.check(1.0).is_ok());
        assert!(
            s.check(0.0)
                .unwrap_err()
                .contains("at or below the minimum of 0")
        );
        let draft4 = spec(json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}));
        assert!(draft4.check(0.0).is_err() && draft4.check(0.1).is_ok());

        let s = spec(json!({"type": "integer", "enum": [1, 2, 5]}));
        assert!(s.check(5.0).is_ok());
        assert!(s.check(3.0).unwrap_err().contains("(1, 2, 5)"));

        // No constraints: any finite number.
        assert!(spec(json!({"type": "number"})).check(-1e300).is_ok());
    }

    #[test]
    fn constraints_that_are_not_numbers_are_refused() {
        let e = ScoreSpec::from_schema("overall", &json!({"type": "integer", "maximum": "3"}))
            .unwrap_err();
        assert!(e.contains("\"maximum\""), "{e}");
        assert!(ScoreSpec::from_schema("overall", &json!({"enum": ["a"]})).is_err());
    }
}
