"""Writes the fuzzers' seed corpus from the vectors: for every payload of
protocols/vectors/golden.json and malformed.json, one file that is the whole frame (the frame
the schema declares, written by the reference codec: harness/codec.py) and one that is the bare
payload after its message's selector byte (fuzz/c/fuzz_decode.c says how both fuzzers read an
input). Needs only the standard library and the checkout's harness package (whose schema and
codec modules are standard-library Python); the output is build output, not committed.

    python3 fuzz/seed_corpus.py OUT_DIR [--max-len N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import codec, schema as S  # noqa: E402  (the checkout's package, found from here)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the corpus folder to write (created; existing seeds are kept)")
    ap.add_argument("--max-len", type=int, default=4096,
                    help="skip payloads longer than this many bytes (default 4096, libFuzzer's default -max_len)")
    args = ap.parse_args(argv)

    schema = S.load(ROOT / "protocols/schema.toml")
    # the selector byte is an index into the messages sorted by id (ties: schema order)
    order = sorted(schema.messages.values(), key=lambda m: m.id)
    plain = {h.name: 0 for h in schema.frame.plain} if schema.frame else {}

    args.out.mkdir(parents=True, exist_ok=True)
    written = skipped = 0
    for source in ("golden", "malformed"):
        for case in json.loads((ROOT / f"protocols/vectors/{source}.json").read_text()):
            payload = bytes.fromhex(case["payload"])
            if len(payload) > args.max_len:
                skipped += 1
                continue
            msg = schema.message(case["message"])
            seeds = [("payload", bytes([order.index(msg)]) + payload)]
            if schema.frame is not None:
                seeds.append(("frame", codec.frame_bytes(schema, msg, 1, payload, plain)))
            for kind, data in seeds:
                name = f"{source}-{kind}-{case['id']}-{hashlib.sha1(data).hexdigest()[:8]}"
                (args.out / name).write_bytes(data)
                written += 1
    print(f"seed_corpus: {written} seeds in {args.out} ({skipped} payloads over {args.max_len} bytes skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
