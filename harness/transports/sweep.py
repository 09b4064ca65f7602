"""Stale resources: what a harness killed with SIGKILL left behind. Every segment and socket
directory a harness makes carries its process id in its name (owner()), so a later run can tell
a dead owner's leftovers from a live one's and remove them (sweep(): at the start of every
command, and on demand with `crosswire clean`).

Names: socket directories `/tmp/cw-<tag>.<pid>.<random>`, segments `/cw<tag>.<pid>.<random>`
(the pid in base 36, the whole name within macOS's 31 characters). Only names of this shape are
touched, only when that pid is not a running process, and only what this user may remove.
macOS lists no segments (no /dev/shm): there the sweep covers the socket directories.
"""
from __future__ import annotations

import os
import re
import shutil
import string
from pathlib import Path

from .tag import run_tag

_DIGITS = string.digits + string.ascii_lowercase
DIR = re.compile(r"^cw-[0-9a-f]{0,4}\.(\d+)\.")
SEGMENT = re.compile(r"^/?cw[0-9a-f]{0,4}\.([0-9a-z]{1,6})\.")


def base36(n: int) -> str:
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = _DIGITS[d] + out
        if not n:
            return out


def dir_prefix() -> str:
    """The prefix of this process's socket directory."""
    return f"cw-{run_tag()}.{os.getpid()}."


def segment_prefix() -> str:
    """The prefix of this process's segment names."""
    return f"/cw{run_tag()}.{base36(os.getpid())}."


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True                 # not a pid: leave it alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # another user's live process
        return True
    return True


def stale() -> list[str]:
    """The socket directories and segments whose owning harness is gone."""
    out = []
    tmp = "/tmp" if os.path.isdir("/tmp") else None
    if tmp:
        for name in os.listdir(tmp):
            m = DIR.match(name)
            if m and not _alive(int(m.group(1))):
                out.append(os.path.join(tmp, name))
    shm = Path("/dev/shm")
    if shm.is_dir():
        for name in os.listdir(shm):
            m = SEGMENT.match(name)
            if m and not _alive(int(m.group(1), 36)):
                out.append(f"/dev/shm/{name}")
    return out


def sweep() -> list[str]:
    """Remove what stale() finds (what this user may remove); the paths removed."""
    removed = []
    for path in stale():
        try:
            if path.startswith("/dev/shm/"):
                os.unlink(path)
            else:
                shutil.rmtree(path)
            removed.append(path)
        except OSError:             # another user's, or gone meanwhile
            pass
    return removed
