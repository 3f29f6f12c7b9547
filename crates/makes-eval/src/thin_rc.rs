//! A reference-counted header and slice in one allocation, behind one pointer.
//!
//! `Rc<[T]>` is a fat pointer (two words) and `Rc<S>` of a struct holding a `Vec` is two
//! allocations; the evaluator's sets, strings, lists and paths are all "a little header and
//! some items", made once and never grown, and shared by many values. `ThinRc<H, T>` puts the
//! count, the length, the header and the items in one allocation and is one word, so that a
//! `Value` holding one is two words.
//!
//! Crates looked at: triomphe's `ThinArc` counts atomically (every clone and drop a locked
//! instruction, for values that never leave their thread); `slice-dst`/`erasable` build the
//! same layout but through a general erased-pointer machinery larger than this module;
//! `thin-vec` is a growable vector, not shared. The count here is a plain `Cell`, so the
//! type is neither `Send` nor `Sync` (the `NonNull` field makes it so).

use crate::pool;
use std::alloc::{handle_alloc_error, realloc, Layout};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// What precedes the items in the allocation.
#[repr(C)]
struct Head<H> {
    count: Cell<usize>,
    len: usize,
    header: H,
}

/// A shared, immutable header and slice in one allocation.
pub struct ThinRc<H, T> {
    ptr: NonNull<Head<H>>,
    /// Owns an `H` and `T`s (for drop checking), and is not `Send` or `Sync`.
    _owns: PhantomData<(H, T, *const ())>,
}

impl<H, T> ThinRc<H, T> {
    /// The layout of an allocation of `len` items, and where the items start in it.
    fn layout(len: usize) -> (Layout, usize) {
        let items = match Layout::array::<T>(len) {
            Ok(items) => items,
            Err(_) => capacity_overflow(),
        };
        match Layout::new::<Head<H>>().extend(items) {
            Ok((layout, offset)) => (layout.pad_to_align(), offset),
            Err(_) => capacity_overflow(),
        }
    }

    /// The first item's place (the items' offset depends on the types only, not the length).
    fn items_ptr(&self) -> *mut T {
        let (_, offset) = Self::layout(0);
        // SAFETY: the allocation holds the head and then the items at `offset` (see `layout`);
        // the pointer stays inside it (or one past the head for zero items).
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset).cast::<T>() }
    }

    fn head(&self) -> &Head<H> {
        // SAFETY: `ptr` points to an initialised head for as long as a `ThinRc` counts it.
        unsafe { self.ptr.as_ref() }
    }

    /// A new allocation of `header` and the items of `items`, which must yield exactly as
    /// many as its length says (else this panics, leaking nothing).
    pub fn new<I>(header: H, items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        let mut items = items.into_iter();
        let len = items.len();
        let built = Self::build(header, len, &mut items);
        assert!(
            built.len() == len && items.next().is_none(),
            "an iterator yielded other than its length"
        );
        built
    }

    /// A new allocation of `header` and at most `max` items of `items`: room for `max` is
    /// made, then given back if fewer came (for a merge whose duplicates are not known
    /// before it is done).
    pub fn with_max(header: H, max: usize, items: impl IntoIterator<Item = T>) -> Self {
        Self::build(header, max, &mut items.into_iter())
    }

    /// A new allocation of `header` and a copy of `items` (one `memcpy`: the bytes of a
    /// string or path).
    pub fn copied(header: H, items: &[T]) -> Self
    where
        T: Copy,
    {
        let (ptr, _) = Self::allocate(header, items.len());
        let rc = ThinRc {
            ptr,
            _owns: PhantomData,
        };
        // SAFETY: the allocation has room for `items.len()` items after the head, a fresh
        // allocation cannot overlap `items`, and `T: Copy` needs no drop if this were to
        // stop halfway (it cannot: nothing here panics).
        unsafe {
            std::ptr::copy_nonoverlapping(items.as_ptr(), rc.items_ptr(), items.len());
            (*rc.ptr.as_ptr()).len = items.len();
        }
        rc
    }

    /// A fresh allocation with room for `max` items, its head written with a count of one
    /// and a length of zero.
    #[inline]
    fn allocate(header: H, max: usize) -> (NonNull<Head<H>>, Layout) {
        let (layout, _) = Self::layout(max);
        // A non-zero size (the head holds two `usize`s); small ones from the thread's pool.
        let ptr = pool::allocate_layout(layout).cast::<Head<H>>();
        // SAFETY: `ptr` is a fresh allocation laid out for a head.
        unsafe {
            ptr.as_ptr().write(Head {
                count: Cell::new(1),
                len: 0,
                header,
            })
        };
        (ptr, layout)
    }

    /// Allocates room for `max` items, writes the header and up to `max` items from
    /// `items`, and shrinks the allocation to what was written.
    fn build(header: H, max: usize, items: &mut impl Iterator<Item = T>) -> Self {
        // The length starts at zero, so the guard below drops exactly what is written.
        let (ptr, layout) = Self::allocate(header, max);
        // Until filled, a panic in `items` drops the header and the items written so far and
        // frees the allocation: the guard is a `ThinRc` of the length written, with the
        // layout of `max` to free.
        let guard = Filling {
            rc: std::mem::ManuallyDrop::new(ThinRc {
                ptr,
                _owns: PhantomData,
            }),
            layout,
        };
        let first: *mut T = guard.rc.items_ptr();
        for (i, item) in items.by_ref().take(max).enumerate() {
            // SAFETY: `take(max)` bounds the items to the room made (an iterator may yield
            // more than its length says);
            // `i` is the next unwritten place. The length counts it only once written.
            unsafe {
                first.add(i).write(item);
                (*guard.rc.ptr.as_ptr()).len = i + 1;
            }
        }
        let written = guard.rc.len();
        let mut rc = guard.finish();
        if written < max {
            let (smaller, _) = Self::layout(written);
            match pool::same_class(layout, smaller) {
                // The block is already one of the smaller layout's (pooled blocks are their
                // class's size): freed as of its length, it goes back to the same list.
                Some(true) => {}
                // Neither is pooled: the allocator shrinks it.
                None => {
                    // SAFETY: `rc.ptr` was allocated with `layout`; the new size is non-zero
                    // and not larger, and the first `written` items (all there are) lie
                    // inside it.
                    let moved = unsafe { realloc(rc.ptr.as_ptr().cast(), layout, smaller.size()) };
                    match NonNull::new(moved.cast::<Head<H>>()) {
                        Some(moved) => rc.ptr = moved,
                        None => handle_alloc_error(smaller),
                    }
                }
                // Into another class: a block of it, the head and items moved over.
                Some(false) => {
                    let moved = pool::allocate_layout(smaller);
                    // SAFETY: the new block is fresh, `smaller.size()` bytes long, and the
                    // old one holds the head and `written` items within its first
                    // `smaller.size()` bytes; the old block, its contents moved out, goes
                    // back with the layout it was made with.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            rc.ptr.as_ptr().cast::<u8>(),
                            moved.as_ptr(),
                            smaller.size(),
                        );
                        pool::release_layout(rc.ptr.cast(), layout);
                    }
                    rc.ptr = moved.cast();
                }
            }
        }
        rc
    }

    pub fn header(&self) -> &H {
        &self.head().header
    }

    pub fn len(&self) -> usize {
        self.head().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn items(&self) -> &[T] {
        // SAFETY: the first `len` items are initialised and live as long as `self` counts
        // the allocation; nothing hands out `&mut` to them while it is shared.
        unsafe { std::slice::from_raw_parts(self.items_ptr(), self.len()) }
    }

    /// Whether both are the same allocation.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }

    /// The allocation's address: its identity.
    pub fn as_ptr(&self) -> *const () {
        self.ptr.as_ptr().cast()
    }

    /// How many `ThinRc`s share the allocation.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.head().count.get()
    }
}

/// A `ThinRc` being filled: on a panic, frees its allocation with the layout it was made
/// with (the `ThinRc`'s own drop, which would free it as of its length, never runs).
struct Filling<H, T> {
    rc: std::mem::ManuallyDrop<ThinRc<H, T>>,
    layout: Layout,
}

impl<H, T> Filling<H, T> {
    fn finish(self) -> ThinRc<H, T> {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `ThinRc` moves out once.
        unsafe { std::mem::ManuallyDrop::take(&mut this.rc) }
    }
}

impl<H, T> Drop for Filling<H, T> {
    fn drop(&mut self) {
        // SAFETY: reached only by a panic while filling: the count is one (nobody else has
        // the pointer), the head and the first `len` items are initialised, and the
        // allocation has `self.layout`.
        unsafe { self.rc.free(self.layout) }
    }
}

impl<H, T> ThinRc<H, T> {
    /// Drops the header and the items, then frees the allocation, even if a drop panics.
    ///
    /// # Safety
    /// The count must have reached zero (or never been shared), the head and the first `len`
    /// items initialised, `layout` the allocation's, and `self` not used afterwards.
    unsafe fn free(&mut self, layout: Layout) {
        struct Dealloc(NonNull<u8>, Layout);
        impl Drop for Dealloc {
            fn drop(&mut self) {
                // SAFETY: the block was allocated for this layout, or one of its class (the
                // caller's promise), on this thread (a `ThinRc` is not `Send`).
                unsafe { pool::release_layout(self.0, self.1) }
            }
        }
        let _dealloc = Dealloc(self.ptr.cast(), layout);
        let items = std::ptr::slice_from_raw_parts_mut(self.items_ptr(), self.len());
        // SAFETY: initialised and no longer shared (the caller's promise). The header first,
        // then the items in order; a panicking drop still drops the rest and frees.
        unsafe {
            struct Items<T>(*mut [T]);
            impl<T> Drop for Items<T> {
                fn drop(&mut self) {
                    // SAFETY: the items are initialised and dropped only here.
                    unsafe { std::ptr::drop_in_place(self.0) }
                }
            }
            let _items = Items(items);
            std::ptr::drop_in_place(&mut (*self.ptr.as_ptr()).header);
        }
    }
}

impl<H, T> Clone for ThinRc<H, T> {
    #[inline]
    fn clone(&self) -> Self {
        let count = &self.head().count;
        // As `Rc`: a count this large can only come from leaked clones; stop rather than wrap.
        let Some(next) = count.get().checked_add(1) else {
            std::process::abort()
        };
        count.set(next);
        ThinRc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<H, T> Drop for ThinRc<H, T> {
    #[inline]
    fn drop(&mut self) {
        let count = &self.head().count;
        let left = count.get() - 1;
        count.set(left);
        if left == 0 {
            self.drop_slow();
        }
    }
}

impl<H, T> ThinRc<H, T> {
    #[inline(never)]
    fn drop_slow(&mut self) {
        let (layout, _) = Self::layout(self.len());
        // SAFETY: the count reached zero: this was the last `ThinRc` of an allocation made
        // (or shrunk) with the layout of its length.
        unsafe { self.free(layout) }
    }
}

#[cold]
fn capacity_overflow() -> ! {
    panic!("a ThinRc larger than memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// Records its drop in a shared log.
    struct Noisy(u32, Rc<std::cell::RefCell<Vec<u32>>>);

    impl Drop for Noisy {
        fn drop(&mut self) {
            self.1.borrow_mut().push(self.0);
        }
    }

    #[test]
    fn one_word_and_an_option_of_it_too() {
        assert_eq!(std::mem::size_of::<ThinRc<u64, u8>>(), 8);
        assert_eq!(std::mem::size_of::<Option<ThinRc<u64, u8>>>(), 8);
    }

    #[test]
    fn clones_share_and_the_last_drop_frees_once() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let a = ThinRc::new(Noisy(0, log.clone()), (1..4).map(|i| Noisy(i, log.clone())));
        let b = a.clone();
        assert_eq!((a.count(), a.len()), (2, 3));
        assert!(ThinRc::ptr_eq(&a, &b));
        assert_eq!(b.items()[2].0, 3);
        drop(a);
        assert!(log.borrow().is_empty());
        assert_eq!(b.count(), 1);
        drop(b);
        // The header first, then the items in order.
        assert_eq!(*log.borrow(), [0, 1, 2, 3]);
    }

    #[test]
    fn copies_of_slices() {
        let bytes: ThinRc<Option<Rc<u8>>, u8> = ThinRc::copied(Some(Rc::new(1)), b"hello");
        assert_eq!(
            (bytes.items(), bytes.header().as_deref()),
            (&b"hello"[..], Some(&1))
        );
        let none: ThinRc<(), u8> = ThinRc::copied((), b"");
        assert!(none.is_empty());
    }

    #[test]
    fn zero_items_and_odd_alignments() {
        let empty: ThinRc<u8, u64> = ThinRc::new(7, std::iter::empty());
        assert!(empty.is_empty() && empty.items().is_empty());
        assert_eq!(*empty.header(), 7);
        let bytes: ThinRc<u64, u8> = ThinRc::new(9, b"abc".iter().copied());
        assert_eq!((bytes.items(), *bytes.header()), (&b"abc"[..], 9));
        let wide: ThinRc<u8, u128> = ThinRc::new(1, [u128::MAX, 2]);
        assert_eq!(wide.items(), [u128::MAX, 2]);
        assert_eq!(
            wide.items().as_ptr() as usize % std::mem::align_of::<u128>(),
            0
        );
        let unit: ThinRc<(), ()> = ThinRc::new((), [(), ()]);
        assert_eq!(unit.len(), 2);
    }

    #[test]
    fn fewer_than_the_most_shrinks() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let rc = ThinRc::with_max((), 10, (1..5).map(|i| Noisy(i, log.clone())));
        assert_eq!(rc.len(), 4);
        let capped = ThinRc::with_max((), 2, 1..5);
        assert_eq!(capped.items(), [1, 2]);
        drop(rc);
        assert_eq!(*log.borrow(), [1, 2, 3, 4]);
    }

    #[test]
    fn shrinking_within_a_class_into_another_or_outside_the_pool_keeps_the_items() {
        // Items of two words after a head of three: from unpooled (over eight words) to
        // pooled, between pooled classes, and unpooled to unpooled.
        for (max, written) in [(8, 7), (8, 3), (8, 1), (3, 1), (3, 2), (20, 9), (1, 0)] {
            let log = Rc::new(std::cell::RefCell::new(Vec::new()));
            let rc = ThinRc::with_max(
                max as u8,
                max,
                (0..written).map(|i| Noisy(i as u32, log.clone())),
            );
            assert_eq!(rc.len(), written as usize);
            assert_eq!(*rc.header(), max as u8);
            assert!(rc.items().iter().enumerate().all(|(i, n)| n.0 == i as u32));
            let again = rc.clone();
            drop(rc);
            assert!(log.borrow().is_empty());
            drop(again);
            assert_eq!(*log.borrow(), (0..written as u32).collect::<Vec<_>>());
        }
        // Bytes: five and three of them round to the same three-word block.
        let bytes: ThinRc<(), u8> = ThinRc::with_max((), 5, *b"abc");
        assert_eq!(bytes.items(), b"abc");
    }

    #[test]
    fn a_panic_while_filling_drops_what_was_written() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let items = (1..6).map(|i| {
            assert!(i < 3, "stop at three");
            Noisy(i, log.clone())
        });
        let header = Noisy(0, log.clone());
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ThinRc::new(header, items)));
        assert!(outcome.is_err());
        assert_eq!(*log.borrow(), [0, 1, 2]);
    }

    #[test]
    fn an_iterator_shorter_than_its_length_is_refused() {
        /// Claims five items (`ExactSizeIterator::len` is its size hint) and yields two.
        struct Claims(u32);
        impl Iterator for Claims {
            type Item = u32;
            fn next(&mut self) -> Option<u32> {
                self.0 += 1;
                (self.0 <= 2).then_some(self.0)
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                (5, Some(5))
            }
        }
        impl ExactSizeIterator for Claims {}
        let outcome = std::panic::catch_unwind(|| ThinRc::new((), Claims(0)));
        assert!(outcome.is_err());
        // One claiming fewer than it yields is refused too, without writing past its room
        // (the extra item is dropped, the written ones with the allocation).
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let items = (1..4).map(|i| Noisy(i, log.clone())).collect::<Vec<_>>();
        struct Short<I>(I);
        impl<I: Iterator> Iterator for Short<I> {
            type Item = I::Item;
            fn next(&mut self) -> Option<I::Item> {
                self.0.next()
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                (1, Some(1))
            }
        }
        impl<I: Iterator> ExactSizeIterator for Short<I> {}
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ThinRc::new((), Short(items.into_iter()))
        }));
        assert!(outcome.is_err());
        let mut dropped = log.borrow().clone();
        dropped.sort_unstable();
        assert_eq!(dropped, [1, 2, 3]);
    }
}
