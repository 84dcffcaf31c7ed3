//! Find lenses by name: user folders (`--lens-dir` / `LENS_DIR`) first, then the built-ins embedded in the binary.

use super::load::{LensFiles, load, load_dir};
use super::{Lens, LensError, LensSource};
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

/// The repository's `lenses/` folder, compiled into the binary so an installed `classified` works anywhere.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../lenses");

/// Names of the built-in lenses, sorted.
pub fn builtin_names() -> Vec<String> {
    let mut names: Vec<String> = BUILTIN
        .dirs()
        .filter(|d| d.get_file(d.path().join("config.json")).is_some())
        .filter_map(|d| {
            d.path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// The files of one embedded lens folder. Components of built-in lenses are not in the source tree
/// (they are built from source by `build.rs`), so they are looked up among the built artifacts.
struct Builtin<'a> {
    name: &'a str,
    dir: &'a Dir<'static>,
}

impl LensFiles for Builtin<'_> {
    fn read(&self, file: &str) -> std::io::Result<Option<Vec<u8>>> {
        let embedded = self
            .dir
            .get_file(self.dir.path().join(file))
            .map(|f| f.contents().to_vec());
        Ok(embedded
            .or_else(|| crate::component::builtin_component(self.name, file).map(<[u8]>::to_vec)))
    }
}

/// Where lenses are looked up.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    user_dirs: Vec<PathBuf>,
}

impl Catalog {
    /// A catalog over the built-ins plus every lens folder inside each of `user_dirs`.
    pub fn new(user_dirs: Vec<PathBuf>) -> Self {
        Catalog { user_dirs }
    }

    /// Load a lens by name (a user lens with a built-in's name wins), or by the path of a lens folder.
    /// A bare word that names no lens but an existing folder (`my_lens`, `.`) loads that folder.
    pub fn get(&self, name: &str) -> Result<Lens, LensError> {
        if name.contains('/') || name.contains(std::path::MAIN_SEPARATOR) {
            return load_dir(&folder_path(name));
        }
        for dir in &self.user_dirs {
            let candidate = dir.join(name);
            if candidate.join("config.json").is_file() {
                return load_dir(&candidate);
            }
        }
        if let Some(dir) = BUILTIN.get_dir(name) {
            return load(name, LensSource::Builtin, &Builtin { name, dir });
        }
        if Path::new(name).is_dir() {
            return load_dir(&folder_path(name));
        }
        Err(LensError {
            lens: name.to_string(),
            file: "(lens name)".into(),
            problem: format!(
                "no such lens; available: {}. Add your own with --lens-dir or LENS_DIR",
                self.names().join(", ")
            ),
        })
    }

    /// Every lens name visible through this catalog, sorted, each once.
    pub fn names(&self) -> Vec<String> {
        let mut names = builtin_names();
        for dir in &self.user_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.path().join("config.json").is_file() {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

/// A lens folder's path; `.` and `..` become absolute, so the lens is named after the folder.
fn folder_path(path: &str) -> PathBuf {
    let path = Path::new(path);
    match path.file_name() {
        Some(_) => path.to_path_buf(),
        None => path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lens::LensKind;

    #[test]
    fn the_seed_lenses_are_built_in_and_valid() {
        let catalog = Catalog::default();
        let expect = [
            ("textbook_quality", LensKind::Pretrain, vec!["overall"]),
            (
                "learning_value",
                LensKind::Pretrain,
                vec![
                    "factual",
                    "well_written",
                    "specific",
                    "enhances_understanding",
                    "self_contained",
                    "overall",
                ],
            ),
            (
                "code_quality",
                LensKind::Pretrain,
                vec![
                    "correct",
                    "efficient",
                    "readable",
                    "complete",
                    "written_by_expert",
                    "overall",
                ],
            ),
            (
                "textbook_depth",
                LensKind::Pretrain,
                vec!["specificity", "depth", "overall"],
            ),
            (
                "instruction_following",
                LensKind::Instruct,
                vec!["follows_instructions", "on_topic", "correct", "overall"],
            ),
        ];
        for (name, kind, labels) in expect {
            let lens = catalog.get(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(lens.kind, kind, "{name}");
            assert_eq!(lens.score_labels, labels, "{name}");
            assert_eq!(lens.source, LensSource::Builtin);
        }
        assert_eq!(
            catalog.get("instruction_following").unwrap().input_fields,
            ["instruction", "output"]
        );
        for name in builtin_names() {
            catalog
                .get(&name)
                .unwrap_or_else(|e| panic!("built-in lens {name} does not load: {e}"));
        }
    }

    /// A one-field instruct lens whose one score is `mine`, in folder `lens`.
    fn write_instruct_lens(lens: &std::path::Path) {
        std::fs::create_dir(lens).unwrap();
        std::fs::write(
            lens.join("config.json"),
            r#"{"input_fields": ["text"], "type": "instruct"}"#,
        )
        .unwrap();
        std::fs::write(lens.join("system.jinja"), "s").unwrap();
        std::fs::write(lens.join("prompt.jinja"), "{{ text }}").unwrap();
        std::fs::write(
            lens.join("function.json"),
            r#"{"name": "f", "parameters": {"type": "object", "properties": {"mine": {"type": "integer"}}, "required": ["mine"]}}"#,
        )
        .unwrap();
    }

    #[test]
    fn a_user_lens_wins_over_the_builtin_of_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let lens = dir.path().join("textbook_quality");
        write_instruct_lens(&lens);
        let catalog = Catalog::new(vec![dir.path().to_path_buf()]);
        let got = catalog.get("textbook_quality").unwrap();
        assert_eq!(got.score_labels, ["mine"]);
        assert_eq!(got.source, LensSource::Dir(lens.clone()));
        // A lens can also be named by its folder's path.
        assert_eq!(
            catalog.get(lens.to_str().unwrap()).unwrap().score_labels,
            ["mine"]
        );
    }

    #[test]
    fn a_folder_path_is_named_after_its_folder_and_names_still_win() {
        let dir = tempfile::tempdir().unwrap();
        let lens = dir.path().join("my_lens");
        write_instruct_lens(&lens);
        // (A bare word is relative to the working directory: host/tests/scaffold.rs runs
        // `lenses check my_lens` and `check .` in a folder of their own.)
        let catalog = Catalog::default();
        let dotted = format!("{}/.", lens.display());
        assert_eq!(catalog.get(&dotted).unwrap().name, "my_lens");
        // A lens name still wins over a folder: built-ins are found by name from any directory.
        assert_eq!(
            catalog.get("textbook_quality").unwrap().source,
            LensSource::Builtin
        );
    }

    #[test]
    fn an_unknown_lens_lists_the_available_ones() {
        let e = Catalog::default().get("nope").unwrap_err().to_string();
        assert!(
            e.contains("no such lens")
                && e.contains("textbook_quality")
                && e.contains("--lens-dir"),
            "{e}"
        );
    }
}
