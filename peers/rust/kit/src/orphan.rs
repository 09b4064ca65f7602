//! When the harness goes (PEER_CONTRACT.md, "Lines", "When the harness goes"): a peer never
//! outlives the harness that started it. At start [`start`] notes the parent's pid and, on
//! Linux, asks for SIGKILL when the parent dies. Every wait that can last longer than 100 ms
//! calls [`check`] (or [`Watch::tick`]) between two sleeps: when the parent is not the one noted
//! any more, or stdin hung up with nothing left to read, the peer removes the socket file or
//! segment it created and exits with status 0 at once, wherever it is.
//!
//! Nothing here is on a frame's path: only where a wait is about to sleep again.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sys;

/// How long a wait goes between two looks: half the contract's 100 ms.
pub const PERIOD: Duration = Duration::from_millis(50);

/// The parent's pid noted at start; 0: not started (the kit's own tests), never gone.
static PARENT: AtomicU32 = AtomicU32::new(0);
/// Whether the request loop holds bytes of stdin not read yet as a request: a hung-up stdin
/// then still has something left to read.
static BUFFERED: AtomicBool = AtomicBool::new(false);
/// What this peer created and must remove if it goes: a socket file or a segment's name.
static LEFT: Mutex<Option<Left>> = Mutex::new(None);

/// A name in the file system or in shared memory that this peer created.
pub enum Left {
    Socket(PathBuf),
    Segment(String),
}

/// Note the parent, ask for SIGKILL when it dies (Linux), and exit at once if it is gone
/// already (it died before the request could take effect). Call before answering anything.
pub fn start() {
    let parent = sys::parent_pid();
    PARENT.store(parent, Ordering::Relaxed);
    sys::die_with_parent();
    if sys::parent_pid() != parent {
        std::process::exit(0);
    }
}

/// Whether the request loop holds stdin bytes not handled yet (set after every line read).
pub fn set_buffered(buffered: bool) {
    BUFFERED.store(buffered, Ordering::Relaxed);
}

/// The harness is gone: the parent is not the one noted at start, or stdin hung up with
/// nothing left to read (`POLLHUP` and not `POLLIN`, and nothing buffered). Two syscalls.
pub fn harness_gone() -> bool {
    let parent = PARENT.load(Ordering::Relaxed);
    parent != 0
        && (sys::parent_pid() != parent
            || (!BUFFERED.load(Ordering::Relaxed) && sys::stdin_hung_up()))
}

/// If the harness is gone, [`leave`].
pub fn check() {
    if harness_gone() {
        leave();
    }
}

/// Remove what this peer created (as CLOSE would) and exit with status 0.
pub fn leave() -> ! {
    match lock().take() {
        Some(Left::Socket(path)) => {
            let _ = std::fs::remove_file(path); // gone already is fine
        }
        Some(Left::Segment(name)) => {
            let _ = sys::shm_unlink(&name);
        }
        None => {}
    }
    std::process::exit(0)
}

/// Note what LISTEN created, to be removed if the harness goes.
pub fn created(left: Left) {
    *lock() = Some(left);
}

/// Forget it: CLOSE removed it, or ACCEPT unlinked the segment's name.
pub fn forget() {
    *lock() = None;
}

fn lock() -> std::sync::MutexGuard<'static, Option<Left>> {
    LEFT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The looks of one long wait: [`check`] at most every [`PERIOD`], the first one `PERIOD`
/// after the first tick, so a wait that ends sooner (every frame's) makes no syscall.
#[derive(Default)]
pub struct Watch {
    next: Option<Instant>,
}

impl Watch {
    /// Called between two sleeps of a wait, with the time just read.
    #[inline]
    pub fn tick(&mut self, now: Instant) {
        match self.next {
            Some(next) if now < next => {}
            Some(_) => {
                check();
                self.next = Some(now + PERIOD);
            }
            None => self.next = Some(now + PERIOD),
        }
    }
}
