//! The time a component call has used, as its time limit counts it: the CPU time of the thread
//! running it (the guest's code and the host functions it calls), plus every sleep it asks for.
//!
//! Not wall-clock time: on a busy machine a call waits for a core, and that wait is not the
//! component's doing. Sleeps are charged in full when the component asks for them, so a sleep
//! that would not fit in what is left stops the call at once instead of after the sleep.

use std::time::Duration;

/// CPU time used so far by the calling thread.
pub fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write to; CLOCK_THREAD_CPUTIME_ID exists on Linux and macOS.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "the thread CPU clock is readable");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// What stopped a call at its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// It computed for longer than its limit.
    Cpu,
    /// It asked to sleep this long, more than was left of its limit.
    Sleep(Duration),
}

/// The time budget of the call in progress on one instance.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: Duration,
    cpu_at_start: Duration,
    slept: Duration,
    /// Set when the budget ran out, for the error to say so.
    pub overrun: Option<Overrun>,
}

impl Budget {
    /// A budget of `limit`, starting now on this thread.
    pub fn start(limit: Duration) -> Budget {
        Budget {
            limit,
            cpu_at_start: thread_cpu_time(),
            slept: Duration::ZERO,
            overrun: None,
        }
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    pub fn used(&self) -> Duration {
        thread_cpu_time().saturating_sub(self.cpu_at_start) + self.slept
    }

    /// Check the budget; `Err` (and the overrun recorded) once it is spent.
    pub fn check(&mut self) -> Result<(), Overrun> {
        if self.used() > self.limit {
            self.overrun = Some(Overrun::Cpu);
            return Err(Overrun::Cpu);
        }
        Ok(())
    }

    /// Charge a sleep of `duration` up front, or refuse it if it does not fit in what is left.
    pub fn sleep(&mut self, duration: Duration) -> Result<(), Overrun> {
        if self.used().saturating_add(duration) > self.limit {
            self.overrun = Some(Overrun::Sleep(duration));
            return Err(Overrun::Sleep(duration));
        }
        self.slept += duration;
        Ok(())
    }
}

impl std::fmt::Display for Overrun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Overrun::Cpu => f.write_str("the time limit"),
            Overrun::Sleep(d) => write!(f, "asked to sleep {} ms", d.as_millis()),
        }
    }
}

/// The error a host function or the clock callback stops a call with; the call's error is then
/// classified by [`Budget::overrun`].
#[derive(Debug)]
pub struct OutOfTime;

impl std::fmt::Display for OutOfTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the component call ran out of its time limit")
    }
}

impl std::error::Error for OutOfTime {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_costs_nothing_and_computing_does() {
        let mut budget = Budget::start(Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(120));
        assert!(
            budget.check().is_ok(),
            "a descheduled thread used {:?}",
            budget.used()
        );
        // Spin until this thread has had 80 ms of CPU: on a busy machine 120 ms of wall clock may
        // give it less than the limit (the wall-clock guard only stops a broken clock hanging CI).
        let spin = std::time::Instant::now();
        while budget.used() < Duration::from_millis(80) && spin.elapsed() < Duration::from_secs(60)
        {
            std::hint::black_box(0u64);
        }
        assert_eq!(budget.check(), Err(Overrun::Cpu));
    }

    #[test]
    fn sleeps_are_charged_up_front() {
        let mut budget = Budget::start(Duration::from_millis(1000));
        assert!(budget.sleep(Duration::from_millis(600)).is_ok());
        assert_eq!(
            budget.sleep(Duration::from_millis(600)),
            Err(Overrun::Sleep(Duration::from_millis(600)))
        );
        assert_eq!(
            budget.overrun,
            Some(Overrun::Sleep(Duration::from_millis(600)))
        );
    }
}
