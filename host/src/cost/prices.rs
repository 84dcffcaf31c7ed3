//! The price table: dollars per 1M tokens per model, embedded, with an optional override file
//! (`CLASSIFIED_PRICES`) because prices change more often than releases.

use crate::error::Error;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The table shipped in the binary.
const EMBEDDED: &str = include_str!("prices.json");

/// Dollars per 1M tokens for one model.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct TableFile {
    batch_discount: Option<f64>,
    #[serde(default)]
    models: BTreeMap<String, ModelPrice>,
}

/// Every known model price plus the Batch API discount.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// Batch price = this × the standard price (0.5: half off).
    pub batch_discount: f64,
    pub models: BTreeMap<String, ModelPrice>,
}

/// The price that applies to one run: a model's price, with the batch discount applied or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Dollars per token.
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        input_tokens as f64 * self.input + output_tokens as f64 * self.output
    }
}

impl PriceTable {
    pub fn embedded() -> PriceTable {
        let file: TableFile = serde_json::from_str(EMBEDDED).expect("prices.json is valid");
        PriceTable {
            batch_discount: file.batch_discount.unwrap_or(0.5),
            models: file.models,
        }
    }

    /// The embedded table, with the entries of `override_file` (same shape) replacing or adding models.
    pub fn load(override_file: Option<&Path>) -> Result<PriceTable, Error> {
        let mut table = PriceTable::embedded();
        let Some(path) = override_file else {
            return Ok(table);
        };
        let bad = |problem: String| {
            Error::Usage(format!(
                "the price file {} (CLASSIFIED_PRICES) {problem}; it must look like {{\"batch_discount\": 0.5, \"models\": {{\"gpt-4o-mini\": {{\"input\": 0.15, \"output\": 0.6}}}}}} with dollars per 1M tokens",
                path.display()
            ))
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
        let file: TableFile =
            serde_json::from_str(&text).map_err(|e| bad(format!("is not valid ({e})")))?;
        for (name, price) in &file.models {
            if !(price.input >= 0.0 && price.output >= 0.0) {
                return Err(bad(format!("has a negative price for `{name}`")));
            }
        }
        if let Some(d) = file.batch_discount {
            if !(0.0..=1.0).contains(&d) {
                return Err(bad(format!("has batch_discount {d}, not between 0 and 1")));
            }
            table.batch_discount = d;
        }
        table.models.extend(file.models);
        Ok(table)
    }

    /// The price of `model`: an exact entry, else the longest entry that is a dated or suffixed
    /// variant's base (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`). `None` for an unknown model.
    pub fn price(&self, model: &str, batch: bool) -> Option<Price> {
        let found = self.models.get(model).or_else(|| {
            self.models
                .iter()
                .filter(|(name, _)| {
                    model
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
                })
                .max_by_key(|(name, _)| name.len())
                .map(|(_, p)| p)
        })?;
        let factor = if batch { self.batch_discount } else { 1.0 };
        Some(Price {
            input: found.input * factor / 1e6,
            output: found.output * factor / 1e6,
        })
    }
}

/// What to tell a user whose model has no price.
pub fn unknown_price_hint(model: &str) -> String {
    format!(
        "model `{model}` is not in the price table; add it to a JSON file like {{\"models\": {{\"{model}\": {{\"input\": 0.15, \"output\": 0.6}}}}}} (dollars per 1M tokens) and point CLASSIFIED_PRICES at it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_match_their_base_model_and_the_longest_base_wins() {
        let t = PriceTable::embedded();
        let mini = t.price("gpt-4o-mini", false).unwrap();
        assert_eq!(t.price("gpt-4o-mini-2024-07-18", false), Some(mini));
        assert!((mini.input * 1e6 - 0.15).abs() < 1e-12);
        assert_ne!(t.price("gpt-4o-2024-08-06", false), Some(mini));
        assert_eq!(
            t.price("gpt-4o-2024-08-06", false),
            t.price("gpt-4o", false)
        );
        assert_eq!(t.price("gpt-4oo", false), None);
        assert_eq!(t.price("llama3", false), None);
    }

    #[test]
    fn batch_is_half_price_and_cost_adds_up() {
        let t = PriceTable::embedded();
        let std = t.price("gpt-4.1", false).unwrap();
        let batch = t.price("gpt-4.1", true).unwrap();
        // 1M input at $2 + 1M output at $8.
        assert!((std.cost(1_000_000, 1_000_000) - 10.0).abs() < 1e-9);
        assert!((batch.cost(1_000_000, 1_000_000) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn an_override_file_adds_and_replaces_models() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.json");
        std::fs::write(
            &path,
            r#"{"batch_discount": 0.25, "models": {"my-model": {"input": 1, "output": 2}, "gpt-4o": {"input": 3, "output": 4}}}"#,
        )
        .unwrap();
        let t = PriceTable::load(Some(&path)).unwrap();
        assert!((t.price("my-model", false).unwrap().cost(1_000_000, 0) - 1.0).abs() < 1e-9);
        assert!((t.price("gpt-4o", true).unwrap().cost(0, 1_000_000) - 1.0).abs() < 1e-9);
        assert!(t.price("gpt-4o-mini", false).is_some());

        std::fs::write(&path, r#"{"models": {"m": {"input": "cheap"}}}"#).unwrap();
        let e = PriceTable::load(Some(&path)).unwrap_err().to_string();
        assert!(
            e.contains("CLASSIFIED_PRICES") && e.contains("prices.json"),
            "{e}"
        );
    }
}
