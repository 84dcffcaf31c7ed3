//! The dataset and server the report tests share: rows and rationales meant to break out of HTML,
//! one row the server never answers properly and one with a null.

#![allow(dead_code)]

use super::support::{Run, Workspace};
use classified_tests::{FakeOpenAi, Reply, default_arguments};
use serde_json::Value;

pub const LENS: &str = "instruction_following";

/// Rows meant to break out of HTML if they were ever written as markup.
pub const HOSTILE: [&str; 5] = [
    "<script>alert(\"pwned\")</script>",
    "\"><img src=x onerror=alert(1)>",
    "</textarea><b>bold</b>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(2))",
];

/// `hostile.jsonl`: the hostile rows, two plain ones, one the server answers badly (it fails as
/// bad-answer) and one with a null (skipped). Returns its path.
pub fn hostile_dataset(ws: &Workspace) -> String {
    let mut rows: Vec<Value> = HOSTILE
        .iter()
        .map(|h| serde_json::json!({"instruction": format!("Explain this: {h}"), "output": format!("It is {h}")}))
        .collect();
    rows.push(serde_json::json!({"instruction": "What is 2 + 2?", "output": "4"}));
    rows.push(serde_json::json!({"instruction": "Name a colour.", "output": "Blue"}));
    rows.push(serde_json::json!({"instruction": "FAIL this one", "output": "x"}));
    rows.push(serde_json::json!({"instruction": null, "output": "nothing"}));
    let path = ws.path().join("hostile.jsonl");
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.to_string_lossy().into_owned()
}

/// A server whose rationales are hostile too, and that never answers the `FAIL` row properly.
pub fn hostile_server() -> FakeOpenAi {
    FakeOpenAi::with_behaviour(|call| {
        let content = call.user_content();
        if content.contains("FAIL") {
            return Reply::Arguments("not json".into());
        }
        let mut args: Value = serde_json::from_str(&default_arguments(&call.body)).unwrap();
        args["rationale"] = Value::from(format!(
            "Because <script>document.title='rationale'</script> and </textarea> of {}",
            content.chars().take(30).collect::<String>()
        ));
        Reply::Arguments(args.to_string())
    })
}

/// `summary DATASET instruction,output LENS`, the run every report test makes.
pub fn hostile_args(dataset: &str) -> Vec<&str> {
    vec!["summary", dataset, "instruction,output", LENS]
}

/// Writes `hostile.jsonl` into `ws` and rates it against `server` with `flags`; the FAIL row
/// fails, so the run ends with exit 4 after writing every output.
#[track_caller]
pub fn rate_hostile(ws: &Workspace, server: &FakeOpenAi, flags: &[&str]) -> Run {
    let dataset = hostile_dataset(ws);
    let mut args = hostile_args(&dataset);
    args.extend_from_slice(flags);
    ws.run(Some(server), &args).rows_failed()
}

/// The report without its "Generated" line (the only line that changes between two builds).
pub fn without_generated(html: &str) -> String {
    html.lines()
        .filter(|l| !l.contains("Generated "))
        .collect::<Vec<_>>()
        .join("\n")
}
