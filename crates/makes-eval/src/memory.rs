//! The memory ceiling of an evaluation. The binary's global allocator reports every
//! allocation and release here (`record_alloc`, `record_free`); the evaluator compares the
//! bytes in use with the ceiling at cheap points (each evaluation step, each level of a walk
//! over values) and before it builds a list or string whose size the Nix code chose, so that
//! running out of memory is an evaluation error at the expression being evaluated, never an
//! abort or the kernel's OOM killer.
//!
//! Without an allocator that reports (unit tests, a library user), the count stays at zero and
//! only the up-front checks of big lists and strings apply.

use crate::error::{EvalError, EvalErrorKind, Result};
use makes_syntax::Span;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Bytes handed out by the global allocator and not yet released.
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// The most bytes an evaluation may have in use; no limit until the binary sets one.
static CEILING: AtomicUsize = AtomicUsize::new(usize::MAX);

/// How far a thread's own count may drift before it is added to `IN_USE`: one shared atomic
/// update per this many bytes instead of one per allocation (which cost the evaluator a
/// fifth of its time). `IN_USE` is then exact to within this much per thread.
const FLUSH_BYTES: isize = 1 << 20;

thread_local! {
    /// Bytes this thread allocated minus those it released, not yet added to `IN_USE`.
    /// Const-initialised and without destructor: safe to use from the global allocator.
    static UNFLUSHED: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

#[inline]
fn record(delta: isize) {
    let flushed = UNFLUSHED.try_with(|local| {
        let pending = local.get() + delta;
        // `|pending| < FLUSH_BYTES` as one unsigned comparison.
        if (pending + FLUSH_BYTES).cast_unsigned() < (2 * FLUSH_BYTES).cast_unsigned() {
            local.set(pending);
        } else {
            local.set(0);
            add_to_in_use(pending);
        }
    });
    // A thread being torn down has no local count any more: count directly.
    if flushed.is_err() {
        add_to_in_use(delta);
    }
}

fn add_to_in_use(delta: isize) {
    if delta >= 0 {
        IN_USE.fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
    } else {
        // Another thread may have counted an allocation this one releases: never wrap.
        let _ = IN_USE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some(n.saturating_sub(delta.unsigned_abs()))
        });
    }
}

/// Counts an allocation of `bytes` (called by the global allocator: must not allocate).
#[inline]
pub fn record_alloc(bytes: usize) {
    record(isize::try_from(bytes).unwrap_or(isize::MAX));
}

/// Counts the release of `bytes` (called by the global allocator: must not allocate).
#[inline]
pub fn record_free(bytes: usize) {
    record(-isize::try_from(bytes).unwrap_or(isize::MAX));
}

/// How to raise the ceiling, in the words of whoever set it (the help of the error).
static HOW_TO_RAISE: OnceLock<&'static str> = OnceLock::new();

/// Sets the ceiling, in bytes; `how_to_raise` is the help of the error (e.g. the variable
/// that sets it).
pub fn set_ceiling(bytes: usize, how_to_raise: &'static str) {
    CEILING.store(bytes, Ordering::Relaxed);
    let _ = HOW_TO_RAISE.set(how_to_raise);
}

/// The help of an out-of-memory error, if the ceiling's setter gave one.
pub(crate) fn how_to_raise() -> Option<&'static str> {
    HOW_TO_RAISE.get().copied()
}

/// The ceiling, in bytes (`usize::MAX` when none is set).
pub fn ceiling() -> usize {
    CEILING.load(Ordering::Relaxed)
}

/// The bytes in use, as the allocator reported them.
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Whether the bytes in use are past the ceiling: two relaxed loads, cheap enough for every
/// evaluation step.
#[inline]
pub(crate) fn exhausted() -> bool {
    in_use() > ceiling()
}

/// An error if the evaluation is past its ceiling. The error is built out of line, so that the
/// check adds two loads and a branch to its caller's frame, nothing more.
#[inline]
pub(crate) fn check(span: Option<Span>) -> Result<()> {
    if exhausted() {
        return Err(out_of_memory(span));
    }
    Ok(())
}

/// An error if `bytes` more would take the evaluation past its ceiling: asked before building
/// a list or string whose size the Nix code chose, so that one huge request never reaches the
/// allocator (which could only abort).
pub(crate) fn reserve(bytes: usize, span: Option<Span>) -> Result<()> {
    if bytes > ceiling().saturating_sub(in_use()) {
        return Err(out_of_memory(span));
    }
    Ok(())
}

/// An error if growing `out` (by doubling, as `String` grows) would take the evaluation past
/// its ceiling: for the text a walk over values writes (printing, `toXML`).
pub(crate) fn reserve_growth(out: &impl Growing, span: Option<Span>) -> Result<()> {
    if out.capacity() - out.len() < 4096 {
        return reserve(out.capacity(), span);
    }
    Ok(())
}

/// A buffer that grows by doubling: a `String` or the bytes of a printed value.
pub(crate) trait Growing {
    fn capacity(&self) -> usize;
    fn len(&self) -> usize;
}

impl Growing for String {
    fn capacity(&self) -> usize {
        String::capacity(self)
    }
    fn len(&self) -> usize {
        String::len(self)
    }
}

impl Growing for Vec<u8> {
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// The bytes `count` items of `T` take, saturating (a size past memory is past any ceiling).
pub(crate) fn bytes_of<T>(count: usize) -> usize {
    count.saturating_mul(std::mem::size_of::<T>())
}

/// The error of an evaluation past its ceiling, built out of line (see `check`).
#[cold]
#[inline(never)]
pub(crate) fn out_of_memory(span: Option<Span>) -> EvalError {
    EvalError::new(EvalErrorKind::OutOfMemory { ceiling: ceiling() }, span)
}

/// A byte count as people read it (`4.0 GiB`, `512 MiB`, `100 bytes`).
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(human_bytes(100), "100 bytes");
        assert_eq!(human_bytes(512 << 20), "512.0 MiB");
        assert_eq!(human_bytes(4 << 30), "4.0 GiB");
    }

    #[test]
    fn a_request_past_the_ceiling_is_refused() {
        // No allocator reports in unit tests: in use stays 0, and no ceiling is set.
        assert!(reserve(usize::MAX, None).is_ok());
        assert!(check(None).is_ok());
        assert_eq!(bytes_of::<u64>(usize::MAX), usize::MAX);
    }
}
