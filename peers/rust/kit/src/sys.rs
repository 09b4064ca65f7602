//! The platform layer of the `shm` transport, and the only module with `unsafe` code: POSIX
//! shared memory (`shm_open`, `mmap`, `munmap`, `shm_unlink`), liveness (`kill(pid, 0)`),
//! sleeping on a 32-bit word (`futex` on Linux, a short sleep-poll elsewhere), and the parent
//! and stdin checks of `orphan` (`getppid`, `prctl(PR_SET_PDEATHSIG)`, `poll`).
//!
//! Everything above it is safe code over [`Mapping`]: a mapped segment addressed by byte
//! offsets (the segment never holds pointers), handing out `&AtomicU32`/`&AtomicU64` for the
//! control words and copying bytes in and out of the data areas. Each accessor checks its
//! offset against the mapping's length and the word's alignment, so no caller can reach outside
//! the mapping or make a misaligned atomic.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

/// `shm_open` on `name`: with `create`, `O_CREAT | O_EXCL | O_RDWR` and mode 0600 (the name must
/// not exist); without, `O_RDWR` on an existing segment. The descriptor is owned by the `File`.
pub fn shm_open(name: &str, create: bool) -> io::Result<File> {
    let cname = c_name(name)?;
    let flags = if create {
        libc::O_CREAT | libc::O_EXCL | libc::O_RDWR
    } else {
        libc::O_RDWR
    };
    let fd = open_raw(&cname, flags);
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by a successful shm_open: an open descriptor that nothing
    // else owns. The File becomes its only owner and closes it once.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(target_vendor = "apple")]
fn open_raw(name: &CString, flags: libc::c_int) -> libc::c_int {
    // SAFETY: `name` is a NUL-terminated string that outlives the call and shm_open only reads
    // it. macOS declares shm_open variadic: the mode travels as an int-sized unsigned value.
    unsafe { libc::shm_open(name.as_ptr(), flags, 0o600 as libc::c_uint) }
}

#[cfg(not(target_vendor = "apple"))]
fn open_raw(name: &CString, flags: libc::c_int) -> libc::c_int {
    // SAFETY: `name` is a NUL-terminated string that outlives the call and shm_open only reads
    // it; the mode is a plain value.
    unsafe { libc::shm_open(name.as_ptr(), flags, 0o600) }
}

/// Remove the name of a segment; the mappings that exist stay valid.
pub fn shm_unlink(name: &str) -> io::Result<()> {
    let cname = c_name(name)?;
    // SAFETY: `cname` is a NUL-terminated string that outlives the call; shm_unlink only reads it.
    if unsafe { libc::shm_unlink(cname.as_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the name"))
}

/// Whether process `pid` may still be alive: `kill(pid, 0)` says it does not exist (`ESRCH`).
/// A pid that is 0 or beyond `pid_t` is not a process we can ask about: assumed alive (the
/// other checks, the closed bit and the deadline, still apply).
pub fn alive(pid: u32) -> bool {
    let pid = match libc::pid_t::try_from(pid) {
        Ok(pid) if pid > 0 => pid,
        _ => return true,
    };
    // SAFETY: signal 0 sends nothing: kill only checks that `pid` exists and may be signalled.
    // `pid > 0` names exactly one process (never a process group, never every process).
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// This process's parent's pid (1 or a subreaper's once the parent died).
pub fn parent_pid() -> u32 {
    // SAFETY: getppid has no preconditions and cannot fail.
    let pid = unsafe { libc::getppid() };
    u32::try_from(pid).unwrap_or(0)
}

/// Linux: ask the kernel for SIGKILL when the parent dies (`PR_SET_PDEATHSIG`). A failure
/// leaves the polled checks (`orphan::harness_gone`) alone to notice.
#[cfg(target_os = "linux")]
pub fn die_with_parent() {
    let signal = libc::SIGKILL as libc::c_ulong;
    // SAFETY: PR_SET_PDEATHSIG takes one integer argument (a valid signal number) and touches
    // no memory of ours; prctl is variadic, the argument is passed as an unsigned long.
    let _ = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal) };
}

/// Elsewhere there is no such request: the polled checks do it.
#[cfg(not(target_os = "linux"))]
pub fn die_with_parent() {}

/// Whether stdin hung up with nothing left to read: `poll` with no wait says `POLLHUP` and not
/// `POLLIN`. Anything else (data, an error, a file that always reads) is not a hang-up.
pub fn stdin_hung_up() -> bool {
    let mut fd = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `fd` is one live, writable pollfd for the call and the count says one; a zero
    // timeout never blocks.
    let rc = unsafe { libc::poll(&mut fd, 1, 0) };
    rc == 1 && fd.revents & libc::POLLHUP != 0 && fd.revents & libc::POLLIN == 0
}

/// The uid of the process at the other end of a Unix socket: `SO_PEERCRED` on Linux,
/// `getpeereid` on macOS and the BSDs.
#[cfg(target_os = "linux")]
pub fn peer_uid(stream: &std::os::unix::net::UnixStream) -> io::Result<u32> {
    // SAFETY: ucred is plain integers; all zeros is a valid value.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the fd is the live socket `stream` owns; `cred` and `len` are live and writable,
    // and `len` says how many bytes the kernel may write into `cred`.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if rc == 0 {
        Ok(cred.uid)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The uid of the process at the other end of a Unix socket (`getpeereid`).
#[cfg(not(target_os = "linux"))]
pub fn peer_uid(stream: &std::os::unix::net::UnixStream) -> io::Result<u32> {
    let (mut uid, mut gid): (libc::uid_t, libc::gid_t) = (0, 0);
    // SAFETY: the fd is the live socket `stream` owns; both out-pointers are live locals.
    if unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) } == 0 {
        Ok(uid)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// This process's uid.
pub fn own_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The CPUs thread `tid` may run on (0: this thread), or `None` if the kernel does not say.
#[cfg(target_os = "linux")]
fn cpus_of(tid: libc::pid_t) -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is a plain array of integers; all zeros is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `set` is a live, writable cpu_set_t of exactly `size` bytes for the call; the
    // kernel writes at most `size` bytes into it.
    let done = unsafe { libc::sched_getaffinity(tid, size, &mut set) } == 0;
    done.then_some(set)
}

/// Linux: give this thread the CPUs of the process's main thread. `taskset -p` and
/// `sched_setaffinity(pid)` (the bench pins peers so) set the main thread's only, while the
/// peer serves requests on a thread of its own made at start: without this the pin would
/// not hold, and `single_cpu` would not see it. Two syscalls, once per request line.
#[cfg(target_os = "linux")]
pub fn follow_process_cpus() {
    // SAFETY: getpid has no preconditions and cannot fail.
    let main = unsafe { libc::getpid() };
    if let (Some(process), Some(mine)) = (cpus_of(main), cpus_of(0)) {
        // SAFETY: CPU_EQUAL only reads the two sets it is given by reference.
        if !unsafe { libc::CPU_EQUAL(&process, &mine) } {
            let size = std::mem::size_of::<libc::cpu_set_t>();
            // SAFETY: `process` is a live cpu_set_t of `size` bytes that the kernel only reads;
            // pid 0 is this thread. A failure leaves the affinity as it was.
            let _ = unsafe { libc::sched_setaffinity(0, size, &process) };
        }
    }
}

/// Elsewhere threads have no affinity to follow.
#[cfg(not(target_os = "linux"))]
pub fn follow_process_cpus() {}

/// Whether this thread and process `other` may run only on the same single CPU between them
/// (Linux: the union of the two `sched_getaffinity` masks holds one CPU, as when both are pinned
/// with `taskset -c 0`). Spinning cannot help then: the other side needs this very CPU to make
/// progress. Each side pinned to a CPU of its own is two CPUs between them: spinning helps.
/// An unknown `other` (0, or a mask the kernel will not give) counts as elsewhere.
#[cfg(target_os = "linux")]
pub fn shares_one_cpu(other: u32) -> bool {
    let theirs = match libc::pid_t::try_from(other) {
        Ok(pid) if pid > 0 => cpus_of(pid),
        _ => None,
    };
    match (cpus_of(0), theirs) {
        (Some(mine), Some(theirs)) => {
            // SAFETY: cpu_set_t is a plain array of integers; all zeros is a valid (empty) set.
            let mut both: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            let words = std::mem::size_of::<libc::cpu_set_t>() / std::mem::size_of::<u64>();
            // SAFETY: cpu_set_t is exactly `words` u64s of bits (its size is a multiple of 8 on
            // every Linux target); the three pointers are to live, distinct sets of that size.
            unsafe {
                let (a, b, c) = (
                    &mine as *const libc::cpu_set_t as *const u64,
                    &theirs as *const libc::cpu_set_t as *const u64,
                    &mut both as *mut libc::cpu_set_t as *mut u64,
                );
                for i in 0..words {
                    *c.add(i) = *a.add(i) | *b.add(i);
                }
            }
            // SAFETY: CPU_COUNT only reads the bits of the set it is given by reference.
            unsafe { libc::CPU_COUNT(&both) == 1 }
        }
        _ => false,
    }
}

/// Elsewhere: one CPU in the whole machine is the only case known to share it.
#[cfg(not(target_os = "linux"))]
pub fn shares_one_cpu(_other: u32) -> bool {
    std::thread::available_parallelism().map_or(false, |n| n.get() == 1)
}

/// A shared read-write mapping of a whole segment, unmapped on drop.
///
/// Invariants: `base` is the start of a live `MAP_SHARED` mapping of exactly `len` bytes,
/// page-aligned, readable and writable, that only `Drop` unmaps. Everything handed out borrows
/// `self`, so nothing outlives the mapping. Another process maps the same pages: the control
/// words are only ever touched through atomics, and the data bytes only by copies of `u8`s
/// (every bit pattern is a valid `u8`, and no reference into the data area is ever made), so a
/// misbehaving other side can hand us wrong bytes but cannot make this process unsound.
pub struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping belongs to no thread: moving it to another thread moves sole access to it
// (it is not Sync: `write`/`read` through a shared `&Mapping` on two threads could race).
unsafe impl Send for Mapping {}

impl Mapping {
    /// Map the first `len` bytes of `file` shared, read-write. `len` must not exceed the file's
    /// size (the caller checked it with `fstat` or set it with `ftruncate`).
    pub fn new(file: &File, len: usize) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty mapping",
            ));
        }
        // SAFETY: a new mapping placed by the kernel (null hint) aliases no Rust object; `file`
        // is open during the call; the result is checked against MAP_FAILED before any use.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(addr.cast::<u8>())
            .ok_or_else(|| io::Error::new(io::ErrorKind::Other, "mmap returned null"))?;
        Ok(Mapping { base, len })
    }

    /// The address of `size` bytes at `offset`, aligned to `align`; panics (a bug in the
    /// caller, never something the other side can cause) when they are not inside the mapping.
    #[inline]
    fn at(&self, offset: usize, size: usize, align: usize) -> *mut u8 {
        let end = offset.checked_add(size);
        assert!(
            end.map_or(false, |end| end <= self.len) && offset % align == 0,
            "offset {offset} (+{size}) outside the mapping of {} bytes or misaligned",
            self.len
        );
        // The mapping is page-aligned, so `offset % align == 0` makes the address aligned.
        self.base.as_ptr().wrapping_add(offset)
    }

    /// The 32-bit control word at `offset` (a multiple of 4).
    #[inline]
    pub fn u32_at(&self, offset: usize) -> &AtomicU32 {
        let ptr = self.at(offset, 4, std::mem::align_of::<AtomicU32>());
        // SAFETY: `at` checked 4 in-bounds bytes aligned for AtomicU32 (layout of u32, any bits
        // valid) in the live mapping; the reference borrows `self`, so it cannot outlive it, and
        // these bytes are only ever accessed atomically, here and in the other process.
        unsafe { &*ptr.cast::<AtomicU32>() }
    }

    /// The 64-bit control word at `offset` (a multiple of 8).
    #[inline]
    pub fn u64_at(&self, offset: usize) -> &AtomicU64 {
        let ptr = self.at(offset, 8, std::mem::align_of::<AtomicU64>());
        // SAFETY: as in `u32_at`: in bounds, aligned for AtomicU64 (same layout as u64, every
        // bit pattern valid), borrowed from `self`, and only ever accessed atomically.
        unsafe { &*ptr.cast::<AtomicU64>() }
    }

    /// Copy `src` into the segment at `offset`.
    #[inline]
    pub fn write(&self, offset: usize, src: &[u8]) {
        let dst = self.at(offset, src.len(), 1);
        // SAFETY: `at` checked the range is inside the live writable mapping; `src` cannot
        // overlap it (no reference into the mapping is ever made); the ring protocol gives us the
        // range alone (SHM.md invariants 3, 4); u8 stores are valid whatever the other side does.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) }
    }

    /// Copy bytes of the segment at `offset` into `dst`.
    #[inline]
    pub fn read(&self, offset: usize, dst: &mut [u8]) {
        let src = self.at(offset, dst.len(), 1);
        // SAFETY: `at` checked the range is inside the live readable mapping; `dst` is exclusive
        // and outside it; the other side leaves the range alone until we release it (SHM.md
        // invariant 2), and any bytes read are valid u8s.
        unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe the mapping made in `new`, unmapped only here, once;
        // every reference handed out borrowed `self`, so none is alive any more.
        let _ = unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The longest single sleep of `wait` on platforms without a futex.
#[cfg(not(target_os = "linux"))]
const POLL: Duration = Duration::from_micros(200);

/// Sleep while `word` still holds the stored bytes `raw` (compared as they are in memory), at
/// most `timeout`. It may return early, spuriously or on a signal: callers re-check. True when
/// the sleep ended by its time limit (`ETIMEDOUT`), not by a wake, a changed word or a signal.
/// Linux: `FUTEX_WAIT` on the shared word (not the private variant: the word lives in memory
/// shared between processes).
#[cfg(target_os = "linux")]
pub fn wait(word: &AtomicU32, raw: u32, timeout: Duration) -> bool {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos() as libc::c_long, // < 10^9: fits any c_long
    };
    let addr: *const AtomicU32 = word;
    // SAFETY: `addr` is a live aligned 32-bit word (borrowed for the call) the kernel reads
    // atomically; `ts` outlives the call; unused arguments are null/0. Failures (EAGAIN: value
    // changed, ETIMEDOUT, EINTR) just return (ETIMEDOUT told apart), and every caller re-checks.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr,
            libc::FUTEX_WAIT,
            raw,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT)
}

/// Wake every sleeper on `word` (`FUTEX_WAKE`, shared).
#[cfg(target_os = "linux")]
pub fn wake(word: &AtomicU32) {
    let addr: *const AtomicU32 = word;
    // SAFETY: `addr` points to a live, aligned 32-bit word; FUTEX_WAKE does not touch memory
    // beyond looking it up, and ignores the timeout and second-address arguments.
    let _ = unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr,
            libc::FUTEX_WAKE,
            libc::c_int::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

/// Elsewhere: a short sleep if the word still holds `raw`; the caller re-checks and loops.
/// A poll cannot tell a time-out from a wake: never true (SHM.md, "A lost wake-up is counted").
#[cfg(not(target_os = "linux"))]
pub fn wait(word: &AtomicU32, raw: u32, timeout: Duration) -> bool {
    if word.load(std::sync::atomic::Ordering::Acquire) == raw {
        std::thread::sleep(timeout.min(POLL));
    }
    false
}

/// Elsewhere there is nothing to wake: sleepers poll.
#[cfg(not(target_os = "linux"))]
pub fn wake(_word: &AtomicU32) {}
