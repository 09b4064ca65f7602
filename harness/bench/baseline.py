"""The machine's floors, from bench/baseline.c (built by `make -C bench`)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..driver import figures
from ..errors import CrosswireError
from .measure import Latency

TIMEOUT_S = 300.0


class Baselines:
    """Runs bench/build/cw-baseline; builds it first if it is missing or stale. The program's
    source is crosswire's own (the checkout's bench/, or the copy an installed wheel carries);
    a project other than the checkout builds it in <project>/build/bench."""

    def __init__(self, root: Path) -> None:
        from ..reference import checkout
        source = checkout() / "bench"
        self.dir = root / "bench" if (root / "bench").resolve() == source.resolve() else root / "build" / "bench"
        self.source = source
        self.program = self.dir / "build" / "cw-baseline"

    def build(self) -> None:
        if self.dir.resolve() != self.source.resolve():
            if not (self.source / "baseline.c").is_file():
                raise CrosswireError(f"no bench/baseline.c in {self.source.parent}: reinstall crosswire")
            self.dir.mkdir(parents=True, exist_ok=True)
            for name in ("baseline.c", "Makefile"):
                if not (self.dir / name).is_file() or (self.dir / name).read_bytes() != (self.source / name).read_bytes():
                    shutil.copy2(self.source / name, self.dir / name)
        r = subprocess.run(["make", "-s", "-C", str(self.dir)], capture_output=True, text=True, timeout=TIMEOUT_S)
        if r.returncode != 0 or not self.program.exists():
            raise CrosswireError(f"building {self.program} failed (make -C bench):\n{(r.stdout + r.stderr)[-2000:]}")

    def _run(self, *args: object) -> dict[str, int]:
        argv = [str(self.program), *map(str, args)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CrosswireError(f"{' '.join(argv)} took more than {TIMEOUT_S:.0f} s") from None
        words = r.stdout.split()
        if r.returncode != 0 or not words or words[0] != "OK":
            raise CrosswireError(f"{' '.join(argv)}: {r.stdout.strip() or r.stderr.strip()}")
        return figures(words[1:])

    def round_trips(self, mode: str, count: int, cpus: tuple[int, int], size: int = 0) -> Latency:
        """mode: shm-pingpong, futex-pingpong or socketpair (size bytes each way)."""
        extra = (size,) if mode == "socketpair" else ()
        return Latency.of(self._run(mode, count, max(count // 10, 10), *extra, *cpus))

    def memcpy_gbps(self, size: int, total_bytes: int, cpu: int) -> float:
        f = self._run("memcpy", size, max(total_bytes // size, 10), cpu)
        return f["bytes"] * f["count"] / f["ns"]
