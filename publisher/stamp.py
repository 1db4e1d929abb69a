"""The build stamp: when no input changed since the last successful build into a folder, and
its files are as that build left them, a rebuild has nothing to do and skips every stage."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from publisher.errors import Problem
from publisher.theme import builtin_templates
from publisher.validate import CONFIG_FILE
from publisher.workspace import ISSUES_DIR, load_config

STAMP_FILE = ".cache/build.json"
PACKAGES = ("publisher", "jinja2", "premailer", "cssutils", "lxml", "nh3", "markdown-it-py", "feedgen")


@dataclass
class Replay:
    """What the last build reported: its issues, its files (read back) and its warnings."""

    issues: list[str]
    files: dict[str, bytes]
    warnings: list[Problem]


class BuildStamp:
    def __init__(self, root: Path, out: Path | None, arguments: object) -> None:
        config = load_config(root)
        self.output = out or root / config.build.output
        self.digest = inputs_digest(root, root / config.build.templates, repr(arguments))

    def replay(self) -> Replay | None:
        """The last build's result, if its inputs were these and its files are untouched."""
        try:
            stamp = json.loads((self.output / STAMP_FILE).read_text())
        except (OSError, ValueError):
            return None
        if stamp.get("digest") != self.digest or stamp.get("manifest") != manifest(self.output):
            return None
        files = {rel: (self.output / rel).read_bytes() for rel in stamp["manifest"]}
        return Replay(stamp["issues"], files, [Problem(**p) for p in stamp["warnings"]])

    def save(self, issues: list[str], warnings: list[Problem]) -> None:
        """Written after the build wrote everything; never fsynced: losing it costs one build."""
        stamp = {
            "digest": self.digest,
            "issues": issues,
            "warnings": [dataclasses.asdict(p) for p in warnings],
            "manifest": manifest(self.output),
        }
        path = self.output / STAMP_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(json.dumps(stamp))
        os.replace(path.with_suffix(".tmp"), path)


def manifest(output: Path) -> dict[str, list[int]]:
    """Every output file (but the cache) with its size and modification time."""
    found = {}
    for path in sorted(output.rglob("*")):
        rel = path.relative_to(output).as_posix()
        if not rel.startswith(".cache") and path.is_file():
            info = path.stat()
            found[rel] = [info.st_size, info.st_mtime_ns]
    return found


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
