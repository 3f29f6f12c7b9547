//! The deadline of a request up to its response's status line and headers.
//!
//! `ureq` 2 reads the status line and headers with its per-read timeout only, so a server
//! that sends them one byte at a time, each within that timeout, holds the request for as
//! long as it likes; and its overall deadline would replace the per-read timeout of the body
//! too (a silent body would then be waited for until the deadline). So the request is sent
//! from a thread of its own and waited for until the deadline: past it, the caller gets
//! [`LimitExceeded::NoResponse`] at once. The abandoned thread ends when the server finishes
//! or goes silent for one per-read timeout (its result has nobody to go to), or with the
//! process. The body is then held to the same deadline by [`crate::LimitedRead`].

use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use crate::limits::{LimitExceeded, TransferLimits};

/// What [`call_within`] got: the response (or ureq's error), or nothing in time.
pub type Answer = Result<Result<ureq::Response, ureq::Error>, LimitExceeded>;

/// The body a request sends.
pub enum Payload {
    Empty,
    Bytes(Vec<u8>),
}

impl Payload {
    // ureq's own result, passed on as ureq gives it.
    #[allow(clippy::result_large_err)]
    fn send(self, request: ureq::Request) -> Result<ureq::Response, ureq::Error> {
        match self {
            Payload::Empty => request.call(),
            Payload::Bytes(bytes) => request.send_bytes(&bytes),
        }
    }
}

/// Sends `request` with `payload` and waits for its response (status line and headers) until
/// `limits.request_timeout` after `started`.
pub fn call_within(
    limits: TransferLimits,
    started: Instant,
    request: ureq::Request,
    payload: Payload,
) -> Answer {
    let timeout = limits.request_timeout;
    let Some(remaining) = timeout.checked_sub(started.elapsed()) else {
        return Err(LimitExceeded::NoResponse { timeout });
    };
    // The request stays reachable from here, so that it can still be sent from this thread if
    // no thread can be started.
    let slot = Arc::new(Mutex::new(Some((request, payload))));
    let theirs = Arc::clone(&slot);
    let (sender, receiver) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("makes-http-request".into())
        .spawn(move || {
            let taken = theirs.lock().ok().and_then(|mut c| c.take());
            if let Some((request, payload)) = taken {
                // Nobody listens any more once the deadline has passed: nothing to do then.
                let _ = sender.send(payload.send(request));
            }
        });
    if spawned.is_err() {
        let taken = slot.lock().ok().and_then(|mut c| c.take());
        if let Some((request, payload)) = taken {
            return Ok(payload.send(request));
        }
    }
    receiver
        .recv_timeout(remaining)
        .map_err(|_| LimitExceeded::NoResponse { timeout })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    fn limits(timeout: Duration) -> TransferLimits {
        TransferLimits {
            request_timeout: timeout,
            ..TransferLimits::default()
        }
    }

    /// A server on 127.0.0.1 that answers once with `head`, one byte every `pause`.
    fn dripping_server(head: &'static [u8], pause: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            if let Some(Ok(mut stream)) = listener.incoming().next() {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                for byte in head {
                    if stream.write_all(&[*byte]).is_err() {
                        return;
                    }
                    std::thread::sleep(pause);
                }
                // Closing with unread request bytes (a body sent after the headers) would
                // reset the connection before the client reads the answer: drain them first.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                while matches!(stream.read(&mut request), Ok(n) if n > 0) {}
            }
        });
        url
    }

    #[test]
    fn headers_dripped_byte_by_byte_end_at_the_deadline() {
        let url = dripping_server(
            b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            Duration::from_millis(100),
        );
        let started = Instant::now();
        let answer = call_within(
            limits(Duration::from_millis(500)),
            started,
            ureq::get(&url),
            Payload::Empty,
        );
        assert!(matches!(answer, Err(LimitExceeded::NoResponse { .. })));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "ended at the deadline"
        );
    }

    #[test]
    fn a_prompt_answer_passes() {
        let url = dripping_server(
            b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
            Duration::ZERO,
        );
        let answer = call_within(
            limits(Duration::from_secs(10)),
            Instant::now(),
            ureq::get(&url),
            Payload::Bytes(b"body".to_vec()),
        );
        assert_eq!(answer.expect("in time").expect("answered").status(), 204);
    }

    #[test]
    fn a_deadline_already_past_sends_nothing() {
        let started = Instant::now() - Duration::from_secs(2);
        // Nothing listens on port 9 of 127.0.0.1: were it sent, this would be an error.
        let request = ureq::get("http://127.0.0.1:9/");
        let answer = call_within(
            limits(Duration::from_secs(1)),
            started,
            request,
            Payload::Empty,
        );
        assert!(matches!(answer, Err(LimitExceeded::NoResponse { .. })));
    }
}
