"""What machine a bench ran on, so that its figures can be read (and not compared across runs)."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _first_line(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "not found"


def _cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return _first_line(["sysctl", "-n", "machdep.cpu.brand_string"]) if platform.system() == "Darwin" else platform.processor()


def _virtualised() -> str:
    info = Path("/proc/cpuinfo")
    if info.exists() and " hypervisor" in info.read_text(errors="replace"):
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        vendor = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Hypervisor vendor")]
        return vendor[0] if vendor else "yes"
    return "no"


def usable_cpus() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu_times() -> list[int] | None:
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def steal_percent(over: float = 0.5) -> float | None:
    """The share of CPU time the hypervisor gave to other guests over `over` seconds (Linux
    /proc/stat's steal column); None where it is not known."""
    import time
    before = _cpu_times()
    if not before or len(before) < 8:
        return None
    time.sleep(over)
    after = _cpu_times()
    if not after:
        return None
    delta = [b - a for a, b in zip(before, after)]
    total = sum(delta[:8])
    return 100.0 * delta[7] / total if total else 0.0


def describe() -> dict[str, object]:
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "virtualised": _virtualised(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cc": _first_line(["cc", "--version"]),
        "rustc": _first_line(["rustc", "--version"]),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "steal_percent": steal_percent(),
    }


def busy(m: dict) -> str | None:
    """A warning when other work is running: a load average over half the CPUs makes every figure
    noisy and the bench slower (quick mode takes minutes, not one)."""
    load, cpus, steal = m.get("load_average"), m.get("cpus") or 1, m.get("steal_percent")
    why = []
    if load and load[0] > cpus / 2:
        why.append(f"load average {load[0]:.1f} over the last minute on {cpus} CPUs")
    if steal is not None and steal > 10:
        why.append(f"{steal:.0f}% of CPU time stolen by the hypervisor")
    if why:
        return (f"warning: the machine is busy ({'; '.join(why)}): the figures are unreliable and the run "
                "slower; rerun on a quiet machine to compare")
    return None


def one_line(m: dict) -> str:
    return (f"{m['cpu']}, {m['cpus']} CPUs ({'virtual machine: ' + str(m['virtualised']) if m['virtualised'] != 'no' else 'bare metal'}), "
            f"{m['os']} {m['machine']}, Python {m['python']}, {m['cc']}, {m['rustc']}")
