"""Regenerates docs/images/ (`make docs-images`): screenshots of the HTML report of a run with one
real bug (the faulty test peer writing Track.id big-endian), taken in headless Chromium, and the
bench's plots from a quick bench of the C and Python peers on this machine.

Run from the repository root with the project's venv: `.venv/bin/python docs/make_images.py`.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("docs/make_images.py: no chromium on PATH (Debian: apt-get install chromium)")


def harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, text=True, capture_output=True,
                          timeout=1800)


def screenshot(page: Path, anchor: str, dest: Path, tmp: Path) -> None:
    subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--no-first-run", f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,1500",
                    f"--screenshot={dest}", f"{page.as_uri()}{anchor}"], check=True, capture_output=True, timeout=120)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        project = tmp / "project"
        shutil.copytree(ROOT / "protocols", project / "protocols")
        shutil.copytree(ROOT / "peers" / "python", project / "peers" / "python",
                        ignore=shutil.ignore_patterns("__pycache__"))
        faulty = project / "peers" / "faulty"
        faulty.mkdir()
        (faulty / "peer.toml").write_text(
            f'name = "faulty"\nlanguage = "python"\ncontract = 3\n[run]\ncommand = ["{sys.executable}", '
            f'"{ROOT / "tests" / "faulty_peer" / "peer.py"}", "byteswap", "Track.id"]\n[supports]\ntransports = ["uds"]\n')
        page = tmp / "report.html"
        r = harness("matrix", "--root", str(project), "--peers", "python,faulty", "--transports", "uds",
                    "--html", str(page))
        if not page.exists():
            sys.exit(f"the matrix wrote no report:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        screenshot(page, "", OUT / "report-findings.png", tmp)
        r = harness("bench", "--quick", "--peers", "c,python", "--no-scaling", "--out", str(tmp / "bench"))
        if r.returncode not in (0, 1):
            sys.exit(f"the bench failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        for name in ("bench-summary.png", "bench-latency.png", "bench-shm-vs-uds.png"):
            shutil.copy(tmp / "bench" / name, OUT / name)
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
