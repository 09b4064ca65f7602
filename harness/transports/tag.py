"""The run tag: `CW_RUN_TAG` (up to 4 lower-case hex digits, else ignored) goes into every
segment name and socket directory this process makes, so that a test run can tell its own
leftovers from another run's on the same machine (tests/conftest.py sets it)."""
from __future__ import annotations

import os
import re


def run_tag() -> str:
    tag = os.environ.get("CW_RUN_TAG", "")
    return tag if re.fullmatch(r"[0-9a-f]{0,4}", tag) else ""
