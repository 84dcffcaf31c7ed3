//! `--max-usd`: reserve each request's worst-case cost before sending it, settle it with the
//! answer's `usage`, and refuse every request once the next one could pass the budget.

use super::Price;
use std::sync::Mutex;

/// The spend of one run against its `--max-usd` limit.
pub struct Budget {
    limit: f64,
    price: Price,
    /// A request's output is counted at `max_tokens` until its answer says otherwise.
    max_output_tokens: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct State {
    /// Dollars of answered requests, from their `usage`.
    pub spent: f64,
    /// Worst-case dollars of requests in flight.
    pub reserved: f64,
    pub sent: u64,
    /// Requests not sent because the budget was reached.
    pub refused: u64,
}

/// The worst-case cost of one request in flight; give it back with [`Budget::settle`].
#[derive(Debug)]
#[must_use]
pub struct Reservation(f64);

impl Budget {
    pub fn new(limit: f64, price: Price, max_output_tokens: u64) -> Budget {
        Budget {
            limit,
            price,
            max_output_tokens,
            state: Mutex::new(State::default()),
        }
    }

    pub fn limit(&self) -> f64 {
        self.limit
    }

    /// Room for one more request of `prompt_tokens`? Once one is refused, all later ones are too,
    /// so a stopped run stops cleanly instead of squeezing in smaller requests.
    pub fn reserve(&self, prompt_tokens: u64) -> Option<Reservation> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let worst = self.price.cost(prompt_tokens, self.max_output_tokens);
        if s.refused > 0 || s.spent + s.reserved + worst > self.limit {
            s.refused += 1;
            return None;
        }
        s.reserved += worst;
        s.sent += 1;
        Some(Reservation(worst))
    }

    /// The request ended: replace its reservation with what the answer's `usage` says it cost
    /// (zero tokens for a request that failed without an answer).
    pub fn settle(&self, reservation: Reservation, prompt_tokens: u64, completion_tokens: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.reserved = (s.reserved - reservation.0).max(0.0);
        s.spent += self.price.cost(prompt_tokens, completion_tokens);
    }

    pub fn state(&self) -> State {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Did the budget stop any request?
    pub fn reached(&self) -> bool {
        self.state().refused > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_request_that_could_pass_the_limit_and_every_one_after() {
        // $1 per token in, $2 per token out; each request at most 1 output token.
        let b = Budget::new(
            10.0,
            Price {
                input: 1.0,
                output: 2.0,
            },
            1,
        );
        let r1 = b.reserve(3).unwrap(); // worst 5
        let r2 = b.reserve(3).unwrap(); // worst 10 in total
        assert!(b.reserve(0).is_none(), "a third could pass $10");
        b.settle(r1, 3, 0); // really cost 3
        b.settle(r2, 3, 0);
        assert_eq!(b.state().spent, 6.0);
        assert!(b.reserve(0).is_none(), "stays stopped once stopped");
        assert_eq!((b.state().sent, b.state().refused), (2, 2));
        assert!(b.reached());
    }
}
