//! Batch input files: one JSONL line per request, split at the Batch API's limits
//! (50,000 requests or 200 MB per file).

use super::store::JobRequest;
use serde_json::{Value, json};

/// The Batch API's per-file limits.
pub const MAX_REQUESTS: usize = 50_000;
pub const MAX_BYTES: usize = 200 * 1000 * 1000;

/// The endpoint every line targets.
pub const ENDPOINT: &str = "/v1/chat/completions";

/// One input line: the cache key is the `custom_id`, so each output line finds its answer's key.
pub fn line(key: &str, request: &Value) -> String {
    json!({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": request}).to_string()
}

/// Split `requests` into parts of at most `max_requests` lines and `max_bytes` bytes.
pub fn split(
    requests: Vec<JobRequest>,
    max_requests: usize,
    max_bytes: usize,
) -> Vec<Vec<JobRequest>> {
    let mut parts = Vec::new();
    let mut part: Vec<JobRequest> = Vec::new();
    let mut bytes = 0;
    for r in requests {
        // The line holds the request plus the custom_id/method/url envelope and a newline.
        let size = r.request.len() + r.key.len() + 80;
        if !part.is_empty() && (part.len() >= max_requests || bytes + size > max_bytes) {
            parts.push(std::mem::take(&mut part));
            bytes = 0;
        }
        bytes += size;
        part.push(r);
    }
    if !part.is_empty() {
        parts.push(part);
    }
    parts
}

/// The text of one part's input file.
pub fn render(part: &[JobRequest]) -> Result<String, serde_json::Error> {
    let mut text = String::new();
    for r in part {
        let body: Value = serde_json::from_str(&r.request)?;
        text.push_str(&line(&r.key, &body));
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(i: usize, size: usize) -> JobRequest {
        JobRequest {
            key: format!("k{i}"),
            lens: "l".into(),
            request: json!({"model": "m", "pad": "x".repeat(size)}).to_string(),
        }
    }

    #[test]
    fn splits_at_the_request_count_and_the_byte_size() {
        let parts = split((0..5).map(|i| req(i, 1)).collect(), 2, MAX_BYTES);
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        let parts = split((0..5).map(|i| req(i, 1000)).collect(), 100, 2500);
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        let text = render(&parts[0]).unwrap();
        assert!(text.len() <= 2500);
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["custom_id"], "k0");
        assert_eq!(first["url"], "/v1/chat/completions");
        assert_eq!(first["body"]["model"], "m");
    }
}
