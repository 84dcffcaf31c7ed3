//! Content checks of the built-in lenses (`lenses/`) and the fixture datasets
//! (`tests/fixtures/`).

use std::collections::HashSet;
use std::fs;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

use classified_tests::{
    BUILTIN_LENSES, default_arguments, fixture, lenses_dir, validate_chat_request,
    validate_function_object,
};

fn read_json(path: &std::path::Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_jsonl(name: &str) -> Vec<Value> {
    let path = fixture(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect()
}

struct Lens {
    config: Value,
    function: Value,
    system: String,
    prompt: String,
}

fn load(name: &'static str) -> Lens {
    let dir = lenses_dir().join(name);
    Lens {
        config: read_json(&dir.join("config.json")),
        function: read_json(&dir.join("function.json")),
        system: fs::read_to_string(dir.join("system.jinja")).unwrap(),
        prompt: fs::read_to_string(dir.join("prompt.jinja")).unwrap(),
    }
}

impl Lens {
    fn input_fields(&self) -> Vec<String> {
        self.config["input_fields"]
            .as_array()
            .expect("input_fields is an array")
            .iter()
            .map(|v| v.as_str().expect("input field is a string").to_owned())
            .collect()
    }

    /// Renders (system, user) with strict undefined handling.
    fn render(&self, row: &Value) -> (String, String) {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template("system", &self.system).unwrap();
        env.add_template("prompt", &self.prompt).unwrap();
        let mut ctx = serde_json::Map::new();
        for f in self.input_fields() {
            ctx.insert(f.clone(), row[&f].clone());
        }
        let ctx = Value::Object(ctx);
        (
            env.get_template("system").unwrap().render(&ctx).unwrap(),
            env.get_template("prompt").unwrap().render(&ctx).unwrap(),
        )
    }

    fn request(&self, row: &Value) -> Value {
        let (system, user) = self.render(row);
        json!({
            "model": "gpt-4o-mini",
            "temperature": 0,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user}
            ],
            "tools": [{"type": "function", "function": self.function}],
            "tool_choice": {"type": "function", "function": {"name": self.function["name"]}}
        })
    }
}

fn expected_scores(lens: &str) -> &'static [&'static str] {
    match lens {
        "textbook_quality" => &["overall"],
        "learning_value" => &[
            "factual",
            "well_written",
            "specific",
            "enhances_understanding",
            "self_contained",
            "overall",
        ],
        "code_quality" => &[
            "correct",
            "efficient",
            "readable",
            "complete",
            "written_by_expert",
            "overall",
        ],
        "textbook_depth" => &["specificity", "depth", "overall"],
        "instruction_following" => &["follows_instructions", "on_topic", "correct", "overall"],
        other => panic!("unknown lens {other}"),
    }
}

#[test]
fn every_builtin_lens_folder_has_its_four_files() {
    // Other lenses (e.g. component lenses) may live beside these five.
    for name in BUILTIN_LENSES {
        for file in [
            "system.jinja",
            "prompt.jinja",
            "config.json",
            "function.json",
        ] {
            assert!(
                lenses_dir().join(name).join(file).is_file(),
                "{name}/{file}"
            );
        }
    }
}

#[test]
fn lens_configs() {
    for name in BUILTIN_LENSES {
        let lens = load(name);
        assert!(
            lens.config.get("component").is_none(),
            "{name}: a prompt lens, no component"
        );
        let (ty, inputs): (&str, &[&str]) = if *name == "instruction_following" {
            ("instruct", &["instruction", "output"])
        } else {
            ("pretrain", &["resource"])
        };
        assert_eq!(lens.config["type"], ty, "{name}");
        assert_eq!(lens.input_fields(), inputs, "{name}");
    }
}

#[test]
fn lens_functions_are_valid_and_reason_before_scoring() {
    for name in BUILTIN_LENSES {
        let lens = load(name);
        let f = &lens.function;
        validate_function_object(f).unwrap_or_else(|e| panic!("{name}: {e}"));
        let fname = f["name"].as_str().unwrap();
        assert!(
            fname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && fname.len() <= 64,
            "{name}: function name {fname}"
        );
        assert!(f["description"].as_str().unwrap().len() > 10);
        let params = &f["parameters"];
        assert_eq!(params["type"], "object");
        let props = params["properties"].as_object().unwrap();
        let prop_names: Vec<&str> = props.keys().map(String::as_str).collect();
        let required: Vec<&str> = params["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            prop_names, required,
            "{name}: every field required, in property order"
        );
        assert_eq!(
            required.first(),
            Some(&"rationale"),
            "{name}: rationale first"
        );
        assert_eq!(required.last(), Some(&"overall"), "{name}: overall last");

        let scores: Vec<&str> = required
            .iter()
            .copied()
            .filter(|k| props[*k]["type"] == "integer")
            .collect();
        assert_eq!(scores, expected_scores(name), "{name}");
        for (key, schema) in props {
            let desc = schema["description"].as_str().unwrap_or_default();
            match schema["type"].as_str() {
                Some("string") => assert!(!desc.is_empty(), "{name}.{key}"),
                Some("integer") => {
                    for n in ["1 =", "2 =", "3 ="] {
                        assert!(
                            desc.contains(n),
                            "{name}.{key} description lacks {n:?}: {desc}"
                        );
                    }
                    assert_eq!(schema["minimum"], 1, "{name}.{key}");
                    assert_eq!(schema["maximum"], 3, "{name}.{key}");
                }
                other => panic!("{name}.{key}: unexpected type {other:?}"),
            }
        }
    }
}

#[test]
fn lens_templates_use_only_their_input_fields() {
    for name in BUILTIN_LENSES {
        let lens = load(name);
        let env = Environment::new();
        let inputs: HashSet<String> = lens.input_fields().into_iter().collect();
        let system = env.template_from_str(&lens.system).unwrap();
        let prompt = env.template_from_str(&lens.prompt).unwrap();
        let sys_vars = system.undeclared_variables(false);
        assert!(
            sys_vars.is_subset(&inputs),
            "{name}: system.jinja uses {sys_vars:?}"
        );
        let prompt_vars = prompt.undeclared_variables(false);
        assert_eq!(
            prompt_vars, inputs,
            "{name}: prompt.jinja must use exactly its input fields"
        );
        let fname = lens.function["name"].as_str().unwrap();
        assert!(
            lens.system.contains(fname) || lens.prompt.contains(fname),
            "{name}: names {fname}"
        );
    }
}

#[test]
fn lens_requests_render_validate_and_get_complete_fake_answers() {
    let sample = read_jsonl("sample.jsonl");
    let instruct = read_jsonl("instruct.jsonl");
    for name in BUILTIN_LENSES {
        let lens = load(name);
        let rows: Vec<Value> = if lens.config["type"] == "instruct" {
            instruct.clone()
        } else {
            sample
                .iter()
                .map(|r| json!({"resource": r["text"]}))
                .collect()
        };
        let mut overall = HashSet::new();
        for row in &rows {
            let req = lens.request(row);
            validate_chat_request(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
            let user = req["messages"][1]["content"].as_str().unwrap();
            for f in lens.input_fields() {
                assert!(
                    user.contains(row[&f].as_str().unwrap()),
                    "{name}: {f} inserted verbatim"
                );
            }
            let args: Value = serde_json::from_str(&default_arguments(&req)).unwrap();
            for key in lens.function["parameters"]["required"].as_array().unwrap() {
                assert!(args.get(key.as_str().unwrap()).is_some(), "{name}: {key}");
            }
            let o = args["overall"].as_i64().unwrap();
            assert!((1..=3).contains(&o));
            overall.insert(o);
        }
        assert!(overall.len() > 1, "{name}: fake scores vary across rows");
    }
}

#[test]
fn sample_fixture_is_varied_pretraining_text() {
    let rows = read_jsonl("sample.jsonl");
    assert!((10..=16).contains(&rows.len()), "{} rows", rows.len());
    let texts: Vec<&str> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.as_object().unwrap().len(), 1, "only a text column: {r}");
            r["text"].as_str().expect("text is a string")
        })
        .collect();
    let short: Vec<&&str> = texts.iter().filter(|t| t.chars().count() < 400).collect();
    assert_eq!(short.len(), 1, "exactly one deliberately short row");
    assert!(short[0].chars().count() < 375);
    assert!(
        texts.iter().any(|t| t.split_whitespace().count() >= 2500),
        "one long textbook section"
    );
    assert!(
        texts.iter().any(|t| t
            .chars()
            .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
            .count()
            >= 200),
        "a CJK paragraph"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.chars().filter(|c| *c as u32 >= 0x1F300).count() >= 20),
        "an emoji-heavy post"
    );
    assert!(texts.iter().any(|t| t.contains("```")), "a code file");
    assert!(
        texts
            .iter()
            .any(|t| t.lines().filter(|l| l.starts_with("- ")).count() >= 5),
        "a markdown list"
    );
    let unique: HashSet<&&str> = texts.iter().collect();
    assert_eq!(unique.len(), texts.len(), "no duplicate rows");
}

#[test]
fn instruct_fixture_has_instruction_and_output() {
    let rows = read_jsonl("instruct.jsonl");
    assert!(rows.len() >= 8);
    for r in &rows {
        let obj = r.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["instruction", "output"]);
        assert!(!r["instruction"].as_str().unwrap().trim().is_empty());
        assert!(!r["output"].as_str().unwrap().trim().is_empty());
    }
}
