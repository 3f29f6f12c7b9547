//! Retries with exponential backoff, for every request makes sends: an operation (one request,
//! or several that belong together, as a blob upload's `POST` and `PUT`) is run again while it
//! fails in a way worth another try (connection errors, broken transfers, 5xx, 429), waiting
//! `initial_backoff`, then twice as long, ... up to [`MAX_BACKOFF`] between tries.

use std::time::Duration;

/// The longest wait between two tries, however many came before.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How often and how patiently an operation is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (at least 1 is made whatever this says).
    pub max_tries: u32,
    /// The wait before the second try; it doubles before each further try.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_tries: 4,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// How one try of an operation failed.
#[derive(Debug)]
pub enum Attempt<E> {
    /// Worth another try.
    Retry(E),
    /// Final: trying again would fail the same way.
    Fatal(E),
}

/// What is about to be retried, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// The try that failed, from 1.
    pub attempt: u32,
    /// The wait before the next try.
    pub delay: Duration,
}

/// The error of an operation and how many tries it took.
#[derive(Debug)]
pub struct Exhausted<E> {
    pub error: E,
    pub tries: u32,
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failed try (from 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }

    /// Runs `op` until it succeeds, fails with [`Attempt::Fatal`], or has been tried
    /// `max_tries` times; `on_retry` hears of each failed try before the wait that follows it,
    /// with the error that try gave.
    pub fn run<T, E>(
        &self,
        mut op: impl FnMut() -> Result<T, Attempt<E>>,
        mut on_retry: impl FnMut(&RetryNotice, &E),
    ) -> Result<T, Exhausted<E>> {
        let max = self.max_tries.max(1);
        let mut tries = 0;
        loop {
            tries += 1;
            match op() {
                Ok(value) => return Ok(value),
                Err(Attempt::Fatal(error)) => return Err(Exhausted { error, tries }),
                Err(Attempt::Retry(error)) if tries >= max => {
                    return Err(Exhausted { error, tries })
                }
                Err(Attempt::Retry(error)) => {
                    let notice = RetryNotice {
                        attempt: tries,
                        delay: self.delay_after(tries),
                    };
                    on_retry(&notice, &error);
                    std::thread::sleep(notice.delay);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn quick(max_tries: u32) -> RetryPolicy {
        RetryPolicy {
            max_tries,
            initial_backoff: Duration::from_millis(1),
        }
    }

    #[test]
    fn retries_until_the_budget_is_spent() {
        let calls = Cell::new(0);
        let mut notices = Vec::new();
        let out: Result<(), _> = quick(3).run(
            || {
                calls.set(calls.get() + 1);
                Err(Attempt::Retry(calls.get()))
            },
            |n, e| notices.push((n.attempt, *e)),
        );
        let exhausted = out.expect_err("always failing");
        assert_eq!((exhausted.error, exhausted.tries), (3, 3));
        assert_eq!(notices, vec![(1, 1), (2, 2)]);
    }

    #[test]
    fn a_fatal_failure_or_a_success_ends_at_once() {
        let calls = Cell::new(0);
        let out: Result<(), _> = quick(5).run(
            || {
                calls.set(calls.get() + 1);
                Err(Attempt::Fatal("no"))
            },
            |_, _| {},
        );
        assert_eq!(out.expect_err("fatal").tries, 1);
        let calls = Cell::new(0);
        let out = quick(5).run(
            || {
                calls.set(calls.get() + 1);
                if calls.get() < 3 {
                    Err(Attempt::Retry(()))
                } else {
                    Ok(calls.get())
                }
            },
            |_, _| {},
        );
        assert_eq!(out.expect("third try"), 3);
        assert_eq!(
            quick(0).run(|| Ok::<_, Attempt<()>>(1), |_, _| {}).ok(),
            Some(1)
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_tries: 10,
            initial_backoff: Duration::from_millis(500),
        };
        assert_eq!(policy.delay_after(1), Duration::from_millis(500));
        assert_eq!(policy.delay_after(2), Duration::from_secs(1));
        assert_eq!(policy.delay_after(4), Duration::from_secs(4));
        assert_eq!(policy.delay_after(40), MAX_BACKOFF);
    }
}
