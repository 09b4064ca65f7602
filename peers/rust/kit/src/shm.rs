//! The `shm` transport of protocols/SHM.md (layout version 2): one POSIX shared-memory segment
//! holding two single-producer single-consumer byte rings, one per direction, each carrying the
//! same byte stream as a Unix socket. Safe code over `sys::Mapping` (offsets into the segment,
//! never pointers), in the style of rtrb: each index is written by one side only, sits alone on
//! its own 128-byte line, is published with release / read with acquire, and the other side's
//! index is cached and loaded again only when the cached one says there is not enough. The hot
//! path has no read-modify-write and no syscall: a sleeper is woken (its seq bumped) only when
//! its waiting word says it sleeps. How a side waits is its strategy (`spin`, `futex`,
//! `spin-futex`).
//!
//! Every control word is little-endian in the segment: loads and stores convert (a no-op on
//! little-endian hosts), and a read-modify-write is a compare-and-swap loop on the stored bytes.

use std::cell::Cell;
use std::hint;
use std::sync::atomic::{fence, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::orphan::Watch;
use crate::sys::{self, Mapping};

pub const MAGIC: u32 = 0x4d48_5343; // "CSHM"
pub const VERSION: u16 = 2;
pub const ENDIAN: u16 = 0x0102;
/// Offset of ring 0's data; also the smallest segment.
pub const HEADER_SIZE: usize = 1152;
pub const DEFAULT_CAPACITY: u64 = 65536;
const MIN_CAPACITY: u64 = 64;
const MAX_CAPACITY: u64 = 1 << 30;
/// At most `/` and 30 more characters (macOS).
const MAX_NAME: usize = 31;

// The header (SHM.md, "Segment"): byte offsets.
const H_MAGIC: usize = 0;
const H_VERSION: usize = 4;
const H_ENDIAN: usize = 6;
const H_CAPACITY: usize = 8;
const H_HEADER_SIZE: usize = 12;
const H_SEGMENT_SIZE: usize = 16;
const H_CREATOR_PID: usize = 24;
const H_ATTACHER_PID: usize = 28;
/// 0 creating, 1 ready (creator), 2 attached (attacher); a futex word.
const H_STATE: usize = 32;
/// Bit 0: the creator closed, bit 1: the attacher closed.
const H_CLOSED: usize = 36;

// `state`: 0 while the creator fills the header (ftruncate leaves it so), then these two.
const READY: u32 = 1;
const ATTACHED: u32 = 2;
const CREATOR_BIT: u32 = 1;
const ATTACHER_BIT: u32 = 2;

// A ring's control block: four 128-byte lines, each written by one side only. The indices,
// stored on every frame, sit alone on their lines; the seq and waiting words, written only
// around a sleep, on lines of their own, so that a publisher's look at the other side's
// waiting word stays in its own cache while the other side does not sleep.
/// Total bytes ever written; stored by the producer only.
const HEAD: usize = 0;
/// Bumped by the producer when it wakes a sleeping consumer; the consumer sleeps on it.
const DATA_SEQ: usize = 128;
/// 1 while the producer is (about to be) asleep on a full ring; producer's word.
const PRODUCER_WAITING: usize = 132;
/// Total bytes ever consumed; stored by the consumer only.
const TAIL: usize = 256;
/// Bumped by the consumer when it wakes a sleeping producer; the producer sleeps on it.
const SPACE_SEQ: usize = 384;
/// 1 while the consumer is (about to be) asleep on an empty ring; consumer's word.
const CONSUMER_WAITING: usize = 388;

/// Offset of ring `ring`'s control block: ring 0 carries creator -> attacher, ring 1 back.
fn control(ring: usize) -> usize {
    128 + 512 * ring
}

/// The longest single sleep: between two, a waiting side checks that the other one lives
/// (and, every `orphan::PERIOD`, that the harness does).
const SLICE: Duration = Duration::from_millis(50);
/// How long `spin-futex` keeps looking before it goes to sleep: long enough to ride out a
/// slow moment of the other side without two syscalls, short enough not to steal a busy core.
const SPIN_TIME: Duration = Duration::from_micros(100);
/// How often `spin` checks the deadline and that the other side lives.
const SPIN_CHECK: Duration = Duration::from_millis(1);
/// How often a waiting side asks whether the other side's process still exists.
const LIVENESS: Duration = Duration::from_millis(1);
/// How many looks at the index between two looks at the clock.
const SPINS: u32 = 64;
/// How long CONNECT sleeps between two tries of a name that does not exist yet.
const OPEN_RETRY: Duration = Duration::from_millis(1);

/// How a side waits on an empty or full ring (SHM.md, "Wait strategies").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Never sleep: poll the index, checking the deadline and the other side every millisecond.
    Spin,
    /// Sleep at once.
    Futex,
    /// Poll for about `SPIN_TIME` (not at all when both sides share one CPU), then sleep.
    #[default]
    SpinFutex,
}

impl Strategy {
    /// The strategy of a `WAIT` request's name.
    pub fn parse(name: &str) -> Option<Strategy> {
        match name {
            "spin" => Some(Strategy::Spin),
            "futex" => Some(Strategy::Futex),
            "spin-futex" => Some(Strategy::SpinFutex),
            _ => None,
        }
    }
}

fn runtime(text: String) -> Error {
    Error::Runtime(text)
}

/// A name of SHM.md: `/` and 1 to 30 of `[A-Za-z0-9_.-]`.
fn check_name(name: &str) -> Result<()> {
    let rest = name.strip_prefix('/').unwrap_or("");
    let ok = !rest.is_empty()
        && name.len() <= MAX_NAME
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !ok {
        let shown: String = name.chars().take(40).collect();
        return Err(runtime(format!(
            "shm name {shown:?}: '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md)"
        )));
    }
    Ok(())
}

/// Whether `capacity` is a ring size of SHM.md: a power of two from 64 to 2^30.
fn capacity_ok(capacity: u64) -> bool {
    (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) && capacity.is_power_of_two()
}

/// How long to sleep next: a slice, or what is left before `deadline` (`None`: the deadline
/// passed). No deadline means "as long as the other side lives".
fn next_sleep(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    match deadline {
        None => Some(SLICE),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(now);
            (!left.is_zero()).then(|| left.min(SLICE))
        }
    }
}

/// A mapped segment, as its creator or its attacher.
struct Segment {
    map: Mapping,
    name: String,
    creator: bool,
    /// Bytes of each ring's data area: a power of two.
    capacity: u64,
    /// Whether this side takes part (the creator always, the attacher once it set `state`
    /// to 2): only then does dropping it set its closed bit.
    joined: bool,
    unlinked: bool,
    /// When `kill(pid, 0)` last said the other side lives: asked at most every `LIVENESS`.
    alive_at: Cell<Option<Instant>>,
}

impl Segment {
    // -- control words: little-endian in the segment, atomics over the mapping

    fn load(&self, offset: usize, order: Ordering) -> u32 {
        u32::from_le(self.map.u32_at(offset).load(order))
    }

    fn store(&self, offset: usize, value: u32, order: Ordering) {
        self.map.u32_at(offset).store(value.to_le(), order);
    }

    fn load64(&self, offset: usize, order: Ordering) -> u64 {
        u64::from_le(self.map.u64_at(offset).load(order))
    }

    fn store64(&self, offset: usize, value: u64, order: Ordering) {
        self.map.u64_at(offset).store(value.to_le(), order);
    }

    /// Read-modify-write a 32-bit word: a compare-and-swap loop on its stored (little-endian)
    /// bytes, sequentially consistent. Returns the new value.
    fn update(&self, offset: usize, f: impl Fn(u32) -> u32) -> u32 {
        let word = self.map.u32_at(offset);
        let mut raw = word.load(Ordering::Relaxed);
        loop {
            let new = f(u32::from_le(raw)).to_le();
            match word.compare_exchange_weak(raw, new, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return u32::from_le(new),
                Err(now) => raw = now,
            }
        }
    }

    /// Sleep while the word at `offset` still holds `expected`, at most `slice`; true when the
    /// sleep ended by its time limit (only where the wait primitive tells: `sys::wait`).
    fn wait(&self, offset: usize, expected: u32, slice: Duration) -> bool {
        sys::wait(self.map.u32_at(offset), expected.to_le(), slice)
    }

    fn wake(&self, offset: usize) {
        sys::wake(self.map.u32_at(offset));
    }

    // -- lifecycle (SHM.md, "Lifecycle")

    /// Make the segment: `shm_open(O_CREAT | O_EXCL)`, one `ftruncate`, `mmap`, the header,
    /// then `state = 1` with release.
    fn create(name: &str, capacity: u64) -> Result<Segment> {
        check_name(name)?;
        if !capacity_ok(capacity) {
            return Err(runtime(format!(
                "capacity {capacity}: a power of two from {MIN_CAPACITY} to 2^30"
            )));
        }
        let size = HEADER_SIZE as u64 + 2 * capacity;
        let len = usize::try_from(size)
            .map_err(|_| runtime(format!("a segment of {size} bytes does not fit in memory")))?;
        let file =
            sys::shm_open(name, true).map_err(|e| runtime(format!("shm_open {name}: {e}")))?;
        let mut seg = Segment {
            map: match file.set_len(size).and_then(|()| Mapping::new(&file, len)) {
                Ok(map) => map,
                Err(e) => {
                    let _ = sys::shm_unlink(name);
                    return Err(runtime(format!("creating {name}: {e}")));
                }
            },
            name: name.to_owned(),
            creator: true,
            capacity,
            joined: false,
            unlinked: false,
            alive_at: Cell::new(None),
        };
        drop(file); // the mapping keeps the segment; the descriptor is not needed any more
        let mut header = [0u8; 32];
        header[H_MAGIC..H_MAGIC + 4].copy_from_slice(&MAGIC.to_le_bytes());
        header[H_VERSION..H_VERSION + 2].copy_from_slice(&VERSION.to_le_bytes());
        header[H_ENDIAN..H_ENDIAN + 2].copy_from_slice(&ENDIAN.to_le_bytes());
        header[H_CAPACITY..H_CAPACITY + 4].copy_from_slice(&(capacity as u32).to_le_bytes());
        header[H_HEADER_SIZE..H_HEADER_SIZE + 4]
            .copy_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
        header[H_SEGMENT_SIZE..H_SEGMENT_SIZE + 8].copy_from_slice(&size.to_le_bytes());
        seg.map.write(0, &header[..H_CREATOR_PID]);
        seg.store(H_CREATOR_PID, std::process::id(), Ordering::Relaxed);
        seg.store(H_ATTACHER_PID, 0, Ordering::Relaxed);
        // Release: an attacher that acquires `state == 1` sees the whole header.
        seg.store(H_STATE, READY, Ordering::Release);
        seg.joined = true;
        Ok(seg)
    }

    /// Attach to a segment: open it (retrying until it exists or `deadline`), check it, store
    /// our pid, then `state = 2` with release, and wake the creator.
    fn attach(name: &str, deadline: Instant) -> Result<Segment> {
        check_name(name)?;
        let mut watch = Watch::default();
        let file = loop {
            match sys::shm_open(name, false) {
                Ok(file) => break file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let now = Instant::now();
                    let left = deadline.saturating_duration_since(now);
                    if left.is_zero() {
                        return Err(Error::Timeout(format!("no shm segment {name}")));
                    }
                    watch.tick(now);
                    thread::sleep(left.min(OPEN_RETRY));
                }
                Err(e) => return Err(runtime(format!("shm_open {name}: {e}"))),
            }
        };
        let size = file
            .metadata()
            .map_err(|e| runtime(format!("fstat {name}: {e}")))?
            .len();
        let largest = HEADER_SIZE as u64 + 2 * MAX_CAPACITY;
        if size < HEADER_SIZE as u64 || size > largest {
            return Err(runtime(format!(
                "segment {name} is {size} bytes: bad size, not {HEADER_SIZE} to {largest}"
            )));
        }
        let len = usize::try_from(size)
            .map_err(|_| runtime(format!("a segment of {size} bytes does not fit in memory")))?;
        let map = Mapping::new(&file, len).map_err(|e| runtime(format!("mmap {name}: {e}")))?;
        drop(file);
        let mut seg = Segment {
            map,
            name: name.to_owned(),
            creator: false,
            capacity: 0,
            joined: false,
            unlinked: true, // not ours to unlink
            alive_at: Cell::new(None),
        };
        loop {
            match seg.load(H_STATE, Ordering::Acquire) {
                READY => break,
                ATTACHED => return Err(runtime(format!("segment {name} already has an attacher"))),
                state => match next_sleep(Some(deadline), Instant::now()) {
                    Some(slice) => {
                        watch.tick(Instant::now());
                        seg.wait(H_STATE, state, slice);
                    }
                    None => {
                        let text = format!("segment {name} never became ready (state {state})");
                        return Err(Error::Timeout(text));
                    }
                },
            }
        }
        seg.capacity = seg.check(size)?;
        seg.store(H_ATTACHER_PID, std::process::id(), Ordering::Relaxed);
        seg.store(H_STATE, ATTACHED, Ordering::Release);
        seg.joined = true;
        seg.wake(H_STATE);
        Ok(seg)
    }

    /// Check a ready header against the segment's real size; the ring capacity.
    fn check(&self, size: u64) -> Result<u64> {
        let mut h = [0u8; 24];
        self.map.read(0, &mut h);
        let u16_at = |at: usize| u16::from_le_bytes([h[at], h[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let magic = u32_at(H_MAGIC);
        let version = u16_at(H_VERSION);
        let endian = u16_at(H_ENDIAN);
        let capacity = u64::from(u32_at(H_CAPACITY));
        let header = u64::from(u32_at(H_HEADER_SIZE));
        let mut total = [0u8; 8];
        total.copy_from_slice(&h[H_SEGMENT_SIZE..H_SEGMENT_SIZE + 8]);
        let total = u64::from_le_bytes(total);
        let name = &self.name;
        let problem = if magic != MAGIC {
            format!("magic {magic:#010x}, not {MAGIC:#010x}")
        } else if version != VERSION {
            format!("version {version}: this peer speaks version {VERSION}")
        } else if endian != ENDIAN {
            format!(
                "endian word {endian:#06x}, not {ENDIAN:#06x} (written with the wrong byte order?)"
            )
        } else if total != size {
            format!("segment_size {total} but the segment is {size} bytes")
        } else if header != HEADER_SIZE as u64 {
            format!("header_size {header}, not {HEADER_SIZE}")
        } else if !capacity_ok(capacity) || header + 2 * capacity != size {
            format!("capacity {capacity} (a power of two from 64 to 2^30, and {HEADER_SIZE} + 2 x capacity = segment_size)")
        } else {
            return Ok(capacity);
        };
        Err(runtime(format!("segment {name}: bad {problem}")))
    }

    /// Whether the other side set its closed bit.
    #[inline]
    fn other_closed(&self) -> bool {
        let bit = if self.creator {
            ATTACHER_BIT
        } else {
            CREATOR_BIT
        };
        self.load(H_CLOSED, Ordering::Acquire) & bit != 0
    }

    /// Whether the other side closed its end or died (its pid looked at only if `LIVENESS`
    /// passed since it was last seen alive: a sleep on every frame costs no extra syscall).
    fn other_gone(&self, now: Instant) -> bool {
        if self.other_closed() {
            return true;
        }
        if let Some(at) = self.alive_at.get() {
            if now.saturating_duration_since(at) < LIVENESS {
                return false;
            }
        }
        let pid_at = if self.creator {
            H_ATTACHER_PID
        } else {
            H_CREATOR_PID
        };
        let alive = sys::alive(self.load(pid_at, Ordering::Relaxed));
        self.alive_at.set(Some(now));
        !alive
    }

    fn unlink(&mut self) {
        if !self.unlinked {
            self.unlinked = true;
            let _ = sys::shm_unlink(&self.name); // gone already is fine
        }
    }
}

impl Drop for Segment {
    /// CLOSE: OR our bit into `closed`, wake every futex word, unlink if not done yet; the
    /// mapping is unmapped when `map` drops right after.
    fn drop(&mut self) {
        if self.joined {
            let bit = if self.creator {
                CREATOR_BIT
            } else {
                ATTACHER_BIT
            };
            self.update(H_CLOSED, |closed| closed | bit);
            self.wake(H_STATE);
            for ring in 0..2 {
                self.wake(control(ring) + DATA_SEQ);
                self.wake(control(ring) + SPACE_SEQ);
            }
        }
        self.unlink();
    }
}

/// A segment made by `LISTEN`, waiting for its attacher.
pub struct Listener {
    seg: Option<Segment>,
}

impl Listener {
    pub fn create(name: &str, capacity: u64) -> Result<Listener> {
        Ok(Listener {
            seg: Some(Segment::create(name, capacity)?),
        })
    }

    /// Wait until the attacher set `state = 2`, then unlink the name: from now on only the two
    /// mappings keep the segment alive, and nothing is left behind if either side dies.
    pub fn accept(&mut self, deadline: Instant) -> Result<Conn> {
        let seg = self.seg.as_ref().ok_or_else(|| {
            runtime("this shm endpoint has had its connection: CLOSE, then LISTEN again".into())
        })?;
        let mut watch = Watch::default();
        loop {
            let state = seg.load(H_STATE, Ordering::Acquire);
            if state == ATTACHED {
                break;
            }
            let now = Instant::now();
            match next_sleep(Some(deadline), now) {
                Some(slice) => {
                    watch.tick(now);
                    seg.wait(H_STATE, state, slice);
                }
                None => return Err(Error::Timeout("no peer attached".into())),
            }
        }
        let mut seg = self.seg.take().expect("checked above");
        seg.unlink();
        Conn::new(seg)
    }
}

/// How a wait ended.
enum Waited {
    /// The condition holds; the other side's index as just loaded (acquire).
    Ready(u64),
    /// The other side closed or died, and the condition does not hold.
    Gone,
    /// The deadline passed.
    Expired,
}

/// What one `read` got.
pub enum Got {
    /// This many bytes were copied out.
    Bytes(usize),
    /// The other side closed or died and nothing is left to read.
    Closed,
    /// The deadline passed with nothing to read.
    TimedOut,
}

/// How often a side slept on an empty or full ring, and how many of those sleeps ended by their
/// time limit although the other side had moved its index without bumping the seq word slept
/// on: a wake-up it owed (SHM.md, "A lost wake-up is counted").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sleeps {
    pub slept: u64,
    pub missed: u64,
}

/// How this side waits: its strategy, and how long `spin-futex` polls before it sleeps (zero
/// when this process may run on one CPU only: the other side would need that very CPU).
#[derive(Clone, Copy)]
struct Waiting {
    strategy: Strategy,
    budget: Duration,
}

/// The words of one wait: the ring's control block, the seq word slept on (the other side's)
/// and our waiting word.
#[derive(Clone, Copy)]
struct Words {
    ctl: usize,
    seq: usize,
    waiting: usize,
}

/// Poll `ready` with the CPU's pause hint for `budget`, the clock read only every `SPINS`
/// looks (and not at all when the first looks succeed): the index, or `None` when the budget
/// is spent.
#[inline]
fn spin_for(
    seg: &Segment,
    budget: Duration,
    ready: &impl Fn(&Segment) -> Option<u64>,
) -> Option<u64> {
    let mut began: Option<Instant> = None;
    loop {
        for _ in 0..SPINS {
            if let Some(index) = ready(seg) {
                return Some(index);
            }
            hint::spin_loop();
        }
        let now = Instant::now();
        if now.saturating_duration_since(*began.get_or_insert(now)) >= budget {
            return None;
        }
    }
}

/// `spin`: poll `ready` and never sleep; about every `SPIN_CHECK` look whether the other side
/// left, and at every look at the clock whether the deadline passed.
fn spin_only(
    seg: &Segment,
    deadline: Option<Instant>,
    ready: &impl Fn(&Segment) -> Option<u64>,
) -> Waited {
    let mut checked: Option<Instant> = None;
    let mut watch = Watch::default();
    loop {
        for _ in 0..SPINS {
            if let Some(index) = ready(seg) {
                return Waited::Ready(index);
            }
            hint::spin_loop();
        }
        let now = Instant::now();
        if deadline.map_or(false, |deadline| now >= deadline) {
            return ready(seg).map_or(Waited::Expired, Waited::Ready);
        }
        let last = *checked.get_or_insert(now);
        if now.saturating_duration_since(last) >= SPIN_CHECK {
            if seg.other_gone(now) {
                // Its last bytes were published before its closed bit or its death.
                return ready(seg).map_or(Waited::Gone, Waited::Ready);
            }
            watch.tick(now);
            checked = Some(now);
        }
    }
}

/// Sleep on the seq word until `ready` gives the other side's index, the other side leaves or
/// the deadline passes (SHM.md, "Waiting"):
///
/// ```text
/// seen = load_acquire(seq); store(waiting, 1); fence(seq_cst);
/// if ready: cancel;  if the other side left: stop;  wait(&seq, seen, slice);  store(waiting, 0)
/// ```
///
/// The other side publishes its index, fences and then reads `waiting`, and bumps `seq` only
/// when it saw 1: of the two seq_cst fences one comes first, so either we see its index or it
/// sees our flag, and then its bump changes the word we sleep on (we read `seen` before we set
/// the flag), so the futex either refuses to sleep or is woken. A sleep that still ends by its
/// time limit with the index moved and `seq` unchanged is a lost wake-up: counted in `missed`
/// (the index loaded first: a correct other side bumps after its index store, so only a bump
/// still on its way between the two loads can be counted).
fn sleep_until(
    seg: &Segment,
    sleeps: &mut Sleeps,
    w: Words,
    deadline: Option<Instant>,
    ready: &impl Fn(&Segment) -> Option<u64>,
) -> Waited {
    let mut watch = Watch::default();
    loop {
        let seen = seg.load(w.ctl + w.seq, Ordering::Acquire);
        seg.store(w.ctl + w.waiting, 1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let end = match ready(seg) {
            Some(index) => Some(Waited::Ready(index)),
            None => {
                let now = Instant::now();
                if seg.other_gone(now) {
                    // Its last bytes were published before its closed bit or its death.
                    Some(ready(seg).map_or(Waited::Gone, Waited::Ready))
                } else if let Some(slice) = next_sleep(deadline, now) {
                    watch.tick(now); // the harness, every PERIOD of a long wait
                    sleeps.slept += 1;
                    if seg.wait(w.ctl + w.seq, seen, slice)
                        && ready(seg).is_some()
                        && seg.load(w.ctl + w.seq, Ordering::Acquire) == seen
                    {
                        sleeps.missed += 1;
                    }
                    None
                } else {
                    Some(Waited::Expired)
                }
            }
        };
        seg.store(w.ctl + w.waiting, 0, Ordering::Relaxed);
        if let Some(end) = end {
            return end;
        }
    }
}

/// Wait by this side's strategy until `ready` gives the other side's index.
fn wait_for(
    seg: &Segment,
    how: Waiting,
    sleeps: &mut Sleeps,
    words: Words,
    deadline: Option<Instant>,
    ready: impl Fn(&Segment) -> Option<u64>,
) -> Waited {
    match how.strategy {
        Strategy::Spin => return spin_only(seg, deadline, &ready),
        Strategy::SpinFutex if !how.budget.is_zero() => {
            if let Some(index) = spin_for(seg, how.budget, &ready) {
                return Waited::Ready(index);
            }
        }
        Strategy::SpinFutex | Strategy::Futex => {}
    }
    sleep_until(seg, sleeps, words, deadline, &ready)
}

/// One side's ends of the two rings of a segment.
///
/// Invariants (SHM.md): in ring `out` we are the producer and alone store `head`; in ring `inc`
/// we are the consumer and alone store `tail`. `tail <= head <= tail + capacity` in each ring.
/// `out_head`/`inc_tail` are always the values we last stored; `out_tail`/`inc_head` are the
/// other side's index as last loaded with acquire (checked against invariant 1), so the bytes
/// they guard are visible (the other side's copy happened before its release store) and stay
/// ours until we publish. They are loaded again only when they say there is not enough: the
/// other side's line is not pulled into our cache on every frame.
pub struct Conn {
    seg: Segment,
    capacity: u64,
    /// Control block and data offset of the ring we write.
    out: usize,
    out_data: usize,
    out_head: u64,
    out_tail: u64,
    /// Control block and data offset of the ring we read.
    inc: usize,
    inc_data: usize,
    inc_tail: u64,
    inc_head: u64,
    waiting: Waiting,
    /// How often this side slept on an empty or full ring, and the lost wake-ups among them.
    pub sleeps: Sleeps,
}

impl Conn {
    fn new(seg: Segment) -> Result<Conn> {
        let (out, inc) = if seg.creator { (0, 1) } else { (1, 0) };
        let capacity = seg.capacity;
        let data = |ring: usize| HEADER_SIZE + ring * capacity as usize;
        let (out, out_data, inc, inc_data) = (control(out), data(out), control(inc), data(inc));
        let other = seg.load(
            if seg.creator {
                H_ATTACHER_PID
            } else {
                H_CREATOR_PID
            },
            Ordering::Relaxed,
        );
        let budget = if sys::shares_one_cpu(other) {
            Duration::ZERO
        } else {
            SPIN_TIME
        };
        let conn = Conn {
            out_head: seg.load64(out + HEAD, Ordering::Relaxed),
            out_tail: seg.load64(out + TAIL, Ordering::Acquire),
            inc_tail: seg.load64(inc + TAIL, Ordering::Relaxed),
            inc_head: seg.load64(inc + HEAD, Ordering::Acquire),
            seg,
            capacity,
            out,
            out_data,
            inc,
            inc_data,
            waiting: Waiting {
                strategy: Strategy::default(),
                budget,
            },
            sleeps: Sleeps::default(),
        };
        conn.used(conn.out_head, conn.out_tail)?;
        conn.used(conn.inc_head, conn.inc_tail)?;
        Ok(conn)
    }

    pub fn attach(name: &str, deadline: Instant) -> Result<Conn> {
        Conn::new(Segment::attach(name, deadline)?)
    }

    /// Wait from now on by `strategy`.
    pub fn set_strategy(&mut self, strategy: Strategy) {
        self.waiting.strategy = strategy;
    }

    /// `used` bytes between two indices, or an error if the other side broke invariant 1.
    fn used(&self, head: u64, tail: u64) -> Result<u64> {
        head.checked_sub(tail)
            .filter(|&used| used <= self.capacity)
            .ok_or_else(|| {
                runtime(format!(
                    "shm ring out of step: head {head}, tail {tail}, capacity {}",
                    self.capacity
                ))
            })
    }

    fn gone(&self) -> Error {
        let name = &self.seg.name;
        Error::Closed(format!(
            "by the other side of shm {name} (it closed or died)"
        ))
    }

    /// Write every byte of `bytes`, waiting for space as long as the other side lives (and
    /// until `deadline`, if any). A frame larger than the ring goes through it piece by piece,
    /// as the consumer frees space. A closed other side fails at once, like `EPIPE`.
    pub fn write_all(&mut self, mut bytes: &[u8], deadline: Option<Instant>) -> Result<()> {
        if self.seg.other_closed() {
            return Err(self.gone());
        }
        let cap = self.capacity;
        while !bytes.is_empty() {
            let mut free = cap - (self.out_head - self.out_tail);
            if free < cap.min(bytes.len() as u64) {
                // Not enough room by the tail we knew: look again, and wait if the ring is full.
                let mut tail = self.seg.load64(self.out + TAIL, Ordering::Acquire);
                if self.out_head.wrapping_sub(tail) == cap {
                    let head = self.out_head;
                    let ctl = self.out;
                    let full = |seg: &Segment| {
                        let tail = seg.load64(ctl + TAIL, Ordering::Acquire);
                        (head.wrapping_sub(tail) != cap).then_some(tail)
                    };
                    let words = Words {
                        ctl,
                        seq: SPACE_SEQ,
                        waiting: PRODUCER_WAITING,
                    };
                    let how = self.waiting;
                    tail = match wait_for(&self.seg, how, &mut self.sleeps, words, deadline, full) {
                        Waited::Ready(tail) => tail,
                        Waited::Gone => return Err(self.gone()),
                        Waited::Expired => {
                            let text = "writing to shm: the other side did not read in time";
                            return Err(Error::Timeout(text.into()));
                        }
                    };
                }
                free = cap - self.used(self.out_head, tail)?;
                self.out_tail = tail;
            }
            let n = free.min(bytes.len() as u64) as usize;
            let (now, rest) = bytes.split_at(n);
            // Copy into the free space, wrapping at the end of the data area.
            let start = (self.out_head & (cap - 1)) as usize;
            let first = n.min(cap as usize - start);
            self.seg.map.write(self.out_data + start, &now[..first]);
            if first < n {
                self.seg.map.write(self.out_data, &now[first..]);
            }
            // Publish: the bytes, then `head` with release; fence; wake a sleeper if any.
            self.out_head += n as u64;
            self.seg
                .store64(self.out + HEAD, self.out_head, Ordering::Release);
            fence(Ordering::SeqCst);
            if self
                .seg
                .load(self.out + CONSUMER_WAITING, Ordering::Relaxed)
                == 1
            {
                self.seg.update(self.out + DATA_SEQ, |s| s.wrapping_add(1));
                self.seg.wake(self.out + DATA_SEQ);
            }
            bytes = rest;
        }
        Ok(())
    }

    /// Copy up to `dst.len()` bytes of the stream into `dst`, in one consume, waiting for some
    /// until `deadline`. `need` is how many the caller is short of: while the head we knew
    /// covers it, it is not loaded again. Bytes the other side published before it closed or
    /// died are still read.
    pub fn read(&mut self, dst: &mut [u8], need: usize, deadline: Instant) -> Result<Got> {
        let cap = self.capacity;
        let mut avail = self.inc_head - self.inc_tail;
        if avail < need.max(1) as u64 {
            let mut head = self.seg.load64(self.inc + HEAD, Ordering::Acquire);
            if head == self.inc_tail {
                let (tail, ctl) = (self.inc_tail, self.inc);
                let empty = |seg: &Segment| {
                    let head = seg.load64(ctl + HEAD, Ordering::Acquire);
                    (head != tail).then_some(head)
                };
                let words = Words {
                    ctl,
                    seq: DATA_SEQ,
                    waiting: CONSUMER_WAITING,
                };
                let how = self.waiting;
                head = match wait_for(
                    &self.seg,
                    how,
                    &mut self.sleeps,
                    words,
                    Some(deadline),
                    empty,
                ) {
                    Waited::Ready(head) => head,
                    Waited::Gone => return Ok(Got::Closed),
                    Waited::Expired => return Ok(Got::TimedOut),
                };
            }
            avail = self.used(head, self.inc_tail)?;
            self.inc_head = head;
        }
        let n = avail.min(dst.len() as u64) as usize;
        // Copy out, wrapping at the end of the data area.
        let start = (self.inc_tail & (cap - 1)) as usize;
        let first = n.min(cap as usize - start);
        self.seg.map.read(self.inc_data + start, &mut dst[..first]);
        if first < n {
            self.seg.map.read(self.inc_data, &mut dst[first..n]);
        }
        // Consume: `tail` with release once the bytes are copied out; fence; wake a sleeper.
        self.inc_tail += n as u64;
        self.seg
            .store64(self.inc + TAIL, self.inc_tail, Ordering::Release);
        fence(Ordering::SeqCst);
        if self
            .seg
            .load(self.inc + PRODUCER_WAITING, Ordering::Relaxed)
            == 1
        {
            self.seg.update(self.inc + SPACE_SEQ, |s| s.wrapping_add(1));
            self.seg.wake(self.inc + SPACE_SEQ);
        }
        Ok(Got::Bytes(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("/cw0123abcdef").is_ok());
        assert!(check_name("/a.b_c-d").is_ok());
        for bad in [
            "",
            "/",
            "cw",
            "/a/b",
            "/a b",
            &format!("/{}", "x".repeat(31)),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn capacities() {
        assert!(capacity_ok(64) && capacity_ok(4096) && capacity_ok(1 << 30));
        assert!(!capacity_ok(32) && !capacity_ok(100) && !capacity_ok(1 << 31) && !capacity_ok(0));
    }

    #[test]
    fn a_stream_through_a_small_ring() {
        let name = format!("/cwtest{}", std::process::id());
        let far = Instant::now() + Duration::from_secs(10);
        let mut listener = Listener::create(&name, 64).unwrap();
        let mut tx = Conn::attach(&name, far).unwrap();
        let mut rx = listener.accept(far).unwrap();
        let sent: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let writer = thread::spawn(move || {
            tx.write_all(&sent, None).unwrap();
            sent
        });
        let (mut got, mut buf) = (Vec::new(), [0u8; 100]);
        while got.len() < 1000 {
            match rx.read(&mut buf, 1, far).unwrap() {
                Got::Bytes(n) => got.extend_from_slice(&buf[..n]),
                _ => panic!("closed or timed out after {} bytes", got.len()),
            }
        }
        let sent = writer.join().unwrap(); // drops tx: closed
        assert_eq!(got, sent);
        assert!(matches!(rx.read(&mut buf, 1, far).unwrap(), Got::Closed));
        assert_eq!(rx.sleeps.missed, 0, "a correct producer owes no wake-up");
    }

    /// A producer that publishes `head` without the bump and wake it owes a sleeping consumer:
    /// the consumer's sleep ends by its time limit with `head` moved and `data_seq` unchanged,
    /// and it counts a lost wake-up (Linux: the futex tells a time-out; the poll never counts).
    #[test]
    fn a_lost_wake_up_is_counted() {
        let name = format!("/cwlost{}", std::process::id());
        let far = Instant::now() + Duration::from_secs(10);
        let mut listener = Listener::create(&name, 64).unwrap();
        let tx = Conn::attach(&name, far).unwrap();
        let mut rx = listener.accept(far).unwrap();
        rx.set_strategy(Strategy::Futex);
        let faulty = thread::spawn(move || {
            while tx.seg.load(tx.out + CONSUMER_WAITING, Ordering::Acquire) != 1 {
                thread::sleep(Duration::from_millis(1));
            }
            thread::sleep(Duration::from_millis(5)); // the consumer is in the futex by now
            tx.seg.map.write(tx.out_data, b"late");
            tx.seg.store64(tx.out + HEAD, 4, Ordering::Release); // and no bump, no wake
            thread::sleep(Duration::from_millis(200));
            tx
        });
        let mut buf = [0u8; 8];
        let start = Instant::now();
        assert!(matches!(rx.read(&mut buf, 1, far).unwrap(), Got::Bytes(4)));
        assert_eq!(&buf[..4], b"late");
        assert!(
            start.elapsed() >= SLICE / 2,
            "woken although nobody woke it"
        );
        let expected = u64::from(cfg!(target_os = "linux"));
        assert_eq!((rx.sleeps.slept, rx.sleeps.missed), (1, expected));
        drop(faulty.join().unwrap());
    }
}
