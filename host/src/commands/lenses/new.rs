//! `classified lenses new PATH [--lang rust|python|js]`: write a lens folder whose component builds and
//! passes `lenses check` as generated. The files are the templates in `templates/` (`common/` plus
//! one folder per language), with `{{lens}}`-style names filled in and a `.tmpl` suffix dropped.

use crate::cli::lenses::Lang;
use crate::error::Error;
use include_dir::{Dir, DirEntry, include_dir};
use std::path::{Component, Path, PathBuf};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/commands/lenses/templates");

/// The WIT a Python or JavaScript component is built against (the newest released version).
const LENS_WIT: &str = include_str!("../../../../wit/v0.1.0/lens.wit");

pub fn run(dir: &Path, lang: Lang) -> Result<(), Error> {
    let name = lens_name(dir)?;
    if dir.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; choose a new folder",
            dir.display()
        )));
    }
    let names = Names::new(&name);
    let mut files = files(&names, "common");
    files.extend(files_for(&names, lang));
    for (file, text) in files {
        let path = dir.join(&file);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
            std::fs::write(&path, text)
        };
        write().map_err(|source| Error::Output {
            path: path.display().to_string(),
            source,
        })?;
    }
    let shown = shown_path(dir);
    println!(
        "created lens `{name}` in {shown}\nbuild its component:\n    (cd {shown} && {})\nthen check it:\n    classified lenses check {shown}",
        build_command(lang, &names)
    );
    Ok(())
}

/// The lens's name: the folder's last part, letters, digits, `_` and `-` only.
fn lens_name(dir: &Path) -> Result<String, Error> {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} is not a lens name: use letters, digits, '_' and '-'",
                dir.display()
            ))
        })
}

/// `dir` as the user should type it: a bare relative name gets `./`, so no one mistakes it for the
/// name of a built-in lens.
fn shown_path(dir: &Path) -> String {
    let mut parts = dir.components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => format!("./{}", dir.display()),
        _ => dir.display().to_string(),
    }
}

/// The names the templates use, derived from the lens name.
struct Names {
    lens: String,
    /// The function.json function name (no `-`, which OpenAI does not allow).
    function: String,
    /// The Rust crate (`my-lens-lens`) and the .wasm cargo writes for it (`my_lens_lens`).
    krate: String,
    wasm: String,
    /// The npm package name (lowercase).
    package: String,
}

impl Names {
    fn new(lens: &str) -> Self {
        let krate = format!("{}-lens", lens.replace('_', "-").to_lowercase());
        Names {
            lens: lens.to_string(),
            function: lens.replace('-', "_"),
            wasm: krate.replace('-', "_"),
            package: krate.clone(),
            krate,
        }
    }

    fn fill(&self, text: &str) -> String {
        text.replace("{{lens}}", &self.lens)
            .replace("{{function}}", &self.function)
            .replace("{{crate}}", &self.krate)
            .replace("{{wasm}}", &self.wasm)
            .replace("{{package}}", &self.package)
    }
}

fn files_for(names: &Names, lang: Lang) -> Vec<(PathBuf, String)> {
    let mut files = files(names, lang_folder(lang));
    if matches!(lang, Lang::Python | Lang::Js) {
        // componentize-py and componentize-js read the WIT from the lens folder.
        files.push(("wit/lens.wit".into(), LENS_WIT.to_string()));
    }
    files
}

fn lang_folder(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "rust",
        Lang::Python => "python",
        Lang::Js => "js",
    }
}

/// Every template file under `templates/<folder>`, as (path in the new lens, filled-in text).
fn files(names: &Names, folder: &str) -> Vec<(PathBuf, String)> {
    let root = TEMPLATES
        .get_dir(folder)
        .unwrap_or_else(|| panic!("templates/{folder} is compiled in"));
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(d) => dirs.push(d),
                DirEntry::File(f) => {
                    let relative = f.path().strip_prefix(folder).unwrap_or(f.path());
                    // `Cargo.toml.tmpl`: a real Cargo.toml here would be taken for a package of this workspace.
                    let relative = match relative.to_str().and_then(|p| p.strip_suffix(".tmpl")) {
                        Some(stripped) => PathBuf::from(stripped),
                        None => relative.to_path_buf(),
                    };
                    let text = f.contents_utf8().unwrap_or_default();
                    out.push((relative, names.fill(text)));
                }
            }
        }
    }
    out.sort();
    out
}

/// The command that builds the component, run in the lens folder (as its README says).
fn build_command(lang: Lang, names: &Names) -> String {
    match lang {
        Lang::Rust => format!(
            "cd guest && cargo build --target wasm32-wasip2 --release && cp target/wasm32-wasip2/release/{}.wasm ../lens.wasm",
            names.wasm
        ),
        Lang::Python => "pip install componentize-py==0.25.1 && componentize-py -d wit -w lens componentize app -o lens.wasm".into(),
        Lang::Js => "npm install && npm run build".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_gets_the_common_files_and_its_own() {
        let names = Names::new("My-lens");
        for (lang, own) in [
            (Lang::Rust, vec!["guest/Cargo.toml", "guest/src/lib.rs"]),
            (Lang::Python, vec!["app.py", "wit/lens.wit"]),
            (
                Lang::Js,
                vec!["build.mjs", "lens.js", "package.json", "wit/lens.wit"],
            ),
        ] {
            let mut got: Vec<(PathBuf, String)> = files(&names, "common");
            got.extend(files_for(&names, lang));
            let paths: Vec<String> = got.iter().map(|(p, _)| p.display().to_string()).collect();
            for file in [
                "config.json",
                "function.json",
                "fixtures/rows.jsonl",
                "README.md",
            ]
            .into_iter()
            .chain(own)
            {
                assert!(
                    paths.iter().any(|p| p == file),
                    "{lang:?}: no {file} in {paths:?}"
                );
            }
            for (path, text) in &got {
                assert!(
                    !text.contains("{{"),
                    "{lang:?} {}: unfilled name",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn names_fill_the_templates() {
        let names = Names::new("My-lens");
        let cargo = files_for(&names, Lang::Rust)
            .into_iter()
            .find(|(p, _)| p == Path::new("guest/Cargo.toml"))
            .unwrap()
            .1;
        assert!(cargo.contains("name = \"my-lens-lens\""), "{cargo}");
        // Third parties depend on the published crate; a local SDK is a [patch.crates-io] away.
        assert!(cargo.contains("classified-lens = \"0.1\""), "{cargo}");
        let function = files(&names, "common")
            .into_iter()
            .find(|(p, _)| p == Path::new("function.json"))
            .unwrap()
            .1;
        let function: serde_json::Value = serde_json::from_str(&function).unwrap();
        assert_eq!(function["name"], "My_lens");
    }

    #[test]
    fn a_bare_folder_name_is_shown_as_a_path() {
        assert_eq!(shown_path(Path::new("my_lens")), "./my_lens");
        assert_eq!(shown_path(Path::new("lenses/my_lens")), "lenses/my_lens");
        assert_eq!(shown_path(Path::new("/tmp/my_lens")), "/tmp/my_lens");
    }
}
