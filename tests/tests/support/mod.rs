//! Running the `classified` program in a scratch folder against a loopback fake OpenAI server.

#![allow(dead_code)]

use classified_tests::FakeOpenAi;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The fake API key every test uses: it must never show up in any output.
pub const KEY: &str = "sk-test-DO-NOT-LEAK-4f1c9e";

/// A scratch working directory with its own DATA_DIR and cache.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// `HF_HOME` of every run in this workspace (the Hub cache is `hub/` below it).
    pub fn hf_home(&self) -> PathBuf {
        self.path().join("hf")
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache.sqlite")
    }

    /// `classified ARGS` with a clean environment pointed at `server` (or at nothing).
    pub fn command(&self, server: Option<&FakeOpenAi>, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_classified-e2e"));
        cmd.args(args).current_dir(self.path());
        for var in [
            "OPENAI_API_KEY",
            "OPENAI_KEY",
            "OPENAI_BASE_URL",
            "CHAT_MODEL",
            "MAX_GENERATION_TOKENS",
            "OPENAI_TIMEOUT",
            "LENS_DIR",
            "DATA_DIR",
            "DATABASE_URL",
            "TOKENS_PER_CHUNK",
            "CHUNKS_PER_DOC",
            "MAX_SEARCH_DISTANCE",
            "CLASSIFIED_PRICES",
            "CLASSIFIED_BATCH_MAX_REQUESTS",
            "CLASSIFIED_PLAN_ROWS",
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_TOKEN_PATH",
            "HF_ENDPOINT",
            "HF_HUB_CACHE",
            "HF_HUB_OFFLINE",
        ] {
            cmd.env_remove(var);
        }
        // Never the real Hub cache or token: a Hub home of the workspace's own.
        cmd.env("HF_HOME", self.hf_home());
        // Batches on the fake server end within a few polls: poll every 20 ms, not every 10 s.
        cmd.env("DATA_DIR", self.data_dir())
            .env("DATABASE_URL", self.cache())
            .env("CLASSIFIED_BATCH_POLL_MS", "20");
        if let Some(server) = server {
            cmd.env("OPENAI_BASE_URL", server.base_url())
                .env("OPENAI_API_KEY", KEY);
        }
        cmd
    }

    pub fn run(&self, server: Option<&FakeOpenAi>, args: &[&str]) -> Run {
        Run::from(self.command(server, args).output().unwrap())
    }

    /// `run` with `vars` set on top of the clean environment (a price file, a limit, a cache).
    pub fn run_with_env<K, V>(
        &self,
        server: Option<&FakeOpenAi>,
        args: &[&str],
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Run
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        Run::from(self.command(server, args).envs(vars).output().unwrap())
    }

    pub fn spawn(&self, server: Option<&FakeOpenAi>, args: &[&str]) -> Child {
        self.command(server, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A dataset `many.jsonl` of `n` distinct instruct rows (`instruction`, `output`); its path.
    pub fn instruct_rows(&self, n: usize) -> String {
        let path = self.path().join("many.jsonl");
        let lines: Vec<String> = (0..n)
            .map(|i| serde_json::json!({"instruction": format!("Question number {i}: what is {i} squared?"), "output": format!("{}", i * i)}).to_string())
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        path.to_string_lossy().into_owned()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.data_dir().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// A JSON output (`compare.json`, `run.json`, ...) below the data folder, parsed.
    /// `dir` holds the very `summary.csv` and `means.csv` this workspace's own `summary` wrote.
    pub fn assert_same_summary_files(&self, dir: &Path) {
        assert_same_summary_files(dir, &self.data_dir());
    }

    pub fn json(&self, name: &str) -> Value {
        serde_json::from_str(&self.read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// summary.csv as (lens → field → value) for one dataset.
    pub fn summary(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_path(self.data_dir().join("summary.csv")).unwrap();
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .map(String::from)
                    .zip(r.unwrap().iter().map(String::from))
                    .collect()
            })
            .collect()
    }

    /// Number of answers in the cache, and the cache's integrity check.
    pub fn cache_rows(&self) -> (usize, String) {
        let conn = rusqlite::Connection::open(self.cache()).unwrap();
        let n: usize = conn
            .query_row("SELECT count(*) FROM answers", [], |r| r.get(0))
            .unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        (n, ok)
    }

    /// The request bodies stored in the cache.
    pub fn cached_requests(&self) -> Vec<serde_json::Value> {
        let conn = rusqlite::Connection::open(self.cache()).unwrap();
        let mut stmt = conn.prepare("SELECT request FROM answers").unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|s| serde_json::from_str(&s.unwrap()).unwrap())
            .collect()
    }

    /// Every file name below the workspace.
    pub fn all_files_names(&self) -> Vec<String> {
        walk(self.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// Every byte this run left behind (outputs, cache, WAL), for leak checks.
    pub fn all_files_text(&self) -> String {
        walk(self.path())
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }
}

/// A finished run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "run failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The run finished and wrote its outputs, but some rows failed: exit code 4.
    #[track_caller]
    pub fn rows_failed(self) -> Run {
        assert_eq!(
            self.code, 4,
            "expected a finished run with failed rows (exit 4):\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains("row(s) failed"),
            "no failed-rows line:\n{}",
            self.stderr
        );
        self
    }

    /// Its stdout says `text` somewhere (the whole stdout is shown when it does not).
    #[track_caller]
    pub fn assert_stdout_has(&self, text: &str) {
        assert!(self.stdout.contains(text), "{}", self.stdout);
    }

    /// Its stderr says `text` somewhere (the whole stderr is shown when it does not).
    #[track_caller]
    pub fn assert_stderr_has(&self, text: &str) {
        assert!(self.stderr.contains(text), "{}", self.stderr);
    }

    /// The run failed with exactly one `error:` line; return it.
    #[track_caller]
    pub fn error(&self) -> String {
        assert_ne!(
            self.code, 0,
            "run unexpectedly succeeded:\n{}\n{}",
            self.stdout, self.stderr
        );
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "expected one error line, stderr:\n{}",
            self.stderr
        );
        errors[0].to_string()
    }
}

/// The cells of the console table line that names `lens`, and that line (for messages).
#[track_caller]
/// `a` and `b` hold the same `summary.csv` and `means.csv`, byte for byte.
pub fn assert_same_summary_files(a: &Path, b: &Path) {
    for file in ["summary.csv", "means.csv"] {
        let read = |dir: &Path| {
            std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        };
        assert_eq!(read(a), read(b), "{file}");
    }
}

pub fn table_cells<'a>(stdout: &'a str, lens: &str) -> (&'a str, Vec<&'a str>) {
    let line = stdout
        .lines()
        .find(|l| l.contains(lens))
        .unwrap_or_else(|| panic!("no line for {lens}:\n{stdout}"));
    let cells = line
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    (line, cells)
}

/// The arguments `summary DATA COLUMNS LENSES` followed by `flags`, the shape of most runs.
pub fn summary_args<'a>(
    data: &'a str,
    columns: &'a str,
    lenses: &'a str,
    flags: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["summary", data, columns, lenses];
    args.extend_from_slice(flags);
    args
}

/// `summary DATA instruction,output instruction_following` and `flags`: instruct rows rated.
pub fn instruct_args<'a>(data: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    summary_args(data, "instruction,output", "instruction_following", flags)
}

/// Path of a fixture as a string argument.
pub fn fixture(name: &str) -> String {
    classified_tests::fixture(name)
        .to_string_lossy()
        .into_owned()
}

/// A Parquet output as one JSON object per row (string, float and unsigned columns).
pub fn read_parquet(path: &std::path::Path) -> Vec<serde_json::Map<String, Value>> {
    use arrow_array::Array;
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let mut row = serde_json::Map::new();
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                let value = if column.is_null(i) {
                    Value::Null
                } else if let Some(a) = column.as_any().downcast_ref::<arrow_array::StringArray>() {
                    Value::from(a.value(i))
                } else if let Some(a) = column.as_any().downcast_ref::<arrow_array::Float64Array>()
                {
                    Value::from(a.value(i))
                } else if let Some(a) = column.as_any().downcast_ref::<arrow_array::UInt64Array>() {
                    Value::from(a.value(i))
                } else if let Some(a) = column.as_any().downcast_ref::<arrow_array::UInt32Array>() {
                    Value::from(a.value(i))
                } else if let Some(a) = column.as_any().downcast_ref::<arrow_array::BooleanArray>()
                {
                    Value::from(a.value(i))
                } else if let Some(a) = column.as_any().downcast_ref::<arrow_array::ListArray>() {
                    // A rationale column: one string per rated chunk.
                    let items = a.value(i);
                    let texts = items
                        .as_any()
                        .downcast_ref::<arrow_array::StringArray>()
                        .expect("lists of strings");
                    Value::from(
                        (0..texts.len())
                            .map(|j| Value::from(texts.value(j)))
                            .collect::<Vec<_>>(),
                    )
                } else {
                    panic!("unexpected column type {}", field.data_type())
                };
                row.insert(field.name().clone(), value);
            }
            rows.push(row);
        }
    }
    rows
}

/// The error of every failed row of a per-row Parquet read by [`read_parquet`], in row order.
pub fn failed_errors(rows: &[serde_json::Map<String, Value>]) -> Vec<String> {
    rows.iter()
        .filter(|r| r["status"] == "failed")
        .map(|r| r["error"].as_str().unwrap().to_string())
        .collect()
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path)
            } else {
                files.push(path)
            }
        }
    }
    files
}
