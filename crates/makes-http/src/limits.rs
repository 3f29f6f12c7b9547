//! Limits on one HTTP transfer, for every body makes reads from or sends to a server
//! (registries, binary caches, `fetchUrl`): an overall deadline per request and a minimum
//! transfer rate over a sliding window.
//!
//! `ureq` 2 has only per-read timeouts (a server sending one byte every few seconds never
//! trips them) or an overall deadline that replaces them (a server that goes silent is then
//! waited for until the deadline). So the per-read timeout stays, and [`LimitedRead`] checks
//! the deadline and the rate after every read: a stalled or dripping transfer ends, at the
//! latest, one per-read timeout after a limit is crossed. The status line and headers are
//! held to the same deadline by [`crate::call_within`].

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::error::HttpError;

/// How long a transfer may take, and how slow it may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferLimits {
    /// The longest one request (its whole body included) may take.
    pub request_timeout: Duration,
    /// The fewest bytes per second a body must move, averaged over `rate_window`; 0 for no
    /// minimum.
    pub min_bytes_per_second: u64,
    pub rate_window: Duration,
}

impl Default for TransferLimits {
    /// Generous: an hour per request, and at least 1 KiB/s over every 30 s.
    fn default() -> TransferLimits {
        TransferLimits {
            request_timeout: Duration::from_secs(3600),
            min_bytes_per_second: 1024,
            rate_window: Duration::from_secs(30),
        }
    }
}

impl TransferLimits {
    /// The defaults with a request timeout in seconds (`timeout`, e.g. `"2.5"`) and a minimum
    /// rate `BYTES_PER_SECOND[/WINDOW_SECONDS]` (`min_rate`, e.g. `"1024/30"`) when given;
    /// `timeout_name` and `min_rate_name` name the settings in errors.
    pub fn from_settings(
        (timeout_name, timeout): (&str, Option<&str>),
        (min_rate_name, min_rate): (&str, Option<&str>),
    ) -> Result<TransferLimits, HttpError> {
        let mut limits = TransferLimits::default();
        let invalid = |variable: &str, value: &str, expected: &str| HttpError::InvalidLimit {
            variable: variable.to_owned(),
            value: value.to_owned(),
            expected: expected.to_owned(),
        };
        let seconds = |name: &str, text: &str| -> Result<Duration, HttpError> {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| invalid(name, text, "expected a positive number of seconds"))
        };
        if let Some(t) = timeout {
            limits.request_timeout = seconds(timeout_name, t)?;
        }
        if let Some(r) = min_rate {
            let (rate, window) = r.split_once('/').unwrap_or((r, ""));
            limits.min_bytes_per_second = rate.trim().parse().map_err(|_| {
                invalid(
                    min_rate_name,
                    r,
                    "expected BYTES_PER_SECOND[/WINDOW_SECONDS], e.g. 1024/30",
                )
            })?;
            if !window.is_empty() {
                limits.rate_window = seconds(min_rate_name, window)?;
            }
        }
        Ok(limits)
    }
}

/// Which limit a transfer crossed; carried inside the [`io::Error`] (kind `TimedOut`) that
/// [`LimitedRead`] returns, and found again with [`limit_exceeded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitExceeded {
    /// The status line and headers did not all arrive within the deadline.
    NoResponse {
        timeout: Duration,
    },
    Deadline {
        timeout: Duration,
        bytes: u64,
    },
    TooSlow {
        min_bytes_per_second: u64,
        window: Duration,
        bytes_in_window: u64,
    },
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitExceeded::NoResponse { timeout } => write!(
                f,
                "no complete response (status line and headers) within the deadline of {} s",
                timeout.as_secs_f64()
            ),
            LimitExceeded::Deadline { timeout, bytes } => write!(
                f,
                "the transfer did not finish within the deadline of {} s ({bytes} bytes received)",
                timeout.as_secs_f64()
            ),
            LimitExceeded::TooSlow {
                min_bytes_per_second,
                window,
                bytes_in_window,
            } => write!(
                f,
                "the transfer was slower than the minimum of {min_bytes_per_second} bytes/s: \
                 {bytes_in_window} bytes in the last {} s",
                window.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for LimitExceeded {}

/// The limit an I/O error from a [`LimitedRead`] reports, if it is one.
pub fn limit_exceeded(e: &io::Error) -> Option<&LimitExceeded> {
    e.get_ref()?.downcast_ref::<LimitExceeded>()
}

/// A reader (a response body, or an upload's source) held to [`TransferLimits`] from the
/// moment it is made.
pub struct LimitedRead<R> {
    inner: R,
    limits: TransferLimits,
    started: Instant,
    total: u64,
    window_start: Instant,
    window_bytes: u64,
}

impl<R: Read> LimitedRead<R> {
    pub fn new(inner: R, limits: TransferLimits) -> LimitedRead<R> {
        LimitedRead::started_at(inner, limits, Instant::now())
    }

    /// Counts the deadline from `started` (when the request was sent).
    pub fn started_at(inner: R, limits: TransferLimits, started: Instant) -> LimitedRead<R> {
        LimitedRead {
            inner,
            limits,
            started,
            total: 0,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }

    fn exceeded(&self, limit: LimitExceeded) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, limit)
    }

    fn check_deadline(&self, now: Instant) -> io::Result<()> {
        if now.duration_since(self.started) >= self.limits.request_timeout {
            return Err(self.exceeded(LimitExceeded::Deadline {
                timeout: self.limits.request_timeout,
                bytes: self.total,
            }));
        }
        Ok(())
    }

    fn check_rate(&mut self, now: Instant) -> io::Result<()> {
        let window = self.limits.rate_window;
        if self.limits.min_bytes_per_second == 0 || window.is_zero() {
            return Ok(());
        }
        if now.duration_since(self.window_start) < window {
            return Ok(());
        }
        let needed = self.limits.min_bytes_per_second as f64 * window.as_secs_f64();
        if (self.window_bytes as f64) < needed {
            return Err(self.exceeded(LimitExceeded::TooSlow {
                min_bytes_per_second: self.limits.min_bytes_per_second,
                window,
                bytes_in_window: self.window_bytes,
            }));
        }
        self.window_start = now;
        self.window_bytes = 0;
        Ok(())
    }
}

impl<R: Read> Read for LimitedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check_deadline(Instant::now())?;
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                // A read timeout past the deadline is the deadline's doing.
                self.check_deadline(Instant::now())?;
                return Err(e);
            }
        };
        if n == 0 {
            return Ok(0);
        }
        self.total += n as u64;
        self.window_bytes += n as u64;
        let now = Instant::now();
        self.check_deadline(now)?;
        self.check_rate(now)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives `chunk` bytes per read, sleeping `pause` before each.
    struct Drip {
        left: usize,
        chunk: usize,
        pause: Duration,
    }

    impl Read for Drip {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.pause);
            let n = self.left.min(self.chunk).min(buf.len());
            self.left -= n;
            Ok(n)
        }
    }

    fn limits(timeout_ms: u64, rate: u64, window_ms: u64) -> TransferLimits {
        TransferLimits {
            request_timeout: Duration::from_millis(timeout_ms),
            min_bytes_per_second: rate,
            rate_window: Duration::from_millis(window_ms),
        }
    }

    #[test]
    fn a_fast_transfer_passes() {
        let source = Drip {
            left: 1 << 20,
            chunk: 64 << 10,
            pause: Duration::ZERO,
        };
        let mut r = LimitedRead::new(source, limits(10_000, 1024, 10));
        assert_eq!(io::copy(&mut r, &mut io::sink()).unwrap(), 1 << 20);
    }

    #[test]
    fn a_drip_is_too_slow() {
        let source = Drip {
            left: 1000,
            chunk: 1,
            pause: Duration::from_millis(20),
        };
        let mut r = LimitedRead::new(source, limits(60_000, 1000, 100));
        let e = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(matches!(
            limit_exceeded(&e),
            Some(LimitExceeded::TooSlow { .. })
        ));
        assert!(e.to_string().contains("minimum of 1000 bytes/s"), "{e}");
    }

    #[test]
    fn the_deadline_ends_a_transfer_that_keeps_its_rate() {
        let source = Drip {
            left: usize::MAX,
            chunk: 1 << 10,
            pause: Duration::from_millis(10),
        };
        let mut r = LimitedRead::new(source, limits(150, 1, 50));
        let e = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert!(matches!(
            limit_exceeded(&e),
            Some(LimitExceeded::Deadline { .. })
        ));
    }

    #[test]
    fn settings_parse_and_name_themselves() {
        let parse = |t: Option<&str>, r: Option<&str>| {
            TransferLimits::from_settings(("TIMEOUT", t), ("MIN_RATE", r))
        };
        assert_eq!(parse(None, None).unwrap(), TransferLimits::default());
        let l = parse(Some("2.5"), Some("100/4")).unwrap();
        assert_eq!(l.request_timeout, Duration::from_millis(2500));
        assert_eq!(l.min_bytes_per_second, 100);
        assert_eq!(l.rate_window, Duration::from_secs(4));
        let l = parse(None, Some("0")).unwrap();
        assert_eq!(l.min_bytes_per_second, 0);
        assert_eq!(l.rate_window, TransferLimits::default().rate_window);
        assert!(parse(Some("soon"), None)
            .unwrap_err()
            .to_string()
            .contains("TIMEOUT=\"soon\""));
        assert!(parse(Some("-1"), None).is_err());
        assert!(parse(None, Some("fast"))
            .unwrap_err()
            .to_string()
            .contains("MIN_RATE"));
        assert!(parse(None, Some("10/x")).is_err());
    }

    #[test]
    fn no_minimum_rate_when_zero() {
        let source = Drip {
            left: 5,
            chunk: 1,
            pause: Duration::from_millis(5),
        };
        let mut r = LimitedRead::new(source, limits(10_000, 0, 1));
        assert_eq!(io::copy(&mut r, &mut io::sink()).unwrap(), 5);
    }
}
