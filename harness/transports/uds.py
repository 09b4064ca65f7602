"""Unix stream sockets. Endpoints live in one private directory per harness process (mode
0700, under /tmp so that paths stay far below macOS's 104-byte sun_path, named with the
harness's pid: sweep.py), removed at the end, also on failure: the directory is registered for
removal at interpreter exit, and a later run sweeps it if this one was killed."""
from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import CrosswireError
from .sweep import dir_prefix

MAX_PATH = 100  # sun_path is 104 bytes on macOS, 108 on Linux; keep room for the NUL


def _base() -> str:
    return "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()


class UdsTransport:
    name = "uds"

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._count = itertools.count()

    @property
    def dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix=dir_prefix(), dir=_base()))  # mkdtemp: mode 0700
            atexit.register(self.cleanup)
        return self._dir

    def address(self) -> str:
        path = str(self.dir / f"{next(self._count)}.sock")
        if len(path.encode()) > MAX_PATH:
            raise CrosswireError(f"socket path {path} is longer than {MAX_PATH} bytes (sun_path limit)")
        return path

    def release(self, address: str) -> None:
        try:
            os.unlink(address)
        except FileNotFoundError:
            pass

    def cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
