"""The Python peer's build step, what peer.toml's [build] runs (`crosswire build`): the kit's
build_kit.py in this folder (the codec plans and the shared-memory helper, into build/)."""
import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parent / "kit" / "build_kit.py"), run_name="__main__")
