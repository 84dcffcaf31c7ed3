//! Hub settings under the names `huggingface_hub` and `datasets` use: `HF_ENDPOINT`, `HF_TOKEN`
//! (then `HUGGING_FACE_HUB_TOKEN`, then the token file `huggingface-cli login` writes),
//! `HF_HOME` / `HF_HUB_CACHE` and `HF_HUB_OFFLINE`.

use crate::error::Error;
use crate::settings::Env;
use std::path::PathBuf;

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A Hub access token. `Debug` prints a redaction, so it cannot leak through logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct HubToken(String);

impl HubToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for HubToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubToken(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct HubSettings {
    /// Base URL of the Hub, without a trailing `/`.
    pub endpoint: String,
    pub token: Option<HubToken>,
    /// The hub cache shared with Python (`$HF_HUB_CACHE`, default `$HF_HOME/hub`).
    pub cache_dir: PathBuf,
    /// `HF_HUB_OFFLINE=1`: no network at all; everything comes from `cache_dir`.
    pub offline: bool,
}

impl HubSettings {
    pub fn load(env: &Env) -> Result<HubSettings, Error> {
        let endpoint = env
            .get("HF_ENDPOINT")
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(Error::Usage(format!(
                "HF_ENDPOINT={endpoint:?} is not an http(s) URL; set it to e.g. {DEFAULT_ENDPOINT} or unset it"
            )));
        }
        let home = env.get("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache = env
                .get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| env.get("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(|| PathBuf::from(".cache"));
            cache.join("huggingface")
        });
        let cache_dir = env
            .get("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("hub"));
        let token_path = env
            .get("HF_TOKEN_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("token"));
        let token = env
            .get("HF_TOKEN")
            .or_else(|| env.get("HUGGING_FACE_HUB_TOKEN"))
            .or_else(|| std::fs::read_to_string(&token_path).ok())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(HubToken);
        let offline = match env.get("HF_HUB_OFFLINE") {
            None => false,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(Error::Usage(format!(
                        "HF_HUB_OFFLINE={v:?} is not a yes/no value; set it to 1 (offline) or 0, or unset it"
                    )));
                }
            },
        };
        Ok(HubSettings {
            endpoint,
            token,
            cache_dir,
            offline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_huggingface_hub() {
        let s = HubSettings::load(&Env::from_pairs(&[("HOME", "/home/u")])).unwrap();
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(s.cache_dir, PathBuf::from("/home/u/.cache/huggingface/hub"));
        assert!(s.token.is_none());
        assert!(!s.offline);
    }

    #[test]
    fn environment_overrides_and_token_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "hf_from_file\n").unwrap();
        let home = dir.path().to_str().unwrap();
        let s = HubSettings::load(&Env::from_pairs(&[
            ("HF_HOME", home),
            ("HF_ENDPOINT", "http://127.0.0.1:9/"),
            ("HF_HUB_OFFLINE", "1"),
        ]))
        .unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:9");
        assert_eq!(s.cache_dir, dir.path().join("hub"));
        assert_eq!(s.token.as_ref().unwrap().expose(), "hf_from_file");
        assert_eq!(format!("{:?}", s.token), "Some(HubToken(<redacted>))");
        assert!(s.offline);
        let s = HubSettings::load(&Env::from_pairs(&[
            ("HF_HOME", home),
            ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
            ("HF_HUB_CACHE", "/c"),
        ]))
        .unwrap();
        assert_eq!(s.token.unwrap().expose(), "hf_legacy");
        assert_eq!(s.cache_dir, PathBuf::from("/c"));
        let s = HubSettings::load(&Env::from_pairs(&[
            ("HF_HOME", home),
            ("HF_TOKEN", "hf_env"),
            ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
        ]))
        .unwrap();
        assert_eq!(s.token.unwrap().expose(), "hf_env");
    }

    #[test]
    fn bad_values_are_plain_errors() {
        let e = HubSettings::load(&Env::from_pairs(&[("HF_HUB_OFFLINE", "maybe")])).unwrap_err();
        assert!(e.to_string().contains("HF_HUB_OFFLINE"), "{e}");
        let e =
            HubSettings::load(&Env::from_pairs(&[("HF_ENDPOINT", "huggingface.co")])).unwrap_err();
        assert!(e.to_string().contains("HF_ENDPOINT"), "{e}");
    }
}
