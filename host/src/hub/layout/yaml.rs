//! The `configs:` list of a dataset card's YAML front matter (`datasets.utils.metadata.MetadataConfigs`):
//! each entry's `config_name`, `data_files`, `data_dir` and `default`.

use serde_yaml_ng::Value;

use super::LayoutError;
use super::patterns::SplitPatterns;

/// One `configs:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ConfigSpec {
    pub(super) name: String,
    /// Split → patterns; `None` means "detect the splits under `data_dir`".
    pub(super) data_files: Option<SplitPatterns>,
    pub(super) data_dir: Option<String>,
    pub(super) default: bool,
}

/// The YAML between a first line `---` and the next `---` line (`_split_yaml_from_readme`).
fn front_matter(readme: &str) -> Option<String> {
    let mut lines = readme.lines();
    if lines.next()? != "---" {
        return None;
    }
    let body: Vec<&str> = lines.collect();
    let end = body.iter().position(|l| *l == "---")?;
    Some(body[..end].join("\n"))
}

/// The configs declared in `readme`, in order; empty when it declares none.
pub(super) fn config_specs(readme: &str) -> Result<Vec<ConfigSpec>, LayoutError> {
    let bad = |problem: String| LayoutError::BadReadme(problem);
    let Some(yaml) = front_matter(readme) else {
        return Ok(Vec::new());
    };
    let doc: Value = serde_yaml_ng::from_str(&yaml).map_err(|e| {
        bad(format!(
            "the YAML front matter of README.md does not parse ({e}); fix it so its configs can be read"
        ))
    })?;
    let configs = match doc.get("configs") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            return Err(bad(
                "README.md's `configs` must be a list of entries, each with a config_name".into(),
            ));
        }
    };
    let mut specs: Vec<ConfigSpec> = Vec::with_capacity(configs.len());
    for (i, entry) in configs.iter().enumerate() {
        let name = entry.get("config_name").and_then(scalar).ok_or_else(|| {
            bad(format!(
                "README.md's `configs` entry {} has no config_name; give every config a name",
                i + 1
            ))
        })?;
        if specs.iter().any(|s| s.name == name) {
            return Err(bad(format!(
                "README.md lists config `{name}` twice; give each config a different config_name"
            )));
        }
        let data_files = match entry.get("data_files") {
            None | Some(Value::Null) => None,
            Some(v) => Some(data_files(&name, v)?),
        };
        let data_dir = match entry.get("data_dir") {
            None | Some(Value::Null) => None,
            Some(v) => Some(scalar(v).ok_or_else(|| {
                bad(format!(
                    "README.md's data_dir for config `{name}` must be a folder path"
                ))
            })?),
        };
        let default = match entry.get("default") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(bad(format!(
                    "README.md's `default` for config `{name}` must be true or false"
                )));
            }
        };
        specs.push(ConfigSpec {
            name,
            data_files,
            data_dir,
            default,
        });
    }
    Ok(specs)
}

/// `sanitize_patterns`: a string or a list of strings is the `train` split; a list of
/// `{split, path}` (path a string or a list) names the splits.
fn data_files(config: &str, value: &Value) -> Result<SplitPatterns, LayoutError> {
    let bad = || {
        LayoutError::BadReadme(format!(
            "README.md's data_files for config `{config}` must be a path, a list of paths, or a \
             list of entries with exactly `split` and `path`"
        ))
    };
    let items = match value {
        Value::Sequence(items) => items,
        other => return Ok(vec![("train".into(), vec![scalar(other).ok_or_else(bad)?])]),
    };
    if !items.iter().any(Value::is_mapping) {
        let paths = items.iter().map(scalar).collect::<Option<Vec<_>>>();
        return Ok(vec![("train".into(), paths.ok_or_else(bad)?)]);
    }
    let mut out = SplitPatterns::new();
    for item in items {
        let Value::Mapping(map) = item else {
            return Err(bad());
        };
        let (Some(split), Some(path), 2) = (item.get("split"), item.get("path"), map.len()) else {
            return Err(bad());
        };
        let split = scalar(split).ok_or_else(bad)?;
        let paths = match path {
            Value::Sequence(list) => list.iter().map(scalar).collect::<Option<Vec<_>>>(),
            one => scalar(one).map(|p| vec![p]),
        }
        .ok_or_else(bad)?;
        if out.iter().any(|(s, _)| *s == split) {
            return Err(LayoutError::BadReadme(format!(
                "README.md's data_files for config `{config}` lists split `{split}` twice; \
                 list each split once with all its paths"
            )));
        }
        out.push((split, paths));
    }
    Ok(out)
}

/// A YAML scalar as text: Python keeps `config_name: 2020` as an int, which names the config
/// `2020` all the same.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(yaml: &str) -> Vec<ConfigSpec> {
        config_specs(&format!("---\n{yaml}\n---\n# Title\n")).unwrap()
    }

    fn err(yaml: &str) -> String {
        config_specs(&format!("---\n{yaml}\n---\n"))
            .unwrap_err()
            .to_string()
    }

    fn pats(pairs: &[(&str, &[&str])]) -> Option<SplitPatterns> {
        Some(
            pairs
                .iter()
                .map(|(s, p)| (s.to_string(), p.iter().map(|x| x.to_string()).collect()))
                .collect(),
        )
    }

    #[test]
    fn readme_without_front_matter_or_configs_has_none() {
        assert!(config_specs("# Just a title\n").unwrap().is_empty());
        assert!(config_specs("---\nlicense: mit\n---\n").unwrap().is_empty());
        assert!(config_specs("---\n---\n").unwrap().is_empty());
        // The front matter must start on the first line.
        assert!(config_specs("\n---\nconfigs: 3\n---\n").unwrap().is_empty());
        // CRLF line ends are fine.
        assert_eq!(
            config_specs("---\r\nconfigs:\r\n- config_name: a\r\n---\r\n")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn data_files_take_every_documented_shape() {
        let s = specs(
            "configs:
- config_name: one
  data_files: data.csv
- config_name: list
  data_files: [part0/*, part1/*]
- config_name: splits
  default: true
  data_files:
  - split: train
    path: train/*
  - split: test
    path: [test/a.csv, test/b.csv]
- config_name: 2020
  data_dir: y2020
",
        );
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].data_files, pats(&[("train", &["data.csv"])]));
        assert_eq!(s[1].data_files, pats(&[("train", &["part0/*", "part1/*"])]));
        assert_eq!(
            s[2].data_files,
            pats(&[
                ("train", &["train/*"]),
                ("test", &["test/a.csv", "test/b.csv"])
            ])
        );
        assert!(s[2].default && !s[0].default);
        assert_eq!(s[3].name, "2020");
        assert_eq!(s[3].data_files, None);
        assert_eq!(s[3].data_dir.as_deref(), Some("y2020"));
    }

    #[test]
    fn malformed_configs_are_explained() {
        assert!(
            err("configs: [").starts_with("the YAML front matter of README.md does not parse (")
        );
        assert_eq!(
            err("configs: 3"),
            "README.md's `configs` must be a list of entries, each with a config_name"
        );
        assert_eq!(
            err("configs:\n- data_files: a.csv"),
            "README.md's `configs` entry 1 has no config_name; give every config a name"
        );
        assert_eq!(
            err("configs:\n- config_name: a\n- config_name: a"),
            "README.md lists config `a` twice; give each config a different config_name"
        );
        let shape = "README.md's data_files for config `a` must be a path, a list of paths, or a \
                     list of entries with exactly `split` and `path`";
        assert_eq!(
            err("configs:\n- config_name: a\n  data_files: {x: 1}"),
            shape
        );
        assert_eq!(
            err("configs:\n- config_name: a\n  data_files: [x.csv, {split: t, path: y}]"),
            shape
        );
        assert_eq!(
            err("configs:\n- config_name: a\n  data_files: [{split: t, path: y, extra: 1}]"),
            shape
        );
        assert_eq!(
            err(
                "configs:\n- config_name: a\n  data_files: [{split: t, path: y}, {split: t, path: z}]"
            ),
            "README.md's data_files for config `a` lists split `t` twice; list each split once \
             with all its paths"
        );
        assert_eq!(
            err("configs:\n- config_name: a\n  default: yes please"),
            "README.md's `default` for config `a` must be true or false"
        );
    }
}
