"""The parsed-workspace cache: what loading made of each issues/*.toml, reused while the
file is unchanged.

Parsing and validating every issue file is most of a load (4-5 s at 100,000 articles), and
almost every file of an archive never changes again. So each file's result (its Issue, or
None, and the problems found) is kept with the file's stat (size, mtime, ctime, inode,
device), a digest of its bytes and when it was read, in the cache area beside the build output, split in SHARDS files (an edit rewrites one):

    .build.generations/cache/workspace/NN.cache   (never in the public tree, never in issues/)

The entry also keeps the content hash of a published record (frozen.issue_hash, which the
frozen checks of every `check` and `build` need; the salt covers publisher.frozen). A first
load of a large archive parses on every core (publisher/loadpool.py).

A file whose stat matches is taken from the cache. ctime cannot be set back by hand, so an
edit that restores size and mtime still shows; a stat that might not show an edit (the file
changed within filecache.RACY_NS of being read, as git's "racily clean" index entries) is confirmed
by reading the bytes and comparing digests. A salt of publisher's own loading code and of
the libraries that parse and validate makes any upgrade re-read everything once. Issue
validation reads no setting of config.toml; if one ever did, it would join the salt.

Safe by construction: a file that is missing, foreign, truncated or corrupt (checked by
magic, salt, length and CRC before anything is decoded) is ignored and rebuilt; writes go to
a temporary file renamed over the old one, so concurrent commands never see half a file
(the last writer wins, each one complete); a failed read or write never fails a command.
"""

from __future__ import annotations

import io
import marshal
import os
import pickle
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any

from publisher import code
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
from publisher.records import Issue

FOLDER = "workspace"  # in the cache area: SHARDS files, so one edit rewrites 1/SHARDS of it
SHARDS = 32
MAGIC = b"publisher workspace cache 2\n"
PARALLEL_FROM = 256  # files to parse before workers pay for their start
Result = tuple[Issue | None, list[Problem]]
Parse = Callable[[Path, bytes], Result]
Fallback = Callable[[Path], Result]
# Entries are pickled, which is safe here because publisher wrote them, and because the
# unpickler below builds nothing but these (a planted file cannot name os.system; at worst
# it plants records, as whoever can write this folder could edit issues/ beside it).
ALLOWED = {("publisher.records", "Issue"), ("publisher.records", "Article"),
           ("publisher.records", "Image"), ("publisher.records", "_restored"),
           ("publisher.errors", "Problem"),
           ("datetime", "date")}  # fmt: skip


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a record")
        return super().find_class(module, name)


@dataclass
class Entry:
    key: StatKey
    digest: bytes
    seen: int  # time.time_ns() before the file was read
    blob: bytes  # the pickled Result
    hash: str = ""  # frozen.issue_hash of a published record, for the frozen checks
    result: Result | None = None

    def row(self) -> tuple[StatKey, bytes, int, bytes, str]:
        return (self.key, self.digest, self.seen, self.blob, self.hash)

    def trusted(self, key: StatKey) -> bool:
        """The stat alone proves the file unchanged: it matches, and no edit since the read
        could have left the same times (any later change sets ctime at or after `seen`)."""
        return key == self.key and trusted(key, self.seen)

    def unpickled(self) -> Result | None:
        if self.result is None:
            with suppress(Exception):  # whatever a damaged blob raises: parse the file again
                issue, problems = _Unpickler(io.BytesIO(self.blob)).load()
                if (issue is None or isinstance(issue, Issue)) and isinstance(problems, list):
                    self.result = (issue, problems)
        return self.result


class LoadCache:
    """Every issue file's loaded result, by file name, in the shard files of `folder`/workspace."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / FOLDER if folder else None
        self.entries: dict[str, Entry] = read_all(self.folder) if self.folder else {}
        self.dirty: set[int] = set()  # shards holding an entry parsed afresh

    def mark(self, name: str) -> None:
        self.dirty.add(shard_of(name))

    def load(self, path: Path, parse: Parse, fallback: Fallback) -> Result:
        """The file's result: from the cache if it is unchanged, else parse(path, bytes),
        stored. Anything but a readable regular file goes to `fallback` (it words why)."""
        entry = self.entries.get(path.name)
        try:
            st = os.stat(path)
        except OSError:
            return fallback(path)
        if not stat.S_ISREG(st.st_mode):
            return fallback(path)
        if entry and entry.trusted(stat_key(st)) and (found := entry.unpickled()):
            return found
        if (fresh := read_file(path)) is None:
            return fallback(path)
        key, data, seen = fresh
        hashed = digest(data)
        if entry and entry.digest == hashed and (found := entry.unpickled()):
            # The same bytes (touched, copied, or read too soon to trust the stat): believed
            # on the new stat from now on. Its shard is written if the stat can now be
            # trusted, so the next command neither reads nor digests the file again.
            if entry.key != key or (not entry.trusted(key) and trusted(key, seen)):
                entry.key, entry.seen = key, seen
                if entry.trusted(key):
                    self.mark(path.name)
            return found
        made = new_entry(path, key, data, seen, parse)
        self.entries[path.name] = made
        self.mark(path.name)
        return made.result or (None, [])

    def digest_of(self, name: str) -> str:
        """A stable digest of what the file's record is made of: its name (the issue id),
        its bytes and the loading code (the salt). Costs nothing warm; "" if never read."""
        entry = self.entries.get(name)
        if entry is None:
            return ""
        return blake2b(salt() + name.encode() + b"\0" + entry.digest, digest_size=16).hexdigest()

    def hash_of(self, name: str) -> str:
        """The stored content hash of the file's published record ("" if none)."""
        entry = self.entries.get(name)
        return entry.hash if entry else ""

    def prefetch(self, paths: Sequence[Path], parse: Parse) -> None:
        """Parse on every core the files the cache cannot vouch for, if there are many (a
        first load of a large archive); load() then finds them as read a moment ago."""
        todo = [p for p in paths if not self._vouched(p)]
        if len(todo) < PARALLEL_FROM or not can_fork():
            return
        from publisher import loadpool

        for name, row in loadpool.parse_all(todo, parse, self.entries):
            self.entries[name] = Entry(*row)
            self.mark(name)

    def _vouched(self, path: Path) -> bool:
        entry = self.entries.get(path.name)
        try:
            return entry is not None and entry.trusted(stat_key(os.stat(path)))
        except OSError:
            return True  # gone: load() words it

    def save(self, names: Iterable[str]) -> None:
        """Write the shards holding a file parsed afresh, with the entries of the files that
        still exist (an entry left for a deleted file is harmless: a file of that name is
        checked again). Each shard is whole on its own, so shards of two commands mix well."""
        if self.folder is None or not self.dirty:
            return
        wanted = set(names)
        rows: dict[int, dict[str, tuple[Any, ...]]] = {n: {} for n in self.dirty}
        for name, entry in self.entries.items():
            if (n := shard_of(name)) in rows and name in wanted and entry.blob:
                rows[n][name] = entry.row()
        for n, table in sorted(rows.items()):
            write_framed(self.folder / f"{n:02d}.cache", MAGIC + salt(), marshal.dumps(table))
        self.dirty.clear()


def shard_of(name: str) -> int:
    return zlib.crc32(name.encode()) % SHARDS


def read_all(folder: Path) -> dict[str, Entry]:
    """Every shard's entries; a shard that is missing or damaged is simply not there."""
    entries: dict[str, Entry] = {}
    for n in range(SHARDS):
        found = read_entries(folder / f"{n:02d}.cache")
        entries.update((name, e) for name, e in found.items() if shard_of(name) == n)
    return entries


def read_entries(path: Path) -> dict[str, Entry]:
    """The entries of a cache file publisher wrote with this code; {} for anything else."""
    body = read_framed(path, MAGIC + salt())
    if body is None:
        return {}
    try:
        table = marshal.loads(body)
        return {n: _entry(*row) for n, row in table.items() if isinstance(n, str)}
    except Exception:  # a damaged table of any shape is no cache
        return {}


def _entry(key: Any, hashed: Any, seen: Any, blob: Any, content_hash: Any) -> Entry:
    fields = (isinstance(key, tuple) and len(key) == 5 and all(type(k) is int for k in key),
              type(seen) is int, isinstance(hashed, bytes), isinstance(blob, bytes),
              isinstance(content_hash, str))  # fmt: skip
    if not all(fields):
        raise ValueError("not a cache entry")
    return Entry(key, hashed, seen, blob, content_hash)


def new_entry(path: Path, key: StatKey, data: bytes, seen: int, parse: Parse) -> Entry:
    """A file's entry: parsed and validated, hashed if published, pickled (publisher wrote
    it and unpickles it with _Unpickler only)."""
    from publisher.frozen import issue_hash

    result = parse(path, data)
    issue = result[0]
    content_hash = issue_hash(issue) if issue is not None and issue.is_published else ""
    try:
        blob = pickle.dumps(result, protocol=5)
    except Exception:  # an unpicklable result is loaded, just not kept (blob b"")
        blob = b""
    return Entry(key, digest(data), seen, blob, content_hash, result)


def can_fork() -> bool:
    """Workers by fork: on a platform that has it, with more than one core, and only from a
    process with no other thread (preview's server threads must not be forked)."""
    import multiprocessing
    import threading

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = 1
    return cores > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def salt() -> bytes:
    """Our loading code and the versions of what parses and validates (computed once)."""
    global _salt
    if _salt is None:
        import pydantic
        import pydantic_core
        import rtoml

        found = blake2b(digest_size=16)
        found.update(f"{sys.version}|{pydantic.VERSION}|{pydantic_core.__version__}|"
                     f"{getattr(rtoml, '__version__', '')}|{_CODE}".encode())  # fmt: skip
        _salt = found.hexdigest().encode()
    return _salt


_salt: bytes | None = None
# The loading code, as this process runs it (see publisher/code.py).
_CODE = code.digest_of(["errors.py", "frozen.py", "records.py", "validate.py", "workspace.py", "loadcache.py"])
