//! What a `ureq` transport error means: its chain of causes in printable form, whether it is
//! worth another try, whether it is a TLS failure, and whether it came from a transfer limit.

use crate::limits::{limit_exceeded, LimitExceeded};
use crate::printable::{printable, MAX_SERVER_TEXT};

/// A transport error's chain of causes, made printable (a bad status line is quoted in it).
pub fn transport_detail(t: &ureq::Transport) -> String {
    let mut s = t.to_string();
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        let more = e.to_string();
        if !s.contains(&more) {
            s.push_str(": ");
            s.push_str(&more);
        }
        source = e.source();
    }
    printable(&s, MAX_SERVER_TEXT)
}

/// A transport error without its URL (for messages that name the URL already), made
/// printable.
pub fn transport_reason(t: &ureq::Transport) -> String {
    let mut text = t.kind().to_string();
    if let Some(message) = t.message() {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(source) = std::error::Error::source(t) {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    printable(&text, MAX_SERVER_TEXT)
}

/// Whether another try may succeed: the connection could not be made or broke, or the answer
/// was garbled on the way.
pub fn is_transient(t: &ureq::Transport) -> bool {
    use ureq::ErrorKind::*;
    matches!(
        t.kind(),
        Dns | ConnectionFailed | Io | BadStatus | BadHeader | ProxyConnect
    )
}

/// The transfer limit a transport error comes from, if any (an upload's source reports it).
pub fn limit_in_chain(t: &ureq::Transport) -> Option<&LimitExceeded> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(limit) = e.downcast_ref::<LimitExceeded>() {
            return Some(limit);
        }
        if let Some(limit) = e.downcast_ref::<std::io::Error>().and_then(limit_exceeded) {
            return Some(limit);
        }
        source = e.source();
    }
    None
}

/// Whether the TLS handshake failed (typically on a certificate that is not trusted).
pub fn is_tls_error(t: &ureq::Transport) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = source {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        source = e.source();
    }
    false
}
