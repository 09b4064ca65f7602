"""POSIX shared memory (protocols/SHM.md). The harness names every segment it asks a peer to
create (`/cw`, the run tag of tag.py, `.`, this process's pid in base 36 (sweep.py), `.`, then
random hex digits to 31 characters: unguessable, and within macOS's limit) and
unlinks each name when done, also after a failure or Ctrl-C (registered at interpreter exit).
The creator normally unlinks the name itself once the other side has attached; this is the
backstop for a peer that crashed in between. On macOS there is no /dev/shm to list, which is
why the names are remembered here rather than searched for."""
from __future__ import annotations

import atexit
import secrets

from .sweep import segment_prefix

try:
    from _posixshmem import shm_unlink  # the stdlib's own binding, used by multiprocessing.shared_memory
except ImportError:  # pragma: no cover - a platform without POSIX shared memory
    shm_unlink = None


class ShmTransport:
    name = "shm"

    def __init__(self) -> None:
        self._names: set[str] = set()
        atexit.register(self.cleanup)

    def address(self) -> str:
        prefix = segment_prefix()
        name = prefix + secrets.token_hex((31 - len(prefix)) // 2)
        self._names.add(name)
        return name

    def release(self, address: str) -> None:
        if shm_unlink is not None:
            try:
                shm_unlink(address)
            except (FileNotFoundError, OSError):
                pass
        self._names.discard(address)

    def cleanup(self) -> None:
        for name in list(self._names):
            self.release(name)
