"""PING, PONG, FLOOD and SINK (PEER_CONTRACT.md, "Benchmarks").

They measure the transport, not the codec: the bench frame (the stream message's payload P(0, n)
of `size` bytes, as STREAM described it, behind the schema's frame, which has no checksum) is
built once and only its seq is patched; frames read are checked against its header bytes, never
decoded. A link moves whole frames over the open connection:

- ShmLink: one helper call per frame written or read (shm.py, build_shm.py), the polling and
  sleeping in C;
- SocketLink: the socket (Unix or TCP) in non-blocking mode, read into one buffer that holds many
  frames, poll() only when nothing is there, in slices of at most 100 ms with the harness checked
  between (alive.py; the shm helper checks it in its own waits).

Both keep what they read past the request's last frame (or the part of a frame a timeout cut)
in the peer's input buffer, so the stream stays in step for the next request.
"""
import select
import struct
import time
from array import array

import alive
import shm
from codec import DecodeError, PeerError

MAX_COUNT = 10_000_000
CLASSIC = struct.Struct("<IHHIIQ")           # crosswire's own frame header (schema.classic_frame)
UNSIGNED = {1: "B", 2: "H", 4: "I", 8: "Q"}


def bench_frame(schema, layout, n):
    """The bench frame of P(0, n), seq 0, as a bytearray to patch."""
    return bytearray(schema.encode_frame(layout.message, 0, layout.payload(0, n)))


class SeqField:
    """Writes a frame's seq in place: pack(frame, at, i & mask) (a seq wider than the field wraps)."""

    def __init__(self, schema):
        h = schema.seq_field
        self.at, size = h.offset, h.type.size
        self.mask = (1 << (8 * size)) - 1
        if size in UNSIGNED:
            self.pack = struct.Struct(("<" if h.type.order == "little" else ">") + UNSIGNED[size]).pack_into
        else:
            order = h.type.order

            def pack(frame, at, v):
                frame[at:at + size] = v.to_bytes(size, order)
            self.pack = pack


def wrong_frame(schema, what, i, got, frame):
    """Why the frame `got` (bytes) is not the bench frame `frame` with its seq patched to i."""
    if len(got) < schema.header_size:
        return PeerError("runtime", f"{what} {i}: a frame of {len(got)} bytes")
    for h in schema.header:
        a, b = (int.from_bytes(f[h.offset:h.offset + h.type.size], h.type.order) for f in (got, frame))
        if a != b:
            return PeerError("runtime", f"{what} {i}: {h.name} {a}, expected {b}")
    return PeerError("runtime", f"{what} {i}: the payload differs from the bench frame's")


# ------------------------------------------------------------------ the four requests


def ping(link, frame, count, warmup):
    """warmup + count round trips; the sorted samples (ns) of the last count."""
    samples = array("Q", [0]) * count
    write, read = link.writer(frame), link.read
    head = memoryview(frame)[:link.schema.header_size]  # the header as sent, seq included
    seq = link.seq
    put, at, mask, clock = seq.pack, seq.at, seq.mask, time.perf_counter_ns
    for i in range(1, warmup + count + 1):
        put(frame, at, i & mask)
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
    write, seq = link.writer(frame), link.seq
    put, at, mask = seq.pack, seq.at, seq.mask
    start = time.monotonic_ns()
    for i in range(1, count + 1):
        put(frame, at, i & mask)
        write()
    return time.monotonic_ns() - start


def sink(link, frame, count):
    """count bench frames, checked; the ns from the end of the first to the end of the last."""
    read, seq = link.read, link.seq
    put, at, mask = seq.pack, seq.at, seq.mask
    head = memoryview(frame)[:link.schema.header_size]
    start = None
    for i in range(1, count + 1):
        put(frame, at, i & mask)
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
        self.seq = SeqField(s) if s.seq_field is not None else None
        self.header_size = s.header_size
        if s.classic_frame:
            self.frame_size = self.classic_size
            self.good = (s.header[0].const, s.header[1].const, {mid for mid, _, _ in s.messages.values()},
                         s.max_payload)
        else:
            consts = [(h.offset, h.type.size, h.type.order, h.const & ((1 << (8 * h.type.size)) - 1))
                      for h in s.header if h.role == "const"]
            idf, lenf = s.roles.get("id"), s.roles.get("length")
            if lenf is None:
                raise PeerError("unsupported", "the bench reads frames by their length field: this frame has none")
            ids = {mid for mid, _, _ in s.messages.values()}
            self.good = (consts, idf and (idf.offset, idf.type.size, idf.type.order), ids,
                         (lenf.offset, lenf.type.size, lenf.type.order), s.length_adjust, s.max_payload,
                         s.header_size + s.trailer_size)

    def classic_size(self, buf, at):
        """The size of the frame whose header is buf[at:at + 24], or -1 if the header breaks WIRE.md."""
        magic, version, mtype, flags, length, _ = CLASSIC.unpack_from(buf, at)
        good_magic, good_version, types, max_payload = self.good
        if magic != good_magic or version != good_version or flags or mtype not in types or length > max_payload:
            return -1
        return CLASSIC.size + length

    def frame_size(self, buf, at):
        """The size of the frame whose header starts at buf[at], or -1 if the header breaks WIRE.md
        (its constants, its id, its length)."""
        consts, idf, ids, (lo, ls, lorder), adjust, max_payload, fixed = self.good
        for off, size, order, value in consts:
            if int.from_bytes(buf[at + off:at + off + size], order) != value:
                return -1
        if idf is not None and int.from_bytes(buf[at + idf[0]:at + idf[0] + idf[1]], idf[2]) not in ids:
            return -1
        n = int.from_bytes(buf[at + lo:at + lo + ls], lorder) - adjust
        if not 0 <= n <= max_payload:
            return -1
        return fixed + n

    def wrong(self, what, i, frame):
        return wrong_frame(self.schema, what, i, bytes(self.rbuf[self.off:self.off + len(frame)]), frame)

    def bad_header(self, header):
        """A frame header that breaks WIRE.md: the stream is out of step, the connection goes."""
        self.peer.close_connection()
        try:
            self.schema.decode_header(bytes(header))
        except DecodeError as e:
            return e
        return PeerError("runtime", "a frame bigger than this peer reads")

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
        if rc == shm.lib.CW_GONE:
            return alive.HarnessGone()
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
        if n == shm.lib.CW_GONE:
            raise alive.HarnessGone()
        raise self.bad_header(self.rbuf[:self.header_size])

    def from_pending(self):
        """A whole frame from the peer's input buffer (-its size), or the bytes of one begun there."""
        p = self.pending
        if len(p) >= self.header_size:
            n = self.frame_size(p, 0)
            if n < 0:
                header = p[:self.header_size]
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
        self.rbuf = bytearray(max(self.CHUNK, 2 * (self.header_size + self.schema.trailer_size + size)))
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
        """Until the socket is ready, or for a slice of at most 100 ms (the caller tries again),
        after which the harness is checked."""
        timeout = alive.SLICE_MS
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise PeerError("timeout", what)
            timeout = min(timeout, max(1, int(left * 1000 + 0.999)))
        if not poller.poll(timeout):
            alive.check()

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
        hs = self.header_size
        if self.end - self.start < hs:
            self.fill(hs)
        n = self.frame_size(self.rbuf, self.start)
        if n < 0:
            header = self.rbuf[self.start:self.start + hs]
            self.start += hs
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
