"""TCP (PEER_CONTRACT.md, transport `tcp`). The harness only ever binds loopback: every address
it hands out is `127.0.0.1:0`, the kernel picks the port, and the listener's `LISTEN` reply names
the address really bound, which the connecting side is then given (`transports.listen`). Nothing
is left on disk or in the kernel's names once the sockets close, so release and cleanup have
nothing to do."""
from __future__ import annotations

LOOPBACK = "127.0.0.1:0"


class TcpTransport:
    name = "tcp"

    def address(self) -> str:
        return LOOPBACK

    def release(self, address: str) -> None:
        pass

    def cleanup(self) -> None:
        pass
