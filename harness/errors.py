"""Typed errors. Each one carries what a person needs to act on it: the file, the
field path, the offset, the expected and the actual value, the peer and its stderr."""
from __future__ import annotations


class CrosswireError(Exception):
    """Base of every error the harness raises on purpose; the CLI prints these in one line."""


class SchemaError(CrosswireError):
    """The schema file breaks the grammar of protocols/WIRE.md."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file, self.where, self.message = file, where, message
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")


class CodecError(CrosswireError):
    """A value or bytes that break the wire format. `code` is one of the codes of
    PEER_CONTRACT.md ("length", "utf8", ...); `path` names the field."""

    kind = "codec"

    def __init__(self, code: str, path: str, message: str, offset: int | None = None,
                 expected: object = None, actual: object = None) -> None:
        self.code, self.path, self.offset = code, path, offset
        self.expected, self.actual, self.message = expected, actual, message
        at = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{self.kind} error [{code}] {path}{at}: {message}")


class DecodeError(CodecError):
    kind = "decode"


class EncodeError(CodecError):
    kind = "encode"


class TextFormError(CrosswireError):
    """A value in the contract's text form could not be parsed."""


class ManifestError(CrosswireError):
    """A peers/<name>/peer.toml that cannot be used."""


class PeerUnavailable(CrosswireError):
    """A peer that cannot run here (toolchain missing, not built): skipped with this reason."""


class PeerError(CrosswireError):
    """A peer misbehaved while handling `request`. Carries the tail of its stderr."""

    def __init__(self, peer: str, request: str, message: str, stderr_tail: str = "") -> None:
        self.peer, self.request, self.stderr_tail, self.message = peer, request, stderr_tail, message
        text = f"peer {peer}: {message} (request: {_clip(request)})"
        if stderr_tail:
            text += "\n  stderr tail:\n" + "\n".join("    " + ln for ln in stderr_tail.splitlines())
        super().__init__(text)


class PeerTimeout(PeerError):
    """The peer did not reply in time; it has been killed."""


class PeerDied(PeerError):
    """The peer exited (or closed its stdout) while a reply was awaited."""


class PeerProtocolError(PeerError):
    """The peer wrote something on its control channel that is not a contract reply."""


class PeerReplyError(PeerError):
    """The peer answered `ERR <kind> <message>`: a well-formed, typed refusal."""

    def __init__(self, peer: str, request: str, kind: str, detail: str, stderr_tail: str = "") -> None:
        self.kind, self.detail = kind, detail
        super().__init__(peer, request, f"ERR {kind} {detail}", stderr_tail)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
