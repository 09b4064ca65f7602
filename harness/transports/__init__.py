"""Transports, seen from the harness: it allocates private endpoint addresses, hands them to
peers (LISTEN/CONNECT), and removes whatever is left afterwards. The harness is never in the
data path between two peers.

`listen()` is the one way the harness asks a peer to LISTEN: it returns the address the other
side must CONNECT to, which is the endpoint's real address when the LISTEN reply names one
(over tcp, the port the kernel chose for `127.0.0.1:0`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..errors import CrosswireError, PeerProtocolError
from .shm import ShmTransport
from .tcp import TcpTransport
from .uds import UdsTransport


class Transport(Protocol):
    name: str

    def address(self) -> str:
        """A fresh endpoint address, unique to this process."""

    def release(self, address: str) -> None:
        """Remove what a peer may have left at `address`."""

    def cleanup(self) -> None:
        """Remove everything this transport object created."""


if TYPE_CHECKING:
    from ..driver import PeerProcess

KNOWN: dict[str, type] = {"uds": UdsTransport, "shm": ShmTransport, "tcp": TcpTransport}


def get(name: str) -> Transport:
    try:
        return KNOWN[name]()
    except KeyError:
        raise CrosswireError(f"unknown transport {name!r}; known: {', '.join(KNOWN)}") from None


def listen(proc: "PeerProcess", transport: str, address: str, capacity: int | None = None,
           timeout: float | None = None) -> str:
    """`LISTEN <transport> <address> [capacity]` (capacity: shm only, ignored elsewhere) on
    `proc`; the address to CONNECT to: the one the reply names (PEER_CONTRACT.md, "LISTEN's
    address"), else `address` itself."""
    extra = f" {capacity}" if capacity is not None and transport == "shm" else ""
    line = f"LISTEN {transport} {address}{extra}"
    tokens = proc.request(line, timeout)
    if len(tokens) > 1:
        raise PeerProtocolError(proc.label, line, f"LISTEN replied {len(tokens)} tokens after OK; the contract "
                                "allows at most one, the endpoint's address")
    return tokens[0] if tokens else address


def connect(dialer: "PeerProcess", listener: "PeerProcess", transport: str, address: str,
            capacity: int | None = None, timeout_ms: int = 5000, slack_s: float = 5.0) -> str:
    """Link two peers: LISTEN on `listener` (through listen()), CONNECT from `dialer`, ACCEPT.
    Every step waits at most timeout_ms in the peer, and slack_s more for its reply. Returns the
    address connected to."""
    wait = timeout_ms / 1000 + slack_s
    target = listen(listener, transport, address, capacity, wait)
    dialer.request(f"CONNECT {transport} {target} {timeout_ms}", wait)
    listener.request(f"ACCEPT {timeout_ms}", wait)
    return target
