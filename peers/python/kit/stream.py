"""The generated stream of BLAST and DRAIN (PEER_CONTRACT.md, "Streams").

Frame i (seq i, from 1) carries a Blob whose data is `len_i` bytes of the pattern
(i + j) mod 256, j = 0.., with len_i = min + splitmix64(seed XOR i) mod (max - min + 1), and
whose checksum is the CRC-32 (zlib's) of the data. Both sides compute the same stream, so the
receiver checks every frame for loss, duplication, reordering and torn or corrupt bytes.
"""
import zlib

MASK64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


class Stream:
    def __init__(self, seed, min_len, max_len):
        if not 0 <= min_len <= max_len:
            raise ValueError(f"lengths {min_len}..{max_len}")
        self.seed, self.min, self.span = seed, min_len, max_len - min_len + 1
        self.pattern = bytes(range(256)) * (max_len // 256 + 2)

    def data(self, i):
        n = self.min + splitmix64(self.seed ^ i) % self.span
        k = i & 0xFF
        return self.pattern[k:k + n]

    def blob(self, i):
        data = self.data(i)
        return {"checksum": zlib.crc32(data), "data": data}


class Tally:
    """What DRAIN saw: every frame checked against the stream, in constant memory while frames
    arrive in order (only the seqs skipped over are remembered, to tell late from lost)."""

    MAX_MISSING = 1 << 20

    def __init__(self, count):
        self.count, self.next, self.missing = count, 1, set()
        self.received = self.duplicated = self.reordered = self.corrupt = self.bytes = 0
        self.unique = 0

    def add(self, stream, message, seq, value, size):
        self.received += 1
        self.bytes += size
        if message != "Blob" or not 1 <= seq <= self.count:
            self.corrupt += 1
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
        if value != stream.blob(seq):
            self.corrupt += 1

    @property
    def lost(self):
        return self.count - self.unique
