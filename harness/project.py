"""Where a crosswire checkout keeps its parts: the schema, the vectors and the peers."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import peers, schema, vectors
from .errors import CrosswireError


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> "Project":
        """The nearest directory at or above `start` (default: cwd) holding protocols/schema.toml."""
        here = (start or Path.cwd()).resolve()
        for d in (here, *here.parents):
            if (d / "protocols" / "schema.toml").is_file():
                return cls(d)
        raise CrosswireError(f"no protocols/schema.toml at or above {here}: run from a crosswire "
                             "checkout or pass --root")

    @property
    def schema_path(self) -> Path:
        return self.root / "protocols" / "schema.toml"

    @property
    def golden_path(self) -> Path:
        return self.root / "protocols" / "vectors" / "golden.json"

    @property
    def extra_path(self) -> Path:
        return self.root / "protocols" / "vectors" / "extra.json"

    @cached_property
    def schema(self) -> schema.Schema:
        return schema.load(self.schema_path)

    @cached_property
    def registry(self) -> dict[str, peers.PeerSpec]:
        return peers.discover(self.root / "peers")

    @cached_property
    def cases(self) -> list[vectors.Case]:
        if not self.golden_path.exists():
            raise CrosswireError(f"{self.golden_path} is missing: run `python -m harness vectors --regenerate`")
        return vectors.load(self.schema, self.golden_path)
