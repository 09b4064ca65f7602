"""Where a crosswire checkout keeps its parts: the schema, the vectors and the peers."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import peers, reference, schema, vectors
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

    @property
    def malformed_path(self) -> Path:
        return self.root / "protocols" / "vectors" / "malformed.json"

    @cached_property
    def schema(self) -> schema.Schema:
        return schema.load(self.schema_path)

    @cached_property
    def registry(self) -> dict[str, peers.PeerSpec]:
        """The project's own peers (its peers/ folder), then the reference peers built for its
        schema (harness/reference.py) under the names the project does not use."""
        own = peers.discover(self.root / "peers") if (self.root / "peers").is_dir() else {}
        if reference.is_checkout(self.root):
            return own
        copies = peers.discover(reference.home(self.root) / "peers") \
            if (reference.home(self.root) / "peers").is_dir() else {}
        taken = {spec.program for spec in own.values()}
        return {**own, **{n: s for n, s in copies.items() if s.program not in taken}}

    def prepare_reference(self) -> None:
        """Copy the reference peers next to this project's schema (none for the checkout)."""
        reference.prepare(self.root, self.schema)
        self.__dict__.pop("registry", None)

    @cached_property
    def cases(self) -> list[vectors.Case]:
        if not self.golden_path.exists():
            raise CrosswireError(f"{self.golden_path} is missing: run `python -m harness vectors --regenerate`")
        return vectors.load(self.schema, self.golden_path)
