"""Checksums a frame may declare (WIRE.md, Checksum): CRCs by their catalogue names.

Each algorithm is the Rocksoft model of Williams' "A Painless Guide to CRC Error Detection
Algorithms", with the parameters and check values of Greg Cook's CRC catalogue (reveng). All of
them reflect input and output alike or neither, so one table-driven loop per kind serves them:
the harness computes them here, and every generated codec does the same with its own table.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Algorithm:
    name: str
    width: int          # 16 or 32
    poly: int
    init: int
    reflect: bool       # refin = refout
    xorout: int
    check: int          # the CRC of b"123456789", from the catalogue

    @cached_property
    def table(self) -> tuple[int, ...]:
        """The 256-entry table of the byte-at-a-time loop."""
        mask = (1 << self.width) - 1
        out = []
        if self.reflect:
            poly = int(f"{self.poly:0{self.width}b}"[::-1], 2)
            for i in range(256):
                c = i
                for _ in range(8):
                    c = (c >> 1) ^ poly if c & 1 else c >> 1
                out.append(c)
        else:
            top = 1 << (self.width - 1)
            for i in range(256):
                c = i << (self.width - 8)
                for _ in range(8):
                    c = ((c << 1) ^ self.poly) if c & top else c << 1
                out.append(c & mask)
        return tuple(out)

    def start(self) -> int:
        return self.init

    def update(self, crc: int, data: bytes) -> int:
        t = self.table
        if self.reflect:
            for b in data:
                crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
        else:
            shift, mask = self.width - 8, (1 << self.width) - 1
            for b in data:
                crc = ((crc << 8) & mask) ^ t[((crc >> shift) ^ b) & 0xFF]
        return crc

    def finish(self, crc: int) -> int:
        return crc ^ self.xorout

    def __call__(self, data: bytes) -> int:
        return self.finish(self.update(self.start(), data))


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    # MAVLink's "X.25" checksum: no final XOR (the catalogue's CRC-16/MCRF4XX)
    Algorithm("crc-16/mcrf4xx", 16, 0x1021, 0xFFFF, True, 0x0000, 0x6F91),
    Algorithm("crc-16/x-25", 16, 0x1021, 0xFFFF, True, 0xFFFF, 0x906E),
    Algorithm("crc-16/modbus", 16, 0x8005, 0xFFFF, True, 0x0000, 0x4B37),
    Algorithm("crc-16/arc", 16, 0x8005, 0x0000, True, 0x0000, 0xBB3D),
    Algorithm("crc-16/kermit", 16, 0x1021, 0x0000, True, 0x0000, 0x2189),
    Algorithm("crc-16/ibm-3740", 16, 0x1021, 0xFFFF, False, 0x0000, 0x29B1),   # "CCITT-FALSE"
    Algorithm("crc-16/xmodem", 16, 0x1021, 0x0000, False, 0x0000, 0x31C3),
    Algorithm("crc-32", 32, 0x04C11DB7, 0xFFFFFFFF, True, 0xFFFFFFFF, 0xCBF43926),   # IEEE 802.3, zlib
    Algorithm("crc-32c", 32, 0x1EDC6F41, 0xFFFFFFFF, True, 0xFFFFFFFF, 0xE3069283),  # Castagnoli, iSCSI
    Algorithm("crc-32/bzip2", 32, 0x04C11DB7, 0xFFFFFFFF, False, 0xFFFFFFFF, 0xFC891918),
)}
