"""Transports, seen from the harness: it allocates private endpoint addresses, hands them to
peers (LISTEN/CONNECT), and removes whatever is left afterwards. The harness is never in the
data path between two peers."""
from __future__ import annotations

from typing import Protocol

from ..errors import CrosswireError
from .shm import ShmTransport
from .uds import UdsTransport


class Transport(Protocol):
    name: str

    def address(self) -> str:
        """A fresh endpoint address, unique to this process."""

    def release(self, address: str) -> None:
        """Remove what a peer may have left at `address`."""

    def cleanup(self) -> None:
        """Remove everything this transport object created."""


KNOWN: dict[str, type] = {"uds": UdsTransport, "shm": ShmTransport}


def get(name: str) -> Transport:
    try:
        return KNOWN[name]()
    except KeyError:
        raise CrosswireError(f"unknown transport {name!r}; known: {', '.join(KNOWN)}") from None
