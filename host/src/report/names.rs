//! How datasets and their output files are named in reports.

use std::path::PathBuf;

/// How each dataset is named in reports: `textbooks.parquet` is `textbooks`, as people name their
/// datasets, unless two datasets of the run share that stem; then each is named by its path as given.
pub fn dataset_names(paths: &[PathBuf]) -> Vec<String> {
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = paths.iter().map(stem).collect();
    paths
        .iter()
        .zip(&stems)
        .map(|(p, s)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.display().to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// A file-name stem for a dataset × lens output, unique within the run.
pub fn output_stem(dataset: &str, lens: &str, taken: &mut Vec<String>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let base = format!("{}.{}", clean(dataset), clean(lens));
    let mut stem = base.clone();
    let mut n = 2;
    while taken.contains(&stem) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    taken.push(stem.clone());
    stem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_are_named_by_stem_unless_stems_collide() {
        let paths: Vec<PathBuf> = ["a/train.jsonl", "b/train.csv", "c/test.parquet"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(
            dataset_names(&paths),
            ["a/train.jsonl", "b/train.csv", "test"]
        );
        let mut taken = Vec::new();
        assert_eq!(
            output_stem("a/train.jsonl", "lens", &mut taken),
            "a_train_jsonl.lens"
        );
        assert_eq!(
            output_stem("a/train.jsonl", "lens", &mut taken),
            "a_train_jsonl.lens-2"
        );
    }
}
