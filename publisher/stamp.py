"""The build stamp: when no input changed since the last successful build into a folder, and
its files are as that build left them, a rebuild has nothing to do and skips every stage.

The stamp is the current generation's manifest (see generations.py): its inputs digest and
each file's size and modification time."""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.errors import Problem
from publisher.filecache import (
    StatKey,
    digest,
    read_file,
    read_framed,
    stat_key,
    trusted,
    write_framed,
)
from publisher.generations import Layout
from publisher.manifest import Manifest
from publisher.names import CONFIG_FILE, ISSUES_DIR, builtin_templates
from publisher.output import Built, Same

if TYPE_CHECKING:  # importing this module stays cheap: nochange.py decides before pydantic
    from publisher.config import Config

PACKAGES = ("publisher", "jinja2", "premailer", "cssutils", "lxml", "nh3", "markdown-it-py", "feedgen")


@dataclass
class Replay:
    """What the last build reported: its issues, its files (read back) and its warnings."""

    issues: list[str]
    files: Mapping[str, bytes]
    warnings: list[Problem]


class BuildStamp:
    def __init__(self, root: Path, config: Config, arguments: object, layout: Layout) -> None:
        self.files = FileDigests.at(layout.cache / DIGESTS)
        self.digest = inputs_digest(root, root / config.build.templates, repr(arguments), self.files)

    @classmethod
    def of(cls, root: Path, templates: Path, arguments: object, layout: Layout) -> BuildStamp:
        """The stamp without a loaded config (see nochange.py)."""
        stamp = cls.__new__(cls)
        stamp.files = FileDigests.at(layout.cache / DIGESTS)
        stamp.digest = inputs_digest(root, templates, repr(arguments), stamp.files)
        return stamp

    def save(self) -> None:
        """Keep the files' digests for the next command. Only once nothing can refuse the
        command (a no-op found, a build made public): a refused build changes nothing."""
        self.files.save()

    def current(self, layout: Layout) -> Manifest | None:
        """The current generation's manifest, if its inputs were these and its files are
        untouched (sizes and modification times as that build left them; nothing is read)."""
        number = layout.current()
        if number is None:
            return None
        manifest = Manifest.read(layout.manifest(number))
        if manifest is None or manifest.digest != self.digest:
            return None
        base = f"{layout.folder(number)}/"  # strings, not Paths: 20,000 files at 5,000 issues
        try:
            for rel, known in manifest.files.items():
                info = os.stat(base + rel)
                if [info.st_size, info.st_mtime_ns] != known:
                    return None
        except OSError:
            return None
        return manifest

    def replay(self, layout: Layout) -> Replay | None:
        """The last build's result, if its inputs were these and its files are untouched."""
        manifest = self.current(layout)
        if manifest is None:
            return None
        folder = layout.folder(layout.current() or 0)
        files = Built(folder, dict.fromkeys(manifest.built, Same("", 0)))  # read if asked for
        return Replay(manifest.issues, files, manifest.warnings)


def inputs_digest(root: Path, templates: Path, arguments: str, known: FileDigests | None = None) -> str:
    """Config (file and PUBLISHER_ variables), issues, templates, code and the renderers' versions.
    Paths enter relative to their folder: `--root .` and `--root /abs/ws` give one digest.
    Each file enters by the digest of its bytes, which `known` keeps by its stat in the
    output's cache area: a command reads only the files changed since the last one."""
    total = hashlib.sha256(arguments.encode())
    for key in sorted(k for k in os.environ if k.startswith("PUBLISHER_")):
        total.update(f"{key}={os.environ[key]}\0".encode())
    folders = [("workspace", root, [root / CONFIG_FILE, *sorted((root / ISSUES_DIR).glob("*.toml"), key=str)])]
    for label, folder in (("templates", templates), ("theme", builtin_templates()),
                          ("code", Path(__file__).parent)):
        folders.append((label, folder, _files(folder)))
    known = known or FileDigests(None)
    for label, folder, paths in folders:
        total.update(f"{label}:{len(paths)}\0".encode())
        base = os.path.abspath(folder) + "/"  # the cache's key: --root spelled any way
        for rel in _relative(paths, folder):
            total.update(rel.encode() + b"\0" + known.of(base + rel))
    for package in PACKAGES:
        total.update(_version(package).encode())
    return total.hexdigest()


DIGESTS = "inputs.cache"  # in the cache area (never the public tree)
MAGIC = b"publisher inputs cache 1\n"


class FileDigests:
    """Each input file's digest, by path, with the stat it was read under and when it was
    read: a file whose stat is the same, and can be trusted (filecache.trusted), is not read
    again. At 5,000 issues that is 5,000 files a no-op check no longer reads. A planted cache
    could only make a build skip, as a planted manifest could; whoever can write the cache
    area can write the build output beside it anyway."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, tuple[StatKey, int, bytes]] = _read_digests(path) if path else {}
        self.asked: set[str] = set()
        self.dirty = False

    @classmethod
    def at(cls, path: Path | None) -> FileDigests:
        """The digests kept at path, read once per process: the build that follows a no-op
        check (which found a change) reads only what changed."""
        if path not in _OPEN:
            _OPEN[path] = cls(path)
        return _OPEN[path]

    def of(self, path: str) -> bytes:
        """The digest of the file's bytes; b"" for a file that is gone or no regular file (a
        pipe or folder in issues/ is named only: loading reports it)."""
        self.asked.add(path)
        try:
            info = os.stat(path)
        except OSError:
            return b""
        if not stat.S_ISREG(info.st_mode):
            return b""  # never opened: a pipe's open would wait for a writer
        key = stat_key(info)
        known = self.known.get(path)
        if known is not None and known[0] == key and trusted(key, known[1]):
            return known[2]
        fresh = read_file(path)
        if fresh is None:
            return b""
        key, data, seen = fresh
        hashed = digest(data)
        if known is None or known[0] != key or known[2] != hashed or trusted(key, seen):
            self.known[path] = (key, seen, hashed)
            self.dirty = True
        return hashed

    def save(self) -> None:
        """Written when some file was read, into an existing cache area only (a first build
        makes it; nothing is made beside an output that is not there yet), with the files
        asked for since the last save."""
        if self.path is None or not self.path.parent.is_dir():
            return  # kept for a save once the build has made the cache area
        if self.dirty:
            kept = {path: row for path, row in self.known.items() if path in self.asked}  # not the deleted
            write_framed(self.path, MAGIC, marshal.dumps(kept))
        self.dirty = False
        self.asked.clear()


_OPEN: dict[Path | None, FileDigests] = {}


def _read_digests(path: Path) -> dict[str, tuple[StatKey, int, bytes]]:
    body = read_framed(path, MAGIC)
    if body is None:
        return {}
    try:
        table = marshal.loads(body)
    except Exception:  # a damaged table of any shape is no cache
        return {}
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(k, str) and _is_row(v)}


def _is_row(row: object) -> bool:
    return (isinstance(row, tuple) and len(row) == 3 and isinstance(row[0], tuple) and len(row[0]) == 5
            and all(type(n) is int for n in row[0]) and type(row[1]) is int and isinstance(row[2], bytes))


def _relative(paths: list[Path], folder: Path) -> list[str]:
    """Each path relative to folder, POSIX-style (as Path.relative_to().as_posix()), cut from
    its string where it starts with the folder's."""
    base = str(folder)
    prefix = "" if base == "." else base.rstrip("/") + "/"
    return [text[len(prefix):] if (text := str(path)).startswith(prefix) and "\\" not in text
            else path.relative_to(folder).as_posix() for path in paths]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"
