//! A lens function's parameters as a schema OpenAI's strict structured outputs accept: every
//! object closed (`additionalProperties: false`) with every property required, and a property the
//! lens left optional made nullable instead, as the structured-outputs guide prescribes.

use serde_json::{Value, json};

/// `schema` made strict, recursively (object properties, array items, `anyOf` branches, `$defs`).
pub fn strict_schema(schema: &Value) -> Value {
    let mut out = schema.clone();
    make_strict(&mut out);
    out
}

fn make_strict(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.get("properties").is_some_and(Value::is_object) {
        let required: Vec<String> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let Some(Value::Object(props)) = map.get_mut("properties") else {
            unreachable!()
        };
        for (name, prop) in props.iter_mut() {
            make_strict(prop);
            if !required.contains(name) {
                nullable(prop);
            }
        }
        let all: Vec<Value> = props.keys().map(|k| json!(k)).collect();
        map.insert("required".into(), Value::Array(all));
        map.insert("additionalProperties".into(), json!(false));
    } else if map.get("type").and_then(Value::as_str) == Some("object") {
        map.insert("properties".into(), json!({}));
        map.insert("required".into(), json!([]));
        map.insert("additionalProperties".into(), json!(false));
    }
    if let Some(items) = map.get_mut("items") {
        make_strict(items);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            branches.iter_mut().for_each(make_strict);
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get_mut(key) {
            defs.values_mut().for_each(make_strict);
        }
    }
}

/// Let a value also be `null`: what strict mode offers instead of an optional property.
fn nullable(prop: &mut Value) {
    let Some(map) = prop.as_object_mut() else {
        return;
    };
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = t.clone();
            map.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !types.contains(&json!("null")) => types.push(json!("null")),
        Some(_) => {}
        None => {
            let inner = Value::Object(std::mem::take(map));
            map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
        }
    }
    if let Some(Value::Array(options)) = map.get_mut("enum")
        && !options.contains(&Value::Null)
    {
        options.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_is_closed_and_every_property_required_optional_ones_nullable() {
        let schema = json!({
            "type": "object",
            "properties": {
                "overall": {"type": "integer", "minimum": 1, "maximum": 3},
                "note": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "object", "properties": {"t": {"type": "string"}}}},
                "kind": {"enum": ["a", "b"]},
                "meta": {"type": "object"}
            },
            "required": ["overall"]
        });
        let strict = strict_schema(&schema);
        assert_eq!(strict["additionalProperties"], false);
        assert_eq!(
            strict["required"],
            json!(["overall", "note", "tags", "kind", "meta"])
        );
        assert_eq!(strict["properties"]["overall"]["type"], "integer");
        assert_eq!(
            strict["properties"]["note"]["type"],
            json!(["string", "null"])
        );
        let item = &strict["properties"]["tags"]["items"];
        assert_eq!(item["additionalProperties"], false);
        assert_eq!(item["required"], json!(["t"]));
        assert_eq!(
            strict["properties"]["kind"],
            json!({"anyOf": [{"enum": ["a", "b"]}, {"type": "null"}]})
        );
        assert_eq!(
            strict["properties"]["meta"],
            json!({"type": ["object", "null"], "properties": {}, "required": [], "additionalProperties": false})
        );
    }
}
