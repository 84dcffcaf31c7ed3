//! The layout of the Hub's auto-converted `refs/convert/parquet` branch: `{config}/{split}/NNNN.parquet`,
//! `{config}/partial-{split}/NNNN.parquet` for splits converted only in part, and the older flat
//! `{config}/{dataset}-{split}[-NNNNN-of-NNNNN].parquet` names that branches converted before
//! the 2023 layout change may still hold.

use std::collections::BTreeMap;

use super::patterns::order_splits;
use super::{Compression, Config, DataFile, Format, Kind, LayoutError, RepoFile, SplitFiles};

const PARQUET: Format = Format {
    kind: Kind::Parquet,
    compression: Compression::None,
};

/// The configs of the Parquet branch, sorted by name, splits ordered train, validation, test,
/// then the rest. The default is the config named `default`, or the only one; with several
/// configs and none named `default`, none is (the caller may know the main branch's default).
pub fn parquet_branch_configs(files: &[RepoFile]) -> Result<Vec<Config>, LayoutError> {
    // config → split → (partial, files)
    let mut tree: BTreeMap<&str, BTreeMap<String, (bool, Vec<DataFile>)>> = BTreeMap::new();
    for file in files {
        let Some((config, split, partial)) = place(&file.path) else {
            continue;
        };
        let entry = tree
            .entry(config)
            .or_default()
            .entry(split)
            .or_insert((false, Vec::new()));
        entry.0 |= partial;
        entry.1.push(DataFile {
            path: file.path.clone(),
            size: file.size,
            format: PARQUET,
        });
    }
    if tree.is_empty() {
        return Err(LayoutError::NoParquetExport);
    }
    let only_one = tree.len() == 1;
    Ok(tree
        .into_iter()
        .map(|(name, mut splits)| {
            let order = order_splits(splits.keys().cloned().collect());
            let splits = order
                .into_iter()
                .map(|split| {
                    let (partial, mut files) = splits.remove(&split).unwrap_or_default();
                    files.sort_by(|a, b| a.path.cmp(&b.path));
                    SplitFiles {
                        split,
                        files,
                        partial,
                    }
                })
                .collect();
            Config {
                name: name.to_string(),
                default: only_one || name == "default",
                splits,
                problem: None,
            }
        })
        .collect())
}

/// `(config, split, partial)` for a Parquet file of the branch, `None` for anything else.
fn place(path: &str) -> Option<(&str, String, bool)> {
    let stem = path.strip_suffix(".parquet")?;
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [config, dir, _file] => {
            let (split, partial) = match dir.strip_prefix("partial-") {
                Some(split) => (split, true),
                None => (*dir, false),
            };
            (!config.is_empty() && !split.is_empty()).then(|| (*config, split.to_string(), partial))
        }
        [config, _file] => {
            // `{dataset}-{split}.parquet` or `{dataset}-{split}-00000-of-00002.parquet`: split
            // names have no `-` (`^\w+(\.\w+)*$`), so the split follows the last `-`.
            let name = stem.rsplit('/').next()?;
            let name = strip_shard_suffix(name);
            let (_, split) = name.rsplit_once('-')?;
            (!config.is_empty() && !split.is_empty()).then(|| (*config, split.to_string(), false))
        }
        _ => None,
    }
}

/// `x-00000-of-00002` → `x`.
fn strip_shard_suffix(name: &str) -> &str {
    let b = name.as_bytes();
    let n = b.len();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if n >= 15
        && b[n - 15] == b'-'
        && digits(n - 14..n - 9)
        && &b[n - 9..n - 5] == b"-of-"
        && digits(n - 5..n)
    {
        &name[..n - 15]
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> Vec<RepoFile> {
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| RepoFile {
                path: p.to_string(),
                size: 100 + i as u64,
                etag: None,
            })
            .collect()
    }

    /// A config as (name, default, its splits as (name, partial, files)).
    type Summary = (String, bool, Vec<(String, bool, Vec<String>)>);

    fn summary(configs: &[Config]) -> Vec<Summary> {
        configs
            .iter()
            .map(|c| {
                let splits = c
                    .splits
                    .iter()
                    .map(|s| {
                        let paths = s.files.iter().map(|f| f.path.clone()).collect();
                        (s.split.clone(), s.partial, paths)
                    })
                    .collect();
                (c.name.clone(), c.default, splits)
            })
            .collect()
    }

    #[test]
    fn current_layout_with_partial_splits() {
        let configs = parquet_branch_configs(&files(&[
            ".gitattributes",
            "default/train/0001.parquet",
            "default/train/0000.parquet",
            "default/partial-test/0000.parquet",
            "default/validation/0000.parquet",
            "en/train/0000.parquet",
            "README.md",
        ]))
        .unwrap();
        let s = |x: &str| x.to_string();
        assert_eq!(
            summary(&configs),
            vec![
                (
                    s("default"),
                    true,
                    vec![
                        (
                            s("train"),
                            false,
                            vec![
                                s("default/train/0000.parquet"),
                                s("default/train/0001.parquet")
                            ]
                        ),
                        (
                            s("validation"),
                            false,
                            vec![s("default/validation/0000.parquet")]
                        ),
                        (
                            s("test"),
                            true,
                            vec![s("default/partial-test/0000.parquet")]
                        ),
                    ]
                ),
                (
                    s("en"),
                    false,
                    vec![(s("train"), false, vec![s("en/train/0000.parquet")])]
                ),
            ]
        );
        let f = &configs[0].splits[0].files[0];
        assert_eq!((f.size, f.format), (102, PARQUET));
    }

    #[test]
    fn old_flat_layout_and_a_single_config() {
        let configs = parquet_branch_configs(&files(&[
            "plain_text/imdb-train.parquet",
            "plain_text/imdb-test.parquet",
            "plain_text/imdb-unsupervised-00000-of-00002.parquet",
            "plain_text/imdb-unsupervised-00001-of-00002.parquet",
        ]))
        .unwrap();
        assert_eq!(configs.len(), 1);
        assert!(configs[0].default, "the only config is the default");
        assert_eq!(
            configs[0].split_names(),
            vec!["train", "test", "unsupervised"]
        );
        assert_eq!(configs[0].splits[2].files.len(), 2);
    }

    #[test]
    fn several_configs_without_default_have_none() {
        let configs =
            parquet_branch_configs(&files(&["a/train/0000.parquet", "b/train/0000.parquet"]))
                .unwrap();
        assert!(configs.iter().all(|c| !c.default));
    }

    #[test]
    fn a_branch_without_parquet_files_says_so() {
        let err =
            parquet_branch_configs(&files(&[".gitattributes", "x/y/z/0000.parquet"])).unwrap_err();
        assert_eq!(err, LayoutError::NoParquetExport);
        assert!(err.to_string().starts_with(
            "the refs/convert/parquet branch holds no Parquet export; the Hub has not converted"
        ));
    }
}
