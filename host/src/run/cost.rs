//! Cost around one `summary` run: the price it runs at, the estimate printed before anything is
//! sent, the spend lines of the final report and the `--max-usd` stop.

use crate::batch;
use crate::config::{RunConfig, RunMode};
use crate::cost::{Budget, Estimate, Price, PriceTable, unknown_price_hint};
use crate::error::Error;
use crate::failure::FailureKind;
use crate::pipeline::rate::Usage;
use crate::report::Tally;
use std::path::Path;
use std::sync::Arc;

/// The model's price for this run (batch or standard); `--max-usd` without one is an error.
pub fn run_price(config: &RunConfig) -> Result<Option<Price>, Error> {
    let settings = &config.settings;
    let price = PriceTable::load(settings.prices_file.as_deref())?
        .price(&settings.model, config.mode.batch_prices());
    if config.max_usd.is_some() && price.is_none() {
        return Err(Error::Usage(format!(
            "--max-usd needs the model's price: {}",
            unknown_price_hint(&settings.model)
        )));
    }
    Ok(price)
}

/// Print the estimate of a real run; a batch that could cost more than `--max-usd` is not sent.
pub fn check_estimate(config: &RunConfig, estimate: &Estimate) -> Result<(), Error> {
    eprintln!("{}", estimate.render());
    let (Some(max), Some(usd)) = (config.max_usd, estimate.usd) else {
        return Ok(());
    };
    if usd <= max {
        return Ok(());
    }
    if config.mode == RunMode::Batch {
        return Err(Error::Budget(format!(
            "the batch could cost up to ${usd:.4}, above --max-usd {max}; nothing was sent: raise --max-usd or rate fewer rows with --max"
        )));
    }
    eprintln!(
        "The estimate is above --max-usd {max}: the run stops sending when its spend could pass the budget."
    );
    Ok(())
}

/// The `--max-usd` budget, each request counted at up to `max_tokens` of output.
pub fn budget(config: &RunConfig, price: Option<Price>) -> Option<Arc<Budget>> {
    let max_tokens = config.settings.max_generation_tokens as u64;
    config
        .max_usd
        .zip(price)
        .map(|(max, price)| Arc::new(Budget::new(max, price, max_tokens)))
}

/// The final report's lines on what was sent and paid, from the answers' `usage`.
pub fn print_spend(
    usage: &Usage,
    price: Option<Price>,
    batch: Option<&batch::Outcome>,
    cache: &Path,
) {
    let spend = |input: u64, output: u64| match price {
        Some(p) => format!(", ${:.4}", p.cost(input, output)),
        None => String::new(),
    };
    eprintln!(
        "\n{} request(s) sent, {} answer(s) from the cache, {} prompt + {} completion tokens paid{}; cache: {}",
        usage.requests,
        usage.cache_hits,
        usage.prompt_tokens,
        usage.completion_tokens,
        spend(usage.prompt_tokens, usage.completion_tokens),
        cache.display()
    );
    if let Some(b) = batch {
        let t = &b.totals;
        eprintln!(
            "batch: {} batch(es) created, {} resumed; {} answer(s), {} failed request(s); {} prompt + {} completion tokens paid{} at Batch API prices",
            b.created,
            b.resumed,
            t.answered,
            t.failed,
            t.prompt_tokens,
            t.completion_tokens,
            spend(t.prompt_tokens, t.completion_tokens)
        );
    }
}

/// The error a run stopped by its budget ends with (exit code 3), saying how far it got.
pub fn budget_stop(budget: &Budget, tallies: &[Tally]) -> Error {
    let s = budget.state();
    let unrated: u64 = tallies
        .iter()
        .map(|t| t.failed_with(FailureKind::OverBudget))
        .sum();
    Error::Budget(format!(
        "stopped at the --max-usd budget of ${}: {} request(s) sent for ${:.4}, {} not sent, {unrated} row(s) not rated (failed as over-budget in the outputs); answers are cached, so rerunning with a higher --max-usd continues from here",
        budget.limit(),
        s.sent,
        s.spent,
        s.refused
    ))
}
