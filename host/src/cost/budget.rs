//! `--max-usd`: reserve each request's worst-case cost before sending it, settle it with the
//! answer's `usage`, and when the next request does not fit beside those in flight, wait for them
//! to settle (their real cost is usually far below the worst case) and try again. The budget stops
//! only when a request does not fit with nothing in flight.

use super::Price;
use std::sync::Mutex;
use tokio::sync::Notify;

/// The spend of one run against its `--max-usd` limit.
pub struct Budget {
    limit: f64,
    price: Price,
    /// A request's output is counted at `max_tokens` until its answer says otherwise.
    max_output_tokens: u64,
    state: Mutex<State>,
    /// Signalled whenever a reservation is settled: the room left may now fit a waiting request.
    settled: Notify,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct State {
    /// Dollars of answered requests, from their `usage`.
    pub spent: f64,
    /// Worst-case dollars of requests in flight.
    pub reserved: f64,
    /// Reservations not yet settled.
    pub in_flight: u64,
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
            settled: Notify::new(),
        }
    }

    pub fn limit(&self) -> f64 {
        self.limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserve room for one more request of `prompt_tokens`, waiting while requests in flight may
    /// still free some. `None` once the budget is spent: a request did not fit with nothing in
    /// flight. From then on every request is refused, so a stopped run stops cleanly instead of
    /// squeezing in smaller requests.
    pub async fn reserve(&self, prompt_tokens: u64) -> Option<Reservation> {
        let worst = self.price.cost(prompt_tokens, self.max_output_tokens);
        loop {
            // Registered before looking, so a settle between the look and the wait is not missed.
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            {
                let mut s = self.lock();
                if s.refused == 0 && s.spent + s.reserved + worst <= self.limit {
                    s.reserved += worst;
                    s.in_flight += 1;
                    s.sent += 1;
                    return Some(Reservation(worst));
                }
                if s.refused > 0 || s.in_flight == 0 {
                    s.refused += 1;
                    // Wake the other waiters: they are refused too.
                    self.settled.notify_waiters();
                    return None;
                }
            }
            settled.await;
        }
    }

    /// The request ended: replace its reservation with what the answer's `usage` says it cost
    /// (zero tokens for a request that failed without an answer).
    pub fn settle(&self, reservation: Reservation, prompt_tokens: u64, completion_tokens: u64) {
        {
            let mut s = self.lock();
            s.reserved = (s.reserved - reservation.0).max(0.0);
            s.in_flight = s.in_flight.saturating_sub(1);
            s.spent += self.price.cost(prompt_tokens, completion_tokens);
        }
        self.settled.notify_waiters();
    }

    pub fn state(&self) -> State {
        *self.lock()
    }

    /// Did the budget stop any request?
    pub fn reached(&self) -> bool {
        self.state().refused > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// $1 per token in, $2 per token out; each request at most 1 output token.
    fn budget(limit: f64) -> Budget {
        Budget::new(
            limit,
            Price {
                input: 1.0,
                output: 2.0,
            },
            1,
        )
    }

    #[tokio::test]
    async fn refuses_only_when_nothing_in_flight_could_make_room_and_every_one_after() {
        let b = budget(10.0);
        let r1 = b.reserve(3).await.unwrap(); // worst 5
        let r2 = b.reserve(3).await.unwrap(); // worst 10 in total
        b.settle(r1, 3, 0); // really cost 3
        b.settle(r2, 3, 0);
        assert_eq!(b.state().spent, 6.0);
        // $4 left: a worst case of 5 does not fit with nothing in flight.
        assert!(b.reserve(3).await.is_none());
        assert!(b.reserve(0).await.is_none(), "stays stopped once stopped");
        assert_eq!((b.state().sent, b.state().refused), (2, 2));
        assert!(b.reached());
    }

    #[tokio::test]
    async fn a_request_that_does_not_fit_beside_those_in_flight_waits_for_them() {
        let b = Arc::new(budget(10.0));
        let r1 = b.reserve(3).await.unwrap(); // worst 5
        let r2 = b.reserve(3).await.unwrap(); // worst 10 in total
        let waiting = tokio::spawn({
            let b = b.clone();
            async move { b.reserve(3).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "no room beside two in flight");
        // The first answer cost 3 of its 5: still no room for a worst case of 5 (3 + 5 + 5 > 10).
        b.settle(r1, 3, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        // The second cost 1: 3 + 1 + 5 fits.
        b.settle(r2, 1, 0);
        let r3 = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken by the settle")
            .unwrap()
            .expect("fits once the answers settled");
        b.settle(r3, 5, 0);
        let s = b.state();
        assert_eq!((s.spent, s.sent, s.refused, s.in_flight), (9.0, 3, 0, 0));
        assert!(!b.reached());
    }

    #[tokio::test]
    async fn waiters_are_refused_when_the_last_request_in_flight_leaves_no_room() {
        let b = Arc::new(budget(6.0));
        let r1 = b.reserve(3).await.unwrap(); // worst 5
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                tokio::spawn(async move { b.reserve(3).await.is_some() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.settle(r1, 3, 0); // $3 spent, $3 left: a worst case of 5 never fits
        for w in waiters {
            let fit = tokio::time::timeout(Duration::from_secs(5), w)
                .await
                .expect("no waiter hangs")
                .unwrap();
            assert!(!fit);
        }
        assert_eq!((b.state().sent, b.state().refused), (1, 3));
    }
}
