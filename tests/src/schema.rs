//! Validation against OpenAI's published chat-completions schemas.
//!
//! `tests/fixtures/openai_chat_schemas.json` is a verbatim subset of
//! `components.schemas` from OpenAI's `openapi.json` (OpenAPI 3.1, see its
//! `_source` key). It is compiled into this crate, so validation needs no
//! files or network at run time.
//!
//! The spec still carries a few OpenAPI-3.0 style `"nullable": true` flags,
//! which plain JSON Schema ignores; they are rewritten to allow `null` (as
//! the real API does) before the validators are built. `discriminator` and
//! `x-*` keys are ignored, as JSON Schema ignores unknown keywords.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// The raw fixture text.
pub const OPENAI_CHAT_SCHEMAS: &str = include_str!("../fixtures/openai_chat_schemas.json");

/// The fixture's `components` object, with `nullable` rewritten to JSON Schema.
pub fn openai_components() -> &'static Value {
    static COMPONENTS: OnceLock<Value> = OnceLock::new();
    COMPONENTS.get_or_init(|| {
        let doc: Value = serde_json::from_str(OPENAI_CHAT_SCHEMAS).expect("fixture is JSON");
        let mut components = doc
            .get("components")
            .cloned()
            .expect("fixture has components");
        rewrite_nullable(&mut components);
        components
    })
}

/// Turns `{"type": T, "nullable": true}` into `{"type": [T, "null"]}` (adding
/// `null` to an `enum` too), and a nullable schema without `type` (a `$ref`,
/// `anyOf`, ...) into `{"anyOf": [schema, {"type": "null"}]}`.
fn rewrite_nullable(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        Value::Object(obj) => {
            for (_, child) in obj.iter_mut() {
                rewrite_nullable(child);
            }
            if obj.get("nullable") != Some(&Value::Bool(true)) {
                return;
            }
            obj.remove("nullable");
            if let Some(Value::Array(e)) = obj.get_mut("enum")
                && !e.contains(&Value::Null)
            {
                e.push(Value::Null);
            }
            match obj.get_mut("type") {
                Some(Value::String(t)) => {
                    let t = t.clone();
                    obj.insert("type".into(), json!([t, "null"]));
                }
                Some(Value::Array(ts)) => {
                    if !ts.contains(&json!("null")) {
                        ts.push(json!("null"));
                    }
                }
                _ => {
                    let inner = Value::Object(std::mem::take(obj));
                    let mut wrapped = Map::new();
                    wrapped.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    *obj = wrapped;
                }
            }
        }
        _ => {}
    }
}

fn validator(component: &str) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(component) {
        return Ok(Arc::clone(v));
    }
    let components = openai_components();
    if components
        .pointer(&format!("/schemas/{component}"))
        .is_none()
    {
        return Err(format!("no schema named {component} in the OpenAI fixture"));
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{component}"),
        "components": components,
    });
    let v = jsonschema::draft202012::new(&root)
        .map_err(|e| format!("building validator for {component}: {e}"))?;
    let v = Arc::new(v);
    cache
        .lock()
        .unwrap()
        .insert(component.to_owned(), Arc::clone(&v));
    Ok(v)
}

/// Validates `value` against `#/components/schemas/<component>` of the
/// OpenAI fixture. The error lists every violation, one per line, as
/// `<instance path>: <message>`.
pub fn validate_component(component: &str, value: &Value) -> Result<(), String> {
    let v = validator(component)?;
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            format!("{path}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{component} violations:\n{}", errors.join("\n")))
    }
}

/// Validates a `POST /v1/chat/completions` body against
/// `CreateChatCompletionRequest`.
pub fn validate_chat_request(body: &Value) -> Result<(), String> {
    validate_component("CreateChatCompletionRequest", body)
}

/// Validates a chat-completions response body against
/// `CreateChatCompletionResponse`.
pub fn validate_chat_response(body: &Value) -> Result<(), String> {
    validate_component("CreateChatCompletionResponse", body)
}

/// Validates a function definition (a lens's `function.json`) against
/// `FunctionObject`.
pub fn validate_function_object(function: &Value) -> Result<(), String> {
    validate_component("FunctionObject", function)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You rate text."},
                {"role": "user", "content": "Rate this."}
            ],
            "tools": [{
                "type": "function",
                "function": {
                    "name": "x",
                    "description": "d",
                    "parameters": {
                        "type": "object",
                        "properties": {"overall": {"type": "integer"}},
                        "required": ["overall"]
                    }
                }
            }],
            "tool_choice": {"type": "function", "function": {"name": "x"}}
        })
    }

    #[test]
    fn accepts_minimal_forced_tool_call_request() {
        validate_chat_request(&minimal()).unwrap();
        let mut with_extras = minimal();
        with_extras["temperature"] = json!(0);
        with_extras["max_tokens"] = json!(500);
        with_extras["seed"] = json!(7);
        with_extras["parallel_tool_calls"] = json!(false);
        validate_chat_request(&with_extras).unwrap();
    }

    #[test]
    fn nullable_fields_accept_null() {
        let mut body = minimal();
        body["temperature"] = Value::Null;
        body["max_completion_tokens"] = Value::Null;
        body["seed"] = Value::Null;
        validate_chat_request(&body).unwrap();
    }

    #[test]
    fn rejects_bad_types_and_missing_fields() {
        let mut hot = minimal();
        hot["temperature"] = json!("hot");
        let err = validate_chat_request(&hot).unwrap_err();
        assert!(err.contains("/temperature"), "{err}");

        let mut no_messages = minimal();
        no_messages.as_object_mut().unwrap().remove("messages");
        let err = validate_chat_request(&no_messages).unwrap_err();
        assert!(err.contains("messages"), "{err}");

        let mut empty_messages = minimal();
        empty_messages["messages"] = json!([]);
        assert!(validate_chat_request(&empty_messages).is_err());

        let mut no_model = minimal();
        no_model.as_object_mut().unwrap().remove("model");
        assert!(validate_chat_request(&no_model).is_err());

        let mut bad_role = minimal();
        bad_role["messages"][0]["role"] = json!("narrator");
        assert!(validate_chat_request(&bad_role).is_err());

        let mut bad_choice = minimal();
        bad_choice["tool_choice"] = json!({"type": "function", "function": {}});
        assert!(validate_chat_request(&bad_choice).is_err());

        let mut bad_tool = minimal();
        bad_tool["tools"][0] = json!({"type": "function", "function": {"description": "no name"}});
        assert!(validate_chat_request(&bad_tool).is_err());

        let mut too_hot = minimal();
        too_hot["temperature"] = json!(7);
        assert!(validate_chat_request(&too_hot).is_err());
    }

    #[test]
    fn unknown_component_is_an_error() {
        assert!(validate_component("NoSuchThing", &json!({})).is_err());
    }

    #[test]
    fn function_object_schema() {
        validate_function_object(&minimal()["tools"][0]["function"]).unwrap();
        assert!(validate_function_object(&json!({"description": "nameless"})).is_err());
    }
}
