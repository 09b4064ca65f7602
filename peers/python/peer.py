"""The Python reference peer of crosswire: the Python kit (kit/cwkit.py) with its own codec,
which reads the project's schema at run time (kit/codec.py, fast plans from build/cw_plans.py)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "kit"))
import cwkit  # noqa: E402

if __name__ == "__main__":
    sys.exit(cwkit.run(HERE))
