"""The wheel carries more than the harness: the reference peers and their kits (peers/), the
guides (docs/), the bench's baseline program (bench/) and the specs (protocols/*.md), as harness/_share/, so that `pip install crosswire`
can build the reference peers for any project's schema and vendor a kit (`crosswire kit`) with no
checkout at hand (harness/reference.py finds them there). Everything else is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SKIP = {"build", "target", "__pycache__", ".git"}


def shared() -> list[Path]:
    """The files that go to harness/_share: every source file of the peers, the docs, the specs."""
    files = [p for top in ("peers", "docs", "bench") if (HERE / top).is_dir() for p in sorted((HERE / top).rglob("*"))]
    files += sorted((HERE / "protocols").glob("*.md"))
    return [p for p in files if p.is_file() and not set(p.relative_to(HERE).parts) & SKIP
            and p.suffix not in (".pyc", ".o", ".so", ".a")]


class BuildWithShare(build_py):
    def run(self) -> None:
        super().run()
        dest = Path(self.build_lib) / "harness" / "_share"
        for path in shared():
            out = dest / path.relative_to(HERE)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out)


setup(cmdclass={"build_py": BuildWithShare})
