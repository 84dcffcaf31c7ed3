//! Postprocess stage (native default): the function call's JSON arguments → scores and rationales.
//!
//! Anything that is not a JSON object with one number for every score label, each what
//! function.json allows (range, integer, enum, finite), is a bad answer: the caller asks again and
//! never caches it.

use super::{ChunkScores, FailureKind, Stage, StageError};
use crate::lens::Lens;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

pub fn native(lens: &Lens, arguments: &str) -> Result<ChunkScores, StageError> {
    let bad = |msg: String| StageError::new(Stage::Postprocess, FailureKind::BadAnswer, msg);
    let map = match object_without_duplicates(arguments) {
        Ok(Some(map)) => map,
        Ok(None) => {
            return Err(bad(
                "the model's function arguments are not a JSON object".into()
            ));
        }
        Err(e) => {
            return Err(bad(format!(
                "the model's function arguments are not valid JSON ({e})"
            )));
        }
    };
    let scores = lens
        .score_labels
        .iter()
        .map(|label| match map.get(label) {
            None => Err(bad(format!("the model's answer has no score `{label}`"))),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad(format!("score `{label}` is not a finite number"))),
            Some(other) => Err(bad(format!("score `{label}` is {other}, not a number"))),
        })
        .collect::<Result<Vec<f64>, _>>()?;
    lens.check_scores(&scores)
        .map_err(|e| bad(format!("the model's answer has {e}")))?;
    // A missing rationale costs nothing to tolerate; the scores are what the run is for.
    let rationales = lens
        .rationale_labels
        .iter()
        .map(|label| match map.get(label) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
        .collect();
    Ok(ChunkScores { scores, rationales })
}

/// The arguments as a JSON object (`None` for any other JSON value); a key given twice is an
/// error, since which of its values the model meant is anyone's guess.
fn object_without_duplicates(
    arguments: &str,
) -> Result<Option<Map<String, Value>>, serde_json::Error> {
    struct Top;

    impl<'de> Visitor<'de> for Top {
        type Value = Option<Map<String, Value>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = Map::new();
            while let Some((key, value)) = access.next_entry::<String, Value>()? {
                if map.contains_key(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "the key `{key}` appears twice"
                    )));
                }
                map.insert(key, value);
            }
            Ok(Some(map))
        }

        // Any other JSON value parses, to be reported as "not a JSON object".
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }

    let mut de = serde_json::Deserializer::from_str(arguments);
    let value = (&mut de).deserialize_any(Top)?;
    de.end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens() -> Lens {
        crate::lens::Catalog::default()
            .get("textbook_quality")
            .unwrap()
    }

    #[test]
    fn scores_outside_the_schema_are_bad_answers() {
        let lens = lens();
        assert_eq!(
            native(&lens, r#"{"overall": 3}"#).unwrap().scores,
            vec![3.0]
        );
        for (arguments, why) in [
            (r#"{"overall": 1e9}"#, "above the maximum of 3"),
            (r#"{"overall": -1e308}"#, "below the minimum of 1"),
            (r#"{"overall": 2.5}"#, "whole number"),
            (r#"{"overall": 1, "overall": 3}"#, "appears twice"),
            (r#"[1, 2]"#, "not a JSON object"),
            (r#"{"overall": 3} trailing"#, "not valid JSON"),
        ] {
            let e = native(&lens, arguments).unwrap_err();
            assert_eq!(e.kind, FailureKind::BadAnswer, "{arguments}");
            assert!(e.message.contains(why), "{arguments}: {}", e.message);
        }
    }
}
