"""The harness is gone (PEER_CONTRACT.md, "Lines", "When the harness goes"): a peer never
outlives the harness that started it.

`watch()`, at start and before anything is answered, notes the parent's pid and, on Linux, asks
for SIGKILL when the parent dies (PR_SET_PDEATHSIG); a parent gone already ends the peer there.
`gone()` is the cheap check every wait that can last longer than SLICE makes between its slices:
the parent is no longer the pid noted, or stdin hung up with nothing left to read. `check()`
raises HarnessGone, which cwkit.run turns into what QUIT does (the socket file or segment this
peer made is removed) and exit status 0. The shm waits make the same check in C (build_shm.py,
wait_index), with the pid noted here (shm.ShmConnection hands it over).

Until `watch()` runs nothing is watched: the kit used in process (the tests) never stops.
"""
import os
import select
import sys

SLICE = 0.1             # seconds: the longest a wait goes without checking
SLICE_MS = 100
parent = -1             # the pid noted at start; -1: not watched


class HarnessGone(BaseException):
    """Raised out of a wait when the harness is gone. A BaseException, like SystemExit: no
    `except Exception` on its way out (Peer.answer, an adapter's call) turns it into a reply."""


_stdin = select.poll()
_stdin.register(0, select.POLLIN)


def watch():
    """Note the parent; on Linux, SIGKILL when it dies; exit 0 if it died already."""
    global parent
    ppid = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes
        try:  # PR_SET_PDEATHSIG 1, SIGKILL 9
            ctypes.CDLL(None, use_errno=True).prctl(1, ctypes.c_ulong(9), ctypes.c_ulong(0), ctypes.c_ulong(0),
                                                    ctypes.c_ulong(0))
        except (OSError, AttributeError):  # no prctl: the checks below still hold
            pass
    if os.getppid() != ppid:
        raise SystemExit(0)
    parent = ppid


def gone():
    """The harness is gone: the parent is not the one noted, or stdin hung up and holds nothing."""
    if parent < 0:
        return False
    if os.getppid() != parent:
        return True
    ready = _stdin.poll(0)
    return bool(ready) and bool(ready[0][1] & select.POLLHUP) and not ready[0][1] & select.POLLIN


def check():
    if gone():
        raise HarnessGone()
