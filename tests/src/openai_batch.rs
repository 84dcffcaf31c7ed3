//! The fake server's Files and Batch API: `POST /v1/files` (multipart), `GET /v1/files/{id}`,
//! `GET /v1/files/{id}/content`, `POST /v1/batches`, `GET /v1/batches`, `GET /v1/batches/{id}`
//! and `POST /v1/batches/{id}/cancel`.
//!
//! A batch moves `validating` → `in_progress` on its first retrieve and ends after
//! [`BatchScript::polls`] retrieves as [`BatchScript::end`] says. Output lines carry real chat
//! completions built by the server's reply behaviour, so a batch answers exactly what the
//! synchronous endpoint would. Every create body, uploaded line and line body is checked against
//! OpenAI's schemas; a violation is answered with 400 (create) or fails the batch (lines) and is
//! kept in [`BatchState::problems`].

use crate::openai::{Reply, chat_completion, default_arguments, openai_error};
use crate::schema::{validate_chat_request, validate_component};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How every batch created on the server ends.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchEnd {
    /// `completed`: answers in the output file, error replies in the error file.
    Completed,
    /// `completed` with every request in the error file (a 400 each) and no output file.
    ErrorFileOnly,
    /// `expired`: only the first half of the requests (rounded down) got an answer.
    Expired,
    /// `failed` validation: no files at all.
    Failed,
}

/// The scripted lifecycle of the server's batches.
#[derive(Debug, Clone)]
pub struct BatchScript {
    /// Retrieves before a batch ends (at least 1).
    pub polls: usize,
    pub end: BatchEnd,
}

impl Default for BatchScript {
    fn default() -> Self {
        BatchScript {
            polls: 2,
            end: BatchEnd::Completed,
        }
    }
}

struct FakeFile {
    object: Value,
    content: String,
}

struct FakeBatch {
    object: Value,
    /// Parsed input lines.
    lines: Vec<Value>,
    polls: usize,
}

/// What the Files and Batch endpoints hold and have seen.
#[derive(Default)]
pub struct BatchState {
    pub script: Mutex<BatchScript>,
    files: Mutex<BTreeMap<String, FakeFile>>,
    batches: Mutex<Vec<FakeBatch>>,
    /// Uploads received (`POST /v1/files`).
    pub uploads: Mutex<Vec<String>>,
    /// Every schema violation or malformed upload seen; tests assert this stays empty.
    pub problems: Mutex<Vec<String>>,
    /// Answer the next `POST /v1/batches` with a 500 (a run killed between upload and create).
    pub fail_next_create: std::sync::atomic::AtomicBool,
}

impl BatchState {
    /// Ids of every batch created, in order.
    pub fn batch_ids(&self) -> Vec<String> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.object["id"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The request bodies inside every uploaded batch line, in upload order.
    pub fn line_bodies(&self) -> Vec<Value> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| b.lines.iter().map(|l| l["body"].clone()))
            .collect()
    }

    /// Lines per created batch.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.lines.len())
            .collect()
    }

    fn problem(&self, p: String) {
        self.problems.lock().unwrap().push(p);
    }
}

/// Does this method and route (without `/v1`) belong to the Files or Batch API?
pub fn handles(route: &str) -> bool {
    ["/files", "/batches"]
        .iter()
        .any(|p| route == *p || route.starts_with(&format!("{p}/")))
}

/// A reply as (status, content type, body).
pub type Answer = (u16, &'static str, String);

fn json_answer(code: u16, v: &Value) -> Answer {
    (code, "application/json", v.to_string())
}

fn not_found(what: &str) -> Answer {
    json_answer(
        404,
        &openai_error(
            404,
            &format!("No such {what}"),
            "invalid_request_error",
            None,
        ),
    )
}

fn bad_request(message: &str) -> Answer {
    json_answer(
        400,
        &openai_error(400, message, "invalid_request_error", None),
    )
}

/// Answer one Files/Batch request. `reply` is the server's chat behaviour for a batch line body.
pub fn handle(
    state: &BatchState,
    method: &str,
    route: &str,
    content_type: &str,
    body: &[u8],
    reply: &dyn Fn(&Value) -> Reply,
) -> Answer {
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["files"]) => upload(state, content_type, body),
        ("GET", ["files", id]) => match state.files.lock().unwrap().get(*id) {
            Some(f) => json_answer(200, &f.object),
            None => not_found("file"),
        },
        ("GET", ["files", id, "content"]) => match state.files.lock().unwrap().get(*id) {
            Some(f) => (200, "application/octet-stream", f.content.clone()),
            None => not_found("file"),
        },
        ("POST", ["batches"]) => create(state, body),
        ("GET", ["batches"]) => {
            let data: Vec<Value> = state
                .batches
                .lock()
                .unwrap()
                .iter()
                .rev()
                .map(|b| b.object.clone())
                .collect();
            json_answer(
                200,
                &json!({"object": "list", "data": data, "has_more": false}),
            )
        }
        ("GET", ["batches", id]) => retrieve(state, id, reply),
        ("POST", ["batches", id, "cancel"]) => {
            let mut batches = state.batches.lock().unwrap();
            let Some(b) = batches.iter_mut().find(|b| b.object["id"] == *id) else {
                return not_found("batch");
            };
            if ["validating", "in_progress", "finalizing"]
                .contains(&b.object["status"].as_str().unwrap_or(""))
            {
                b.object["status"] = json!("cancelling");
                b.object["cancelling_at"] = json!(now());
            }
            json_answer(200, &b.object)
        }
        _ => not_found("route"),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn new_id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:06}fake")
}

/// A multipart form's fields: name → (filename, content). Just enough of RFC 7578 for the text
/// parts a batch upload has (a test double; the client side uses reqwest's multipart).
fn multipart(
    content_type: &str,
    body: &[u8],
) -> Option<BTreeMap<String, (Option<String>, String)>> {
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let text = String::from_utf8_lossy(body);
    let mut fields = BTreeMap::new();
    for part in text.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (head, content) = part.trim_start_matches("\r\n").split_once("\r\n\r\n")?;
        // `Content-Disposition: form-data; name="file"; filename="x.jsonl"`: the quoted value.
        let attr = |name: &str| {
            head.split(';').find_map(|a| {
                let value = a.trim().strip_prefix(name)?.strip_prefix("=\"")?;
                value.split('"').next().map(str::to_string)
            })
        };
        let name = attr("name")?;
        let content = content.strip_suffix("\r\n").unwrap_or(content).to_string();
        fields.insert(name, (attr("filename"), content));
    }
    Some(fields)
}

fn upload(state: &BatchState, content_type: &str, body: &[u8]) -> Answer {
    let Some(fields) = multipart(content_type, body) else {
        state.problem("POST /v1/files: not multipart/form-data".into());
        return bad_request("The request must be multipart/form-data.");
    };
    if fields.get("purpose").map(|p| p.1.as_str()) != Some("batch") {
        state.problem(format!(
            "POST /v1/files: purpose is {:?}, not batch",
            fields.get("purpose")
        ));
        return bad_request("'purpose' must be 'batch' for batch input files.");
    }
    let Some((Some(filename), content)) = fields.get("file").cloned() else {
        state.problem("POST /v1/files: no file part with a filename".into());
        return bad_request("'file' is a required property");
    };
    let mut files = state.files.lock().unwrap();
    let id = new_id("file-", files.len() + 1);
    let object = json!({
        "id": id, "object": "file", "bytes": content.len(), "created_at": now(),
        "filename": filename, "purpose": "batch", "status": "processed",
    });
    if let Err(e) = validate_component("OpenAIFile", &object) {
        state.problem(e);
    }
    files.insert(
        id.clone(),
        FakeFile {
            object: object.clone(),
            content,
        },
    );
    state.uploads.lock().unwrap().push(id);
    json_answer(200, &object)
}

fn create(state: &BatchState, body: &[u8]) -> Answer {
    if state
        .fail_next_create
        .swap(false, std::sync::atomic::Ordering::SeqCst)
    {
        return json_answer(
            500,
            &openai_error(
                500,
                "The server had an error while processing your request.",
                "server_error",
                None,
            ),
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        state.problem("POST /v1/batches: body is not JSON".into());
        return bad_request("We could not parse the JSON body of your request.");
    };
    if let Err(e) = validate_component("CreateBatchRequest", &request) {
        state.problem(e.clone());
        return bad_request(&e);
    }
    let Some(input) = request["input_file_id"].as_str().and_then(|id| {
        state
            .files
            .lock()
            .unwrap()
            .get(id)
            .map(|f| f.content.clone())
    }) else {
        return bad_request("Invalid 'input_file_id': no such file.");
    };
    let mut lines = Vec::new();
    for (i, text) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut problems = Vec::new();
        if !line["custom_id"].is_string()
            || line["method"] != "POST"
            || line["url"] != request["endpoint"]
        {
            problems.push(format!(
                "line {}: needs custom_id, method POST and url {}",
                i + 1,
                request["endpoint"]
            ));
        }
        if let Err(e) = validate_chat_request(&line["body"]) {
            problems.push(format!("line {}: {e}", i + 1));
        }
        problems.into_iter().for_each(|p| state.problem(p));
        lines.push(line);
    }
    let mut batches = state.batches.lock().unwrap();
    let object = json!({
        "id": new_id("batch_", batches.len() + 1), "object": "batch", "endpoint": request["endpoint"],
        "input_file_id": request["input_file_id"], "completion_window": "24h", "status": "validating",
        "created_at": now(), "expires_at": now() + 86_400,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": request.get("metadata").cloned().unwrap_or(Value::Null),
    });
    batches.push(FakeBatch {
        object: object.clone(),
        lines,
        polls: 0,
    });
    json_answer(200, &object)
}

fn retrieve(state: &BatchState, id: &str, reply: &dyn Fn(&Value) -> Reply) -> Answer {
    let script = state.script.lock().unwrap().clone();
    let mut batches = state.batches.lock().unwrap();
    let Some(b) = batches.iter_mut().find(|b| b.object["id"] == id) else {
        return not_found("batch");
    };
    b.polls += 1;
    let status = b.object["status"].as_str().unwrap_or("").to_string();
    let total = b.lines.len();
    match status.as_str() {
        "validating" => {
            b.object["status"] = json!("in_progress");
            b.object["in_progress_at"] = json!(now());
            b.object["request_counts"]["total"] = json!(total);
        }
        "cancelling" => finish(state, b, "cancelled", 0, reply),
        "in_progress" if b.polls >= script.polls.max(1) => {
            let invalid = state
                .problems
                .lock()
                .unwrap()
                .iter()
                .any(|p| p.starts_with("line "));
            match script.end {
                _ if invalid => finish(state, b, "failed", 0, reply),
                BatchEnd::Failed => finish(state, b, "failed", 0, reply),
                BatchEnd::Completed => finish(state, b, "completed", total, reply),
                BatchEnd::ErrorFileOnly => finish(state, b, "error-file-only", 0, reply),
                BatchEnd::Expired => finish(state, b, "expired", total / 2, reply),
            }
        }
        _ => {}
    }
    let object = b.object.clone();
    drop(batches);
    if let Err(e) = validate_component("Batch", &object) {
        state.problem(e);
    }
    json_answer(200, &object)
}

/// End a batch: answer its first `answered` lines, write its files and set its final status.
fn finish(
    state: &BatchState,
    b: &mut FakeBatch,
    how: &str,
    answered: usize,
    reply: &dyn Fn(&Value) -> Reply,
) {
    let mut output = String::new();
    let mut errors = String::new();
    let (mut ok, mut failed) = (0, 0);
    for (i, line) in b.lines.iter().enumerate() {
        let custom_id = line["custom_id"].clone();
        let error_line = |code: u16, body: Value| {
            json!({"id": format!("batch_req_{i}"), "custom_id": custom_id, "response": {"status_code": code, "request_id": format!("req_{i}"), "body": body}, "error": null}).to_string() + "\n"
        };
        if how == "error-file-only" {
            failed += 1;
            errors += &error_line(
                400,
                openai_error(
                    400,
                    "Invalid 'max_tokens': this model supports at most 4096 completion tokens.",
                    "invalid_request_error",
                    Some("invalid_value"),
                ),
            );
            continue;
        }
        if i >= answered {
            continue;
        }
        let body = &line["body"];
        let completion = match reply(body) {
            Reply::Arguments(args) => chat_completion(body, &args),
            Reply::Status {
                code, body: err, ..
            } if code != 200 => {
                failed += 1;
                errors += &error_line(code, err);
                continue;
            }
            _ => chat_completion(body, &default_arguments(body)),
        };
        ok += 1;
        output += &(json!({"id": format!("batch_req_{i}"), "custom_id": custom_id, "response": {"status_code": 200, "request_id": format!("req_{i}"), "body": completion}, "error": null}).to_string() + "\n");
    }
    let mut files = state.files.lock().unwrap();
    let mut add = |content: String, name: &str| {
        let id = new_id("file-", files.len() + 1);
        let object = json!({"id": id, "object": "file", "bytes": content.len(), "created_at": now(), "filename": name, "purpose": "batch_output", "status": "processed"});
        files.insert(id.clone(), FakeFile { object, content });
        id
    };
    if !output.is_empty() {
        b.object["output_file_id"] = json!(add(output, "batch_output.jsonl"));
    }
    if !errors.is_empty() {
        b.object["error_file_id"] = json!(add(errors, "batch_errors.jsonl"));
    }
    let status = if how == "error-file-only" {
        "completed"
    } else {
        how
    };
    b.object["status"] = json!(status);
    b.object[format!("{status}_at")] = json!(now());
    b.object["request_counts"] = json!({"total": b.lines.len(), "completed": ok, "failed": failed});
    if status == "failed" {
        b.object["errors"] = json!({"object": "list", "data": [{"code": "invalid_request", "message": "The input file has invalid requests.", "line": 1}]});
    }
}
