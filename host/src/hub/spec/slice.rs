//! The `datasets` split-slicing grammar (`train`, `train[:1000]`, `train[10%:20%]`,
//! `train[-100:]`, `train[:50%]+test`, `train[:33%](pct1_dropremainder)`) and its conversion to
//! row ranges, following `datasets.arrow_reader` (`_SUB_SPEC_RE`, `_str_to_read_instruction`,
//! `_rel_to_abs_instr`) number for number.

use std::collections::BTreeMap;
use std::ops::Range;

/// What a slice bound counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Rows,
    Percent,
}

/// How percent bounds become rows (`datasets`' `rounding`; only meaningful for [`Unit::Percent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// `round(pct * rows / 100)` with Python's round-half-to-even (the default).
    Closest,
    /// `pct * trunc(rows / 100)`: every 1% has the same size; needs at least 100 rows.
    Pct1DropRemainder,
}

/// One `split[from:to](rounding)` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPart {
    pub split: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub unit: Unit,
    pub rounding: Rounding,
}

/// A parsed split selection: one or more [`SplitPart`]s joined by `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSpec {
    parts: Vec<SplitPart>,
}

/// Why a split selection is wrong; each message is one sentence naming the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SliceError {
    #[error(
        "`{spec}` is not a split selection; write SPLIT, SPLIT[FROM:TO] with row numbers or \
         percentages (train[:1000], train[10%:20%], train[-100:]) or join them with + \
         ({problem})"
    )]
    Syntax { spec: String, problem: String },
    #[error("`{spec}`: {problem}")]
    Invalid { spec: String, problem: String },
    #[error("unknown split `{split}`; the splits are: {}", known.join(", "))]
    UnknownSplit { split: String, known: Vec<String> },
    #[error(
        "`{spec}` uses pct1_dropremainder on split `{split}`, which has {rows} rows; that rounding \
         needs at least 100 rows, so drop `(pct1_dropremainder)`"
    )]
    TooFewRowsForPct1 {
        spec: String,
        split: String,
        rows: u64,
    },
    #[error("`{spec}` selects no rows; check the bounds against the split sizes ({sizes})")]
    Empty { spec: String, sizes: String },
}

impl SplitSpec {
    /// Parses a selection. Whitespace around `+` is allowed, as in `datasets`.
    pub fn parse(spec: &str) -> Result<Self, SliceError> {
        let spec = spec.trim();
        let parts = spec
            .split('+')
            .map(|sub| parse_part(spec, sub.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        // `ReadInstruction.__add__`: percent parts must agree on their rounding.
        let mut roundings = parts
            .iter()
            .filter(|p| p.unit == Unit::Percent)
            .map(|p| p.rounding);
        if let Some(first) = roundings.next()
            && roundings.any(|r| r != first)
        {
            return Err(SliceError::Invalid {
                spec: spec.to_string(),
                problem: "all percent slices must use the same rounding".into(),
            });
        }
        Ok(Self { parts })
    }

    pub fn parts(&self) -> &[SplitPart] {
        &self.parts
    }

    /// The split names used, each once, in order of first use.
    pub fn splits(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for part in &self.parts {
            if !out.contains(&part.split.as_str()) {
                out.push(&part.split);
            }
        }
        out
    }

    /// Whether any part needs its split's row count to be resolved (see [`SplitPart::needs_total`]).
    pub fn needs_totals(&self) -> bool {
        self.parts.iter().any(SplitPart::needs_total)
    }

    /// Row ranges, one per part in order, given every used split's row count.
    ///
    /// Like `datasets`, a selection that yields no rows at all is an error ("corresponds to no
    /// data"), while a single empty part among others is not.
    pub fn resolve(
        &self,
        split_sizes: &BTreeMap<String, u64>,
    ) -> Result<Vec<(String, Range<u64>)>, SliceError> {
        let spec = self.to_string();
        let mut out = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let Some(&rows) = split_sizes.get(&part.split) else {
                return Err(SliceError::UnknownSplit {
                    split: part.split.clone(),
                    known: split_sizes.keys().cloned().collect(),
                });
            };
            out.push((part.split.clone(), part.resolve(&spec, rows)?));
        }
        if out.iter().all(|(_, r)| r.is_empty()) {
            let sizes = self
                .splits()
                .iter()
                .map(|s| format!("{s} has {}", split_sizes[*s]))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(SliceError::Empty { spec, sizes });
        }
        Ok(out)
    }
}

impl std::fmt::Display for SplitSpec {
    /// The canonical spec, like `ReadInstruction.to_spec`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for SplitPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.split)?;
        if self.from.is_none() && self.to.is_none() {
            return Ok(());
        }
        let pct = if self.unit == Unit::Percent { "%" } else { "" };
        let bound = |b: Option<i64>| b.map(|b| format!("{b}{pct}")).unwrap_or_default();
        write!(f, "[{}:{}]", bound(self.from), bound(self.to))?;
        if self.unit == Unit::Percent && self.rounding == Rounding::Pct1DropRemainder {
            f.write_str("(pct1_dropremainder)")?;
        }
        Ok(())
    }
}

impl SplitPart {
    /// Percent bounds and negative row bounds depend on the split's size; plain `[a:b]` row
    /// bounds (and no slice at all) do not: the reader can start at `a` and stop at `b` or at the
    /// end of the data, whichever comes first.
    pub fn needs_total(&self) -> bool {
        self.unit == Unit::Percent
            || self.from.is_some_and(|b| b < 0)
            || self.to.is_some_and(|b| b < 0)
    }

    /// `(start, end)` rows without knowing the split size, when [`Self::needs_total`] is false;
    /// `end: None` reads to the end. Both are capped by the real size when reading.
    pub fn rows_without_total(&self) -> Option<(u64, Option<u64>)> {
        if self.needs_total() {
            return None;
        }
        let start = self.from.unwrap_or(0) as u64;
        let end = self.to.map(|to| (to as u64).max(start));
        Some((start, end))
    }

    /// `_rel_to_abs_instr`: bounds → rows, negative from the end, clamped to `0..rows`; a slice
    /// whose start is past its end is empty.
    fn resolve(&self, spec: &str, rows: u64) -> Result<Range<u64>, SliceError> {
        let n = rows as i64;
        let to_rows = |bound: i64| -> Result<i64, SliceError> {
            match (self.unit, self.rounding) {
                (Unit::Rows, _) => Ok(bound),
                // `int(round(boundary * num_examples / 100.0))`: float division, then Python's
                // round-half-to-even.
                (Unit::Percent, Rounding::Closest) => {
                    Ok(((bound * n) as f64 / 100.0).round_ties_even() as i64)
                }
                (Unit::Percent, Rounding::Pct1DropRemainder) => {
                    if rows < 100 {
                        return Err(SliceError::TooFewRowsForPct1 {
                            spec: spec.to_string(),
                            split: self.split.clone(),
                            rows,
                        });
                    }
                    Ok(bound * (n / 100))
                }
            }
        };
        let from = self.from.map(to_rows).transpose()?.unwrap_or(0);
        let to = self.to.map(to_rows).transpose()?.unwrap_or(n);
        let clamp = |b: i64| (if b < 0 { (n + b).max(0) } else { b.min(n) }) as u64;
        let (from, to) = (clamp(from), clamp(to));
        Ok(from..to.max(from))
    }
}

/// One `split[from:to](rounding)` term (`_SUB_SPEC_RE`).
fn parse_part(spec: &str, sub: &str) -> Result<SplitPart, SliceError> {
    let syntax = |problem: String| SliceError::Syntax {
        spec: spec.to_string(),
        problem,
    };
    let invalid = |problem: String| SliceError::Invalid {
        spec: spec.to_string(),
        problem,
    };
    let (head, rounding) = match sub.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((head, rounding)) => (head, Some(rounding)),
        None => (sub, None),
    };
    let (split, slice) = match head.strip_suffix(']').and_then(|s| s.split_once('[')) {
        Some((split, slice)) => (split, Some(slice)),
        None => (head, None),
    };
    if !is_split_name(split) {
        return Err(syntax(format!(
            "`{split}` is not a split name: use letters, digits, `_` and single dots"
        )));
    }
    let (from, to) = match slice {
        None => (None, None),
        Some(slice) => {
            let (from, to) = slice
                .split_once(':')
                .ok_or_else(|| syntax(format!("`[{slice}]` needs a `:` between its bounds")))?;
            (
                parse_bound(from).map_err(&syntax)?,
                parse_bound(to).map_err(&syntax)?,
            )
        }
    };
    let unit = match (from, to) {
        (Some((_, true)), Some((_, false))) | (Some((_, false)), Some((_, true))) => {
            // `datasets` would read `train[10%:500]` as 10%..500% and then fail; say it plainly.
            return Err(invalid(format!(
                "`{sub}` mixes a percentage and a row number; use % on both bounds or on neither"
            )));
        }
        (Some((_, true)), _) | (_, Some((_, true))) => Unit::Percent,
        _ => Unit::Rows,
    };
    let rounding = match rounding {
        None => Rounding::Closest,
        Some(_) if unit != Unit::Percent => {
            return Err(invalid(format!(
                "`{sub}` gives a rounding, which only applies to percent slices"
            )));
        }
        Some("closest") => Rounding::Closest,
        Some("pct1_dropremainder") => Rounding::Pct1DropRemainder,
        Some(other) => {
            return Err(invalid(format!(
                "rounding `{other}` is unknown; use closest or pct1_dropremainder"
            )));
        }
    };
    let (from, to) = (from.map(|b| b.0), to.map(|b| b.0));
    if unit == Unit::Percent && [from, to].into_iter().flatten().any(|b| b.abs() > 100) {
        return Err(invalid(format!(
            "`{sub}` has a percentage outside -100%..100%"
        )));
    }
    Ok(SplitPart {
        split: split.to_string(),
        from,
        to,
        unit,
        rounding,
    })
}

/// `-?[\d_]+%?` or nothing; returns the value and whether it was a percentage. Underscores are
/// digit separators, as Python's `int()` accepts them (`1_000`).
fn parse_bound(text: &str) -> Result<Option<(i64, bool)>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let (number, pct) = match text.strip_suffix('%') {
        Some(n) => (n, true),
        None => (text, false),
    };
    let (negative, digits) = match number.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, number),
    };
    let well_formed = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.ends_with(|c: char| c.is_ascii_digit())
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    let value = well_formed
        .then(|| digits.replace('_', "").parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| format!("`{text}` is not a whole number of rows or percent"))?;
    Ok(Some((if negative { -value } else { value }, pct)))
}

/// `datasets.naming._split_re`: `^\w+(\.\w+)*$`.
fn is_split_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn rows(spec: &str, pairs: &[(&str, u64)]) -> Vec<(String, Range<u64>)> {
        SplitSpec::parse(spec)
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
            .resolve(&sizes(pairs))
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn one(spec: &str, n: u64) -> Range<u64> {
        rows(spec, &[("train", n)]).remove(0).1
    }

    #[test]
    fn absolute_slices_match_datasets() {
        assert_eq!(one("train", 500), 0..500);
        assert_eq!(one("train[:1000]", 5000), 0..1000);
        assert_eq!(one("train[:1000]", 300), 0..300);
        assert_eq!(one("train[10:]", 300), 10..300);
        assert_eq!(one("train[-100:]", 300), 200..300);
        assert_eq!(one("train[-100:]", 30), 0..30);
        assert_eq!(one("train[1:-1]", 10), 1..9);
        assert_eq!(one("train[:-20]+train", 10), 0..0);
        assert_eq!(one("train[1_000:2_000]", 5000), 1000..2000);
        assert_eq!(one("train[8:3]+train", 10), 8..8);
    }

    #[test]
    fn percent_slices_round_like_python() {
        // The numbers `datasets` gives: round-half-to-even of pct * n / 100.
        assert_eq!(one("train[10%:20%]", 101), 10..20); // 10.1 → 10, 20.2 → 20
        assert_eq!(one("train[:50%]", 101), 0..50); // 50.5 → 50 (even)
        assert_eq!(one("train[:50%]", 103), 0..52); // 51.5 → 52 (even)
        assert_eq!(one("train[5%:15%]", 10), 0..2); // 0.5 → 0, 1.5 → 2
        assert_eq!(one("train[25%:]", 10), 2..10); // 2.5 → 2
        assert_eq!(one("train[-10%:]", 101), 91..101); // -10.1 → -10
        assert_eq!(one("train[:33%]", 1000), 0..330);
        assert_eq!(one("train[:100%]", 7), 0..7);
        assert_eq!(one("train[-100%:]", 7), 0..7);
        assert_eq!(one("train[:33%](closest)", 101), 0..33);
        // pct1_dropremainder: 33 * trunc(101 / 100) = 33; 10% of 250 = 10 * 2 = 20.
        assert_eq!(one("train[:33%](pct1_dropremainder)", 101), 0..33);
        assert_eq!(one("train[:10%](pct1_dropremainder)", 250), 0..20);
    }

    #[test]
    fn several_parts_resolve_in_order() {
        assert_eq!(
            rows(
                "train[:50%] + test+train[-1:]",
                &[("train", 10), ("test", 4)]
            ),
            vec![
                ("train".to_string(), 0..5),
                ("test".to_string(), 0..4),
                ("train".to_string(), 9..10)
            ]
        );
        // One empty part among others is fine.
        assert_eq!(
            rows("train[5:5]+test", &[("train", 10), ("test", 4)]).len(),
            2
        );
        let spec = SplitSpec::parse("train[:50%]+test+train[-1:]").unwrap();
        assert_eq!(spec.splits(), vec!["train", "test"]);
        assert_eq!(spec.to_string(), "train[:50%]+test+train[-1:]");
    }

    #[test]
    fn only_percent_and_negative_bounds_need_the_row_count() {
        let part = |s: &str| SplitSpec::parse(s).unwrap().parts()[0].clone();
        assert!(!part("train").needs_total());
        assert_eq!(part("train").rows_without_total(), Some((0, None)));
        assert_eq!(
            part("train[:1000]").rows_without_total(),
            Some((0, Some(1000)))
        );
        assert_eq!(
            part("train[10:20]").rows_without_total(),
            Some((10, Some(20)))
        );
        assert_eq!(
            part("train[30:20]").rows_without_total(),
            Some((30, Some(30)))
        );
        assert!(part("train[:10%]").needs_total());
        assert!(part("train[-100:]").needs_total());
        assert!(part("train[:-1]").needs_total());
        assert_eq!(part("train[:-1]").rows_without_total(), None);
        assert!(
            SplitSpec::parse("train[:10]+test[:1%]")
                .unwrap()
                .needs_totals()
        );
        assert!(!SplitSpec::parse("train[:10]+test").unwrap().needs_totals());
    }

    #[test]
    fn bad_selections_are_explained() {
        let err = |s: &str| SplitSpec::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("train[10]"),
            "`train[10]` is not a split selection; write SPLIT, SPLIT[FROM:TO] with row numbers \
             or percentages (train[:1000], train[10%:20%], train[-100:]) or join them with + \
             (`[10]` needs a `:` between its bounds)"
        );
        assert!(err("train[a:]").ends_with("(`a` is not a whole number of rows or percent)"));
        assert!(err("train[1.5:]").ends_with("(`1.5` is not a whole number of rows or percent)"));
        assert!(
            err("tr ain").ends_with(
                "(`tr ain` is not a split name: use letters, digits, `_` and single dots)"
            )
        );
        assert!(err("train+").contains("`` is not a split name"));
        assert_eq!(
            err("train[10%:500]"),
            "`train[10%:500]`: `train[10%:500]` mixes a percentage and a row number; use % on \
             both bounds or on neither"
        );
        assert_eq!(
            err("train[:101%]"),
            "`train[:101%]`: `train[:101%]` has a percentage outside -100%..100%"
        );
        assert_eq!(
            err("train[:10](closest)"),
            "`train[:10](closest)`: `train[:10](closest)` gives a rounding, which only applies \
             to percent slices"
        );
        assert_eq!(
            err("train[:10%](nearest)"),
            "`train[:10%](nearest)`: rounding `nearest` is unknown; use closest or \
             pct1_dropremainder"
        );
        assert_eq!(
            err("train[:10%]+test[:5%](pct1_dropremainder)"),
            "`train[:10%]+test[:5%](pct1_dropremainder)`: all percent slices must use the same \
             rounding"
        );
        let resolve_err = |s: &str, pairs: &[(&str, u64)]| {
            SplitSpec::parse(s)
                .unwrap()
                .resolve(&sizes(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            resolve_err("dev", &[("train", 1), ("test", 1)]),
            "unknown split `dev`; the splits are: test, train"
        );
        assert_eq!(
            resolve_err("train[:10%](pct1_dropremainder)", &[("train", 99)]),
            "`train[:10%](pct1_dropremainder)` uses pct1_dropremainder on split `train`, which \
             has 99 rows; that rounding needs at least 100 rows, so drop `(pct1_dropremainder)`"
        );
        assert_eq!(
            resolve_err("train[1%:4%]+test[3:3]", &[("train", 10), ("test", 4)]),
            "`train[1%:4%]+test[3:3]` selects no rows; check the bounds against the split sizes \
             (train has 10, test has 4)"
        );
    }
}
