//! Config and split resolution against the layouts `datasets` documents in
//! `data_files.get_data_patterns` and the README `configs:` forms.

use super::*;

fn repo(paths: &[&str]) -> Vec<RepoFile> {
    paths
        .iter()
        .map(|p| RepoFile {
            path: p.to_string(),
            size: p.len() as u64,
            etag: None,
        })
        .collect()
}

/// `(split, [paths])` of the config `select` picks with no name.
fn splits(paths: &[&str], readme: Option<&str>) -> Vec<(String, Vec<String>)> {
    let configs = configs(&repo(paths), readme).unwrap();
    let config = select(&configs, None).unwrap_or_else(|e| panic!("{e}"));
    names(config)
}

fn names(config: &Config) -> Vec<(String, Vec<String>)> {
    config
        .splits
        .iter()
        .map(|s| {
            let paths = s.files.iter().map(|f| f.path.clone()).collect();
            (s.split.clone(), paths)
        })
        .collect()
}

fn expect(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(s, p)| (s.to_string(), p.iter().map(|x| x.to_string()).collect()))
        .collect()
}

fn problem(paths: &[&str], readme: Option<&str>) -> LayoutError {
    let configs = configs(&repo(paths), readme).unwrap();
    select(&configs, None).unwrap_err()
}

#[test]
fn sharded_data_folder_names_the_splits() {
    assert_eq!(
        splits(
            &[
                "README.md",
                "data/train-00001-of-00002.parquet",
                "data/train-00000-of-00002.parquet",
                "data/test-00000-of-00001.parquet",
                "data/random-00000-of-00001.parquet",
                // The sharded group wins, so this file belongs to no split.
                "extra/validation.parquet",
            ],
            None
        ),
        expect(&[
            (
                "train",
                &[
                    "data/train-00000-of-00002.parquet",
                    "data/train-00001-of-00002.parquet"
                ]
            ),
            ("test", &["data/test-00000-of-00001.parquet"]),
            ("random", &["data/random-00000-of-00001.parquet"]),
        ])
    );
}

#[test]
fn split_folders_at_any_depth() {
    assert_eq!(
        splits(
            &["train/a.jsonl", "train/sub/b.jsonl", "test/a.jsonl"],
            None
        ),
        expect(&[
            ("train", &["train/a.jsonl", "train/sub/b.jsonl"]),
            ("test", &["test/a.jsonl"])
        ])
    );
    assert_eq!(
        splits(
            &[
                "data/train/0.csv",
                "data/dev/0.csv",
                "data/my-eval/0.csv",
                "data/train.csv"
            ],
            None
        ),
        // Folder names beat file names: `data/train.csv` is in no split folder.
        expect(&[
            ("train", &["data/train/0.csv"]),
            ("validation", &["data/dev/0.csv"]),
            ("test", &["data/my-eval/0.csv"]),
        ])
    );
}

#[test]
fn split_names_in_file_names_and_their_aliases() {
    assert_eq!(
        splits(
            &["train.jsonl", "test.jsonl", "dev.jsonl", "README.md"],
            None
        ),
        expect(&[
            ("train", &["train.jsonl"]),
            ("validation", &["dev.jsonl"]),
            ("test", &["test.jsonl"])
        ])
    );
    assert_eq!(
        splits(
            &[
                "my_train_file.csv",
                "data/train_0.csv",
                "valid-2.csv",
                "x.testing.csv"
            ],
            None
        ),
        expect(&[
            ("train", &["data/train_0.csv", "my_train_file.csv"]),
            ("validation", &["valid-2.csv"]),
            ("test", &["x.testing.csv"])
        ])
    );
}

#[test]
fn keywords_inside_words_do_not_count() {
    // `trainer`, `contest`, `devices`, `interval` contain keywords but not between separators,
    // so everything is `train`.
    let files = ["trainer.csv", "contest.csv", "devices.csv", "interval.csv"];
    assert_eq!(
        splits(&files, None),
        expect(&[(
            "train",
            &["contest.csv", "devices.csv", "interval.csv", "trainer.csv"]
        )])
    );
}

#[test]
fn everything_else_is_train() {
    assert_eq!(
        splits(
            &["a.parquet", "b/c.parquet", "LICENSE", "load.py", "notes.md"],
            None
        ),
        expect(&[("train", &["a.parquet", "b/c.parquet"])])
    );
}

#[test]
fn the_majority_format_wins_and_others_are_dropped() {
    assert_eq!(
        splits(&["a.csv", "b.csv", "c.jsonl", "d.parquet"], None),
        expect(&[("train", &["a.csv", "b.csv"])])
    );
    // json and jsonl share a builder: a `.jsonl` majority keeps `.json` files too.
    let config = &configs(
        &repo(&["a.jsonl.gz", "b.jsonl", "c.json.zst", "d.csv"]),
        None,
    )
    .unwrap()[0];
    let formats: Vec<(&str, Format)> = config.splits[0]
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.format))
        .collect();
    assert_eq!(
        formats,
        vec![
            (
                "a.jsonl.gz",
                Format {
                    kind: Kind::JsonLines,
                    compression: Compression::Gzip
                }
            ),
            (
                "b.jsonl",
                Format {
                    kind: Kind::JsonLines,
                    compression: Compression::None
                }
            ),
            (
                "c.json.zst",
                Format {
                    kind: Kind::Json,
                    compression: Compression::Zstd
                }
            ),
        ]
    );
    // Each split decides on its own.
    let config = &configs(&repo(&["train.parquet", "test.tsv"]), None).unwrap()[0];
    assert_eq!(config.splits[0].files[0].format.kind, Kind::Parquet);
    assert_eq!(
        config.splits[1].files[0].format.kind,
        Kind::Csv { delimiter: b'\t' }
    );
}

#[test]
fn hidden_and_special_files_are_skipped() {
    assert_eq!(
        splits(
            &[
                ".gitattributes",
                ".cache/train.csv",
                "__pycache__/test.csv",
                "data/.hidden.csv",
                "data/a.csv",
                "dataset_info.json",
                "dataset_dict.json",
                "config.json",
            ],
            None
        ),
        expect(&[("train", &["data/a.csv"])])
    );
}

#[test]
fn sizes_and_text_files_come_through() {
    let config = &configs(&repo(&["corpus/part1.txt"]), None).unwrap()[0];
    let file = &config.splits[0].files[0];
    assert_eq!(file.size, "corpus/part1.txt".len() as u64);
    assert_eq!(file.format.kind, Kind::Text);
}

#[test]
fn repos_without_data_files_are_a_distinct_error() {
    for files in [
        &["README.md", ".gitattributes"][..],
        &["LICENSE", "load.py"],
        &[],
    ] {
        let err = problem(files, None);
        assert_eq!(
            err,
            LayoutError::NoDataFiles {
                config: "default".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "found no data files for config `default` (looked for .parquet, .arrow, .jsonl, \
             .json, .csv, .tsv and .txt files, optionally .gz or .zst compressed); the dataset's \
             refs/convert/parquet branch may hold a Parquet export of it"
        );
    }
}

#[test]
fn unreadable_formats_are_named() {
    assert_eq!(
        problem(&["train/a.png", "train/b.png", "train/metadata.csv"], None).to_string(),
        "split `train` of config `default` holds mostly .png files (the `imagefolder` format), \
         which classified cannot rate; it reads Parquet, Arrow, JSON Lines, JSON, CSV, TSV and text"
    );
    assert_eq!(
        problem(&["a.jsonl.bz2", "b.jsonl"], None).to_string(),
        "`a.jsonl.bz2` in config `default` ends in .bz2, which classified cannot decompress; it \
         reads plain, .gz and .zst files"
    );
    assert_eq!(
        problem(&["data/a b-00000-of-00001.csv"], None).to_string(),
        "`data/a b-00000-of-00001.csv` looks like a shard of split `a b`, but a split name may \
         only use letters, digits, `_` and single dots; rename the file or list the files in \
         README.md"
    );
}

const README_CONFIGS: &str = "---
license: mit
configs:
- config_name: en
  data_files:
  - split: train
    path: en/train-*.jsonl
  - split: test
    path: [en/test.jsonl]
- config_name: fr
  data_dir: fr
- config_name: all
  data_files: '**/*.jsonl'
---
# A dataset
";

const FILES_CONFIGS: &[&str] = &[
    "README.md",
    "en/train-0.jsonl",
    "en/train-1.jsonl",
    "en/test.jsonl",
    "fr/train.jsonl",
    "fr/dev.jsonl",
];

#[test]
fn readme_configs_with_split_lists_data_dir_and_globs() {
    let configs = configs(&repo(FILES_CONFIGS), Some(README_CONFIGS)).unwrap();
    let names_of: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names_of, vec!["en", "fr", "all"]);
    assert!(configs.iter().all(|c| !c.default));
    assert_eq!(
        names(select(&configs, Some("en")).unwrap()),
        expect(&[
            ("train", &["en/train-0.jsonl", "en/train-1.jsonl"]),
            ("test", &["en/test.jsonl"])
        ])
    );
    // data_dir: the default patterns run inside the folder; paths stay repo-relative.
    assert_eq!(
        names(select(&configs, Some("fr")).unwrap()),
        expect(&[
            ("train", &["fr/train.jsonl"]),
            ("validation", &["fr/dev.jsonl"])
        ])
    );
    // A plain string is the train split.
    assert_eq!(
        names(select(&configs, Some("all")).unwrap()),
        expect(&[(
            "train",
            &[
                "en/test.jsonl",
                "en/train-0.jsonl",
                "en/train-1.jsonl",
                "fr/dev.jsonl",
                "fr/train.jsonl"
            ]
        )])
    );
    assert_eq!(
        select(&configs, None).unwrap_err().to_string(),
        "the dataset has several configs (en, fr, all) and none is the default; pick one with \
         `owner/name:CONFIG` or --config"
    );
    assert_eq!(
        select(&configs, Some("de")).unwrap_err().to_string(),
        "the dataset has no config `de`; its configs are: en, fr, all"
    );
    let en = select(&configs, Some("en")).unwrap();
    assert_eq!(en.split("test").unwrap().files.len(), 1);
    assert_eq!(
        en.split("validation").unwrap_err().to_string(),
        "config `en` has no split `validation`; its splits are: train, test"
    );
}

#[test]
fn the_default_config_is_marked_named_or_the_only_one() {
    let marked = README_CONFIGS.replace(
        "- config_name: fr\n",
        "- config_name: fr\n  default: true\n",
    );
    let configs_marked = configs(&repo(FILES_CONFIGS), Some(&marked)).unwrap();
    assert_eq!(select(&configs_marked, None).unwrap().name, "fr");

    let named = README_CONFIGS.replace("config_name: all", "config_name: default");
    let configs_named = configs(&repo(FILES_CONFIGS), Some(&named)).unwrap();
    assert_eq!(select(&configs_named, None).unwrap().name, "default");

    let only = "---\nconfigs:\n- config_name: fr\n  data_dir: fr\n---\n";
    assert_eq!(
        select(&configs(&repo(FILES_CONFIGS), Some(only)).unwrap(), None)
            .unwrap()
            .name,
        "fr"
    );

    let both = marked.replace("config_name: all", "config_name: default");
    assert_eq!(
        configs(&repo(FILES_CONFIGS), Some(&both))
            .unwrap_err()
            .to_string(),
        "README.md marks several configs as default (`fr` and `default`); mark only one"
    );
}

#[test]
fn one_broken_config_does_not_hide_the_others() {
    let readme = "---
configs:
- config_name: good
  default: true
  data_files: a.csv
- config_name: missing
  data_files: nope.csv
- config_name: empty
  data_files: 'nothing/*.csv'
---
";
    let configs = configs(&repo(&["a.csv"]), Some(readme)).unwrap();
    assert_eq!(
        names(select(&configs, None).unwrap()),
        expect(&[("train", &["a.csv"])])
    );
    assert_eq!(
        select(&configs, Some("missing")).unwrap_err().to_string(),
        "config `missing` lists `nope.csv`, which is not in the repo; fix data_files in README.md"
    );
    // A glob that matches nothing is not an error by itself, but leaves no data.
    assert_eq!(
        select(&configs, Some("empty")).unwrap_err(),
        LayoutError::NoDataFiles {
            config: "empty".into()
        }
    );
}

#[test]
fn readme_without_configs_falls_back_to_the_default_patterns() {
    let readme = "---\nlicense: mit\n---\n# Title\n";
    assert_eq!(
        splits(&["train.csv", "test.csv"], Some(readme)),
        expect(&[("train", &["train.csv"]), ("test", &["test.csv"])])
    );
}

#[test]
fn bad_patterns_are_reported() {
    let readme = "---\nconfigs:\n- config_name: x\n  data_files: 'a[.csv'\n---\n";
    let configs = configs(&repo(&["a.csv"]), Some(readme)).unwrap();
    let err = select(&configs, None).unwrap_err().to_string();
    assert!(
        err.starts_with("`a[.csv` is not a valid file pattern (")
            && err.ends_with("); fix data_files in README.md"),
        "{err}"
    );
}
