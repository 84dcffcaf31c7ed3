//! The texts of a few rows, read back from a chunk JSONL for the example browser. The file holds
//! every rated chunk's text, so it is scanned once and only the wanted lines are parsed.

use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

/// One chunk's input fields, in file order.
pub type ChunkText = Vec<(String, String)>;

/// Where a text longer than `chars` characters is cut after its first `chars` (a byte index on a
/// character boundary); `None` when it is not longer.
pub fn cut_at(text: &str, chars: usize) -> Option<usize> {
    text.char_indices().nth(chars).map(|(at, _)| at)
}

/// The row number at the start of a line the writer wrote (`{"row":12,`), without parsing the rest.
fn row_of(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("{\"row\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// Per wanted row, its chunks' input fields in chunk order. A missing file gives nothing (the
/// report then shows rows without text).
pub fn read_texts(
    path: &Path,
    rows: &BTreeSet<u64>,
) -> Result<BTreeMap<u64, Vec<ChunkText>>, Error> {
    let mut out: BTreeMap<u64, Vec<ChunkText>> = BTreeMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(Error::Output {
                path: path.display().to_string(),
                source: e,
            });
        }
    };
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::Output {
            path: path.display().to_string(),
            source: e,
        })?;
        if row_of(&line).is_some_and(|r| !rows.contains(&r)) {
            continue;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let Some(row) = value.get("row").and_then(|r| r.as_u64()) else {
            continue;
        };
        if !rows.contains(&row) {
            continue;
        }
        let fields = value
            .get("inputs")
            .and_then(|i| i.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.entry(row).or_default().push(fields);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wanted_rows_are_read_in_chunk_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.l.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"row":1,"chunk":0,"inputs":{"text":"one"},"scores":{},"rationales":{},"cached":false}"#, "\n",
                r#"{"row":12,"chunk":0,"inputs":{"text":"a <b>"},"scores":{},"rationales":{},"cached":false}"#, "\n",
                r#"{"row":12,"chunk":1,"inputs":{"text":"second"},"scores":{},"rationales":{},"cached":true}"#, "\n",
                "not json\n",
            ),
        )
        .unwrap();
        let texts = read_texts(&path, &BTreeSet::from([12, 40])).unwrap();
        assert_eq!(texts.len(), 1);
        assert_eq!(
            texts[&12],
            vec![
                vec![("text".to_string(), "a <b>".to_string())],
                vec![("text".to_string(), "second".to_string())]
            ]
        );
        assert_eq!(row_of(r#"{"row":123,"x":1}"#), Some(123));
        assert_eq!(cut_at("日本語", 1), Some(3));
        assert_eq!(cut_at("日本語", 3), None);
        assert!(
            read_texts(&dir.path().join("missing.jsonl"), &BTreeSet::from([1]))
                .unwrap()
                .is_empty()
        );
    }
}
