"""The record of one generation of a build: the files publisher made in it, and what the
build reported. Only files listed here are ever left out of a later generation."""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.errors import Problem
from publisher.filecache import digest, read_framed, write_framed

Stat = list[int]  # [size, mtime_ns] of a file, as the build left it
_last: list[tuple[tuple[str, int, int, int, int], Manifest]] = []  # the last one read


@dataclass
class Manifest:
    files: dict[str, Stat] = field(default_factory=dict)  # every file publisher made there
    built: list[str] = field(default_factory=list)  # what this build rendered (not carried over)
    digest: str = ""  # the inputs (see stamp.py); "" for a folder migrated from an old layout
    issues: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # SHA-256 of files, to compare unread
    keys: dict[str, str] = field(default_factory=dict)  # what each file was made from (keys.py)
    groups: dict[str, list[str]] = field(default_factory=dict)  # name: [key, its files...] (reuse.py)

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        """The manifest at path; None if it is missing, torn or not one of ours. A build
        reads the previous one three times (stamp, then before and under the lock): parsed
        once while the file is unchanged, each caller given its own copy."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        seen = (str(path), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
        if _last and _last[0][0] == seen:
            return _last[0][1].copy()
        manifest = cls._parse(path)
        _last[:] = [(seen, manifest.copy())] if manifest else []
        return manifest

    def copy(self) -> Manifest:
        return dataclasses.replace(self, files=dict(self.files), built=list(self.built),
                                   issues=list(self.issues), warnings=list(self.warnings),
                                   hashes=dict(self.hashes), keys=dict(self.keys),
                                   groups={k: list(v) for k, v in self.groups.items()})

    @classmethod
    def _parse(cls, path: Path) -> Manifest | None:
        try:
            text = path.read_bytes()
        except OSError:
            return None
        if (twin := _twin(path, text)) is not None:
            return twin
        try:
            data = json.loads(text)
            manifest = cls(
                files={str(k): [int(n) for n in v] for k, v in data["files"].items()},
                built=[str(p) for p in data["built"]],
                digest=str(data["digest"]),
                issues=[str(i) for i in data["issues"]],
                warnings=[Problem(**p) for p in data["warnings"]],
                hashes={str(k): str(v) for k, v in data.get("hashes", {}).items()},
                keys={str(k): str(v) for k, v in data.get("keys", {}).items()},
                groups={str(k): [str(p) for p in v] for k, v in data.get("groups", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return manifest

    def write(self, path: Path) -> Callable[[], None]:
        """Atomically, and durably: a generation is never made public before its manifest.
        Returns what writes its twin (see _twin), for once the generation is public: a
        build that fails leaves every file as it was."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # asdict deep-copies
        data["warnings"] = [dataclasses.asdict(p) for p in self.warnings]
        text = json.dumps(data, sort_keys=True).encode()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        row = (digest(text), data.pop("warnings"), data)  # as in the JSON: by name
        return lambda: write_framed(path.parent / TWIN, TWIN_MAGIC, marshal.dumps(row))


# The last manifest written, as marshal, in the cache area beside the generations: parsing
# 8 MB of JSON (5,000 issues) took a third of a no-op build and a tenth of an edit's. It
# stands for the manifest whose bytes have its digest, and for no other; the JSON is the
# record (a lost or torn twin costs one parse).
TWIN = "cache/manifest.marshal"
TWIN_MAGIC = b"publisher manifest twin 1\n"


def _twin(path: Path, text: bytes) -> Manifest | None:
    body = read_framed(path.parent / TWIN, TWIN_MAGIC)
    if body is None:
        return None
    try:
        hashed, warnings, data = marshal.loads(body)
        if hashed != digest(text):
            return None
        return Manifest(**data, warnings=[Problem(**p) for p in warnings])
    except Exception:  # a twin of any other shape is no twin
        return None


def stat_of(path: Path) -> Stat:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def legacy_files(folder: Path) -> dict[str, Stat]:
    """The files an old (pre-generations) build recorded in .cache/build.json; else every file
    but the cache: that layout pruned everything else at each build."""
    try:
        data: Any = json.loads((folder / ".cache/build.json").read_bytes())
        listed = [str(rel) for rel in data["manifest"]]
    except (OSError, ValueError, KeyError, TypeError):
        listed = [
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
        ]
    return {rel: [0, 0] for rel in listed if not rel.startswith(".cache")}
