//! Tests only: the system allocator, counting per thread the bytes the thread holds and the
//! most it held, so that a test can check how much memory a step takes (e.g. that handing over
//! a large structure does not copy it) by counting, not by timing or RSS. Per thread, because
//! tests run side by side in one process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(crate) struct CountingAllocator;

#[global_allocator]
static COUNTING: CountingAllocator = CountingAllocator;

thread_local! {
    /// Bytes this thread allocated minus the bytes it freed (frees of other threads' blocks
    /// make it negative; a test only compares values it took on its own thread).
    static HELD: Cell<isize> = const { Cell::new(0) };
    /// The most `HELD` was since the last [`peak_during`] started.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: a thread being torn down has no counters left; its frees are not counted.
    let _ = HELD.try_with(|held| {
        let now = held.get() + bytes;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged,
// so the contract of `GlobalAlloc` holds as it holds for `System`; the counters only observe
// sizes, in thread-local cells that neither allocate nor unwind.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see above).
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Runs `f` and returns its result with the most bytes this thread held during it beyond what
/// it held when `f` started (what `f` returns counts, what it frees before returning does not).
pub(crate) fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = HELD.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let result = f();
    let peak = PEAK.with(Cell::get);
    (result, (peak - start).max(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_the_thread_holds_at_most() {
        let (kept, peak) = peak_during(|| {
            let big = vec![1u8; 100_000];
            drop(big);
            vec![2u8; 1000]
        });
        assert_eq!(kept.len(), 1000);
        assert!((100_000..101_000).contains(&peak), "{peak}");
        let ((), nothing) = peak_during(|| ());
        assert_eq!(nothing, 0);
    }
}
