"""A Python peer's build step, run in the peer's folder (`crosswire build`): the codec plans of
the project's schema (build_codec.py) and the shared-memory helper (build_shm.py), into build/."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_codec  # noqa: E402
import build_shm  # noqa: E402

if __name__ == "__main__":
    build = Path.cwd() / "build"
    build_codec.main(output=build / "cw_plans.py")
    build_shm.main(build)
