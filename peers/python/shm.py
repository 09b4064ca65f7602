"""The shared-memory transport of protocols/SHM.md, shaped like a socket for peer.py:
ShmListener.accept() and ShmConnection.recv()/sendall()/settimeout()/close().

Invariants (SHM.md): in each ring the producer alone writes `head`, the consumer alone writes
`tail`. Publish = copy the bytes, then release-store `head`; consume = copy the bytes out, then
release-store `tail`; each side acquire-loads the other's index before touching the bytes it
guards. Control words go through the cffi helper (build_shm.py): plain mmap writes are not
atomic and give no ordering. Every wait has a deadline and checks that the other side lives.
"""
import mmap
import os
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "build"))
try:
    from _cwshm import ffi, lib  # built by build_shm.py (make peers)
except ImportError:  # reported when a shm request arrives, not at start
    ffi = lib = None

MAGIC, VERSION, ENDIAN = 0x4D485343, 1, 0x0102
HEADER_SIZE = 640
STATE, CLOSED = 32, 36                      # header offsets of the futex words
HEAD, DATA_SEQ, PRODUCER_WAITING = 0, 8, 12  # in a ring's control block, producer's line
TAIL, SPACE_SEQ, CONSUMER_WAITING = 128, 136, 140  # consumer's line
SLICE_US = 50_000                            # longest single sleep before re-checking liveness
SPINS = 64


def ring_control(ring):
    return 128 + 256 * ring


def check_name(name):
    ok = name.startswith("/") and 2 <= len(name) <= 31 and all(c.isalnum() or c in "_.-" for c in name[1:])
    if not ok:
        raise ValueError(f"shm name {name!r}: '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md)")


def require_helper():
    if lib is None:
        raise RuntimeError("the shm helper is not built: run `make peers` (peers/python/build_shm.py)")


class Segment:
    """A mapped segment. The creator makes and initialises it; the attacher checks it."""

    def __init__(self, name, fd, size, creator):
        self.name, self.creator = name, creator
        self.mm = mmap.mmap(fd, size)
        os.close(fd)
        self.base = ffi.from_buffer(self.mm)
        self.capacity = struct.unpack_from("<I", self.mm, 8)[0]
        self.unlinked = False

    @classmethod
    def create(cls, name, capacity):
        require_helper()
        check_name(name)
        if capacity < 64 or capacity > 1 << 30 or capacity & (capacity - 1):
            raise ValueError(f"capacity {capacity}: a power of two from 64 to 2^30")
        fd = lib.cw_shm_open(name.encode(), 1)
        if fd < 0:
            raise OSError(-fd, os.strerror(-fd), name)
        size = HEADER_SIZE + 2 * capacity
        try:
            os.ftruncate(fd, size)  # once: macOS allows no second ftruncate
        except OSError:
            os.close(fd)
            lib.cw_shm_unlink(name.encode())
            raise
        mm = mmap.mmap(fd, size)
        struct.pack_into("<IHHIIQII", mm, 0, MAGIC, VERSION, ENDIAN, capacity, HEADER_SIZE, size, os.getpid(), 0)
        mm.close()
        seg = cls(name, fd, size, creator=True)
        lib.cw_store_release_u32(seg.base, STATE, 1)
        return seg

    @classmethod
    def attach(cls, name, deadline):
        require_helper()
        check_name(name)
        while True:
            fd = lib.cw_shm_open(name.encode(), 0)
            if fd >= 0:
                break
            if -fd != 2 or time.monotonic() >= deadline:  # ENOENT: not created yet
                raise TimeoutError(f"no segment {name}") if -fd == 2 else OSError(-fd, os.strerror(-fd), name)
            time.sleep(0.001)
        size = os.fstat(fd).st_size
        if size < HEADER_SIZE:
            os.close(fd)
            raise ValueError(f"segment {name} is {size} bytes, smaller than its header")
        seg = cls(name, fd, size, creator=False)
        while lib.cw_load_acquire_u32(seg.base, STATE) != 1:
            if time.monotonic() >= deadline:
                seg.unmap()
                raise TimeoutError(f"segment {name} never became ready")
            lib.cw_wait_u32(seg.base, STATE, 0, 1000)
        magic, version, endian, capacity, header, total = struct.unpack_from("<IHHIIQ", seg.mm, 0)
        problems = [what for what, bad in (
            (f"magic {magic:#x}", magic != MAGIC), (f"version {version}", version != VERSION),
            (f"endian word {endian:#06x} (written with the wrong byte order?)", endian != ENDIAN),
            (f"segment_size {total} but the segment is {size} bytes",
             not total <= size < total + mmap.PAGESIZE),  # macOS rounds sizes up to whole pages
            (f"capacity {capacity}", capacity < 64 or capacity & (capacity - 1) or header + 2 * capacity != total),
        ) if bad]
        if problems:
            seg.unmap()
            raise ValueError(f"segment {name}: bad {problems[0]}")
        struct.pack_into("<I", seg.mm, 28, os.getpid())
        lib.cw_store_release_u32(seg.base, STATE, 2)
        lib.cw_wake_u32(seg.base, STATE)
        return seg

    def other_pid(self):
        return struct.unpack_from("<I", self.mm, 28 if self.creator else 24)[0]

    def other_gone(self):
        """The other side closed its end or died."""
        other_bit = 2 if self.creator else 1
        if lib.cw_load_acquire_u32(self.base, CLOSED) & other_bit:
            return True
        pid = self.other_pid()
        if pid:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                pass
        return False

    def unlink(self):
        if self.creator and not self.unlinked:
            lib.cw_shm_unlink(self.name.encode())
            self.unlinked = True

    def close(self):
        lib.cw_or_u32(self.base, CLOSED, 1 if self.creator else 2)
        for word in (STATE, *(ring_control(r) + w for r in (0, 1) for w in (DATA_SEQ, SPACE_SEQ))):
            lib.cw_wake_u32(self.base, word)
        self.unlink()
        self.unmap()

    def unmap(self):
        del self.base
        self.mm.close()


class ShmListener:
    def __init__(self, name, capacity):
        self.segment = Segment.create(name, capacity)
        self.timeout = None

    def settimeout(self, seconds):
        self.timeout = seconds

    def accept(self):
        seg = self.segment
        deadline = time.monotonic() + (self.timeout if self.timeout is not None else 1e9)
        while lib.cw_load_acquire_u32(seg.base, STATE) != 2:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no peer attached")
            lib.cw_wait_u32(seg.base, STATE, 1, min(SLICE_US, int(left * 1e6) + 1))
        seg.unlink()  # both sides are mapped: nothing can be left behind from here on
        self.segment = None
        return ShmConnection(seg), None

    def close(self):
        if self.segment is not None:
            self.segment.close()
            self.segment = None


class ShmConnection:
    def __init__(self, segment):
        self.seg = segment
        self.out = ring_control(0 if segment.creator else 1)
        self.inc = ring_control(1 if segment.creator else 0)
        cap = segment.capacity
        self.out_data = HEADER_SIZE + (0 if segment.creator else cap)
        self.in_data = HEADER_SIZE + (cap if segment.creator else 0)
        self.timeout = None
        self.sleeps = 0  # times this side slept on an empty or full ring (reported by BLAST/DRAIN)

    def settimeout(self, seconds):
        self.timeout = seconds

    def _wait(self, ctl, seq, waiting, ready, deadline):
        """Spin, then sleep on the `seq` word until ready() or the deadline (SHM.md, Waiting)."""
        base = self.seg.base
        for _ in range(SPINS):
            if ready():
                return True
        while True:
            seen = lib.cw_load_acquire_u32(base, ctl + seq)
            lib.cw_store_relaxed_u32(base, ctl + waiting, 1)
            lib.cw_fence()
            if ready():
                lib.cw_store_relaxed_u32(base, ctl + waiting, 0)
                return True
            if self.seg.other_gone():
                lib.cw_store_relaxed_u32(base, ctl + waiting, 0)
                return ready()
            left = deadline - time.monotonic()
            if left <= 0:
                lib.cw_store_relaxed_u32(base, ctl + waiting, 0)
                raise TimeoutError("timed out")
            self.sleeps += 1
            lib.cw_wait_u32(base, ctl + seq, seen, min(SLICE_US, int(left * 1e6) + 1))
            lib.cw_store_relaxed_u32(base, ctl + waiting, 0)

    def recv(self, limit):
        """Up to `limit` bytes; b"" when the other side closed or died and nothing is left."""
        base, ctl, cap = self.seg.base, self.inc, self.seg.capacity
        tail = lib.cw_load_acquire_u64(base, ctl + TAIL)  # ours: we are this ring's consumer
        deadline = time.monotonic() + (self.timeout if self.timeout is not None else 1e9)
        if not self._wait(ctl, DATA_SEQ, CONSUMER_WAITING,
                          lambda: lib.cw_load_acquire_u64(base, ctl + HEAD) != tail, deadline):
            return b""
        head = lib.cw_load_acquire_u64(base, ctl + HEAD)
        n = min(limit, head - tail)
        start = tail % cap
        first = min(n, cap - start)
        mm = self.seg.mm
        data = mm[self.in_data + start:self.in_data + start + first] + mm[self.in_data:self.in_data + n - first]
        lib.cw_store_release_u64(base, ctl + TAIL, tail + n)
        lib.cw_bump_u32(base, ctl + SPACE_SEQ)
        lib.cw_fence()
        if lib.cw_load_acquire_u32(base, ctl + PRODUCER_WAITING):
            lib.cw_wake_u32(base, ctl + SPACE_SEQ)
        return data

    def sendall(self, data):
        """Write every byte, waiting for space as long as the other side lives."""
        base, ctl, cap, mm = self.seg.base, self.out, self.seg.capacity, self.seg.mm
        view = memoryview(data)
        if lib.cw_load_acquire_u32(base, CLOSED) & (2 if self.seg.creator else 1):
            raise BrokenPipeError("the other side closed the segment")  # like EPIPE (SHM.md)
        head = lib.cw_load_acquire_u64(base, ctl + HEAD)  # ours: we are this ring's producer
        deadline = time.monotonic() + (self.timeout if self.timeout is not None else 1e9)
        while view:
            def space():
                return cap - (head - lib.cw_load_acquire_u64(base, ctl + TAIL))
            if not self._wait(ctl, SPACE_SEQ, PRODUCER_WAITING, lambda: space() > 0, deadline):
                raise BrokenPipeError("the other side closed or died")
            n = min(len(view), space())
            start = head % cap
            first = min(n, cap - start)
            mm[self.out_data + start:self.out_data + start + first] = view[:first]
            mm[self.out_data:self.out_data + n - first] = view[first:n]
            head += n
            view = view[n:]
            lib.cw_store_release_u64(base, ctl + HEAD, head)
            lib.cw_bump_u32(base, ctl + DATA_SEQ)
            lib.cw_fence()
            if lib.cw_load_acquire_u32(base, ctl + CONSUMER_WAITING):
                lib.cw_wake_u32(base, ctl + DATA_SEQ)

    def close(self):
        if self.seg is not None:
            self.seg.close()
            self.seg = None
