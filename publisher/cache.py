"""The content-hash cache of rendered issues, beside the output folder (never inside it).

An issue whose view (records, picks, config), templates and code are unchanged has the same
key, so its inlined email is read back instead of rendered again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import marshal
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from contextlib import suppress
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment
from pydantic import BaseModel

from publisher import code
from publisher.config import Config
from publisher.generations import Layout
from publisher.output import Output, Same, read_output
from publisher.related import StoredPicks
from publisher.selection import IssueView

ALWAYS_READ = ("newsletter", "email", "build")
CONFIG_NAME = re.compile(r"\bconfig\.(\w+)(?:\.(\w+))?")  # config.feeds.formats, config.feeds
BARE_CONFIG = re.compile(r"\bconfig\b(?![.\w])")
RENDERING_PACKAGES = ("jinja2", "premailer", "cssutils", "lxml", "nh3", "markdown-it-py", "feedgen")
Memo = dict[int, tuple[BaseModel, str]]
KEEP = 2  # entries kept per issue


def _text(value: Any, memo: Memo) -> str:
    """A canonical text of a view's data. Records shared by many views (related articles) are
    serialised and hashed once per build; sets are sorted, so the key never depends on hash seeds."""
    if isinstance(value, BaseModel):
        return digest_of(value, memo)
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


def fingerprint(view: IssueView, salt: str, memo: Memo, picked: Mapping[str, Any] | None = None) -> str:
    """The issue's cache key: everything it shows, and the salt (theme, config, code).

    picked: the view's picks as the selection cache keeps them (ids, scores, shared tags,
    notes). The key is then those picks and the digests of the records they name, in order:
    the same information as _view_text spells out, at a tenth of its cost."""
    if picked is not None and _known_shapes():
        # marshal version 2 writes no back-references, so equal data gives equal bytes
        # (later versions' depend on reference counts); repr of the floats took 10x longer.
        data = marshal.dumps([picked[name] for name in PICKED], 2)
        head = f"{salt}\0{view.number!r}\0{_shown(view, memo)}\0".encode()
        return hashlib.sha256(head + data).hexdigest()
    fields = [getattr(view, f.name) for f in dataclasses.fields(view) if f.name != "config"]
    text = _view_text(view, memo) if _known_shapes() else _text(fields, memo)
    return hashlib.sha256((salt + text).encode()).hexdigest()


PICKED = ("sections", "related", "groups", "block")  # selectcache._view_data's names


def _shown(view: IssueView, memo: Memo) -> str:
    """The digests of every record the view shows, in the order its picks name them."""
    parts = [digest_of(view.issue, memo)]
    for s in view.sections:
        parts.append(digest_of(s.section, memo))
        parts += [digest_of(a, memo) for a in s.articles]
    if isinstance(view.related, StoredPicks):  # not made into picks to be named
        parts += [digest_of(a, memo) for a in view.related.articles()]
    else:
        for picks in view.related.values():
            parts += [digest_of(p.article, memo) for p in picks]
    for group in view.groups:
        parts += [digest_of(i.article, memo) for i in group.items]
        parts += [digest_of(p.article, memo) for p in group.related]
    parts += [digest_of(p.article, memo) for p in view.block]
    return ",".join(parts)


def digest_of(record: BaseModel, memo: Memo) -> str:
    """The digest of a record's canonical JSON: a view names each record it shows by it, so
    its key text stays short however long the summaries (hashing it was most of a key)."""
    if id(record) not in memo:  # the record is kept too, so its id cannot be reused
        memo[id(record)] = (record, record_digest(record))
    return memo[id(record)][1]


def record_digest(record: BaseModel) -> str:
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


def _view_text(view: IssueView, memo: Memo) -> str:
    """_text of the view's fields, character for character, written out for the shapes it has
    today (a build computes 500 of these; the generic walk was a quarter of a rebuild)."""
    sections = ",".join(
        "{section=" + digest_of(s.section, memo) + ",articles=[" + ",".join(digest_of(a, memo) for a in s.articles) + "]}"
        for s in view.sections
    )
    related = ",".join(
        repr(key) + ":[" + ",".join(
            "{article=" + digest_of(p.article, memo) + f",score={p.score!r},shared_tags=["
            + ",".join(map(repr, p.shared_tags)) + "],contributions=["
            + ",".join(map(repr, p.contributions)) + f"],decay={p.decay!r}}}"
            for p in picks
        ) + "]"
        for key, picks in view.related.items()
    )
    rest = "".join("," + _text(getattr(view, name), memo) for name in LATER_FIELDS)
    return f"[{digest_of(view.issue, memo)},{view.number!r},[{sections}],{{{related}}}{rest}]"


def _known_shapes() -> bool:
    """The view, section and pick fields _view_text writes; anything else takes _text."""
    from publisher.related import RelatedPick
    from publisher.rules import SectionPicks

    global _known
    if _known is None:
        names = [[f.name for f in dataclasses.fields(t)] for t in (IssueView, SectionPicks, RelatedPick)]
        _known = names == [["issue", "number", "sections", "related", "config", *LATER_FIELDS],
                           ["section", "articles"],
                           ["article", "score", "shared_tags", "contributions", "decay"]]
    return _known


_known: bool | None = None
LATER_FIELDS = ("groups", "block")  # the digest layouts' parts: written by the generic walk


def theme_salt(env: Environment, config: Config) -> str:
    """What every issue's output depends on: templates, the config they read, our code, the
    renderers' versions."""
    assert env.loader is not None
    sources = {name: env.loader.get_source(env, name)[0] for name in sorted(env.list_templates())}
    digest = hashlib.sha256(config_read(config, sources.values()).encode())
    for name, source in sources.items():
        digest.update(name.encode() + source.encode())
    digest.update(code.ALL.encode())
    for package in RENDERING_PACKAGES:
        digest.update(_version(package).encode())
    return digest.hexdigest()


def config_read(config: Config, templates: Iterable[str]) -> str:
    """The config an issue's files are made from: [newsletter] and [email] (read by the email
    code), and whatever the templates name (config.feeds.formats, or a whole config.feeds).
    [related] and [[sections]] reach the pages only through the picks, which are in the key;
    so editing [feeds] limit or the weights re-inlines no email whose picks are unchanged."""
    data = config.model_dump(mode="json")
    used = {section: data[section] for section in ALWAYS_READ}
    for text in templates:
        if BARE_CONFIG.search(text):  # config passed on whole (a macro, config['feeds']): all of it
            return json.dumps(data, sort_keys=True, default=str)
        for section, key in CONFIG_NAME.findall(text):
            value = data.get(section)
            if key and isinstance(value, dict) and key in value:
                used[f"{section}.{key}"] = value[key]
            else:
                used[section] = value
    return json.dumps(used, sort_keys=True, default=str)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


class IssueCache:
    """One folder per issue and key (issues/<id>/<key>/): the files, and ENTRY (the key, each
    file's name, size and SHA-256). A file this build set aside (see output.Spill, which the
    new generation links from) is hard-linked, not written again: storing the entries of a
    cold build at 5,000 issues wrote 1.2 GB of the generation's bytes a second time, and held
    the disk space twice. Staged under a temporary name, then renamed, so an entry is whole or
    absent; a file that fails its size or digest (torn, or edited in place through a link)
    fails the entry, and the issue is simply rendered again.

    It lives beside the output (.<output>.generations/cache/issues/<id>/), never inside the public
    tree. No fsync: a cache may be lost in a crash, at the cost of one render."""

    def __init__(self, output: Path | None) -> None:
        self.root = Layout(Path(os.path.abspath(output))).cache / "issues" if output else None

    def get(
        self, issue_id: str, key: str, names: tuple[str, ...], wanted: tuple[str, ...] | None = None
    ) -> dict[str, bytes] | None:
        """The entry's files, if it holds exactly `names` and all are intact; only those
        `wanted`, if given (the others are not read)."""
        if self.root is None:
            return None
        folder = self.root / issue_id / key
        try:
            header = json.loads((folder / ENTRY).read_bytes())
            listed = [(str(name), int(size), str(digest)) for name, size, digest in header["files"]]
            if header["key"] != key or tuple(name for name, _, _ in listed) != names:
                return None
            files = {}
            for name, size, digest in listed:
                if wanted is None or name in wanted:
                    data = (folder / name).read_bytes()  # a name of `names`, not the entry's
                    if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                        return None
                    files[name] = data
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return files

    def put(self, issue_id: str, key: str, files: Mapping[str, Output], hashes: Mapping[str, str] | None = None) -> bool:
        """Store an entry; False if the disk would not take it (the build is not the worse).
        `hashes`: "sha256:<hex>" of some of the files, already known."""
        return self.stage(issue_id, key, files, hashes) and self.commit(issue_id, key)

    def stage(
        self, issue_id: str, key: str, files: Mapping[str, Output], hashes: Mapping[str, str] | None = None
    ) -> bool:
        """Write an entry under a temporary name (what commit() then makes an entry, and
        discard() removes); False if the disk would not take it."""
        if self.root is None:
            return False
        tmp = self._staged(issue_id, key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            listed = [[name, *_place(tmp / name, data, (hashes or {}).get(name))] for name, data in files.items()]
            (tmp / ENTRY).write_text(json.dumps({"key": key, "files": listed}))
        except OSError:
            self.discard(issue_id, key)
            return False
        return True

    def commit(self, issue_id: str, key: str) -> bool:
        assert self.root is not None
        folder, tmp = self.root / issue_id, self._staged(issue_id, key)
        try:
            if folder.is_file() or folder.is_symlink():
                folder.unlink()  # not an entry folder: whatever it is, it is the cache's
            folder.mkdir(parents=True, exist_ok=True)
            _remove(folder / key)  # the same entry, stored by another build meanwhile
            os.rename(tmp, folder / key)
            _keep_newest(folder, key)
        except OSError:
            self.discard(issue_id, key)
            return False
        return True

    def discard(self, issue_id: str, key: str) -> None:
        with suppress(OSError):
            _remove(self._staged(issue_id, key))

    def _staged(self, issue_id: str, key: str) -> Path:
        # Beside the issues' folders, not in one: a killed build's is found by one listing.
        assert self.root is not None
        return self.root / f".{issue_id}.{key}.{os.getpid()}.tmp"


ENTRY = "entry.json"  # in an entry's folder, beside its files (whose names have no ".json")


def _place(path: Path, data: Output, digest: str | None) -> tuple[int, str]:
    """One file of an entry: a set-aside or earlier file linked, else its bytes written.
    Returns its size and SHA-256."""
    if isinstance(data, Same) and data.source is not None:
        with suppress(OSError):  # another file system, or links refused: the bytes then
            os.link(data.source, path)
            return data.size, data.digest.removeprefix("sha256:")
    data = read_output(data)
    path.write_bytes(data)
    return len(data), (digest or "").removeprefix("sha256:") or hashlib.sha256(data).hexdigest()


def _remove(path: Path) -> None:
    """A file or a folder, whichever is there (an entry of the old one-file form is a file)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _keep_newest(folder: Path, key: str) -> None:
    """KEEP entries per issue, `key` among them: switching a setting back and forth renders
    nothing again, and the folder does not grow."""
    others = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".") and p.name != key),
        key=lambda p: p.lstat().st_mtime_ns,
    )
    for old in others[: max(0, len(others) - (KEEP - 1))]:
        with suppress(OSError):
            _remove(old)
