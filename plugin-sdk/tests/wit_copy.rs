//! The SDK ships a copy of the repository's `wit/` (a published crate cannot reach outside itself).
//! This test keeps the copy honest: every file must equal its original byte for byte.

use std::path::{Path, PathBuf};

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "wit") {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sdk_wit_equals_repository_wit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let sdk_files = files(&sdk);
    assert!(!sdk_files.is_empty(), "plugin-sdk/wit holds no .wit files");
    for file in &sdk_files {
        let ours = std::fs::read(sdk.join(file)).unwrap();
        let theirs = std::fs::read(repo.join(file)).unwrap_or_else(|_| {
            panic!(
                "plugin-sdk/wit/{} has no counterpart in wit/",
                file.display()
            )
        });
        assert!(
            ours == theirs,
            "plugin-sdk/wit/{0} differs from wit/{0}; copy wit/ into plugin-sdk/wit/",
            file.display()
        );
    }
    // The SDK targets the newest released version.
    let newest = |root: &Path| {
        files(root)
            .into_iter()
            .filter_map(|f| f.iter().next().map(|c| c.to_owned()))
            .max()
    };
    assert_eq!(
        newest(&sdk),
        newest(&repo),
        "plugin-sdk/wit must hold the newest version in wit/"
    );
}
