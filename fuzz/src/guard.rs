//! The two guards around every case: a counting global allocator with a cap on the bytes a case
//! may hold, and a watchdog thread with a per-case time limit. Both end the process with a
//! distinct exit code when tripped ([`EXIT_ALLOC`], [`EXIT_TIMEOUT`]); the worker wrote the
//! case to disk before it started, so the driver saves it and starts a fresh worker.
//!
//! The allocator counts Rust allocations only. C allocations (libwebp, zstd) are bounded by a
//! process-wide address-space limit ([`limit_address_space`]): past it they fail, and the C
//! library reports an error instead of taking the machine's memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Exit code of a worker whose case allocated past the cap.
pub const EXIT_ALLOC: i32 = 77;
/// Exit code of a worker whose case ran past the time limit.
pub const EXIT_TIMEOUT: i32 = 78;

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Live bytes when the current case started.
static BASELINE: AtomicUsize = AtomicUsize::new(0);
/// The current case's cap on `LIVE - BASELINE`; `usize::MAX` while no case runs.
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Highest `LIVE` seen since the case started.
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Set once the cap tripped, so that the report's own allocations pass.
static TRIPPED: AtomicBool = AtomicBool::new(false);

/// The counting allocator: [`System`] plus a live-bytes counter checked against the cap.
pub struct Counting;

// SAFETY: every call is forwarded to `System` with the same arguments; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            check(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Counts `size` new bytes; past the cap, reports and exits with [`EXIT_ALLOC`] before the
/// memory is taken.
fn check(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
    let used = live.saturating_sub(BASELINE.load(Ordering::Relaxed));
    if used > CAP.load(Ordering::Relaxed) && !TRIPPED.swap(true, Ordering::Relaxed) {
        let head = b"splatpress-fuzz: allocation over the cap: a request of ";
        let tail = b" bytes\n";
        let mut digits = [b' '; 20];
        write_decimal(&mut digits, size as u64);
        // SAFETY: writing static and stack buffers to stderr; `_exit` ends the process without
        // running destructors or allocating.
        unsafe {
            libc::write(2, head.as_ptr().cast(), head.len());
            libc::write(2, digits.as_ptr().cast(), digits.len());
            libc::write(2, tail.as_ptr().cast(), tail.len());
            libc::_exit(EXIT_ALLOC);
        }
    }
}

/// Writes `v` right-aligned into `buf` (spaces before), without allocating.
fn write_decimal(buf: &mut [u8], mut v: u64) {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
}

/// Starts counting a case: it may hold at most `cap` bytes more than are live now.
pub fn arm_alloc(cap: usize) {
    let live = LIVE.load(Ordering::Relaxed);
    BASELINE.store(live, Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    CAP.store(cap, Ordering::Relaxed);
}

/// Stops the cap; returns the case's peak, in bytes above its baseline.
pub fn disarm_alloc() -> usize {
    CAP.store(usize::MAX, Ordering::Relaxed);
    PEAK.load(Ordering::Relaxed)
        .saturating_sub(BASELINE.load(Ordering::Relaxed))
}

/// Milliseconds since [`start_watchdog`] at which the running case must end; 0 when idle.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Starts the watchdog thread (once): when a case runs past its deadline it prints a line and
/// exits with [`EXIT_TIMEOUT`].
pub fn start_watchdog() {
    now_ms();
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(50));
                let deadline = DEADLINE_MS.load(Ordering::Relaxed);
                if deadline != 0 && now_ms() > deadline {
                    eprintln!("splatpress-fuzz: case ran past its time limit");
                    std::process::exit(EXIT_TIMEOUT);
                }
            }
        })
        .expect("start the watchdog thread");
}

/// Arms the watchdog for a case of at most `limit`.
pub fn arm_timer(limit: Duration) {
    DEADLINE_MS.store(now_ms() + limit.as_millis() as u64, Ordering::Relaxed);
}

/// Disarms the watchdog; returns nothing, the case ended in time.
pub fn disarm_timer() {
    DEADLINE_MS.store(0, Ordering::Relaxed);
}

/// Limits the process's address space to `bytes` (RLIMIT_AS), so C allocations fail instead
/// of exhausting the machine. Best effort: an error is reported and ignored.
pub fn limit_address_space(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain system call with a valid pointer to a local struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
        eprintln!(
            "splatpress-fuzz: could not limit the address space: {}",
            std::io::Error::last_os_error()
        );
    }
}
