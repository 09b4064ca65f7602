"""The reference peer, sabotaged at the process level (tests/test_faults.py):

    python saboteur.py <fault> <COMMAND> <n> <once-file>

When the n-th request named COMMAND arrives, it first says so on stderr, then (only if
<once-file> does not exist yet, which it then creates: a peer restarted by the harness after
the fault behaves):

| fault   | what the process does                                         |
|---------|---------------------------------------------------------------|
| kill    | SIGKILLs itself (a crash mid-request)                         |
| stop    | SIGSTOPs itself (a hang: alive, never answering)              |
| exit    | exits with status 3 without answering (an early exit)         |
| garbage | answers with a line that is not a contract reply              |

Before and after that request it is the reference peer, unchanged. Like faulty_peer/peer.py it
is never discovered as a peer: a test writes its manifest into a temporary folder.
"""
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "peers" / "python" / "kit"))
import cwkit as peer  # noqa: E402  (the reference peer's kit)

FAULT, COMMAND, N, ONCE = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])


class Sabotaged(peer.Peer):
    seen = 0

    def answer(self, raw):
        if raw.split(b" ", 1)[0].strip() == COMMAND.encode():
            self.seen += 1
            if self.seen == N and not ONCE.exists():
                ONCE.touch()
                print(f"saboteur: {FAULT} at {COMMAND} number {N}", file=sys.stderr, flush=True)
                if FAULT == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                elif FAULT == "stop":
                    os.kill(os.getpid(), signal.SIGSTOP)
                elif FAULT == "exit":
                    os._exit(3)
                elif FAULT == "garbage":
                    return "HTTP/1.1 200 OK"
        return super().answer(raw)


peer.Peer = Sabotaged
sys.exit(peer.main())
