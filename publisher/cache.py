"""The content-hash cache of rendered issues, under the output folder's .cache/.

An issue whose view (records, picks, config), templates and code are unchanged has the same
key, so its inlined email is read back instead of rendered again."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment
from pydantic import BaseModel

from publisher.config import Config
from publisher.selection import IssueView

CACHE_DIR = ".cache/issues"
KEY_FILE = "key"
RENDERING_PACKAGES = ("jinja2", "premailer", "cssutils", "lxml", "nh3", "markdown-it-py")
Memo = dict[int, tuple[BaseModel, str]]


def _text(value: Any, memo: Memo) -> str:
    """A canonical text of a view's data. Records shared by many views (related articles) are
    serialised once per build; sets are sorted, so the key never depends on hash seeds."""
    if isinstance(value, BaseModel):
        if id(value) not in memo:  # the record is kept too, so its id cannot be reused
            memo[id(value)] = (value, value.model_dump_json())
        return memo[id(value)][1]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "{" + ",".join(
            f"{f.name}={_text(getattr(value, f.name), memo)}" for f in dataclasses.fields(value)
        ) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_text(k, memo)}:{_text(v, memo)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_text(v, memo) for v in value) + "]"
    if isinstance(value, set | frozenset):
        return "{" + ",".join(sorted(_text(v, memo) for v in value)) + "}"
    return repr(value)


def fingerprint(view: IssueView, salt: str, memo: Memo) -> str:
    """The issue's cache key: everything it shows, and the salt (theme, config, code)."""
    fields = [getattr(view, f.name) for f in dataclasses.fields(view) if f.name != "config"]
    return hashlib.sha256((salt + _text(fields, memo)).encode()).hexdigest()


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
    """One folder per issue: its files, then a stamp (the key and each file's size) written last.

    No fsync: a cache may be lost in a crash, but a torn file never passes the size check."""

    def __init__(self, output: Path | None) -> None:
        self.root = output / CACHE_DIR if output is not None else None

    def get(self, issue_id: str, key: str, names: tuple[str, ...]) -> dict[str, bytes] | None:
        if self.root is None:
            return None
        folder = self.root / issue_id
        try:
            stamp = (folder / KEY_FILE).read_text().split("\n")
            if stamp[0] != key:
                return None
            files = {name: (folder / name).read_bytes() for name in names}
        except OSError:
            return None
        return files if stamp[1:] == [f"{n} {len(d)}" for n, d in files.items()] else None

    def put(self, issue_id: str, key: str, files: dict[str, bytes]) -> None:
        if self.root is None:
            return
        folder = self.root / issue_id
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            _replace(folder / name, data)
        _replace(folder / KEY_FILE, "\n".join([key, *(f"{n} {len(d)}" for n, d in files.items())]).encode())


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
