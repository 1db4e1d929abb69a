"""The content-hash cache of rendered issues, under the output folder's .cache/.

An issue whose view (records, picks, config), templates and code are unchanged has the same
key, so its inlined email is read back instead of rendered again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment
from pydantic import BaseModel

from publisher.config import Config
from publisher.output import write_atomic
from publisher.selection import IssueView

CACHE_DIR = ".cache/issues"
KEY_FILE = "key"
RENDERING_PACKAGES = ("jinja2", "premailer", "cssutils", "lxml", "nh3", "markdown-it-py")


def _plain(value: Any) -> Any:
    """JSON for what json cannot write itself; sets sorted so the key never depends on hashing."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


def fingerprint(view: IssueView, salt: str) -> str | None:
    """The issue's cache key; None (never cached) when the view cannot be written as JSON."""
    fields = {f.name: getattr(view, f.name) for f in dataclasses.fields(view) if f.name != "config"}
    try:
        text = json.dumps(fields, default=_plain, sort_keys=True)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256((salt + text).encode()).hexdigest()


def theme_salt(env: Environment, config: Config) -> str:
    """What every issue's output depends on: templates, config, our code, the renderers' versions."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    for name in sorted(env.list_templates()):
        assert env.loader is not None
        digest.update(name.encode() + env.loader.get_source(env, name)[0].encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    for package in RENDERING_PACKAGES:
        digest.update(_version(package).encode())
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


class IssueCache:
    """One folder per issue: its files, then the key they were rendered for, written last."""

    def __init__(self, output: Path | None) -> None:
        self.root = output / CACHE_DIR if output is not None else None

    def get(self, issue_id: str, key: str, names: tuple[str, ...]) -> dict[str, bytes] | None:
        if self.root is None:
            return None
        folder = self.root / issue_id
        try:
            if (folder / KEY_FILE).read_text() != key:
                return None
            return {name: (folder / name).read_bytes() for name in names}
        except OSError:
            return None

    def put(self, issue_id: str, key: str, files: dict[str, bytes]) -> None:
        if self.root is None:
            return
        folder = self.root / issue_id
        for name, data in files.items():
            write_atomic(folder / name, data)
        write_atomic(folder / KEY_FILE, key.encode())
