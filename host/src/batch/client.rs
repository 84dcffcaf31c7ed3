//! The Files and Batches endpoints: upload a part, create, retrieve, list and cancel batches,
//! download output and error files.

use crate::error::Error;
use crate::settings::ApiKey;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// `Batch.request_counts`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
}

/// The fields of OpenAI's `Batch` object that Classified uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Batch {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub input_file_id: String,
    pub output_file_id: Option<String>,
    pub error_file_id: Option<String>,
    pub request_counts: Option<Counts>,
    pub errors: Option<BatchErrors>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchErrors {
    #[serde(default)]
    pub data: Vec<BatchError>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchError {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Batch {
    /// No further change will come: its files are final.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "completed" | "failed" | "expired" | "cancelled"
        )
    }

    /// The first validation error, as one sentence.
    pub fn error_summary(&self) -> Option<String> {
        let e = self.errors.as_ref()?.data.first()?;
        Some(format!(
            "{}{}",
            e.message.clone().unwrap_or_default(),
            e.code
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ))
    }
}

/// A client for `{base}/files` and `{base}/batches`.
#[derive(Clone)]
pub struct BatchApi {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<ApiKey>,
}

/// A failed call: `transient` ones (connection, 429, 5xx) may work on the next poll.
#[derive(Debug)]
pub struct ApiError {
    pub message: String,
    pub transient: bool,
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        Error::Api(e.message)
    }
}

impl BatchApi {
    pub fn new(base_url: &str, api_key: Option<ApiKey>, timeout: Duration) -> BatchApi {
        BatchApi {
            http: reqwest::Client::builder()
                .timeout(timeout.max(Duration::from_secs(300)))
                .user_agent(concat!("classified/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("an HTTP client with only a timeout and user agent set always builds"),
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    /// `POST /files` with purpose `batch`; the new file's id.
    pub async fn upload(&self, name: &str, text: String) -> Result<String, ApiError> {
        let part = reqwest::multipart::Part::text(text)
            .file_name(name.to_string())
            .mime_str("application/jsonl")
            .expect("application/jsonl is a valid MIME type");
        let form = reqwest::multipart::Form::new()
            .text("purpose", "batch")
            .part("file", part);
        let file: Value = self
            .send(
                self.http.post(self.url("/files")).multipart(form),
                "upload a batch file",
            )
            .await?;
        string_field(&file, "id", "upload a batch file")
    }

    /// `POST /batches` for chat completions within 24 hours.
    pub async fn create(&self, input_file_id: &str) -> Result<Batch, ApiError> {
        let body = json!({
            "input_file_id": input_file_id,
            "endpoint": super::jsonl::ENDPOINT,
            "completion_window": "24h",
            "metadata": {"created_by": "classified"},
        });
        self.batch(
            self.http.post(self.url("/batches")).json(&body),
            "create a batch",
        )
        .await
    }

    pub async fn retrieve(&self, id: &str) -> Result<Batch, ApiError> {
        self.batch(
            self.http.get(self.url(&format!("/batches/{id}"))),
            "read a batch",
        )
        .await
    }

    pub async fn cancel(&self, id: &str) -> Result<Batch, ApiError> {
        self.batch(
            self.http.post(self.url(&format!("/batches/{id}/cancel"))),
            "cancel a batch",
        )
        .await
    }

    /// The account's most recent batches (one page of up to 100).
    pub async fn list(&self) -> Result<Vec<Batch>, ApiError> {
        let what = "list batches";
        let page: Value = self
            .send(self.http.get(self.url("/batches?limit=100")), what)
            .await?;
        serde_json::from_value(page["data"].clone()).map_err(|e| bad_body(what, e))
    }

    /// `GET /files/{id}/content` as text.
    pub async fn content(&self, file_id: &str) -> Result<String, ApiError> {
        let request = self
            .http
            .get(self.url(&format!("/files/{file_id}/content")));
        self.send_text(request, "download a batch result file")
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    async fn batch(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Batch, ApiError> {
        let value = self.send(request, what).await?;
        serde_json::from_value(value).map_err(|e| bad_body(what, e))
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, ApiError> {
        let text = self.send_text(request, what).await?;
        serde_json::from_str(&text).map_err(|e| bad_body(what, e))
    }

    /// Sends with the key; the body of a success, or the API's error.
    async fn send_text(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<String, ApiError> {
        let response = self
            .authorized(request)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(self.status_error(status, &text, what));
        }
        Ok(text)
    }

    fn unreachable(&self, e: reqwest::Error) -> ApiError {
        let mut source: &dyn std::error::Error = &e;
        while let Some(next) = source.source() {
            source = next;
        }
        ApiError {
            message: format!("could not reach {}: {source}", self.base_url),
            transient: true,
        }
    }

    fn status_error(&self, status: reqwest::StatusCode, text: &str, what: &str) -> ApiError {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let detail = value["error"]["message"].as_str().unwrap_or("").to_string();
        let fix = match status.as_u16() {
            401 => "; set OPENAI_API_KEY (or OPENAI_KEY) to a valid key",
            404 => "; check OPENAI_BASE_URL and that the server offers the Batch API",
            429 | 500..=599 => {
                "; rerun later: the run continues where it stopped, without paying twice"
            }
            _ => "",
        };
        ApiError {
            message: format!(
                "could not {what}: {} answered {status}{}{fix}",
                self.base_url,
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                }
            ),
            transient: status.as_u16() == 429 || status.is_server_error(),
        }
    }
}

fn string_field(value: &Value, field: &str, what: &str) -> Result<String, ApiError> {
    value[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError {
            message: format!("could not {what}: the answer has no `{field}`"),
            transient: false,
        })
}

fn bad_body(what: &str, e: serde_json::Error) -> ApiError {
    ApiError {
        message: format!("could not {what}: the answer is not the expected JSON ({e})"),
        transient: false,
    }
}
