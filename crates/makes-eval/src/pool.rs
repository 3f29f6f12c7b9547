//! Per-thread free lists of the evaluator's small fixed-size blocks, and [`Counted`], the
//! single-count shared pointer that thunks and frames are made of.
//!
//! The evaluator allocates and frees a thunk or a frame for nearly every step (millions in a
//! module evaluation), each through the global allocator and its byte count. Here a freed
//! block goes on its thread's list for its size and the next allocation of that size takes
//! it back: a load and a store each way instead of the allocator's path and the count.
//!
//! Blocks on a list stay counted as in use by the global allocator (they were counted when
//! first allocated and are not given back), so the memory ceiling stays an upper bound. Each
//! list holds at most [`ROOM`] blocks; beyond that a freed block goes back to the allocator,
//! so a list can keep no more than a few MiB from other uses.
//!
//! What is allocated here ([`Counted`]) is neither `Send` nor `Sync`, so a block is freed on
//! the thread that allocated it, and the lists need no synchronisation. The lists are
//! thread-locals without destructor (always reachable, also while other thread-locals are
//! dropped); [`close`] gives a thread's blocks back before it ends.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

const WORD: usize = std::mem::size_of::<usize>();

/// Blocks of one to this many words are pooled: a thunk is four, a frame six.
const CLASSES: usize = 8;

/// The most blocks one list keeps (2 MiB of frames, 1 MiB of thunks).
const ROOM: usize = 1 << 15;

/// A block on a list: its first word points to the next.
struct Free {
    next: *mut Free,
}

struct FreeList {
    head: Cell<*mut Free>,
    /// How many more blocks the list may take (zero once closed).
    room: Cell<usize>,
}

impl FreeList {
    const fn new() -> FreeList {
        FreeList {
            head: Cell::new(std::ptr::null_mut()),
            room: Cell::new(ROOM),
        }
    }
}

thread_local! {
    /// The lists by size, in words less one. Const-initialised and without destructor: a
    /// plain thread-local access, never lazily set up.
    static LISTS: [FreeList; CLASSES] = const { [const { FreeList::new() }; CLASSES] };
}

/// The list for blocks of `layout`, if pooled: word-aligned blocks of one to [`CLASSES`]
/// words (rounded up to whole words).
const fn class_of(layout: Layout) -> Option<usize> {
    let words = layout.size().div_ceil(WORD);
    if layout.align() <= WORD && words >= 1 && words <= CLASSES {
        Some(words - 1)
    } else {
        None
    }
}

/// The layout every block of `class` has when it comes from, or goes back to, the allocator.
const fn class_layout(class: usize) -> Layout {
    // A whole number of words, aligned to a word: always a valid layout.
    match Layout::from_size_align((class + 1) * WORD, WORD) {
        Ok(layout) => layout,
        Err(_) => panic!("a class is a few words"),
    }
}

/// A block off the list of `class`, if it has one.
#[inline]
fn take(class: usize) -> Option<NonNull<u8>> {
    LISTS.with(|lists| {
        let list = &lists[class];
        let head = NonNull::new(list.head.get())?;
        // SAFETY: a block on the list is one that `give` put there: word-aligned, at least a
        // word long, owned by the list, its first word the next block.
        list.head.set(unsafe { head.as_ref().next });
        list.room.set(list.room.get() + 1);
        Some(head.cast())
    })
}

/// Puts `block` on the list of `class`, unless the list is full (or closed).
///
/// # Safety
/// `block` is a block of `class` (allocated with its layout, or taken off its list) that
/// the caller owns and does not use after a `true` answer.
#[inline]
unsafe fn give(class: usize, block: NonNull<u8>) -> bool {
    LISTS.with(|lists| {
        let list = &lists[class];
        let room = list.room.get();
        if room == 0 {
            return false;
        }
        let free = block.as_ptr().cast::<Free>();
        // SAFETY: the block is the caller's to give, word-aligned and at least a word long
        // (its class): its first word can hold the link.
        unsafe {
            free.write(Free {
                next: list.head.get(),
            })
        };
        list.head.set(free);
        list.room.set(room - 1);
        true
    })
}

/// A fresh block of `layout` from the allocator (never zero-sized: see the callers).
fn fresh(layout: Layout) -> NonNull<u8> {
    // SAFETY: every caller's layout has a non-zero size (a count or a head comes first).
    let raw = unsafe { alloc(layout) };
    match NonNull::new(raw) {
        Some(block) => block,
        None => handle_alloc_error(layout),
    }
}

/// An uninitialised block for a `T`, from its list if it has one there.
#[inline]
fn allocate<T>() -> NonNull<T> {
    match const { class_of(Layout::new::<T>()) } {
        Some(class) => take(class).unwrap_or_else(|| fresh(class_layout(class))),
        None => fresh(Layout::new::<T>()),
    }
    .cast()
}

/// Gives back a block that `allocate::<T>` made, its `T` already dropped or moved out.
///
/// # Safety
/// `block` came from `allocate::<T>` on this thread, holds no live `T`, and is not used
/// after this call.
#[inline]
unsafe fn release<T>(block: NonNull<T>) {
    // SAFETY: the caller's promises are `release_layout`'s, for the layout of a `T`.
    unsafe { release_layout(block.cast(), Layout::new::<T>()) }
}

/// An uninitialised block of `layout`, which must have a non-zero size: from its list if it
/// is pooled and the list has one. Its size is `layout`'s rounded up to its class.
#[inline]
pub(crate) fn allocate_layout(layout: Layout) -> NonNull<u8> {
    match class_of(layout) {
        Some(class) => take(class).unwrap_or_else(|| fresh(class_layout(class))),
        None => fresh(layout),
    }
}

/// Whether blocks of layouts `a` and `b` are interchangeable: the same class, or (neither
/// pooled) left to the allocator.
pub(crate) fn same_class(a: Layout, b: Layout) -> Option<bool> {
    match (class_of(a), class_of(b)) {
        (Some(x), Some(y)) => Some(x == y),
        (None, None) => None,
        _ => Some(false),
    }
}

/// Gives back a block that `allocate_layout` made for `layout` (or for any layout of the same
/// class).
///
/// # Safety
/// `block` came from `allocate_layout` on this thread for a layout of `layout`'s class (or,
/// unpooled, exactly `layout`), and is not used after this call.
#[inline]
pub(crate) unsafe fn release_layout(block: NonNull<u8>, layout: Layout) {
    let layout = match class_of(layout) {
        Some(class) => {
            // SAFETY: a block of this class, given up by the caller.
            if unsafe { give(class, block) } {
                return;
            }
            class_layout(class)
        }
        None => layout,
    };
    // SAFETY: allocated with this layout (a pooled block always with its class's), and
    // given up by the caller.
    unsafe { dealloc(block.as_ptr(), layout) };
}

/// Gives this thread's pooled blocks back to the allocator and pools nothing more on it: for
/// a thread that is about to end (the lists have no destructor), so that its blocks are not
/// lost with it.
pub fn close() {
    LISTS.with(|lists| {
        for (class, list) in lists.iter().enumerate() {
            list.room.set(0);
            let mut block = list.head.replace(std::ptr::null_mut());
            while !block.is_null() {
                // SAFETY: the blocks on the list are its own (taken off it above, so nothing
                // else reaches them), each allocated with its class's layout.
                unsafe {
                    let next = (*block).next;
                    dealloc(block.cast(), class_layout(class));
                    block = next;
                }
            }
        }
    });
}

/// A shared value: one pointer to a count and the value in one pooled block.
///
/// `Rc<T>` keeps a second (weak) count the evaluator never uses, a word in every frame and
/// thunk, and allocates through the global allocator. The count is a plain `Cell` and the
/// pointer a `NonNull`, so the type is neither `Send` nor `Sync`: a block is freed on the
/// thread that made it (which the lists rely on).
pub struct Counted<T> {
    ptr: NonNull<Block<T>>,
    /// Owns a `T` (for drop checking).
    _owns: PhantomData<Block<T>>,
}

struct Block<T> {
    count: Cell<usize>,
    value: T,
}

impl<T> Counted<T> {
    /// The bytes of the block one `Counted<T>` points to.
    pub(crate) const BLOCK_BYTES: usize = std::mem::size_of::<Block<T>>();

    #[inline]
    pub fn new(value: T) -> Counted<T> {
        let ptr = allocate::<Block<T>>();
        // SAFETY: a fresh block laid out for a `Block<T>`.
        unsafe {
            ptr.as_ptr().write(Block {
                count: Cell::new(1),
                value,
            })
        };
        Counted {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn block(&self) -> &Block<T> {
        // SAFETY: the block lives while any `Counted` counts it, and this one does.
        unsafe { self.ptr.as_ref() }
    }

    /// Whether both point to the same block.
    #[inline]
    pub fn ptr_eq(a: &Counted<T>, b: &Counted<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The value's block: its identity.
    #[inline]
    pub fn as_ptr(this: &Counted<T>) -> *const () {
        this.ptr.as_ptr().cast()
    }

    /// How many `Counted`s share the block.
    #[cfg(test)]
    pub(crate) fn count(this: &Counted<T>) -> usize {
        this.block().count.get()
    }

    /// Drops the value and gives back the block: called when the last `Counted` goes. Out of
    /// line, so that dropping a pointer others still share is a decrement and a branch.
    #[inline(never)]
    fn free(&mut self) {
        // SAFETY: the count reached zero, so no other `Counted` points to the block and this
        // one is being dropped: the value is dropped, then the block given back, once. A
        // drop that reaches the pool again (the value's own pointers) finds the lists in a
        // consistent state: `release` runs after the value is gone.
        unsafe {
            std::ptr::drop_in_place(std::ptr::addr_of_mut!((*self.ptr.as_ptr()).value));
            release(self.ptr);
        }
    }
}

impl<T> Deref for Counted<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.block().value
    }
}

impl<T> Clone for Counted<T> {
    #[inline]
    fn clone(&self) -> Counted<T> {
        let count = &self.block().count;
        // As `Rc`: a count that would wrap (only reachable by leaking on purpose) aborts
        // rather than free a block still in use.
        let Some(more) = count.get().checked_add(1) else {
            std::process::abort()
        };
        count.set(more);
        Counted {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for Counted<T> {
    #[inline]
    fn drop(&mut self) {
        let count = &self.block().count;
        let left = count.get() - 1;
        count.set(left);
        if left == 0 {
            self.free();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// The blocks on this thread's list for `T`'s class.
    fn pooled<T>() -> usize {
        let Some(class) = class_of(Layout::new::<T>()) else {
            return 0;
        };
        LISTS.with(|lists| {
            let mut n = 0;
            let mut block = lists[class].head.get();
            while !block.is_null() {
                n += 1;
                // SAFETY: the list's blocks each link to the next (see `release`).
                block = unsafe { (*block).next };
            }
            let room = lists[class].room.get();
            assert!(
                room + n == ROOM || (room == 0 && n == 0),
                "room and blocks agree"
            );
            n
        })
    }

    /// Runs `f` on a fresh thread: its lists start empty and open, whichever thread the test
    /// harness runs tests on.
    fn on_own_thread(f: impl FnOnce() + Send + 'static) {
        if let Err(panic) = std::thread::spawn(f).join() {
            std::panic::resume_unwind(panic);
        }
    }

    #[test]
    fn sizes_map_to_classes_of_whole_words() {
        assert_eq!(class_of(Layout::new::<u8>()), Some(0));
        assert_eq!(class_of(Layout::new::<[u64; 4]>()), Some(3));
        assert_eq!(class_of(Layout::new::<[u32; 3]>()), Some(1));
        assert_eq!(class_of(Layout::new::<[u64; 8]>()), Some(7));
        assert_eq!(class_of(Layout::new::<[u64; 9]>()), None);
        assert_eq!(class_of(Layout::new::<()>()), None);
        #[repr(align(16))]
        struct Wide(#[allow(dead_code)] u64);
        assert_eq!(class_of(Layout::new::<Wide>()), None);
        assert_eq!(class_layout(3).size(), 32);
        assert_eq!(Counted::<[u64; 3]>::BLOCK_BYTES, 32);
    }

    #[test]
    fn a_freed_block_is_reused_by_the_next_of_its_size_only() {
        on_own_thread(|| {
            let a = Counted::new([1u64; 3]);
            let a_block = Counted::as_ptr(&a);
            drop(a);
            assert_eq!(pooled::<Block<[u64; 3]>>(), 1);
            // Another size does not take it.
            let other = Counted::new([2u64; 5]);
            assert_ne!(Counted::as_ptr(&other), a_block);
            assert_eq!(pooled::<Block<[u64; 3]>>(), 1);
            // The same size does, and it holds the new value.
            let b = Counted::new([7u64; 3]);
            assert_eq!(Counted::as_ptr(&b), a_block);
            assert_eq!(*b, [7; 3]);
            assert_eq!(pooled::<Block<[u64; 3]>>(), 0);
            drop(other);
            assert_eq!(pooled::<Block<[u64; 5]>>(), 1);
            drop(b);
            close();
            assert_eq!(pooled::<Block<[u64; 3]>>(), 0);
            assert_eq!(pooled::<Block<[u64; 5]>>(), 0);
        });
    }

    #[test]
    fn the_value_is_dropped_once_with_the_last_pointer() {
        on_own_thread(|| {
            let witness = Rc::new(());
            let a = Counted::new(Rc::clone(&witness));
            let b = a.clone();
            assert!(Counted::ptr_eq(&a, &b));
            assert_eq!(Counted::count(&a), 2);
            drop(a);
            assert_eq!(Rc::strong_count(&witness), 2, "a clone still holds it");
            assert_eq!(Counted::count(&b), 1);
            drop(b);
            assert_eq!(Rc::strong_count(&witness), 1, "dropped with the last");
            // Reusing the block does not drop the value again.
            let c = Counted::new(Rc::clone(&witness));
            assert_eq!(Rc::strong_count(&witness), 2);
            drop(c);
            assert_eq!(Rc::strong_count(&witness), 1);
        });
    }

    #[test]
    fn nested_drops_give_back_every_block() {
        on_own_thread(|| {
            // A chain whose drop frees blocks of the same class from inside a drop.
            struct Link(Option<Counted<Link>>, Rc<()>);
            let witness = Rc::new(());
            let mut chain = None;
            for _ in 0..100 {
                chain = Some(Counted::new(Link(chain, Rc::clone(&witness))));
            }
            assert_eq!(Rc::strong_count(&witness), 101);
            let (mut depth, mut link) = (0, chain.as_ref());
            while let Some(l) = link {
                assert!(Rc::ptr_eq(&l.1, &witness));
                depth += 1;
                link = l.0.as_ref();
            }
            assert_eq!(depth, 100);
            drop(chain);
            assert_eq!(Rc::strong_count(&witness), 1);
            assert_eq!(pooled::<Block<Link>>(), 100);
            // All come back out distinct, then go back.
            let again: Vec<_> = (0..100)
                .map(|_| Counted::new(Link(None, Rc::clone(&witness))))
                .collect();
            let mut blocks: Vec<_> = again.iter().map(Counted::as_ptr).collect();
            blocks.sort();
            blocks.dedup();
            assert_eq!(blocks.len(), 100);
            assert_eq!(pooled::<Block<Link>>(), 0);
            drop(again);
            assert_eq!(pooled::<Block<Link>>(), 100);
        });
    }

    #[test]
    fn a_full_or_closed_list_gives_blocks_back_to_the_allocator() {
        on_own_thread(|| {
            let many: Vec<_> = (0..ROOM + 10)
                .map(|i| Counted::new([i as u64; 6]))
                .collect();
            drop(many);
            assert_eq!(pooled::<Block<[u64; 6]>>(), ROOM);
            close();
            assert_eq!(
                LISTS.with(
                    |lists| lists[class_of(Layout::new::<Block<[u64; 6]>>()).unwrap_or(0)]
                        .room
                        .get()
                ),
                0
            );
            let after = Counted::new([0u64; 6]);
            drop(after);
            let class = class_of(Layout::new::<Block<[u64; 6]>>()).unwrap_or(0);
            assert!(LISTS.with(|lists| lists[class].head.get().is_null()));
        });
    }

    #[test]
    fn blocks_by_layout_share_their_class_lists() {
        on_own_thread(|| {
            let layout = |size| Layout::from_size_align(size, WORD).unwrap_or(Layout::new::<u8>());
            assert_eq!(same_class(layout(17), layout(24)), Some(true));
            assert_eq!(same_class(layout(24), layout(25)), Some(false));
            assert_eq!(same_class(layout(64), layout(65)), Some(false));
            assert_eq!(same_class(layout(65), layout(100)), None);
            let a = allocate_layout(layout(20));
            // SAFETY: a block of 20 bytes' class (three words), given up here.
            unsafe { release_layout(a, layout(20)) };
            assert_eq!(pooled::<[u64; 3]>(), 1);
            // A layout of the same class takes it back; a block of 24 bytes fits in it.
            let b = allocate_layout(layout(24));
            assert_eq!(a, b);
            // SAFETY: the block is three words long, written within them, then given up.
            unsafe {
                b.as_ptr().write_bytes(0x5A, 24);
                release_layout(b, layout(24));
            }
            let big = allocate_layout(layout(100));
            // SAFETY: an unpooled block, given back with the layout it was made with.
            unsafe { release_layout(big, layout(100)) };
            assert_eq!(pooled::<[u64; 3]>(), 1);
        });
    }

    #[test]
    fn large_and_zero_sized_values_bypass_the_lists() {
        let big = Counted::new([3u64; 16]);
        assert_eq!(big[15], 3);
        drop(big);
        let unit = Counted::new(());
        let unit2 = unit.clone();
        drop(unit);
        drop(unit2);
    }
}
