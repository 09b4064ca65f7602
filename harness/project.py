"""A crosswire project: where its schema, vectors, peers, reports, kits and generated code live.

A project is a folder with a `crosswire.toml` (or a `[tool.crosswire]` table in its
`pyproject.toml`), as `crosswire init` writes it; every path in it is relative to that folder:

    schema = "protocols/schema.toml"    # the wire schema (protocols/SCHEMA.md)
    vectors = "protocols/vectors"       # golden.json, malformed.json, extra.json
    peers = "peers"                     # one folder per peer, each with a peer.toml
    reports = "reports"                 # last-run.json and the --json/--junit/--html reports
    kits = "kits"                       # the vendored peer kits, one folder per language
    stream = "Reading"                  # optional: the message the streams and the bench carry
    [codegen]                           # where `crosswire codegen` writes a language's codec
    c = "gen/c"

Commands find the project from the current directory upward (the first folder with such a
config), or take `--project DIR`. A folder passed explicitly may also have no config: then the
values above are its layout. Nothing here assumes crosswire's own checkout, which is a project
like any other (its crosswire.toml is at its top).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from . import peers, reference, schema, streams, vectors
from .errors import CrosswireError

CONFIG = "crosswire.toml"
DEFAULTS = {"schema": "protocols/schema.toml", "vectors": "protocols/vectors", "peers": "peers",
            "reports": "reports", "kits": "kits"}
OPTIONAL = {"name": "the project's name", "stream": "a message, or Message.field, for the streams and the bench",
            "codegen": "a table",
            "variant_pairs": '"native" (a variant meets the native peers only, the default) or "all"'}


def read_config(root: Path) -> tuple[dict[str, Any], Path | None]:
    """The config of the project at `root` and the file it came from (None: no config there)."""
    for path, table in ((root / CONFIG, None), (root / "pyproject.toml", ("tool", "crosswire"))):
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CrosswireError(f"{path}: not a readable TOML file: {exc}") from None
        if table:
            data = data.get(table[0], {}).get(table[1])
            if data is None:
                continue
        if not isinstance(data, dict):
            raise CrosswireError(f"{path}: [tool.crosswire] must be a table")
        return data, path
    return {}, None


def _check(config: dict[str, Any], source: Path | None) -> dict[str, Any]:
    where = source.name if source else "the project"
    unknown = sorted(set(config) - set(DEFAULTS) - set(OPTIONAL))
    if unknown:
        raise CrosswireError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join([*DEFAULTS, *OPTIONAL])}")
    for key, value in config.items():
        if key == "codegen":
            if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
                raise CrosswireError(f"{where}: [codegen] maps a language to a folder, e.g. c = \"gen/c\"")
        elif key == "variant_pairs":
            if value not in ("native", "all"):
                raise CrosswireError(f"{where}: variant_pairs must be \"native\" or \"all\", got {value!r}")
        elif key in ("name", "stream"):
            if not isinstance(value, str) or not value:
                raise CrosswireError(f"{where}: {key} must be a non-empty string ({OPTIONAL[key]}), got {value!r}")
        elif not isinstance(value, str) or not value:
            raise CrosswireError(f"{where}: {key} must be a path (a non-empty string), got {value!r}")
    return {**DEFAULTS, **config}


@dataclass(frozen=True)
class Project:
    root: Path
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    config_path: Path | None = field(default=None, compare=False)
    named: frozenset = field(default=frozenset(), compare=False, repr=False)   # the keys the config file sets

    def __post_init__(self) -> None:
        root = Path(self.root).resolve()
        object.__setattr__(self, "root", root)
        if not self.config:
            config, path = read_config(root)
            object.__setattr__(self, "config", _check(config, path))
            object.__setattr__(self, "config_path", path)
            object.__setattr__(self, "named", frozenset(config))

    @classmethod
    def find(cls, start: Path | None = None) -> "Project":
        """The nearest folder at or above `start` (default: cwd) with a crosswire config."""
        here = (start or Path.cwd()).resolve()
        for d in (here, *here.parents):
            if read_config(d)[1] is not None:
                return cls(d)
        raise CrosswireError(f"no crosswire project at or above {here} (no {CONFIG}, no [tool.crosswire] in a "
                             "pyproject.toml): run `crosswire init` to make one, or pass --project DIR")

    @classmethod
    def at(cls, root: Path) -> "Project":
        """The project in `root`, named explicitly (--project): its config, else the default layout."""
        root = root.resolve()
        if not root.is_dir():
            raise CrosswireError(f"--project {root}: no such folder")
        return cls(root)

    def path(self, key: str) -> Path:
        return self.root / self.config[key]

    @property
    def variant_pairs(self) -> bool:
        """Whether two variants (c@s390x, go@386, c@asan) also meet each other over the transports,
        not only the native peers (crosswire.toml variant_pairs = "all")."""
        return self.config.get("variant_pairs") == "all"

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.root.name)

    @property
    def stream(self) -> "streams.Layout":
        """The stream message's layout (config `stream`, else the largest); NoStream says why not."""
        return streams.layout(self.schema, self.config.get("stream"))

    def streams_unsupported(self, bench: bool = False) -> str:
        """Why the streams (or, with bench, the bench) cannot run on this project, or ""."""
        return streams.unsupported(self.schema, self.config.get("stream"), bench)

    @property
    def schema_path(self) -> Path:
        return self.path("schema")

    @property
    def vectors_dir(self) -> Path:
        return self.path("vectors")

    @property
    def golden_path(self) -> Path:
        return self.vectors_dir / "golden.json"

    @property
    def extra_path(self) -> Path:
        return self.vectors_dir / "extra.json"

    @property
    def malformed_path(self) -> Path:
        return self.vectors_dir / "malformed.json"

    @property
    def peers_dir(self) -> Path:
        return self.path("peers")

    @property
    def reports_dir(self) -> Path:
        return self.path("reports")

    @property
    def kits_dir(self) -> Path:
        return self.path("kits")

    def codegen_dir(self, lang: str) -> Path | None:
        """Where `crosswire codegen` writes language `lang` (None: the backend's own place)."""
        out = self.config.get("codegen", {}).get(lang)
        return self.root / out if out else None

    @cached_property
    def schema(self) -> schema.Schema:
        if not self.schema_path.is_file():
            where = f" (named in {self.config_path})" if self.config_path else ""
            raise CrosswireError(f"the schema {self.schema_path}{where} does not exist")
        return schema.load(self.schema_path)

    @cached_property
    def registry(self) -> dict[str, peers.PeerSpec]:
        """The project's own peers (its peers folder), then the reference peers built for its
        schema (harness/reference.py) under the names the project does not use."""
        if "peers" in self.named and self.config["peers"] != DEFAULTS["peers"] and not self.peers_dir.is_dir():
            raise CrosswireError(f"the peers folder {self.peers_dir} (named in {self.config_path}) does not exist")
        own = peers.discover(self.peers_dir, self.schema_path) if self.peers_dir.is_dir() else {}
        self._check_messages(own)
        if reference.is_checkout(self.root):
            return own
        copies = peers.discover(reference.home(self.root) / "peers", self.schema_path) \
            if (reference.home(self.root) / "peers").is_dir() else {}
        taken = {spec.program for spec in own.values()}
        return {**own, **{n: s for n, s in copies.items() if s.program not in taken}}

    def _check_messages(self, found: dict[str, peers.PeerSpec]) -> None:
        """A manifest's supports.messages names messages of the schema (a typo would silently
        skip every cell of the message it meant)."""
        for spec in found.values():
            unknown = [m for m in spec.messages or () if m not in self.schema.messages]
            if unknown:
                raise CrosswireError(f"{spec.manifest}: supports.messages names {unknown[0]!r}, which the schema "
                                     f"{self.schema_path.name} does not have (its messages: "
                                     f"{', '.join(list(self.schema.messages)[:8])}{', ...' if len(self.schema.messages) > 8 else ''})")

    @cached_property
    def reject_cases(self) -> list[vectors.Case]:
        """The malformed payloads (malformed.json; none when the file is missing) as the matrix's
        reject cases: each must be refused with its ERR decode code and path."""
        from . import malformed
        out = []
        for row in malformed.load(self.malformed_path):
            msg = self.schema.messages.get(row["message"])
            if msg is None:
                raise CrosswireError(f"{self.malformed_path}: {row['id']}: no message {row['message']} in the schema")
            try:
                payload = bytes.fromhex(row["payload"])
            except (TypeError, ValueError):
                raise CrosswireError(f"{self.malformed_path}: {row['id']}: payload is not hex") from None
            out.append(vectors.Case(f"malformed.{row['id']}", msg, None, payload, str(row.get("note", "")),
                                   refuse=(str(row["code"]), str(row["path"]))))
        return out

    @cached_property
    def hostile_cases(self) -> list[vectors.Case]:
        """The hostile frames (harness/hostile.py: header errors, cut and split frames, malformed
        payloads between good frames) as the matrix's hostile cases: each receiver, over each
        transport, must answer every RECV as the entry says."""
        from . import hostile
        return hostile.as_cases(hostile.catalogue(self.schema, self.malformed_path, self.cases))

    def build(self, spec: peers.PeerSpec, timeout: float | None = None) -> peers.BuildResult:
        """Build one peer: an adapter's generated code first (harness/adapters.py), then its build step
        (killed, with all it started, after `timeout` s: default the manifest's build.timeout)."""
        from . import adapters
        try:
            adapters.prepare(self, spec)
        except CrosswireError as exc:
            return peers.BuildResult(spec.name, "failed", f"cannot generate its adapter code: {exc}")
        return peers.build(spec, timeout)

    def prepare_reference(self) -> None:
        """Copy the reference peers next to this project's schema (none for the checkout)."""
        reference.prepare(self, self.schema)
        self.__dict__.pop("registry", None)

    @cached_property
    def cases(self) -> list[vectors.Case]:
        if not self.golden_path.exists():
            raise CrosswireError(f"{self.golden_path} is missing: run `crosswire vectors --regenerate`")
        return vectors.load(self.schema, self.golden_path)
