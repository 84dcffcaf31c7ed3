//! Reading one JSON object (a JSON Lines line, a JSON array element) into the requested columns,
//! with a visitor that keeps only the requested keys and skips every other value without building it.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::{DataError, Row};

/// serde_json's message without its " at line L column C" suffix, plus the column if wanted.
pub(crate) fn json_reason(e: &serde_json::Error, with_line: bool) -> String {
    let text = e.to_string();
    let msg = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    if e.column() == 0 {
        msg.to_string()
    } else if with_line {
        format!("{msg} at line {} column {}", e.line(), e.column())
    } else {
        format!("{msg} at column {}", e.column())
    }
}

/// A requested value of one JSON object.
#[derive(Debug, Clone, Default)]
pub(crate) enum Cell {
    #[default]
    Missing,
    Null,
    Text(String),
    /// Not text: the kind of value found ("a number", ...).
    Other(&'static str),
}

/// Turns parsed cells into a row, or an error naming the first non-text value.
pub(crate) fn cells_to_row(
    index: u64,
    cells: Vec<Cell>,
    columns: &[String],
) -> Result<Row, DataError> {
    let mut values = Vec::with_capacity(cells.len());
    for (cell, column) in cells.into_iter().zip(columns) {
        values.push(match cell {
            Cell::Missing | Cell::Null => None,
            Cell::Text(s) => Some(s),
            Cell::Other(found) => {
                return Err(DataError::ValueType {
                    row: index,
                    column: column.clone(),
                    found,
                });
            }
        });
    }
    Ok(Row { index, values })
}

/// Parses one JSON object, keeping the requested columns (aligned with `columns`).
pub(crate) fn parse_object(
    json: &[u8],
    columns: &[String],
) -> Result<Vec<Cell>, serde_json::Error> {
    parse_whole(json, RowSeed { columns })
}

/// The keys of one JSON object, in order.
pub(crate) fn object_keys(json: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    parse_whole(json, KeysSeed)
}

/// Reads one value from `json` with `seed`; anything but white space after it is an error.
fn parse_whole<'a, S: DeserializeSeed<'a>>(
    json: &'a [u8],
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct RowSeed<'a> {
    columns: &'a [String],
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Vec<Cell>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Vec<Cell>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cells: Vec<Cell> = (0..self.columns.len()).map(|_| Cell::Missing).collect();
        while let Some(slot) = map.next_key_seed(KeySeed {
            columns: self.columns,
        })? {
            match slot {
                Some(i) => {
                    let cell = map.next_value_seed(CellSeed)?;
                    // A column requested twice gets the value twice.
                    let name = &self.columns[i];
                    for (slot, column) in cells.iter_mut().zip(self.columns).skip(i + 1) {
                        if column == name {
                            *slot = cell.clone();
                        }
                    }
                    cells[i] = cell;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(cells)
    }
}

/// Resolves a key to the position of the first requested column with that name.
struct KeySeed<'a> {
    columns: &'a [String],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.columns.iter().position(|c| c == key))
    }
}

struct CellSeed;

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = Cell;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell, E> {
        Ok(Cell::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cell, E> {
        Ok(Cell::Text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Cell, E> {
        Ok(Cell::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Cell, E> {
        Ok(Cell::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Cell, E> {
        Ok(Cell::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Cell, E> {
        Ok(Cell::Other("a number"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Cell::Other("a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Cell::Other("an object"))
    }
}

struct KeysSeed;

impl<'de> DeserializeSeed<'de> for KeysSeed {
    type Value = Vec<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeysSeed {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}
