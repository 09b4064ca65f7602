"""The pytest plugin, driven the way a user drives it (pytester runs a real pytest)."""
from __future__ import annotations

import pytest

from .conftest import ROOT

pytest_plugins = ["pytester"]

TEST = "def test_interop(crosswire_cell, crosswire_run):\n    crosswire_run(crosswire_cell)\n"


def test_matrix_ids_options_and_outcomes(pytester: pytest.Pytester):
    pytester.makepyfile(test_m=TEST)
    result = pytester.runpytest_subprocess(
        f"--cw-root={ROOT}", "--cw-peers=python", "--cw-cases=integers.max,floats.neg_zero", "--cw-kinds=send,echo,decode", "--cw-transports=uds", "-v",
        "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*test_interop?python-decode-integers.max? PASSED*",
                                 "*test_interop?python->python-uds-integers.max? PASSED*",
                                 "*test_interop?python<->python-uds-floats.neg_zero? PASSED*"])


def test_runs_under_xdist(pytester: pytest.Pytester):
    pytester.makepyfile(test_m=TEST)
    result = pytester.runpytest_subprocess(f"--cw-root={ROOT}", "--cw-peers=python", "--cw-cases=text.*", "-n", "2", "-p", "no:cacheprovider")
    n = sum(1 for line in (ROOT / "protocols/vectors/golden.json").read_text().splitlines() if '"id": "text.' in line)
    result.assert_outcomes(passed=8 * n)  # encode, decode, send and echo over uds, shm and tcp


def test_bad_option_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_m=TEST)
    result = pytester.runpytest_subprocess(f"--cw-root={ROOT}", "--cw-peers=cobol", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*crosswire: unknown peer 'cobol'*"])


def test_a_failing_cell_shows_the_field(pytester: pytest.Pytester, tmp_path):
    """A peer that decodes i64 wrongly: the failure names the field and both values."""
    import shutil
    import sys
    root = tmp_path / "co"
    shutil.copytree(ROOT / "protocols", root / "protocols")
    d = root / "peers" / "liar"
    d.mkdir(parents=True)
    (d / "peer.toml").write_text(f'name = "liar"\nlanguage = "python"\ncontract = 3\n[run]\n'
                                 f'command = ["{sys.executable}", "peer.py"]\n[supports]\ntransports = ["uds"]\n')
    (d / "peer.py").write_text(
        "import sys\n"
        "for line in sys.stdin:\n"
        "    if line.startswith('HELLO'):\n"
        "        print('OK name=liar language=python contract=3 transports=uds messages=* ptr_bits=64 byte_order=little')\n"
        "    else:\n"
        "        print('OK 255 65535 4294967295 18446744073709551615 127 32767 2147483647 -129')\n"
        "    sys.stdout.flush()\n")
    pytester.makepyfile(test_m=TEST)
    result = pytester.runpytest_subprocess(f"--cw-root={root}", "--cw-cases=integers.max", "--cw-kinds=decode",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*liar-decode-integers.max: likely cause: byteswap at Integers.val_i64: the value "
                                 "reported, re-encoded with Integers.val_i64 written big-endian*",
                                 "liar decoded the golden bytes another value*",
                                 "*Integers.val_i64: expected 9223372036854775807 (0x7fffffffffffffff), got -129*"])


def test_leftover_check_fails_a_leaky_run(pytester: pytest.Pytester):
    """tests/conftest.py fails the run when a segment or socket dir is left behind, and only for
    its own: one with another run's tag (a concurrent run's) is not blamed on it."""
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    pytester.makepyfile(test_leak="""
        import os, secrets
        def test_leak():
            tag = os.environ["CW_RUN_TAG"]
            other = "ffff" if tag != "ffff" else "eeee"
            os.mkdir(f"/tmp/cw-{tag}leak-{secrets.token_hex(4)}")
            os.mkdir(f"/tmp/cw-{other}leak-{secrets.token_hex(4)}")
        """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the run left 1 segment(s) or socket dir(s) behind: /tmp/cw-*leak-*"])
    import glob
    import shutil
    for d in glob.glob("/tmp/cw-*leak-*"):
        shutil.rmtree(d)


def _interrupted_after(args: list[str], cwd, wait: float) -> tuple[float, str]:
    """Start pytest -n 2 in a session of its own, SIGINT its whole group after `wait` s (what
    Ctrl-C in a terminal does), and time how long it takes to exit."""
    import os
    import signal
    import subprocess
    import sys
    import time
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *args, "-n", "2", "-p", "no:cacheprovider", "-q"],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(wait)
        assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
        os.killpg(proc.pid, signal.SIGINT)
        start = time.monotonic()
        proc.wait(timeout=60)
        return time.monotonic() - start, proc.stdout.read().decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_ctrl_c_under_xdist_exits_in_under_three_seconds(tmp_path):
    """SIGINT to the whole pytest process group while cells run with peers busy: every peer is
    killed at once, and pytest is gone within 3 s (or, on a machine so loaded that pytest-xdist's
    own shutdown of sleeping tests takes longer, within a second of that, measured just before)."""
    (tmp_path / "test_m.py").write_text(TEST)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "test_s.py").write_text(
        "import time, pytest\n@pytest.mark.parametrize('i', range(500))\ndef test_s(i):\n    time.sleep(0.2)\n")
    baseline, _ = _interrupted_after([], tmp_path / "base", 6)
    took, out = _interrupted_after([f"--cw-root={ROOT}", "--cw-peers=python,c", "--cw-kinds=send,echo"], tmp_path, 12)
    assert took < max(3.0, baseline + 1.0), f"{took:.1f} s after Ctrl-C (plain pytest-xdist: {baseline:.1f} s)\n{out[-2000:]}"
