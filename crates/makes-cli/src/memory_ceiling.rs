//! The memory ceiling of `makes`: a global allocator that counts the bytes it hands out for
//! the evaluator's checks (`makes_eval::memory`), and the ceiling itself, from
//! `MAKES_MAX_MEMORY` or, by default, the smaller of 4 GiB and half the physical memory.

use crate::env_vars::MAKES_MAX_MEMORY;
use std::alloc::{GlobalAlloc, Layout};

/// mimalloc, counting what it hands out. mimalloc serves the evaluator's many small,
/// short-lived values (thunks, frames, strings) markedly faster than the system allocator (see
/// bench/eval); the count costs one relaxed atomic addition per allocation.
pub struct CountingAllocator(pub mimalloc::MiMalloc);

/// The alignment every block of `mi_malloc` has: mimalloc sizes its blocks in machine words.
/// Allocations asking no more skip mimalloc's aligned path, which cost the evaluator a few
/// percent of its instructions (its allocations are thunks, frames, vectors and strings,
/// none aligned beyond a word).
const PLAIN_ALIGNMENT: usize = std::mem::size_of::<usize>();

/// The largest block `mi_malloc_small` serves (mimalloc's `MI_SMALL_SIZE_MAX`: 128 words).
/// Nearly all of the evaluator's allocations are this small (thunks, frames, short sets).
const SMALL_MAX: usize = 128 * std::mem::size_of::<usize>();

extern "C" {
    /// mimalloc's allocation of at most `SMALL_MAX` bytes: `mi_malloc`'s fast path without
    /// its size dispatch and call (part of mimalloc's API; libmimalloc-sys declares it only
    /// with a feature that adds a dependency).
    fn mi_malloc_small(size: usize) -> *mut std::ffi::c_void;
}

// SAFETY: every method forwards to mimalloc with the caller's arguments unchanged, so the
// contract of `GlobalAlloc` holds as it holds for mimalloc; the count only observes sizes and
// neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = if layout.align() <= PLAIN_ALIGNMENT && layout.size() <= SMALL_MAX {
            // SAFETY: the size is at most mimalloc's small maximum, as `mi_malloc_small` asks;
            // its blocks are word aligned, which is all `layout` asks.
            unsafe { mi_malloc_small(layout.size()) as *mut u8 }
        } else if layout.align() <= PLAIN_ALIGNMENT {
            // SAFETY: mi_malloc aligns every block to a word, which is all `layout` asks.
            unsafe { libmimalloc_sys::mi_malloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: forwarded as is (see above).
            unsafe { self.0.alloc(layout) }
        };
        if !ptr.is_null() {
            makes_eval::memory::record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if !ptr.is_null() {
            makes_eval::memory::record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see above).
        unsafe { self.0.dealloc(ptr, layout) };
        makes_eval::memory::record_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = if layout.align() <= PLAIN_ALIGNMENT {
            // SAFETY: `ptr` came from this allocator (mimalloc); mi_realloc's block is word
            // aligned, which is all `layout` asks.
            unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size) as *mut u8 }
        } else {
            // SAFETY: forwarded as is (see above).
            unsafe { self.0.realloc(ptr, layout, new_size) }
        };
        if !new.is_null() {
            makes_eval::memory::record_free(layout.size());
            makes_eval::memory::record_alloc(new_size);
        }
        new
    }
}

/// The default ceiling when `MAKES_MAX_MEMORY` is not set: at most this much...
const DEFAULT_CEILING: usize = 4 << 30;

/// Sets the evaluator's ceiling from `MAKES_MAX_MEMORY` (bytes, or with a `K`, `M`, `G` or
/// `T` suffix, powers of 1024) or the default. An unreadable value is an error.
pub fn set_from_environment() -> Result<(), String> {
    let ceiling = match std::env::var(MAKES_MAX_MEMORY) {
        Ok(text) => parse_size(&text).ok_or_else(|| {
            format!("{MAKES_MAX_MEMORY}={text:?} is not a size (bytes, or e.g. 512M, 4G)")
        })?,
        Err(_) => default_ceiling(physical_memory()),
    };
    makes_eval::memory::set_ceiling(
        ceiling,
        "set MAKES_MAX_MEMORY (e.g. MAKES_MAX_MEMORY=8G) to allow the evaluation more memory",
    );
    Ok(())
}

/// ...and at most half the machine's memory, leaving room for the builds and the system.
fn default_ceiling(physical: Option<usize>) -> usize {
    match physical {
        Some(bytes) => DEFAULT_CEILING.min(bytes / 2),
        None => DEFAULT_CEILING,
    }
}

/// `MemTotal` of /proc/meminfo (Linux, where makes builds), in bytes.
fn physical_memory() -> Option<usize> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// `1073741824`, `512M`, `4G`, `4GiB`, `1.5G`.
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: f64 = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return None,
    };
    let bytes = number * (1u64 << shift) as f64;
    (bytes.is_finite() && bytes >= 1.0 && bytes < usize::MAX as f64).then_some(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("4 GiB"), Some(4 << 30));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("-1G"), None);
    }

    #[test]
    fn blocks_either_side_of_the_small_maximum_are_aligned_and_keep_their_bytes() {
        let allocator = CountingAllocator(mimalloc::MiMalloc);
        for size in (1..=SMALL_MAX + 64)
            .step_by(7)
            .chain([SMALL_MAX, SMALL_MAX + 1])
        {
            let layout = Layout::from_size_align(size, PLAIN_ALIGNMENT).expect("a valid layout");
            // SAFETY: a non-zero size; the block is written within its size, read back, moved
            // by realloc with the layout it has and freed with the layout of its new size.
            unsafe {
                let ptr = allocator.alloc(layout);
                assert!(!ptr.is_null());
                assert_eq!(ptr as usize % PLAIN_ALIGNMENT, 0, "size {size}");
                std::ptr::write_bytes(ptr, 0xA5, size);
                let bigger = size + SMALL_MAX;
                let moved = allocator.realloc(ptr, layout, bigger);
                assert!(!moved.is_null());
                assert!(std::slice::from_raw_parts(moved, size)
                    .iter()
                    .all(|&b| b == 0xA5));
                let moved_layout =
                    Layout::from_size_align(bigger, PLAIN_ALIGNMENT).expect("a valid layout");
                allocator.dealloc(moved, moved_layout);
            }
        }
    }

    #[test]
    fn the_default_is_the_smaller_of_4_gib_and_half_the_memory() {
        assert_eq!(default_ceiling(Some(2 << 30)), 1 << 30);
        assert_eq!(default_ceiling(Some(64 << 30)), 4 << 30);
        assert_eq!(default_ceiling(None), 4 << 30);
    }
}
