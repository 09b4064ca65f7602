"""Writes the fuzzers' seed corpus from the vectors: for every payload of
protocols/vectors/golden.json and malformed.json, one file that is the whole frame and one
that is the bare payload after its message's selector byte (fuzz/c/fuzz_decode.c says how
both fuzzers read an input). Standard library only; the output is build output, not committed.

    python3 fuzz/seed_corpus.py OUT_DIR [--max-len N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = struct.Struct("<IHHIIQ")   # magic, version, msg_type, flags, payload_len, seq (WIRE.md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the corpus folder to write (created; existing seeds are kept)")
    ap.add_argument("--max-len", type=int, default=4096,
                    help="skip payloads longer than this many bytes (default 4096, libFuzzer's default -max_len)")
    args = ap.parse_args(argv)

    schema = tomllib.loads((ROOT / "protocols/schema.toml").read_text())
    magic, version = schema["frame"]["magic"], schema["format"]["version"]
    ids = {name: m["id"] for name, m in schema["messages"].items()}
    order = sorted(ids.values())    # the selector byte is an index into the ids, sorted

    args.out.mkdir(parents=True, exist_ok=True)
    written = skipped = 0
    for source in ("golden", "malformed"):
        for case in json.loads((ROOT / f"protocols/vectors/{source}.json").read_text()):
            payload = bytes.fromhex(case["payload"])
            if len(payload) > args.max_len:
                skipped += 1
                continue
            msg_id = ids[case["message"]]
            frame = HEADER.pack(magic, version, msg_id, 0, len(payload), 1) + payload
            bare = bytes([order.index(msg_id)]) + payload
            for kind, data in (("frame", frame), ("payload", bare)):
                name = f"{source}-{kind}-{case['id']}-{hashlib.sha1(data).hexdigest()[:8]}"
                (args.out / name).write_bytes(data)
                written += 1
    print(f"seed_corpus: {written} seeds in {args.out} ({skipped} payloads over {args.max_len} bytes skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
