//! Cost: the price table ([`prices`]), the estimate printed before a run ([`Estimate`]) and the
//! `--max-usd` budget ([`budget`]). Plain values in, plain values out: `crate::run` applies them
//! to a `summary` run.

pub mod budget;
pub mod prices;

pub use budget::Budget;
pub use prices::{Price, PriceTable, unknown_price_hint};

/// What a planning pass counted over some rows: the input of [`Estimate::add`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Planned {
    pub prompts: u64,
    pub cache_hits: u64,
    /// Tokens of the prompts the cache could not answer.
    pub prompt_tokens: u64,
}

/// What a run is expected to send and cost, from its planning pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub prompts: u64,
    pub cache_hits: u64,
    /// Requests to send (prompts not answered by the cache).
    pub requests: u64,
    pub input_tokens: u64,
    /// Upper bound: every request at `max_tokens`.
    pub max_output_tokens: u64,
    /// Dollars at the upper bound; `None` when the model has no price.
    pub usd: Option<f64>,
    pub model: String,
    pub batch: bool,
    /// Set when the plan covered only the first rows: (rows planned, rows in the run if known).
    pub sampled: Option<(u64, Option<u64>)>,
}

impl Estimate {
    /// An empty estimate for `model`, to [`add`](Estimate::add) planned datasets to.
    pub fn new(model: &str, batch: bool) -> Estimate {
        Estimate {
            prompts: 0,
            cache_hits: 0,
            requests: 0,
            input_tokens: 0,
            max_output_tokens: 0,
            usd: None,
            model: model.to_string(),
            batch,
            sampled: None,
        }
    }

    /// Add one planned dataset: what was counted over `seen` rows, scaled up to `total` rows
    /// when the plan stopped early (`limited`).
    pub fn add(
        &mut self,
        usage: &Planned,
        seen: u64,
        total: Option<u64>,
        limited: bool,
        max_tokens: u32,
    ) {
        let to = total.unwrap_or(seen);
        let s = |n: u64| if limited { scale(n, seen, to) } else { n };
        let requests = usage.prompts - usage.cache_hits;
        self.prompts += s(usage.prompts);
        self.cache_hits += s(usage.cache_hits);
        self.requests += s(requests);
        self.input_tokens += s(usage.prompt_tokens);
        self.max_output_tokens += s(requests * max_tokens as u64);
        if limited {
            let (a, b) = self.sampled.unwrap_or((0, Some(0)));
            self.sampled = Some((a + seen, b.zip(total).map(|(b, t)| b + t)));
        }
    }

    /// Price the counts.
    pub fn priced(mut self, price: Option<Price>) -> Estimate {
        self.usd = price.map(|p| p.cost(self.input_tokens, self.max_output_tokens));
        self
    }

    pub fn render(&self) -> String {
        let sampled = match self.sampled {
            Some((seen, Some(total))) => format!(
                " (planned on the first {seen} of {total} rows and scaled up; --max-usd, --batch and --dry-run plan every row)"
            ),
            Some((seen, None)) => format!(
                " (for the first {seen} rows only: the dataset's length is unknown; --max-usd, --batch and --dry-run plan every row)"
            ),
            None => String::new(),
        };
        let price = match self.usd {
            Some(usd) => format!(
                "estimated cost at most ${usd:.4} at {} {} prices",
                self.model,
                if self.batch { "Batch API" } else { "standard" }
            ),
            None => format!("cost unknown: {}", unknown_price_hint(&self.model)),
        };
        format!(
            "Estimate{sampled}: {} prompt(s), {} from the cache, {} request(s) to send, {} input token(s), at most {} output token(s); {price}.",
            self.prompts, self.cache_hits, self.requests, self.input_tokens, self.max_output_tokens
        )
    }
}

/// Scale counts planned on `seen` rows up to `total` rows.
pub fn scale(n: u64, seen: u64, total: u64) -> u64 {
    if seen == 0 || total <= seen {
        return n;
    }
    (n as f64 * total as f64 / seen as f64).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_counts_and_price_or_how_to_add_one() {
        let mut e = Estimate {
            prompts: 10,
            cache_hits: 4,
            requests: 6,
            input_tokens: 1200,
            max_output_tokens: 600,
            usd: Some(0.00054),
            model: "gpt-4o-mini".into(),
            batch: false,
            sampled: None,
        };
        let text = e.render();
        assert!(!text.contains("first"), "{text}");
        assert!(
            text.contains("6 request(s) to send") && text.contains("$0.0005"),
            "{text}"
        );
        e.usd = None;
        e.model = "llama3".into();
        assert!(e.render().contains("CLASSIFIED_PRICES"), "{}", e.render());
        assert_eq!(scale(10, 5, 20), 40);
        assert_eq!(scale(10, 5, 5), 10);
    }
}
