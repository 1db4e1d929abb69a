"""The build stamp: when no input changed since the last successful build into a folder, and
its files are as that build left them, a rebuild has nothing to do and skips every stage.

The stamp is the current generation's manifest (see generations.py): its inputs digest and
each file's size and modification time."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.errors import Problem
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
    def __init__(self, root: Path, config: Config, arguments: object) -> None:
        self.digest = inputs_digest(root, root / config.build.templates, repr(arguments))

    @classmethod
    def of(cls, root: Path, templates: Path, arguments: object) -> BuildStamp:
        """The stamp without a loaded config (see nochange.py)."""
        stamp = cls.__new__(cls)
        stamp.digest = inputs_digest(root, templates, repr(arguments), remember=True)
        return stamp

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


def inputs_digest(root: Path, templates: Path, arguments: str, remember: bool = False) -> str:
    """Config (file and PUBLISHER_ variables), issues, templates, code and the renderers' versions.
    Paths enter relative to their folder: `--root .` and `--root /abs/ws` give one digest."""
    global _last
    digest = hashlib.sha256(arguments.encode())
    for key in sorted(k for k in os.environ if k.startswith("PUBLISHER_")):
        digest.update(f"{key}={os.environ[key]}\0".encode())
    folders = [("workspace", root, [root / CONFIG_FILE, *sorted((root / ISSUES_DIR).glob("*.toml"), key=str)])]
    for label, folder in (("templates", templates), ("theme", builtin_templates()),
                          ("code", Path(__file__).parent)):
        folders.append((label, folder, _files(folder)))
    # The CLI asks twice, nochange.py (remember) and then the build: the build's ask, if no
    # file's size or modification time changed in between, does not read and hash the 5,000
    # issue files again. Only the very next ask may reuse a digest.
    stats = [(label, folder, paths, _stats(paths)) for label, folder, paths in folders]
    seen = (digest.hexdigest(), [(label, str(folder), _signature(paths, found)) for label, folder, paths, found in stats])
    last, _last = _last, None
    if last is not None and last[0] == seen and not remember:
        return last[1]
    for label, folder, paths, found in stats:
        digest.update(f"{label}:{len(paths)}\0".encode())
        for path, rel, info in zip(paths, _relative(paths, folder), found, strict=True):
            # a pipe or folder in issues/ is named only: loading reports it
            data = _read(path) if info is not None and stat.S_ISREG(info.st_mode) else b""
            digest.update(rel.encode() + b"\0" + data)
    for package in PACKAGES:
        digest.update(_version(package).encode())
    if remember:
        _last = (seen, digest.hexdigest())
    return digest.hexdigest()


_last: tuple[object, str] | None = None  # nochange.py's inputs, by signature, and their digest


def forget_inputs() -> None:
    global _last
    _last = None


def _stats(paths: list[Path]) -> list[os.stat_result | None]:
    """Each path's stat (None if it has gone): one call each, as strings (5,000 issue files)."""
    found: list[os.stat_result | None] = []
    for path in map(str, paths):
        try:
            found.append(os.stat(path))
        except OSError:
            found.append(None)
    return found


def _signature(paths: list[Path], found: list[os.stat_result | None]) -> list[tuple[str, int, int]]:
    return [(str(path), info.st_size, info.st_mtime_ns) if info else (str(path), -1, -1)
            for path, info in zip(paths, found, strict=True)]


def _relative(paths: list[Path], folder: Path) -> list[str]:
    """Each path relative to folder, POSIX-style (as Path.relative_to().as_posix()), cut from
    its string where it starts with the folder's."""
    base = str(folder)
    prefix = "" if base == "." else base.rstrip("/") + "/"
    return [text[len(prefix):] if (text := str(path)).startswith(prefix) and "\\" not in text
            else path.relative_to(folder).as_posix() for path in paths]


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:  # gone, or unreadable, since its stat: loading words it
        return b""


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"
