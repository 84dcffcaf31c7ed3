//! File patterns the way `datasets` resolves them (`data_files.resolve_pattern` over an fsspec
//! glob: `*` stays inside a folder, `**/` spans zero or more folders) and the default split
//! patterns it tries when the README names no files (`_get_data_files_patterns`).

use globset::{GlobBuilder, GlobMatcher};

use super::LayoutError;
use super::format::basename;

/// `data_files.FILES_TO_IGNORE`: never data, unless a pattern names them explicitly.
const FILES_TO_IGNORE: &[&str] = &[
    "README.md",
    "config.json",
    "dataset_info.json",
    "dataset_infos.json",
    "dummy_data.zip",
    "dataset_dict.json",
];

/// `SPLIT_PATTERN_SHARDED` with `{split}` left open: `data/train-00000-of-00002.parquet`.
const SHARDED: &str = "data/*-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*";

/// `SPLIT_KEYWORDS`: split name → the words that mean it in file and folder names.
const SPLIT_KEYWORDS: &[(&str, &[&str])] = &[
    ("train", &["train", "training"]),
    ("validation", &["validation", "valid", "dev", "val"]),
    ("test", &["test", "testing", "eval", "evaluation"]),
];

/// `NON_WORDS_CHARS` as a glob class: what may separate a keyword from the rest of a name, so
/// `my_train_file.csv` is train and `trainer.csv` is not.
const SEP: &str = "[-._ 0-9]";

/// `KEYWORDS_IN_DIR_NAME_BASE_PATTERNS` (fsspec ≥ 2023.12).
const DIR_PATTERNS: &[&str] = &[
    "**/{kw}/**",
    "**/{kw}{sep}*/**",
    "**/*{sep}{kw}/**",
    "**/*{sep}{kw}{sep}*/**",
];

/// `KEYWORDS_IN_FILENAME_BASE_PATTERNS` (fsspec ≥ 2023.12).
const FILE_PATTERNS: &[&str] = &["**/{kw}{sep}*", "**/*{sep}{kw}{sep}*"];

/// A split name and the patterns that select its files.
pub(super) type SplitPatterns = Vec<(String, Vec<String>)>;

/// A compiled pattern and the text it came from (the hidden-file rules compare the text).
pub(super) struct Pattern {
    text: String,
    glob: GlobMatcher,
}

impl Pattern {
    pub(super) fn new(text: &str) -> Result<Self, LayoutError> {
        // fsspec resolves patterns relative to the repo root; `./x` and `/x` mean `x` there.
        let text = text.trim_start_matches("./").trim_start_matches('/');
        let glob = GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| LayoutError::BadPattern {
                pattern: text.to_string(),
                reason: e.kind().to_string(),
            })?
            .compile_matcher();
        Ok(Self {
            text: text.to_string(),
            glob,
        })
    }

    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// `resolve_pattern` for one path: a glob match that is not an ignored, hidden or `__`
    /// file unless the pattern asks for it.
    pub(super) fn matches(&self, path: &str) -> bool {
        let name = basename(path);
        if FILES_TO_IGNORE.contains(&name) && basename(&self.text) != name {
            return false;
        }
        self.glob.is_match(path)
            && hidden_parts(path) == hidden_parts(&self.text)
            && special_dirs(path) == special_dirs(&self.text)
    }

    /// The paths this pattern selects, in order.
    pub(super) fn select<'a>(&self, paths: &[&'a str]) -> Vec<&'a str> {
        paths.iter().copied().filter(|p| self.matches(p)).collect()
    }

    /// Whether the text has glob characters (`glob.has_magic`): a pattern without any names one
    /// file, and that file missing is an error rather than an empty match.
    pub(super) fn has_magic(&self) -> bool {
        self.text.contains(['*', '?', '['])
    }
}

/// `_is_unrequested_hidden_file_or_is_inside_unrequested_hidden_dir`: path parts starting with
/// `.` (not `.` or `..` themselves). A match is kept only if the pattern names as many.
fn hidden_parts(path: &str) -> usize {
    path.split('/')
        .filter(|p| p.starts_with('.') && !p.chars().all(|c| c == '.'))
        .count()
}

/// `_is_inside_unrequested_special_dir`: folders (not the file name) starting with `__`, like
/// `__pycache__`.
fn special_dirs(path: &str) -> usize {
    let parent = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    parent.split('/').filter(|p| p.starts_with("__")).count()
}

/// The default patterns for the files under one base folder (`paths` are relative to it),
/// or `None` when nothing matches (`EmptyDatasetError`).
///
/// Order (`_get_data_files_patterns`): the sharded `data/{split}-NNNNN-of-NNNNN*.*` names, then
/// split names as folders, then split names in file names, then everything as `train`; the
/// first group in which any split matches any file wins. (The `logs` and `harbor` groups of
/// recent `datasets`, for `.eval` logs and agent tasks, are left out: classified rates text.)
pub(super) fn default_split_patterns(paths: &[&str]) -> Result<Option<SplitPatterns>, LayoutError> {
    if let Some(found) = sharded_splits(paths)? {
        return Ok(Some(found));
    }
    for group in [DIR_PATTERNS, FILE_PATTERNS] {
        let mut found = SplitPatterns::new();
        for (split, keywords) in SPLIT_KEYWORDS {
            let patterns: Vec<String> = keywords
                .iter()
                .flat_map(|kw| {
                    group
                        .iter()
                        .map(move |p| p.replace("{kw}", kw).replace("{sep}", SEP))
                })
                .collect();
            let mut any = false;
            for text in &patterns {
                if !Pattern::new(text)?.select(paths).is_empty() {
                    any = true;
                    break;
                }
            }
            if any {
                found.push((split.to_string(), patterns));
            }
        }
        if !found.is_empty() {
            return Ok(Some(found));
        }
    }
    let all = Pattern::new("**")?;
    Ok((!all.select(paths).is_empty()).then(|| vec![("train".to_string(), vec!["**".into()])]))
}

/// The sharded layout: every `data/{split}-00000-of-00003…` name gives a split, ordered train,
/// validation, test, then the rest alphabetically.
fn sharded_splits(paths: &[&str]) -> Result<Option<SplitPatterns>, LayoutError> {
    let matched = Pattern::new(SHARDED)?.select(paths);
    if matched.is_empty() {
        return Ok(None);
    }
    let mut splits: Vec<String> = Vec::new();
    for path in matched {
        let split = shard_split_name(basename(path)).to_string();
        // `datasets` insists on `_split_re` here (`^\w+(\.\w+)*$`).
        let valid = split
            .split('.')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_'));
        if !valid {
            return Err(LayoutError::BadSplitName {
                path: path.to_string(),
                split,
            });
        }
        if !splits.contains(&split) {
            splits.push(split);
        }
    }
    Ok(Some(
        order_splits(splits)
            .into_iter()
            .map(|split| {
                let pattern = SHARDED.replacen('*', &split, 1);
                (split, vec![pattern])
            })
            .collect(),
    ))
}

/// `string_to_dict(name, "{split}-[0-9]…")`: the regex `(.+)-\d{5}-of-…` is greedy, so the
/// split is everything before the last `-NNNNN-of-NNNNN`.
fn shard_split_name(name: &str) -> &str {
    let bytes = name.as_bytes();
    let is_marker = |i: usize| {
        let digits = |from: usize| bytes[from..from + 5].iter().all(u8::is_ascii_digit);
        bytes.len() >= i + 15
            && bytes[i] == b'-'
            && digits(i + 1)
            && &bytes[i + 6..i + 10] == b"-of-"
            && digits(i + 10)
    };
    let at = (1..name.len()).rev().find(|&i| is_marker(i)).unwrap_or(0);
    &name[..at]
}

/// `DEFAULT_SPLITS` first, in their order, then the rest sorted.
pub(super) fn order_splits(mut splits: Vec<String>) -> Vec<String> {
    let rank = |s: &str| {
        SPLIT_KEYWORDS
            .iter()
            .position(|(name, _)| *name == s)
            .unwrap_or(SPLIT_KEYWORDS.len())
    };
    splits.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    splits.dedup();
    splits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn globs_behave_like_fsspec() {
        assert!(m("*.csv", "a.csv"));
        assert!(!m("*.csv", "dir/a.csv"), "`*` must not cross `/`");
        assert!(m("**/*.csv", "a.csv"), "`**/` matches zero folders");
        assert!(m("**/*.csv", "x/y/a.csv"));
        assert!(m("data/**", "data/x/y.csv"));
        assert!(m("**", "x/y/z.jsonl"));
        assert!(m("**/train/**", "train/a.csv"));
        assert!(m("**/train/**", "data/train/x/a.csv"));
        assert!(m("**/train[-._ 0-9]*", "train.csv"));
        assert!(m("**/train[-._ 0-9]*", "data/train-01.csv"));
        assert!(m("**/*[-._ 0-9]train[-._ 0-9]*", "my_train_file.csv"));
        assert!(!m("**/train[-._ 0-9]*", "trainer.csv"));
        assert!(!m("**/*[-._ 0-9]train[-._ 0-9]*", "data/my-trainer.csv"));
        assert!(m("./data/*.csv", "data/a.csv"));
    }

    #[test]
    fn hidden_special_and_ignored_files_need_asking_for() {
        assert!(!m("**", ".hidden.csv"));
        assert!(!m("**", ".cache/a.csv"));
        assert!(m(".cache/*", ".cache/a.csv"));
        assert!(!m(".cache/*", ".cache/.a.csv"));
        assert!(m(".*/.*", ".cache/.a.csv"));
        assert!(!m("**", "__pycache__/a.csv"));
        assert!(m("__pycache__/*", "__pycache__/a.csv"));
        // Only folders count as special: a `__init__.json` file is not.
        assert!(m("**", "__init__.json"));
        assert!(!m("**", "README.md"));
        assert!(!m("**", "sub/dataset_info.json"));
        assert!(m("README.md", "README.md"));
        assert!(
            !m("**", "..data.csv"),
            "a name starting with dots is hidden too"
        );
    }

    #[test]
    fn shard_names_give_split_names() {
        assert_eq!(shard_split_name("train-00000-of-00002.parquet"), "train");
        assert_eq!(
            shard_split_name("my.split-00001-of-00010-abc.jsonl"),
            "my.split"
        );
        assert_eq!(
            shard_split_name("a-00000-of-00001-00000-of-00001.csv"),
            "a-00000-of-00001"
        );
    }

    #[test]
    fn default_splits_come_first() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            order_splits(v(&["zeta", "test", "alpha", "train", "validation"])),
            v(&["train", "validation", "test", "alpha", "zeta"])
        );
    }
}
