//! Settings from the environment and a `local.env` file, under the seed tool's names.
//!
//! Precedence: command-line flags (applied in `config.rs`) > process environment > `local.env` >
//! defaults. The API key is kept in [`ApiKey`], which never prints itself.

use crate::error::Error;
use crate::pipeline::chunk::ChunkSettings;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The API key. `Debug` and `Display` print a redaction, so it cannot leak through logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub api_key: Option<ApiKey>,
    pub base_url: String,
    pub model: String,
    pub max_generation_tokens: u32,
    pub timeout: Duration,
    pub lens_dir: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Path of the SQLite cache file from DATABASE_URL; see [`Settings::database`].
    pub database_url: Option<PathBuf>,
    pub chunking: ChunkSettings,
    /// CLASSIFIED_PRICES: a price file that replaces or adds entries of the built-in price table.
    pub prices_file: Option<PathBuf>,
    /// Hugging Face Hub access (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`, `HF_HUB_OFFLINE`).
    pub hub: crate::hub::HubSettings,
    pub tuning: Tuning,
}

/// Numbers the tests and benchmarks turn down to run quickly; users never need them.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// `CLASSIFIED_PLAN_ROWS`: rows per dataset a plain run plans for its estimate (default 1000).
    pub plan_rows: u64,
    /// `CLASSIFIED_BATCH_MAX_REQUESTS`: requests per Batch API file (default and most: 50,000).
    pub batch_max_requests: usize,
    /// `CLASSIFIED_BATCH_POLL_MS`: the first pause between batch polls (default 10 s).
    pub batch_first_poll: Duration,
}

/// Looks a name up in the process environment (or a test's stand-in for it).
type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// Where setting values come from: the process environment, then `local.env`.
pub struct Env {
    file: HashMap<String, String>,
    process: Lookup,
}

impl Env {
    /// The real environment plus `local.env` in the current directory, if there is one.
    pub fn from_process() -> Result<Env, Error> {
        let file = read_env_file(Path::new("local.env"))?;
        Ok(Env {
            file,
            process: Box::new(|k| std::env::var(k).ok()),
        })
    }

    /// An environment made of fixed values (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env {
            file: HashMap::new(),
            process: Box::new(move |k| map.get(k).cloned()),
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        (self.process)(key)
            .or_else(|| self.file.get(key).cloned())
            .filter(|v| !v.trim().is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, key: &str, default: T, what: &str) -> Result<T, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "{key}={v:?} is not {what}; set it to {what} or unset it"
                ))
            }),
        }
    }
}

fn read_env_file(path: &Path) -> Result<HashMap<String, String>, Error> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let iter = dotenvy::from_path_iter(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    iter.map(|item| {
        item.map_err(|e| {
            Error::Usage(format!(
                "{} has a line that is not KEY=value: {e}",
                path.display()
            ))
        })
    })
    .collect()
}

impl Settings {
    pub fn load(env: &Env) -> Result<Settings, Error> {
        let positive = "a whole number above 0";
        let chunking = ChunkSettings {
            tokens_per_chunk: env.parse("TOKENS_PER_CHUNK", 1500usize, positive)?,
            chunks_per_doc: env.parse("CHUNKS_PER_DOC", 2usize, positive)?,
            max_search_distance: env.parse("MAX_SEARCH_DISTANCE", 100usize, "a whole number")?,
            min_chunk_chars: env.parse("MIN_CHUNK_CHARS", 375usize, "a whole number")?,
        };
        if chunking.tokens_per_chunk == 0 || chunking.chunks_per_doc == 0 {
            return Err(Error::Usage(
                "TOKENS_PER_CHUNK and CHUNKS_PER_DOC must be above 0".into(),
            ));
        }
        let max_generation_tokens: u32 = env.parse("MAX_GENERATION_TOKENS", 256, positive)?;
        let timeout_secs: f64 = env.parse("OPENAI_TIMEOUT", 60.0, "a number of seconds")?;
        if max_generation_tokens == 0 || !(timeout_secs > 0.0 && timeout_secs <= 86_400.0) {
            return Err(Error::Usage(
                "MAX_GENERATION_TOKENS and OPENAI_TIMEOUT must be above 0".into(),
            ));
        }
        let data_dir = PathBuf::from(env.get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = env
            .get("DATABASE_URL")
            .map(|url| database_path(&url))
            .transpose()?;
        Ok(Settings {
            // OPENAI_API_KEY is the SDKs' name; OPENAI_KEY is the seed's.
            api_key: env
                .get("OPENAI_API_KEY")
                .or_else(|| env.get("OPENAI_KEY"))
                .map(|k| ApiKey(k.trim().to_string())),
            base_url: env
                .get("OPENAI_BASE_URL")
                .unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            model: env.get("CHAT_MODEL").unwrap_or_else(|| "gpt-4".into()),
            max_generation_tokens,
            timeout: Duration::from_secs_f64(timeout_secs),
            lens_dir: env.get("LENS_DIR").map(PathBuf::from),
            data_dir,
            database_url,
            chunking,
            prices_file: env.get("CLASSIFIED_PRICES").map(PathBuf::from),
            hub: crate::hub::HubSettings::load(env)?,
            tuning: Tuning::load(env)?,
        })
    }
}

impl Tuning {
    fn load(env: &Env) -> Result<Tuning, Error> {
        let positive = "a whole number above 0";
        let tuning = Tuning {
            plan_rows: env.parse("CLASSIFIED_PLAN_ROWS", 1000, positive)?,
            batch_max_requests: env.parse(
                "CLASSIFIED_BATCH_MAX_REQUESTS",
                crate::batch::jsonl::MAX_REQUESTS,
                positive,
            )?,
            batch_first_poll: Duration::from_millis(env.parse(
                "CLASSIFIED_BATCH_POLL_MS",
                10_000,
                positive,
            )?),
        };
        if tuning.plan_rows == 0
            || tuning.batch_max_requests == 0
            || tuning.batch_first_poll.is_zero()
        {
            return Err(Error::Usage(
                "CLASSIFIED_PLAN_ROWS, CLASSIFIED_BATCH_MAX_REQUESTS and CLASSIFIED_BATCH_POLL_MS must be above 0".into(),
            ));
        }
        Ok(tuning)
    }
}

impl Settings {
    /// The cache file: DATABASE_URL, else `classified.sqlite` in the data folder (after `--out`).
    pub fn database(&self) -> PathBuf {
        self.database_url
            .clone()
            .unwrap_or_else(|| self.data_dir.join("classified.sqlite"))
    }
}

/// Accept the seed's SQLAlchemy-style `sqlite:///relative.db` / `sqlite:////abs.db`, or a plain path.
fn database_path(url: &str) -> Result<PathBuf, Error> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("sqlite:///") {
        return Ok(PathBuf::from(rest));
    }
    if let Some(rest) = url.strip_prefix("sqlite://") {
        return Ok(PathBuf::from(rest));
    }
    if url.contains("://") {
        return Err(Error::Usage(format!(
            "DATABASE_URL={url:?} is not SQLite; the cache is a SQLite file: use sqlite:///path/to/cache.db or a plain path"
        )));
    }
    Ok(PathBuf::from(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_seed() {
        let s = Settings::load(&Env::from_pairs(&[])).unwrap();
        assert_eq!(s.model, "gpt-4");
        assert_eq!(s.max_generation_tokens, 256);
        assert_eq!(s.timeout, Duration::from_secs(60));
        assert_eq!(s.chunking.tokens_per_chunk, 1500);
        assert_eq!(s.chunking.chunks_per_doc, 2);
        assert_eq!(s.chunking.max_search_distance, 100);
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert_eq!(s.database(), PathBuf::from("data/classified.sqlite"));
        assert!(s.api_key.is_none());
        assert_eq!(s.tuning.plan_rows, 1000);
        assert_eq!(s.tuning.batch_first_poll, Duration::from_secs(10));
    }

    #[test]
    fn tuning_numbers_are_checked() {
        let env = Env::from_pairs(&[("CLASSIFIED_PLAN_ROWS", "0")]);
        let e = Settings::load(&env).unwrap_err().to_string();
        assert!(e.contains("CLASSIFIED_PLAN_ROWS"), "{e}");
        let env = Env::from_pairs(&[("CLASSIFIED_BATCH_POLL_MS", "soon")]);
        let e = Settings::load(&env).unwrap_err().to_string();
        assert!(e.contains("CLASSIFIED_BATCH_POLL_MS"), "{e}");
    }

    #[test]
    fn both_key_names_work_and_the_sdk_name_wins() {
        let s = Settings::load(&Env::from_pairs(&[("OPENAI_KEY", "seed")])).unwrap();
        assert_eq!(s.api_key.unwrap().expose(), "seed");
        let s = Settings::load(&Env::from_pairs(&[
            ("OPENAI_KEY", "seed"),
            ("OPENAI_API_KEY", "sdk"),
        ]))
        .unwrap();
        assert_eq!(s.api_key.unwrap().expose(), "sdk");
    }

    #[test]
    fn key_never_prints() {
        let s = Settings::load(&Env::from_pairs(&[("OPENAI_API_KEY", "sk-secret-123")])).unwrap();
        assert!(!format!("{s:?}").contains("sk-secret-123"));
    }

    #[test]
    fn database_url_forms() {
        assert_eq!(
            database_path("sqlite:///./x.db").unwrap(),
            PathBuf::from("./x.db")
        );
        assert_eq!(
            database_path("sqlite:////tmp/x.db").unwrap(),
            PathBuf::from("/tmp/x.db")
        );
        assert_eq!(
            database_path("cache.db").unwrap(),
            PathBuf::from("cache.db")
        );
        assert!(
            database_path("postgres://h/db")
                .unwrap_err()
                .to_string()
                .contains("SQLite")
        );
    }

    #[test]
    fn bad_numbers_name_the_setting() {
        let e = Settings::load(&Env::from_pairs(&[("TOKENS_PER_CHUNK", "lots")])).unwrap_err();
        assert!(e.to_string().contains("TOKENS_PER_CHUNK"), "{e}");
    }

    #[test]
    fn local_env_file_is_read_and_process_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.env");
        std::fs::write(&path, "CHAT_MODEL=gpt-4o\nOPENAI_KEY=from-file\n").unwrap();
        let env = Env {
            file: read_env_file(&path).unwrap(),
            process: Box::new(|k| (k == "CHAT_MODEL").then(|| "gpt-3.5-turbo".to_string())),
        };
        let s = Settings::load(&env).unwrap();
        assert_eq!(s.model, "gpt-3.5-turbo");
        assert_eq!(s.api_key.unwrap().expose(), "from-file");
    }
}
