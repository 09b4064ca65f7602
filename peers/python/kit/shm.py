"""The shared-memory transport of protocols/SHM.md (layout version 2), shaped like a socket for
peer.py: ShmListener.accept() and ShmConnection.recv()/sendall()/settimeout()/close(), plus
ShmConnection.frame_reader() for the benchmarks' reads of one whole frame per call (bench.py).

Invariants (SHM.md): in each ring the producer alone writes `head`, the consumer alone writes
`tail`. Publish = copy the bytes, then release-store `head`; consume = copy the bytes out, then
release-store `tail`; each side acquire-loads the other's index before touching the bytes it
guards, and wakes the other side only when that side's `waiting` word says it sleeps. All of
that, and every wait (with its deadline and liveness checks, the harness's included: alive.py),
is in the cffi helper (build_shm.py): plain mmap writes are not atomic and give no ordering, and
a ring polled from Python would cost microseconds a turn. The waits here (ACCEPT, CONNECT) check
the harness between slices of at most 50 ms.
"""
import mmap
import os
import struct
import time

import alive

ffi = lib = None   # the helper build_shm.py builds into the peer's build/ (cwkit.run puts it on sys.path)


def _load():
    global ffi, lib
    if lib is None:
        try:
            from _cwshm import ffi, lib  # noqa: F811
        except ImportError:  # reported when a shm request arrives, not at start
            pass

MAGIC, VERSION, ENDIAN = 0x4D485343, 2, 0x0102
HEADER_SIZE = 1152
STATE, CLOSED = 32, 36                      # header offsets of the futex words
SLICE_US = 50_000                           # longest single sleep before re-checking liveness
FOREVER = (1 << 63) - 1                     # a deadline that never comes (cw_now_ns clock)

# Wait strategies (SHM.md, "Wait strategies"): how long a side polls before it sleeps, in ns;
# -1 polls for ever. WAIT changes the strategy of the open connection and of the next ones.
SPIN_NS = {"spin": -1, "futex": 0, "spin-futex": 100_000}
wait_strategy = "spin-futex"


def cpus_usable(other_pid):
    """How many CPUs this side and the other may run on between them (Linux affinities). With
    one (both pinned to the same core by taskset), the other side cannot run while this one
    spins. A side pinned to a CPU of its own (the bench pins each peer) still has the other's."""
    try:
        ours = os.sched_getaffinity(0)
    except AttributeError:  # no sched_getaffinity (macOS): assume apart
        return os.cpu_count() or 2
    try:
        return len(ours | os.sched_getaffinity(other_pid)) if other_pid else max(len(ours), 2)
    except OSError:  # theirs unknown: assume apart, as the C peer does
        return max(len(ours), 2)


def check_name(name):
    ok = name.startswith("/") and 2 <= len(name) <= 31 and all(c.isalnum() or c in "_.-" for c in name[1:])
    if not ok:
        raise ValueError(f"shm name {name!r}: '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md)")


def require_helper():
    _load()
    if lib is None:
        raise RuntimeError("the shm helper is not built: run `crosswire build` (the Python kit's build_shm.py)")


def deadline_ns(seconds):
    """A deadline on the helper's clock, `seconds` from now (None: never)."""
    return FOREVER if seconds is None else lib.cw_now_ns() + max(0, int(seconds * 1e9))


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
            alive.check()
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
            alive.check()
            lib.cw_wait_u32(seg.base, STATE, 0, 1000)
        magic, version, endian, capacity, header, total = struct.unpack_from("<IHHIIQ", seg.mm, 0)
        problems = [what for what, bad in (
            (f"magic {magic:#x}", magic != MAGIC),
            (f"version {version} (this peer speaks layout version {VERSION})", version != VERSION),
            (f"endian word {endian:#06x} (written with the wrong byte order?)", endian != ENDIAN),
            (f"segment_size {total} but the segment is {size} bytes",
             not total <= size < total + mmap.PAGESIZE),  # macOS rounds sizes up to whole pages
            (f"capacity {capacity}", capacity < 64 or capacity & (capacity - 1) or header + 2 * capacity != total),
            (f"header_size {header}", header != HEADER_SIZE),
        ) if bad]
        if problems:
            seg.unmap()
            raise ValueError(f"segment {name}: bad {problems[0]}")
        struct.pack_into("<I", seg.mm, 28, os.getpid())
        lib.cw_store_release_u32(seg.base, STATE, 2)
        lib.cw_wake_u32(seg.base, STATE)
        return seg

    def unlink(self):
        if self.creator and not self.unlinked:
            lib.cw_shm_unlink(self.name.encode())
            self.unlinked = True

    def close(self):
        lib.cw_or_u32(self.base, CLOSED, 1 if self.creator else 2)
        lib.cw_wake_u32(self.base, STATE)
        self.unlink()
        self.unmap()

    def unmap(self):
        ffi.release(self.base)
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
            alive.check()
            lib.cw_wait_u32(seg.base, STATE, 1, min(SLICE_US, int(left * 1e6) + 1))
        seg.unlink()  # both sides are mapped: nothing can be left behind from here on
        self.segment = None
        return ShmConnection(seg), None

    def close(self):
        if self.segment is not None:
            self.segment.close()
            self.segment = None


class ShmConnection:
    """One side of a connected segment: it produces into one ring and consumes the other."""

    def __init__(self, segment):
        self.seg = segment
        self.c = ffi.new("cw_conn *")
        lib.cw_conn_init(self.c, segment.base, segment.creator, segment.capacity)
        self.c.parent = alive.parent                # the helper's waits check the harness too
        self.set_wait(wait_strategy)
        self.timeout = None
        self.chunk = bytearray(65536)               # recv() copies into this, then returns bytes
        self.cchunk, self.chunk_view = ffi.from_buffer(self.chunk), memoryview(self.chunk)
        self.frame_buf = self.cframe_buf = None     # read_frame's, made on first use
        self.types = None

    def set_wait(self, strategy):
        spin = SPIN_NS[strategy]
        pid = struct.unpack_from("<I", self.seg.mm, 28 if self.seg.creator else 24)[0]
        shared = cpus_usable(pid) == 1
        self.c.spin_ns = 0 if shared and spin > 0 else spin  # spin-futex on one CPU: sleep at once
        self.c.yield_cpu = int(shared)                      # spin on one CPU: let the other side run

    @property
    def sleeps(self):
        """Times this side slept on an empty or full ring (reported by BLAST/DRAIN and the bench)."""
        return self.c.sleeps

    @property
    def missed(self):
        """Of those sleeps, the ones that timed out although the other side had moved: wake-ups it
        owed and did not give (SHM.md, "A lost wake-up is counted")."""
        return self.c.missed

    def settimeout(self, seconds):
        self.timeout = seconds

    def recv(self, limit):
        """Up to `limit` bytes; b"" when the other side closed or died and nothing is left."""
        n = lib.cw_read(self.c, self.cchunk, min(limit, len(self.chunk)), deadline_ns(self.timeout))
        if n < 0:
            if n == lib.CW_CLOSED:
                return b""
            if n == lib.CW_GONE:
                raise alive.HarnessGone()
            raise TimeoutError("timed out")
        return bytes(self.chunk_view[:n])

    def sendall(self, data):
        """Write every byte, waiting for space as long as the other side lives."""
        rc = lib.cw_write(self.c, ffi.from_buffer(data), len(data), FOREVER)
        if rc == lib.CW_GONE:
            raise alive.HarnessGone()
        if rc == lib.CW_CLOSED:
            raise BrokenPipeError("the other side closed the segment or died")  # like EPIPE (SHM.md)

    # ---------------------------------------------------------------- whole frames (bench)

    def frame_reader(self, schema):
        """(buffer, its cdata, capacity) for read_frame, with the frame header checks set up: the
        constants, the id (at most 65535) and the length field (the bench needs one)."""
        if self.frame_buf is None:
            def described(h, value=0):
                f = ffi.new("cw_hfield *")
                if h is not None:
                    f.off, f.size, f.big = h.offset, h.type.size, int(h.type.order == "big")
                    f.value = value & ((1 << (8 * h.type.size)) - 1)
                return f
            consts = [h for h in schema.header if h.role == "const"]
            self.consts = ffi.new("cw_hfield[]", max(len(consts), 1))
            for i, h in enumerate(consts):
                self.consts[i] = described(h, h.const)[0]
            self.id_field, self.length_field = described(schema.roles.get("id")), described(schema.roles.get("length"))
            self.types = ffi.new("unsigned char[]", 65536)
            for id_, _, _ in schema.messages.values():
                if 0 <= id_ < 65536:
                    self.types[id_] = 1
            lib.cw_conn_frames(self.c, schema.header_size, schema.trailer_size, schema.length_adjust,
                               schema.max_payload, self.consts, len(consts), self.id_field, self.length_field,
                               self.types)
            self.frame_buf = bytearray(schema.header_size + schema.max_payload + schema.trailer_size)
            self.cframe_buf = ffi.from_buffer(self.frame_buf)
        return self.frame_buf, self.cframe_buf, len(self.frame_buf)

    def close(self):
        if self.seg is not None:
            lib.cw_conn_close(self.c)
            self.seg.unlink()
            self.seg.unmap()
            self.seg = None
