"""PING, PONG, FLOOD and SINK (PEER_CONTRACT.md, "Benchmarks").

They measure the transport, not the codec: the bench frame (a Blob of `size` payload bytes,
data byte j = j mod 256, checksum its CRC-32) is built once and only its seq is patched; frames
read are checked against its header bytes, never decoded. A link moves whole frames over the
open connection:

- ShmLink: one helper call per frame written or read (shm.py, build_shm.py), the polling and
  sleeping in C;
- SocketLink: the socket (Unix or TCP) in non-blocking mode, read into one buffer that holds many
  frames, poll() only when nothing is there.

Both keep what they read past the request's last frame (or the part of a frame a timeout cut)
in the peer's input buffer, so the stream stays in step for the next request.
"""
import select
import struct
import time
import zlib
from array import array

import shm
from codec import DecodeError, PeerError

MAX_COUNT = 10_000_000
SEQ = struct.Struct("<Q")
SEQ_AT = 16                                  # WIRE.md: the frame header's seq
HEADER = struct.Struct("<IHHIIQ")


def bench_frame(schema, size):
    """The bench frame of `size` payload bytes, seq 0, as a bytearray to patch."""
    data = (bytes(range(256)) * (size // 256 + 1))[:size - 8]
    payload = schema.encode("Blob", {"checksum": zlib.crc32(data), "data": data})
    return bytearray(schema.encode_frame("Blob", 0, payload))  # crosswire's frame: schema.classic_frame


def wrong_frame(what, i, got, frame):
    """Why the frame `got` (bytes) is not the bench frame `frame` with its seq patched to i."""
    head = HEADER.unpack_from(got) if len(got) >= HEADER.size else None
    want = HEADER.unpack_from(frame)
    if head is None:
        return PeerError("runtime", f"{what} {i}: a frame of {len(got)} bytes")
    for name, a, b in zip(("magic", "version", "msg_type", "flags", "payload_len", "seq"), head, want):
        if a != b:
            return PeerError("runtime", f"{what} {i}: {name} {a}, expected {b}")
    return PeerError("runtime", f"{what} {i}: the payload differs from the bench frame's")


# ------------------------------------------------------------------ the four requests


def ping(link, frame, count, warmup):
    """warmup + count round trips; the sorted samples (ns) of the last count."""
    samples = array("Q", [0]) * count
    write, read = link.writer(frame), link.read
    head = memoryview(frame)[:HEADER.size]  # the header as sent, seq included
    put, clock = SEQ.pack_into, time.perf_counter_ns
    for i in range(1, warmup + count + 1):
        put(frame, SEQ_AT, i)
        t0 = clock()
        write()
        read()
        t1 = clock()
        if not link.rbuf.startswith(head, link.off):
            raise link.wrong("round", i, frame)
        if i > warmup:
            samples[i - warmup - 1] = t1 - t0
    if count + warmup and link.rbuf[link.off:link.off + len(frame)] != frame:
        raise link.wrong("round", warmup + count, frame)
    link.sort(samples)
    return samples


def latency(samples):
    """The PING reply's figures from sorted samples: nearest-rank percentiles, integer mean."""
    n = len(samples)
    if n == 0:
        return dict.fromkeys(("min", "p50", "p90", "p99", "p999", "max", "mean"), 0)

    def rank(per_mille):  # the sample at index ceil(p/1000 * n) - 1
        return samples[max((per_mille * n + 999) // 1000 - 1, 0)]
    return {"min": samples[0], "p50": rank(500), "p90": rank(900), "p99": rank(990), "p999": rank(999),
            "max": samples[-1], "mean": sum(samples) // n}


def pong(link, count):
    read, echo = link.read, link.echo
    for _ in range(count):
        echo(read())


def flood(link, frame, count):
    """The bench frame count times, seq 1..count; the ns it took."""
    write, put = link.writer(frame), SEQ.pack_into
    start = time.monotonic_ns()
    for i in range(1, count + 1):
        put(frame, SEQ_AT, i)
        write()
    return time.monotonic_ns() - start


def sink(link, frame, count):
    """count bench frames, checked; the ns from the end of the first to the end of the last."""
    read, put = link.read, SEQ.pack_into
    head = memoryview(frame)[:HEADER.size]
    start = None
    for i in range(1, count + 1):
        put(frame, SEQ_AT, i)
        read()
        if not link.rbuf.startswith(head, link.off):
            raise link.wrong("frame", i, frame)
        if start is None:
            if link.rbuf[link.off:link.off + len(frame)] != frame:
                raise link.wrong("frame", i, frame)
            start = time.monotonic_ns()
    end = time.monotonic_ns()
    if count and link.rbuf[link.off:link.off + len(frame)] != frame:
        raise link.wrong("frame", count, frame)
    return end - start if start is not None else 0


# ------------------------------------------------------------------ links


class Link:
    """What the four requests need of a connection. `rbuf[off:off + n]` is the frame read() read
    last (n is what it returned); writer(frame) writes the whole of `frame`, patched in place."""

    off = 0

    def __init__(self, peer, deadline):
        self.peer = peer
        self.schema = s = peer.schema
        self.deadline = deadline  # time.monotonic() seconds, or None
        self.good = (s.magic, s.frame_version, set(s.message_names), s.max_payload)

    def frame_size(self, buf, at):
        """The size of the frame whose header is buf[at:at + 24], or -1 if the header breaks WIRE.md."""
        magic, version, mtype, flags, length, _ = HEADER.unpack_from(buf, at)
        good_magic, good_version, types, max_payload = self.good
        if magic != good_magic or version != good_version or flags or mtype not in types or length > max_payload:
            return -1
        return HEADER.size + length

    def wrong(self, what, i, frame):
        return wrong_frame(what, i, bytes(self.rbuf[self.off:self.off + len(frame)]), frame)

    def bad_header(self, header):
        """A frame header that breaks WIRE.md: the stream is out of step, the connection goes."""
        self.peer.close_connection()
        try:
            self.schema.decode_header(bytes(header))
        except DecodeError as e:
            return e
        return PeerError("runtime", f"a frame of {HEADER.size + HEADER.unpack_from(header)[4]} bytes "
                                    "is bigger than this peer reads")

    def closed(self, got):
        """The other side went: after `got` bytes of a frame."""
        if got == 0:
            return PeerError("runtime", "closed by the other side")
        self.peer.close_connection()
        return DecodeError("truncated", "frame", f"closed after {got} bytes of a frame")

    def sort(self, samples):
        if shm.lib is not None and len(samples):
            shm.lib.cw_sort_u64(shm.ffi.from_buffer("uint64_t[]", samples), len(samples))
        else:
            samples[:] = array("Q", sorted(samples))

    @property
    def sleeps(self):
        return 0

    def finish(self):
        pass


class ShmLink(Link):
    def __init__(self, peer, deadline):
        super().__init__(peer, deadline)
        self.conn = conn = peer.conn
        self.rbuf, self.crbuf, self.cap = conn.frame_reader(self.schema)
        self.dl = shm.deadline_ns(None if deadline is None else deadline - time.monotonic())
        self.pending = peer.inbuf  # bytes RECV read past its frame: they come first
        self.c = conn.c

    @property
    def sleeps(self):
        return self.conn.sleeps

    def writer(self, frame):
        c, cframe, n, dl, write = self.c, shm.ffi.from_buffer(frame), len(frame), self.dl, shm.lib.cw_write

        def write_frame():
            rc = write(c, cframe, n, dl)
            if rc:
                raise self.write_failed(rc)
        return write_frame

    def echo(self, n):
        rc = shm.lib.cw_write(self.c, self.crbuf, n, self.dl)
        if rc:
            raise self.write_failed(rc)

    @staticmethod
    def write_failed(rc):
        if rc == shm.lib.CW_TIMEOUT:
            return PeerError("timeout", "writing a frame: the ring stayed full")
        return PeerError("runtime", "the other side closed the segment or died")

    def read(self):
        got = 0
        if self.pending:
            got = self.from_pending()
            if got < 0:
                return -got
        n = shm.lib.cw_read_frame(self.c, self.crbuf, got, self.cap, self.dl)
        if n >= 0:
            return n
        got = self.c.got
        if n == shm.lib.CW_TIMEOUT:
            self.pending += self.rbuf[:got]  # the stream stays in step for the next request
            raise PeerError("timeout", f"waiting for a frame, {got} bytes of it read")
        if n == shm.lib.CW_CLOSED:
            raise self.closed(got)
        raise self.bad_header(self.rbuf[:HEADER.size])

    def from_pending(self):
        """A whole frame from the peer's input buffer (-its size), or the bytes of one begun there."""
        p = self.pending
        if len(p) >= HEADER.size:
            n = self.frame_size(p, 0)
            if n < 0:
                header = p[:HEADER.size]
                p.clear()
                raise self.bad_header(header)
            if len(p) >= n:
                self.rbuf[:n] = p[:n]
                del p[:n]
                return -n
        got = len(p)
        self.rbuf[:got] = p
        p.clear()
        return got


class SocketLink(Link):
    CHUNK = 1 << 18

    def __init__(self, peer, deadline, size=0):
        super().__init__(peer, deadline)
        self.sock = sock = peer.conn
        self.rbuf = bytearray(max(self.CHUNK, 2 * (HEADER.size + size)))
        self.view = memoryview(self.rbuf)
        n = len(peer.inbuf)
        self.rbuf[:n] = peer.inbuf
        peer.inbuf.clear()
        self.start, self.end = 0, n  # unread bytes: rbuf[start:end]
        sock.setblocking(False)
        self.poll_in, self.poll_out = select.poll(), select.poll()
        self.poll_in.register(sock, select.POLLIN)
        self.poll_out.register(sock, select.POLLOUT)

    def finish(self):
        if self.peer.conn is self.sock:  # not dropped for a bad header
            self.peer.inbuf[:] = self.rbuf[self.start:self.end]
            self.sock.settimeout(None)

    def wait(self, poller, what):
        if self.deadline is None:
            timeout = None
        else:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise PeerError("timeout", what)
            timeout = max(1, int(left * 1000 + 0.999))
        poller.poll(timeout)

    def writer(self, frame):
        view, n, send = memoryview(frame), len(frame), self.sock.send

        def write_frame():
            try:
                sent = send(view)
            except BlockingIOError:
                sent = 0
            if sent != n:
                self.send_all(view, sent)
        return write_frame

    def send_all(self, view, sent=0):
        while sent < len(view):
            try:
                sent += self.sock.send(view[sent:])
            except BlockingIOError:
                self.wait(self.poll_out, "writing a frame")

    def echo(self, n):
        self.send_all(self.view[self.off:self.off + n])

    def read(self):
        if self.end - self.start < HEADER.size:
            self.fill(HEADER.size)
        n = self.frame_size(self.rbuf, self.start)
        if n < 0:
            header = self.rbuf[self.start:self.start + HEADER.size]
            self.start += HEADER.size
            raise self.bad_header(header)
        if self.end - self.start < n:
            self.fill(n)
        self.off = self.start
        self.start += n
        return n

    def fill(self, need):
        """Read until rbuf[start:end] holds `need` bytes."""
        if self.start + need > len(self.rbuf):  # move the unread bytes to the front, or grow
            unread = self.rbuf[self.start:self.end]
            if need > len(self.rbuf):
                self.view.release()
                self.rbuf = bytearray(need + self.CHUNK)
                self.view = memoryview(self.rbuf)
            self.rbuf[:len(unread)] = unread
            self.start, self.end = 0, len(unread)
        while self.end - self.start < need:
            try:
                k = self.sock.recv_into(self.view[self.end:])
            except BlockingIOError:
                self.wait(self.poll_in, f"waiting for a frame, {self.end - self.start} of {need} bytes read")
                continue
            except ConnectionResetError:  # tcp: the other side went with bytes of ours unread
                k = 0
            if k == 0:
                got = self.end - self.start
                self.start = self.end
                raise self.closed(got)
            self.end += k
