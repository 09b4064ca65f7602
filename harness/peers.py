"""Peer registry: peers are discovered from peers/*/peer.toml manifests (PEER_CONTRACT.md,
"Manifest"). Adding a language is adding a folder; nothing here names a language."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ManifestError, PeerUnavailable

CONTRACT_VERSION = 3
BUILD_TIMEOUT = 900.0


@dataclass(frozen=True)
class PeerSpec:
    name: str
    language: str
    dir: Path
    run: tuple[str, ...]
    transports: tuple[str, ...]
    messages: tuple[str, ...] | None          # None: every message
    build: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    base: str = ""          # for a variant ("c@asan"), the peer it is a build of ("c")
    packages: tuple[str, ...] = ()   # Debian packages that provide `requires` (named when missing)
    check: tuple[str, ...] = ()      # argv of the peer's own unit tests ([check] command), run in its folder
    adapter: str = ""                # [adapter] lang: a peer around a library, its generated code rewritten by build
    frames: bool = False             # [adapter] frames: the library writes and reads whole frames
    quirks: tuple = ()   # [quirks]: (quirk, "encode" | "decode" | "both" | ranges), harness/quirks.py
    schema: str = ""                 # the project's schema file, given to the peer as $CROSSWIRE_SCHEMA
    build_timeout: float = BUILD_TIMEOUT   # [build] timeout: seconds the build may take before it is killed

    @property
    def program(self) -> str:
        """The name the program itself reports in HELLO: a variant is the same program."""
        return self.base or self.name

    @property
    def manifest(self) -> Path:
        return self.dir / "peer.toml"

    def supports_message(self, name: str) -> bool:
        return self.messages is None or name in self.messages

    def missing_tools(self) -> list[str]:
        return [tool for tool in self.requires if shutil.which(tool) is None]

    def install_hint(self) -> str:
        """"; on Debian: apt-get install ..." naming the manifest's `packages`, or "" without any."""
        return f"; on Debian: apt-get install {' '.join(self.packages)}" if self.packages else ""

    def missing_reason(self, missing: list[str]) -> str:
        """Why the tools `missing` keep this peer from building or running, and what to install."""
        return f"{', '.join(missing)} not found on PATH{self.install_hint()}"

    def env(self) -> dict[str, str]:
        """The environment the peer runs and builds in: ours, plus where the project's schema is."""
        return {**os.environ, **({"CROSSWIRE_SCHEMA": self.schema} if self.schema else {})}

    def argv(self) -> list[str]:
        """The run command, with {python} standing for this interpreter and paths made absolute."""
        out = []
        for i, arg in enumerate(self.run):
            arg = arg.replace("{python}", sys.executable)
            if i == 0 and ("/" in arg) and not Path(arg).is_absolute():
                arg = str(self.dir / arg)
            out.append(arg)
        return out

    def unavailable(self) -> str | None:
        """Why this peer cannot run here, or None when it can."""
        missing = self.missing_tools()
        if missing:
            return f"toolchain missing: {self.missing_reason(missing)} (needed by {self.manifest})"
        absent = [o for o in self.outputs if not (self.dir / o).exists()]
        if absent:
            return f"not built: {self.dir.name}/{absent[0]} is missing; run `crosswire build` (`make peers` in crosswire's checkout)"
        exe = self.argv()[0]
        if "/" in exe:
            if not Path(exe).exists():
                return f"run command {exe} does not exist; run `crosswire build` (`make peers` in crosswire's checkout)"
        elif shutil.which(exe) is None:
            return f"run command {exe!r} not found on PATH"
        return None

    def require_available(self) -> None:
        reason = self.unavailable()
        if reason:
            raise PeerUnavailable(f"peer {self.name}: {reason}")


def _strings(where: str, value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where}: {field} must be a list of strings")
    return tuple(value)


def load_manifest(path: Path) -> PeerSpec:
    where = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{where}: cannot read: {exc}") from None
    unknown = sorted(doc.keys() - {"name", "language", "contract", "build", "run", "supports", "variants", "check",
                                   "adapter", "quirks"})
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(unknown)}")
    for key in ("name", "language", "contract", "run", "supports"):
        if key not in doc:
            raise ManifestError(f"{where}: missing key {key!r}")
    name = doc["name"]
    if not isinstance(name, str) or not name or any(c in name for c in " ,/<>-@"):
        raise ManifestError(f"{where}: name must be a word without spaces, commas, '/', '<', '>', '-' or '@'")
    if doc["contract"] != CONTRACT_VERSION:
        raise ManifestError(f"{where}: contract {doc['contract']!r}; this harness speaks {CONTRACT_VERSION}")
    build, run, sup, check = doc.get("build", {}), doc["run"], doc["supports"], doc.get("check", {})
    for table, keys in ((build, {"requires", "command", "outputs", "packages", "timeout"}), (run, {"command"}),
                        (sup, {"transports", "messages"}), (check, {"command"})):
        if not isinstance(table, dict):
            raise ManifestError(f"{where}: build, run, supports and check must be tables")
        extra = sorted(table.keys() - keys)
        if extra:
            raise ManifestError(f"{where}: unknown key(s) {', '.join(extra)}")
    command = _strings(where, run.get("command"), "run.command")
    if not command:
        raise ManifestError(f"{where}: run.command is empty")
    messages = sup.get("messages", "*")
    timeout = build.get("timeout", BUILD_TIMEOUT)
    if type(timeout) not in (int, float) or not 1 <= timeout <= 86400:
        raise ManifestError(f"{where}: build.timeout must be seconds, 1 to 86400, got {timeout!r}")
    adapter = doc.get("adapter", {})
    if not isinstance(adapter, dict) or sorted(adapter.keys() - {"lang", "frames"}) or \
            not isinstance(adapter.get("lang", ""), str) or not isinstance(adapter.get("frames", False), bool):
        raise ManifestError(f"{where}: [adapter] takes lang (a codegen language) and frames (true or false)")
    if adapter and not adapter.get("lang"):
        raise ManifestError(f"{where}: [adapter] needs lang, the language of its generated code")
    from . import quirks
    return PeerSpec(
        name=name, language=str(doc["language"]), dir=path.parent.resolve(), run=command,
        transports=_strings(where, sup.get("transports", []), "supports.transports"),
        messages=None if messages == "*" else _strings(where, messages, "supports.messages"),
        build=_strings(where, build.get("command", []), "build.command"),
        requires=_strings(where, build.get("requires", []), "build.requires"),
        outputs=_strings(where, build.get("outputs", []), "build.outputs"),
        packages=_strings(where, build.get("packages", []), "build.packages"),
        check=_strings(where, check.get("command", []), "check.command"),
        adapter=adapter.get("lang", ""), frames=adapter.get("frames", False), build_timeout=float(timeout),
        quirks=quirks.parse(doc.get("quirks", {}), where),
    )


def load_variants(path: Path, base: PeerSpec) -> list[PeerSpec]:
    """`[variants.<v>]` tables: other builds of the same program (a sanitizer build, a cross
    build run under an emulator), each joining the matrix as peer `<name>@<v>`. A variant takes
    `build`, `outputs`, `run`, extra `requires` and the extra `packages` (Debian's) that provide
    them, named in the reason when one is missing; the rest comes from the base peer."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    variants = doc.get("variants", {})
    if not isinstance(variants, dict):
        raise ManifestError(f"{path}: variants must be a table of tables")
    for vname, table in variants.items():
        where = f"{path}: variants.{vname}"
        if not isinstance(table, dict) or not vname.replace("_", "").isalnum():
            raise ManifestError(f"{where}: a variant is a table named by a word")
        extra = sorted(table.keys() - {"build", "outputs", "run", "requires", "packages"})
        if extra:
            raise ManifestError(f"{where}: unknown key(s) {', '.join(extra)}")
        run = _strings(where, table.get("run", list(base.run)), "run")
        if not run:
            raise ManifestError(f"{where}: run is empty")
        out.append(PeerSpec(
            name=f"{base.name}@{vname}", language=base.language, dir=base.dir, run=run,
            transports=base.transports, messages=base.messages,
            build=_strings(where, table.get("build", []), "build"),
            requires=base.requires + _strings(where, table.get("requires", []), "requires"),
            outputs=_strings(where, table.get("outputs", []), "outputs"), base=base.name,
            adapter=base.adapter, frames=base.frames, quirks=base.quirks,
            packages=base.packages + _strings(where, table.get("packages", []), "packages")))
    return out


def discover(peers_dir: Path, schema: Path | None = None) -> dict[str, PeerSpec]:
    """Every peer under peers_dir, by name, in folder order (`schema`: the project's, for $CROSSWIRE_SCHEMA)."""
    found: dict[str, PeerSpec] = {}
    for manifest in sorted(peers_dir.glob("*/peer.toml")):
        spec = load_manifest(manifest)
        for each in (spec, *load_variants(manifest, spec)):
            if schema is not None:
                each = replace(each, schema=str(schema))
            if each.name in found:
                raise ManifestError(f"{manifest}: peer name {each.name!r} is already used by "
                                    f"{found[each.name].manifest}")
            found[each.name] = each
    return found


def select(registry: dict[str, PeerSpec], names: list[str] | None) -> list[PeerSpec]:
    """The peers named (all when names is None); an unknown name is an error listing the known."""
    if names is None:
        return list(registry.values())
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ManifestError(f"unknown peer {unknown[0]!r}; known peers: {', '.join(registry) or 'none'}")
    return [registry[n] for n in names]


@dataclass(frozen=True)
class BuildResult:
    peer: str
    status: str        # "built", "nothing", "skipped", "failed"
    detail: str = ""


def build(spec: PeerSpec, timeout: float | None = None) -> BuildResult:
    """Run the peer's build step in its folder; a missing toolchain is a skip, not a failure."""
    missing = spec.missing_tools()
    if missing:
        return BuildResult(spec.name, "skipped", spec.missing_reason(missing))
    if not spec.build:
        return BuildResult(spec.name, "nothing")
    problem = run_step(spec, spec.build, "build", timeout)
    if problem:
        return BuildResult(spec.name, "failed", problem)
    absent = [o for o in spec.outputs if not (spec.dir / o).exists()]
    if absent:
        return BuildResult(spec.name, "failed", f"build succeeded but did not make {absent[0]}")
    return BuildResult(spec.name, "built")


def run_step(spec: PeerSpec, argv: tuple[str, ...], what: str, timeout: float | None = None) -> str | None:
    """Run a manifest's command (build, check) in the peer's folder: None when it succeeds, else
    what went wrong, with the last lines of its output. It runs in a process group of its own;
    at the timeout (the manifest's build.timeout unless given) the group and every process below
    it are killed, so a hung build leaves nothing behind."""
    from .driver import MARK, die_with_parent, kill_tree, new_mark, reap, track, untrack
    timeout = spec.build_timeout if timeout is None else timeout
    argv = tuple(a.replace("{python}", sys.executable) for a in argv)
    try:
        proc = subprocess.Popen(argv, cwd=spec.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL, env={**spec.env(), MARK: (mark := new_mark())},
                                start_new_session=True, preexec_fn=die_with_parent if sys.platform == "linux" else None)
    except FileNotFoundError:
        return f"{what} command {argv[0]!r} not found"
    track(proc, mark)
    try:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = kill_tree(proc, mark)
            try:                    # a survivor we could not find may hold the output open: bounded
                proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.wait()
            reap(killed)
            return f"{what} did not finish in {timeout:g} s: killed with every process it started"
        except BaseException:       # Ctrl-C: the build goes too
            killed = kill_tree(proc, mark)
            proc.wait()
            reap(killed)
            raise
    finally:
        untrack(proc)
    if proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-25:])
        return f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}"
    return None
