"""The build stamp: when no input changed since the last successful build into a folder, and
its files are as that build left them, a rebuild has nothing to do and skips every stage.

The stamp is the current generation's manifest (see generations.py): its inputs digest and
each file's size and modification time."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from publisher.config import Config
from publisher.errors import Problem
from publisher.generations import Layout
from publisher.manifest import Manifest, stat_of
from publisher.theme import builtin_templates
from publisher.validate import CONFIG_FILE
from publisher.workspace import ISSUES_DIR

PACKAGES = ("publisher", "jinja2", "premailer", "cssutils", "lxml", "nh3", "markdown-it-py", "feedgen")


@dataclass
class Replay:
    """What the last build reported: its issues, its files (read back) and its warnings."""

    issues: list[str]
    files: dict[str, bytes]
    warnings: list[Problem]


class BuildStamp:
    def __init__(self, root: Path, config: Config, arguments: object) -> None:
        self.digest = inputs_digest(root, root / config.build.templates, repr(arguments))

    def replay(self, layout: Layout) -> Replay | None:
        """The last build's result, if its inputs were these and its files are untouched."""
        number = layout.current()
        if number is None:
            return None
        manifest = Manifest.read(layout.manifest(number))
        if manifest is None or manifest.digest != self.digest:
            return None
        folder = layout.folder(number)
        try:
            if any(stat_of(folder / rel) != known for rel, known in manifest.files.items()):
                return None
            files = {rel: (folder / rel).read_bytes() for rel in manifest.built}
        except OSError:
            return None
        return Replay(manifest.issues, files, manifest.warnings)


def inputs_digest(root: Path, templates: Path, arguments: str) -> str:
    """Config (file and PUBLISHER_ variables), issues, templates, code and the renderers' versions."""
    digest = hashlib.sha256(arguments.encode())
    for key in sorted(k for k in os.environ if k.startswith("PUBLISHER_")):
        digest.update(f"{key}={os.environ[key]}\0".encode())
    sources = [root / CONFIG_FILE, *sorted((root / ISSUES_DIR).glob("*.toml"))]
    sources += _files(templates) + _files(builtin_templates()) + _files(Path(__file__).parent)
    for path in sources:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    for package in PACKAGES:
        digest.update(_version(package).encode())
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"
