//! What the user typed to name a Hub dataset: `owner/name[@rev][:config]` or an
//! `hf://datasets/…` URL ([`DatasetRef`]), the `datasets` split-slicing grammar ([`SplitSpec`]), and
//! [`looks_like_hub_id`], which tells the CLI whether an argument is a local path or a Hub reference.

mod slice;

use std::path::Path;

use percent_encoding::percent_decode_str;

pub use slice::{Rounding, SliceError, SplitPart, SplitSpec, Unit};

/// The Hub's limit on a whole repo id (`huggingface_hub.utils.validate_repo_id`).
const MAX_REPO_ID_LEN: usize = 96;

/// Extensions that make an `a/b.ext` argument a (missing) local file rather than a Hub id: repo
/// names may contain dots, but nobody names a dataset repo `train.jsonl`.
const LOCAL_FILE_EXTENSIONS: &[&str] = &[
    ".jsonl", ".json", ".ndjson", ".csv", ".tsv", ".parquet", ".arrow", ".txt", ".gz", ".zst",
    ".bz2", ".xz", ".zip",
];

/// A Hub dataset named by the user.
///
/// Accepted forms:
/// - `owner/name`, `owner/name:config`
/// - `owner/name@rev`, `owner/name@rev:config` — the Python tools take the revision as a separate
///   argument; this shorthand mirrors `hf://` URLs. A revision never contains `:` (git forbids it
///   in ref names), so the first `:` after `@` starts the config. Slashes may be written plainly
///   (`owner/name@refs/convert/parquet`) or encoded (`refs%2Fconvert%2Fparquet`).
/// - `hf://datasets/owner/name[@rev][/path/in/repo]` — `path` names one file; without it the URL
///   means the whole repo. Inside a URL the revision ends at the next `/`, so slashes in it must
///   be `%2F`-encoded, except the special refs `refs/convert/<name>` and `refs/pr/<n>`, which
///   `huggingface_hub`'s `HfFileSystem` also accepts unencoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRef {
    /// `owner/name`, validated like the Hub does.
    pub repo: String,
    /// Branch, tag or commit, percent-decoded (`refs/convert/parquet`); `None` means `main`.
    pub revision: Option<String>,
    /// The config named after `:`.
    pub config: Option<String>,
    /// One file inside the repo (only from `hf://` URLs), without leading or trailing `/`.
    pub path: Option<String>,
}

/// Why a Hub reference could not be read; each message is one sentence naming the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(
        "`{input}` is not a Hugging Face dataset id; write it as owner/name (e.g. \
         HuggingFaceFW/fineweb-edu), optionally followed by @REVISION and :CONFIG"
    )]
    Shape { input: String },
    #[error("`{input}` is not a valid Hugging Face dataset id: {problem}")]
    InvalidId { input: String, problem: String },
    #[error(
        "`{input}` is not a Hub dataset URL; only hf://datasets/owner/name[@revision][/path] is \
         supported"
    )]
    NotDatasetUrl { input: String },
    #[error("`{input}` has an invalid revision: {problem}")]
    InvalidRevision { input: String, problem: String },
    #[error("`{input}` has an empty config after `:`; write owner/name:CONFIG")]
    EmptyConfig { input: String },
}

impl DatasetRef {
    /// Parses any of the forms listed on [`DatasetRef`].
    pub fn parse(input: &str) -> Result<Self, RefError> {
        let s = input.trim();
        if let Some(rest) = s.strip_prefix("hf://") {
            return match rest.strip_prefix("datasets/") {
                Some(rest) => parse_url(input, rest),
                None => Err(RefError::NotDatasetUrl {
                    input: input.to_string(),
                }),
            };
        }
        parse_short(input, s)
    }
}

/// `owner/name[@rev][:config]`.
fn parse_short(input: &str, s: &str) -> Result<DatasetRef, RefError> {
    let (head, config) = match s.split_once(':') {
        Some((head, config)) => (head, Some(config)),
        None => (s, None),
    };
    let (repo, revision) = match head.split_once('@') {
        Some((repo, rev)) => (repo, Some(decode_revision(input, rev)?)),
        None => (head, None),
    };
    validate_repo_id(input, repo)?;
    let config = match config {
        Some("") => {
            return Err(RefError::EmptyConfig {
                input: input.to_string(),
            });
        }
        other => other.map(str::to_string),
    };
    Ok(DatasetRef {
        repo: repo.to_string(),
        revision,
        config,
        path: None,
    })
}

/// The part of `hf://datasets/owner/name[@rev][/path]` after `hf://datasets/`.
fn parse_url(input: &str, rest: &str) -> Result<DatasetRef, RefError> {
    let (owner, after_owner) = rest.split_once('/').ok_or_else(|| RefError::Shape {
        input: input.to_string(),
    })?;
    let name_end = after_owner.find(['@', '/']).unwrap_or(after_owner.len());
    let name = &after_owner[..name_end];
    let mut tail = &after_owner[name_end..];
    let mut revision = None;
    if let Some(after_at) = tail.strip_prefix('@') {
        let rev_len = special_ref_len(after_at)
            .unwrap_or_else(|| after_at.find('/').unwrap_or(after_at.len()));
        revision = Some(decode_revision(input, &after_at[..rev_len])?);
        tail = &after_at[rev_len..];
    }
    let repo = format!("{owner}/{name}");
    validate_repo_id(input, &repo)?;
    let path = tail.trim_matches('/');
    Ok(DatasetRef {
        repo,
        revision,
        config: None,
        path: (!path.is_empty()).then(|| path.to_string()),
    })
}

/// Length of an unencoded special ref at the start of `s` (`refs/convert/parquet`, `refs/pr/12`),
/// as `HfFileSystem.resolve_path` recognises them.
fn special_ref_len(s: &str) -> Option<usize> {
    let segment_end = |rest: &str| rest.find('/').unwrap_or(rest.len());
    if let Some(rest) = s.strip_prefix("refs/convert/") {
        let n = segment_end(rest);
        let word = &rest[..n];
        let ok = !word.is_empty() && word.chars().all(|c| c.is_alphanumeric() || c == '_');
        return ok.then_some("refs/convert/".len() + n);
    }
    if let Some(rest) = s.strip_prefix("refs/pr/") {
        let n = segment_end(rest);
        let ok = n > 0 && rest[..n].chars().all(|c| c.is_ascii_digit());
        return ok.then_some("refs/pr/".len() + n);
    }
    None
}

/// Percent-decodes a revision and rejects what no git ref or commit can be.
fn decode_revision(input: &str, raw: &str) -> Result<String, RefError> {
    let invalid = |problem: &str| RefError::InvalidRevision {
        input: input.to_string(),
        problem: problem.to_string(),
    };
    let rev = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid("it is not valid UTF-8 once %-decoded"))?
        .into_owned();
    if rev.is_empty() {
        return Err(invalid(
            "nothing follows `@`; name a branch, tag or commit, e.g. owner/name@main",
        ));
    }
    if rev.chars().any(|c| c.is_whitespace() || c.is_control()) || rev.contains("..") {
        return Err(invalid(
            "a branch, tag or commit has no spaces, control characters or `..`",
        ));
    }
    Ok(rev)
}

/// Validates `owner/name` like `huggingface_hub.utils.validate_repo_id` and the Hub's naming rules.
fn validate_repo_id(input: &str, id: &str) -> Result<(), RefError> {
    let invalid = |problem: String| RefError::InvalidId {
        input: input.to_string(),
        problem,
    };
    let Some((owner, name)) = id.split_once('/') else {
        return Err(RefError::Shape {
            input: input.to_string(),
        });
    };
    if owner.is_empty() || name.is_empty() || name.contains('/') {
        return Err(RefError::Shape {
            input: input.to_string(),
        });
    }
    if id.len() > MAX_REPO_ID_LEN {
        return Err(invalid(format!(
            "it is {} characters long and the Hub allows at most {MAX_REPO_ID_LEN}",
            id.len()
        )));
    }
    for part in [owner, name] {
        if let Some(bad) = part
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(invalid(format!(
                "`{part}` contains `{bad}`, and only letters, digits, `-`, `_` and `.` are allowed"
            )));
        }
        if !part.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid(format!(
                "`{part}` must start with a letter or digit"
            )));
        }
        if part.ends_with(['-', '.']) {
            return Err(invalid(format!("`{part}` must not end with `-` or `.`")));
        }
        if part.contains("--") || part.contains("..") {
            return Err(invalid(format!("`{part}` must not contain `--` or `..`")));
        }
    }
    if name.ends_with(".git") {
        return Err(invalid(format!("`{name}` must not end with `.git`")));
    }
    Ok(())
}

/// Whether the CLI should treat `arg` as a Hub reference rather than a local path.
///
/// A path that exists on disk always wins. Otherwise `hf://` URLs and `owner/name[@rev][:config]`
/// shapes are Hub references — even invalid ones, so that [`DatasetRef::parse`] explains what is
/// wrong. Anything else (absolute or `./` paths, more than one `/`, a name ending in a data-file
/// extension like `data/train.jsonl`) is a missing local file, which the caller reports.
pub fn looks_like_hub_id(arg: &str) -> bool {
    !Path::new(arg).exists() && has_hub_shape(arg)
}

/// The shape test of [`looks_like_hub_id`], without looking at the disk.
fn has_hub_shape(arg: &str) -> bool {
    if arg.starts_with("hf://") {
        return true;
    }
    if arg.starts_with(['/', '.', '~']) || arg.contains('\\') || arg.contains(char::is_whitespace) {
        return false;
    }
    let id = &arg[..arg.find(['@', ':']).unwrap_or(arg.len())];
    let Some((owner, name)) = id.split_once('/') else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    !owner.is_empty()
        && !name.is_empty()
        && !name.contains('/')
        && !LOCAL_FILE_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> DatasetRef {
        DatasetRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn err(input: &str) -> String {
        DatasetRef::parse(input)
            .expect_err(&format!("{input} should be rejected"))
            .to_string()
    }

    fn dref(repo: &str, rev: Option<&str>, config: Option<&str>, path: Option<&str>) -> DatasetRef {
        DatasetRef {
            repo: repo.into(),
            revision: rev.map(Into::into),
            config: config.map(Into::into),
            path: path.map(Into::into),
        }
    }

    #[test]
    fn hub_short_forms_parse() {
        assert_eq!(ok("allenai/c4"), dref("allenai/c4", None, None, None));
        assert_eq!(
            ok("allenai/c4:en"),
            dref("allenai/c4", None, Some("en"), None)
        );
        assert_eq!(
            ok("HuggingFaceFW/fineweb-edu@v1.2"),
            dref("HuggingFaceFW/fineweb-edu", Some("v1.2"), None, None)
        );
        assert_eq!(
            ok("o/n@refs%2Fconvert%2Fparquet:cfg"),
            dref("o/n", Some("refs/convert/parquet"), Some("cfg"), None)
        );
        assert_eq!(
            ok("o/n@refs/convert/parquet:cfg"),
            dref("o/n", Some("refs/convert/parquet"), Some("cfg"), None)
        );
        assert_eq!(ok("  o/my_data.v2  ").repo, "o/my_data.v2");
    }

    #[test]
    fn hub_urls_parse() {
        assert_eq!(ok("hf://datasets/o/n"), dref("o/n", None, None, None));
        assert_eq!(ok("hf://datasets/o/n/"), dref("o/n", None, None, None));
        assert_eq!(
            ok("hf://datasets/o/n/data/train-00000-of-00001.parquet"),
            dref("o/n", None, None, Some("data/train-00000-of-00001.parquet"))
        );
        assert_eq!(
            ok("hf://datasets/o/n@main/a/b.jsonl"),
            dref("o/n", Some("main"), None, Some("a/b.jsonl"))
        );
        assert_eq!(
            ok("hf://datasets/o/n@refs%2Fconvert%2Fparquet/default/train/0000.parquet"),
            dref(
                "o/n",
                Some("refs/convert/parquet"),
                None,
                Some("default/train/0000.parquet")
            )
        );
        // HfFileSystem accepts the special refs unencoded.
        assert_eq!(
            ok("hf://datasets/o/n@refs/convert/parquet/default/train/0000.parquet"),
            dref(
                "o/n",
                Some("refs/convert/parquet"),
                None,
                Some("default/train/0000.parquet")
            )
        );
        assert_eq!(
            ok("hf://datasets/o/n@refs/pr/7/x.csv"),
            dref("o/n", Some("refs/pr/7"), None, Some("x.csv"))
        );
        assert_eq!(
            ok("hf://datasets/o/n@feature%2Fx"),
            dref("o/n", Some("feature/x"), None, None)
        );
    }

    #[test]
    fn invalid_references_say_what_is_wrong() {
        assert_eq!(
            err("c4"),
            "`c4` is not a Hugging Face dataset id; write it as owner/name (e.g. \
             HuggingFaceFW/fineweb-edu), optionally followed by @REVISION and :CONFIG"
        );
        assert_eq!(
            err("/n").split(';').next().unwrap(),
            "`/n` is not a Hugging Face dataset id"
        );
        assert_eq!(
            err("a/b/c").split(';').next().unwrap(),
            "`a/b/c` is not a Hugging Face dataset id"
        );
        assert_eq!(
            err("o/na--me"),
            "`o/na--me` is not a valid Hugging Face dataset id: `na--me` must not contain `--` or `..`"
        );
        assert_eq!(
            err("o/a..b"),
            "`o/a..b` is not a valid Hugging Face dataset id: `a..b` must not contain `--` or `..`"
        );
        assert_eq!(
            err("o/n!"),
            "`o/n!` is not a valid Hugging Face dataset id: `n!` contains `!`, and only letters, \
             digits, `-`, `_` and `.` are allowed"
        );
        assert_eq!(
            err("-o/n"),
            "`-o/n` is not a valid Hugging Face dataset id: `-o` must start with a letter or digit"
        );
        assert_eq!(
            err("o/n-"),
            "`o/n-` is not a valid Hugging Face dataset id: `n-` must not end with `-` or `.`"
        );
        assert_eq!(
            err("o/n.git"),
            "`o/n.git` is not a valid Hugging Face dataset id: `n.git` must not end with `.git`"
        );
        let long = format!("o/{}", "a".repeat(95));
        assert_eq!(
            err(&long),
            format!(
                "`{long}` is not a valid Hugging Face dataset id: it is 97 characters long and \
                 the Hub allows at most 96"
            )
        );
        assert_eq!(
            err("o/n@"),
            "`o/n@` has an invalid revision: nothing follows `@`; name a branch, tag or commit, \
             e.g. owner/name@main"
        );
        assert_eq!(
            err("o/n@a%20b"),
            "`o/n@a%20b` has an invalid revision: a branch, tag or commit has no spaces, control \
             characters or `..`"
        );
        assert_eq!(
            err("o/n:"),
            "`o/n:` has an empty config after `:`; write owner/name:CONFIG"
        );
        assert_eq!(
            err("hf://models/o/n"),
            "`hf://models/o/n` is not a Hub dataset URL; only \
             hf://datasets/owner/name[@revision][/path] is supported"
        );
        assert!(
            err("hf://datasets/o")
                .starts_with("`hf://datasets/o` is not a Hugging Face dataset id")
        );
        assert!(err("hf://datasets/o/n@/x").contains("nothing follows `@`"));
    }

    #[test]
    fn hub_shapes_are_told_from_local_paths() {
        for hub in [
            "o/n",
            "o/n:cfg",
            "o/n@rev",
            "o/n@refs/convert/parquet:c",
            "hf://datasets/o/n/x.parquet",
            "o/na--me", // invalid, but parse() should explain why
        ] {
            assert!(has_hub_shape(hub), "{hub} should look like a Hub id");
        }
        for local in [
            "data.jsonl",
            "data/train.jsonl",
            "data/train.csv.gz",
            "a/b/c",
            "./o/n",
            "/o/n",
            "../o/n",
            "~/o/n",
            "o\\n",
            "o/n x",
            "",
            "/",
        ] {
            assert!(
                !has_hub_shape(local),
                "{local:?} should look like a local path"
            );
        }
    }

    #[test]
    fn an_existing_path_always_wins() {
        // `cargo test` runs in the package folder, where `src/lib.rs` exists: it has the
        // owner/name shape, yet it is a local file.
        assert!(has_hub_shape("src/lib.rs"));
        assert!(Path::new("src/lib.rs").exists());
        assert!(!looks_like_hub_id("src/lib.rs"));
        assert!(looks_like_hub_id("surely-not-here-xyz/dataset-abc"));
    }
}
