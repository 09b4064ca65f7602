"""The @NAME@ peer: scaffolded by `python -m harness new-peer`; yours to edit.

It speaks the start of protocols/PEER_CONTRACT.md: HELLO, QUIT, `ERR request` for a line it
cannot parse, `ERR unsupported` for a request it does not implement yet, and the line-length
limit. docs/adding-a-peer.md says what to add next; `python -m harness check-peer peers/@NAME@`
says what is still missing.
"""
import struct
import sys

NAME = "@NAME@"
MAX_LINE = @MAX_LINE@      # 8 x max_payload + 65536 bytes (PEER_CONTRACT.md, "Lines")
TRANSPORTS = []            # keep these two as peer.toml's [supports] says
MESSAGES = []
KNOWN = {"ENCODE", "DECODE", "LISTEN", "CONNECT", "ACCEPT", "SEND", "RECV", "ECHO", "CLOSE",
         "BLAST", "DRAIN", "WAIT", "PING", "PONG", "FLOOD", "SINK"}


def answer(words):
    command, args = words[0], words[1:]
    if command == "HELLO":
        if args != ["1"]:
            return f"ERR unsupported contract {' '.join(args)}"
        return (f"OK name={NAME} language=python contract=1 transports={','.join(TRANSPORTS)} "
                f"messages={','.join(MESSAGES)} ptr_bits={8 * struct.calcsize('P')} byte_order={sys.byteorder}")
    if command in KNOWN:
        return f"ERR unsupported {command} is not implemented yet"
    return f"ERR request unknown command {command[:40]!r}"


def read_line(stream):
    """One request line without its newline, or None at the end of input; b"" stands for a line
    that was too long (read and dropped up to its newline)."""
    line = stream.readline(MAX_LINE + 1)
    if not line:
        return None
    if line.endswith(b"\n"):
        return line[:-1]
    while line and not line.endswith(b"\n"):
        line = stream.readline(1 << 20)
    return b""


def main():
    while True:
        line = read_line(sys.stdin.buffer)
        if line is None:
            return
        if line == b"":
            reply = "ERR request line too long"
        else:
            words = line.decode("ascii", "replace").split(" ")
            if words == ["QUIT"]:
                print("OK", flush=True)
                return
            reply = answer(words)
        print(reply, flush=True)


if __name__ == "__main__":
    main()
