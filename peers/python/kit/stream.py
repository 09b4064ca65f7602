"""The stream message of BLAST, DRAIN and the bench frames, as STREAM describes it
(PEER_CONTRACT.md, "Streams"), and the generated stream of BLAST and DRAIN.

STREAM describes P(i, n), the payload of the stream's frame with seq i and n data elements, as
bytes: a template (the payload with no data elements), where the n elements go (at byte `at`),
their width and byte order (element j of frame i is (i + j) mod 256), and up to 8 patches, each
the integer mul * n + add over some bytes of the template (a length prefix, a count or size
field). The kit never encodes or decodes the stream message: it writes and compares these bytes.

Frame i (seq i, from 1) carries P(i, len_i), len_i = min + splitmix64(seed XOR i) mod
(max - min + 1). Both sides compute the same stream, so the receiver checks every frame for loss,
duplication, reordering and torn or corrupt bytes.
"""
from codec import RequestError

MASK64 = (1 << 64) - 1
MAX_PATCHES = 8
MAX_WIDTH = 8


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def number(token, what, high):
    """A decimal token from 0 to high, else ERR request."""
    if not token.isdigit() or not token.isascii() or len(token) > 20 or int(token) > high:
        raise RequestError(f"bad {what} {token[:40]!r} (0 to {high})")
    return int(token)


def byte_order(token, what):
    if token not in ("le", "be"):
        raise RequestError(f"bad {what} {token[:40]!r} (le or be)")
    return "little" if token == "le" else "big"


class Layout:
    """The stream message's payload layout of one STREAM request."""

    def __init__(self, message, template, at, width, order, max_n, patches):
        self.message, self.template, self.at, self.width, self.order, self.max = \
            message, template, at, width, order, max_n
        self.patches = patches      # [(offset, width, byteorder, mul, add)]
        self.head, self.tail = template[:at], template[at:]
        # element j of frame i: pattern[(i mod 256 + j) * width:][:width], for any i and n <= max
        cycle = b"".join(v.to_bytes(width, order) for v in range(256))
        self.pattern = cycle * ((256 + max_n) // 256 + 1)

    @classmethod
    def parse(cls, args, schema, parse_hex):
        """STREAM's arguments, checked (PEER_CONTRACT.md, "Streams"); ERR request when they are wrong."""
        usage = "usage: STREAM <Message> <template> <at> <width> <order> <max> <k> [<offset> <width> <order> <mul> <add>]..."
        if len(args) < 7:
            raise RequestError(usage)
        k = number(args[6], "k", MAX_PATCHES)
        if len(args) != 7 + 5 * k:
            raise RequestError(f"{usage} ({k} patches: {7 + 5 * k} words after STREAM, not {len(args)})")
        message = args[0]
        if message not in schema.message_ids:
            raise RequestError(f"unknown message {message[:40]!r}")
        template = parse_hex(args[1])
        limit = schema.max_payload
        if len(template) > limit:
            raise RequestError(f"a template of {len(template)} bytes: at most max_payload, {limit}")
        at = number(args[2], "at", len(template))
        width = number(args[3], "width", MAX_WIDTH)
        if width < 1:
            raise RequestError("bad width '0' (1 to 8)")
        order = byte_order(args[4], "order")
        max_n = number(args[5], "max", limit)
        if len(template) + max_n * width > limit:
            raise RequestError(f"max {max_n}: {len(template)} + {max_n} x {width} bytes is more than max_payload, {limit}")
        patches, taken = [], []
        for p in range(k):
            w = args[7 + 5 * p:12 + 5 * p]
            offset = number(w[0], f"patch {p + 1} offset", len(template))
            pwidth = number(w[1], f"patch {p + 1} width", MAX_WIDTH)
            porder = byte_order(w[2], f"patch {p + 1} order")
            mul = number(w[3], f"patch {p + 1} mul", MASK64)
            add = number(w[4], f"patch {p + 1} add", MASK64)
            end = offset + pwidth
            if pwidth < 1 or end > len(template):
                raise RequestError(f"patch {p + 1}: {pwidth} bytes at {offset} are not inside the template's {len(template)}")
            if offset < at < end:
                raise RequestError(f"patch {p + 1}: bytes {offset}..{end - 1} straddle the data at {at}")
            if any(offset < e and s < end for s, e in taken):
                raise RequestError(f"patch {p + 1}: bytes {offset}..{end - 1} overlap another patch")
            taken.append((offset, end))
            patches.append((offset, pwidth, porder, mul, add))
        return cls(message, template, at, width, order, max_n, patches)

    def parts(self, n):
        """(head, tail): the template before and after the data, patched for n elements."""
        if not self.patches:
            return self.head, self.tail
        t = bytearray(self.template)
        for offset, width, order, mul, add in self.patches:
            t[offset:offset + width] = ((mul * n + add) & ((1 << (8 * width)) - 1)).to_bytes(width, order)
        return bytes(t[:self.at]), bytes(t[self.at:])

    def data(self, seq, n):
        start = (seq & 0xFF) * self.width
        return self.pattern[start:start + n * self.width]

    def payload(self, seq, n):
        """P(seq, n): the stream's payload of frame seq with n data elements."""
        head, tail = self.parts(n)
        return b"".join((head, self.data(seq, n), tail))

    def elements(self, size):
        """The n of a payload of `size` bytes, None when no n from 0 to max gives that size."""
        extra = size - len(self.template)
        if extra < 0 or extra % self.width or extra // self.width > self.max:
            return None
        return extra // self.width


class Stream:
    """The frames of one BLAST or DRAIN: seed and lengths (in data elements)."""

    def __init__(self, layout, seed, min_len, max_len):
        if not 0 <= min_len <= max_len <= layout.max:
            raise ValueError(f"lengths {min_len}..{max_len}")
        self.layout = layout
        self.seed, self.min, self.span = seed, min_len, max_len - min_len + 1

    def length(self, i):
        return self.min + splitmix64(self.seed ^ i) % self.span

    def payload(self, i):
        return self.layout.payload(i, self.length(i))


class Tally:
    """What DRAIN saw: every frame checked against the stream, in constant memory while frames
    arrive in order (only the seqs skipped over are remembered, to tell late from lost)."""

    MAX_MISSING = 1 << 20

    def __init__(self, count):
        self.count, self.next, self.missing = count, 1, set()
        self.received = self.duplicated = self.reordered = self.corrupt = self.bytes = 0
        self.unique = 0
        self.offset, self.bad_at, self.bad = 0, None, b""     # the stream offset; the first corrupt frame

    def bad_checksum(self, frame):
        """A frame that failed its frame checksum (or a refused header, a frame cut short: the
        bytes read of it): received and corrupt, no bytes, no seq."""
        self.received += 1
        self.offset += len(frame)
        self.corrupted(frame)

    def corrupted(self, frame):
        """Counts a corrupt frame, the last one read (self.offset is already past it)."""
        self.corrupt += 1
        if self.bad_at is None:
            self.bad_at, self.bad = self.offset - len(frame), frame[:4096]

    def first_bad(self):
        """The optional figures bad_at= and bad= (PEER_CONTRACT.md, "Streams")."""
        return [] if self.bad_at is None else [f"bad_at={self.bad_at}", f"bad={self.bad.hex()}"]

    def add(self, stream, message, seq, frame, header_size, length):
        """A frame whose checksum (if any) held: message name, seq, the frame, its header size
        and payload length."""
        self.received += 1
        self.bytes += len(frame)
        self.offset += len(frame)
        if message != stream.layout.message or not 1 <= seq <= self.count:
            self.corrupted(frame)
            return
        if seq >= self.next:
            if len(self.missing) + seq - self.next <= self.MAX_MISSING:
                self.missing.update(range(self.next, seq))
            self.next = seq + 1
        elif seq in self.missing:
            self.missing.discard(seq)
            self.reordered += 1
        else:
            self.duplicated += 1
            return
        self.unique += 1
        if frame[header_size:header_size + length] != stream.payload(seq):
            self.corrupted(frame)

    @property
    def lost(self):
        return self.count - self.unique
