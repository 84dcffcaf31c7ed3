//! What a route hands back to the server loop ([`Reply`]), the parsed request it gets ([`Req`]),
//! and the reply shapes shared by the Hub and the CDN: JSON, Hub errors, S3-style XML errors and
//! file bodies with range handling.

use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};

use super::body::HubBody;
use super::range::{RangeAnswer, interpret};
use super::repo::RepoFile;
use super::state::{RangeMode, State};

/// The parts of a request the routes look at.
pub(crate) struct Req {
    pub method: Method,
    /// Raw (percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub range: Option<String>,
    /// The request body (read for POST only).
    pub body: Bytes,
}

impl Req {
    /// The value of query parameter `name` (percent-decoded).
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.as_deref()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| decode(v))
        })
    }

    pub fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// Percent-decodes one URL component (`+` stays `+`, as in paths).
pub(crate) fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A response before it is logged and sent.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: HubBody,
    /// The repo path whose content the body carries (for the log's byte counts).
    pub file: Option<String>,
}

impl Reply {
    pub fn new(status: u16, body: HubBody) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
            file: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn json(status: u16, v: &Value) -> Reply {
        Reply::new(status, HubBody::bytes(v.to_string()))
            .header("content-type", "application/json; charset=utf-8")
    }
}

/// A Hub error: JSON `{"error": message}` plus `X-Error-Code` / `X-Error-Message`.
pub(crate) fn hub_error(status: u16, code: Option<&str>, message: &str) -> Reply {
    let mut r =
        Reply::json(status, &json!({ "error": message })).header("x-error-message", message);
    if let Some(code) = code {
        r = r.header("x-error-code", code);
    }
    r
}

/// An S3-style XML error, as the CDN's storage answers.
pub(crate) fn xml_error(status: u16, code: &str, message: &str) -> Reply {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>EMU0000000000000</RequestId></Error>"
    );
    Reply::new(status, HubBody::bytes(body)).header("content-type", "application/xml")
}

/// The file's content (or the requested range of it), honouring the emulator's range mode and
/// consuming a pending connection cut on GET.
pub(crate) fn file_reply(state: &State, req: &Req, file: &RepoFile) -> Reply {
    let size = file.size;
    let mode = state.knobs().range_mode;
    let range = match mode {
        RangeMode::Honour => interpret(req.range.as_deref(), size),
        RangeMode::IgnoreRanges => RangeAnswer::Full,
    };
    let (status, start, len, content_range) = match range {
        RangeAnswer::Full => (200, 0, size, None),
        RangeAnswer::Partial { start, end } => (
            206,
            start,
            end - start + 1,
            Some(format!("bytes {start}-{end}/{size}")),
        ),
        RangeAnswer::Unsatisfiable => {
            return Reply::new(416, HubBody::empty())
                .header("content-range", format!("bytes */{size}"));
        }
    };
    let body = match HubBody::region(&file.content, start, len) {
        Ok(b) => b,
        Err(e) => {
            return hub_error(
                500,
                None,
                &format!("the emulator cannot read {}: {e}", file.path),
            );
        }
    };
    let cut = if req.is_head() {
        None
    } else {
        state.take_cut()
    };
    let mut r = Reply::new(status, body.cut_after(cut))
        .header("accept-ranges", "bytes")
        .header("content-type", content_type(&file.path));
    if let Some(cr) = content_range {
        r = r.header("content-range", cr);
    }
    r.file = Some(file.path.clone());
    r
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "md" | "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "csv" => "text/csv; charset=utf-8",
        "yaml" | "yml" => "text/yaml; charset=utf-8",
        _ => "application/octet-stream",
    }
}
