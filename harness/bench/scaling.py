"""How long the test matrix takes, and how that grows with peers and cases: the default
matrix (tests/test_matrix.py, `pytest -n auto`) run whole and narrowed, timed from outside."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import CrosswireError

TIMEOUT_S = 900.0
PASSED = re.compile(r"(\d+) passed")


@dataclass(frozen=True)
class MatrixTime:
    peers: tuple[str, ...]
    cases: str                  # "all" or the --cw-cases globs
    cells: int
    seconds: float

    def record(self) -> dict:
        return {"peers": list(self.peers), "cases": self.cases, "cells": self.cells, "seconds": self.seconds,
                "ms_per_cell": 1000 * self.seconds / self.cells if self.cells else None}


def run(root: Path, peers: list[str], cases: str = "all", jobs: str = "auto") -> MatrixTime:
    argv = [sys.executable, "-m", "pytest", "tests/test_matrix.py", "-n", jobs, "-q", "-p", "no:cacheprovider",
            "--cw-peers", ",".join(peers)]
    if cases != "all":
        argv += ["--cw-cases", cases]
    start = time.perf_counter()
    try:
        r = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CrosswireError(f"the matrix took more than {TIMEOUT_S:.0f} s: {' '.join(argv)}") from None
    seconds = time.perf_counter() - start
    found = PASSED.findall(r.stdout)
    if r.returncode != 0 or not found:
        last = (r.stdout.strip().splitlines() or ["no output"])[-1]
        raise CrosswireError(f"the matrix failed ({last}): {' '.join(argv)}\n{r.stdout[-1500:]}{r.stderr[-500:]}")
    return MatrixTime(tuple(peers), cases, int(found[-1]), seconds)


def measure(root: Path, peers: list[str]) -> list[MatrixTime]:
    """The matrix with 2, 3, ... all peers (every case), then all peers on about a tenth of the cases."""
    out = [run(root, peers[:n]) for n in range(2, len(peers) + 1)]
    out.append(run(root, peers, "integers.*,floats.*"))
    return out
