//! An allocator that counts the bytes allocated now and at the peak, for
//! tests of what an input can make a process allocate. A test binary
//! installs it with `#[global_allocator]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting. (An allocator is unsafe to implement;
/// this one only forwards.)
pub struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every method forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: the caller's obligations are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// One measurement at a time: the counts are the whole process's.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `run`; returns its outcome and the most it had allocated at once,
/// above what was allocated before (other threads' allocations included).
pub fn peak_of<T>(run: impl FnOnce() -> T) -> (T, usize) {
    let _alone = MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = NOW.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let outcome = run();
    let peak = PEAK.load(Ordering::SeqCst).saturating_sub(before);
    (outcome, peak)
}
