"""What an unchanged issue file always gives, kept by the file's digest.

An issue's record is a pure function of its file's bytes and the loading code, which
Workspace.digests names together. So whatever is computed from the record alone is computed
once per edit of the file, not once per build:

- the record digests that render keys and page keys name records by (cache.record_digest),
  of the issue and of each of its articles;
- the digests of what selection reads of it (selectcache.own_fields and issue_fields);
- the first sentence of its intro, its preview in inboxes and feeds (Markdown rendered).

They are kept in the build's cache area with marshal. Every entry carries the file digest
it was made from, and the whole file carries a digest of our code, so a stale entry is never
used; a lost or torn file costs one recomputation.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, BinaryIO

from publisher.filecache import replace_quietly
from publisher.records import Issue

FILE = "sealed.marshal"
# file digest; own and fields (selection); the issue's record digest, its articles'; the
# first sentence of its intro (or title), its inbox preview unless it sets a preheader.
Entry = tuple[str, str, str, str, tuple[str, ...], str]


class Sealed:
    """Per-issue digests, valid while the issue's file digest is the one they were made from."""

    def __init__(self, folder: Path | None, code: str, digests: dict[str, str]) -> None:
        self.path = folder / FILE if folder else None
        self.code, self.digests = code, digests
        self.entries: dict[str, Entry] = {}
        self.changed = False
        if self.path is not None:
            with suppress(OSError, ValueError, EOFError, TypeError, KeyError):
                data = marshal.loads(self.path.read_bytes())
                if isinstance(data, dict) and data.get("code") == code:
                    self.entries = data["entries"]

    def entry(self, issue: Issue, make: Callable[[Issue], Entry]) -> Entry:
        """The issue's entry: kept if its file is unchanged (a record with no file digest, as
        made in memory by a test, is computed every time)."""
        file = self.digests.get(issue.id, "")
        found = self.entries.get(issue.id)
        if file and found is not None and found[0] == file:
            return found
        made = make(issue)
        if file:
            self.entries[issue.id] = (file, *made[1:])
            self.changed = True
        return made

    def fill(self, issues: Sequence[Issue], make: Callable[[Issue], Entry]) -> None:
        """Make the missing entries of many issues (a first build of a large archive: record
        digests and Markdown for 80,000 records) on every core, in forked workers that send
        back only the strings; entry() then finds them."""
        from publisher.loadcache import can_fork

        global _job
        todo = [i for i in issues if self._stale(i)]
        if len(todo) < PARALLEL_FROM or not can_fork():
            return
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        cores = len(os.sched_getaffinity(0))
        _job = (todo, make)
        try:
            with ProcessPoolExecutor(cores, get_context("fork")) as pool:
                parts = list(pool.map(_make_chunk, [range(n, len(todo), cores * 4) for n in range(cores * 4)]))
        finally:
            _job = None
        for part in parts:
            for n, made in part:
                self.entries[todo[n].id] = (self.digests[todo[n].id], *made[1:])
        self.changed = True

    def _stale(self, issue: Issue) -> bool:
        """Kept by file digest, and not made from this file."""
        file = self.digests.get(issue.id, "")
        found = self.entries.get(issue.id)
        return bool(file) and (found is None or found[0] != file)

    def save(self, known: Iterable[str]) -> None:
        """Write the entries of the issues that still exist (no fsync: see FILE's docstring)."""
        wanted = set(known)
        if self.path is None or not (self.changed or set(self.entries) - wanted):
            return
        data = {k: v for k, v in self.entries.items() if k in wanted}
        save_marshal(self.path, {"code": self.code, "entries": data})
        self.changed = False


PARALLEL_FROM = 256  # fewer entries are made quicker than workers start
_job: tuple[list[Issue], Callable[[Issue], Entry]] | None = None  # inherited by fork


def _make_chunk(positions: range) -> list[tuple[int, Entry]]:
    assert _job is not None
    todo, make = _job
    return [(n, make(todo[n])) for n in positions]


def save_marshal(path: Path, data: dict[str, Any]) -> None:
    """A cache file, whole or not at all (temporary file, renamed); a failure is ignored."""
    replace_quietly(path, lambda file: file.write(marshal.dumps(data)))


def save_marshal_parts(path: Path, head: dict[str, Any], entries: dict[str, Any], size: int = 256) -> None:
    """A cache file of many entries, as marshal objects of `size` entries each (`head` and
    {"entries": ...}), each after its length, so that no more than one part is ever held as
    bytes while writing (the selection cache is 30-60 MB at 5,000 issues).
    read_marshal_parts() reads it; whole or not at all."""
    items = list(entries.items())

    def write(file: BinaryIO) -> None:
        for start in range(0, max(len(items), 1), size):
            part = marshal.dumps({**head, "entries": dict(items[start:start + size])})
            file.write(len(part).to_bytes(8, "big") + part)

    replace_quietly(path, write)


def read_marshal_parts(path: Path, head: dict[str, Any]) -> dict[str, Any]:
    """The entries of a file save_marshal_parts() wrote with the same `head`; none at all if
    any part is unreadable or has another head (a torn file, another Python's marshal).
    Read whole, then decoded part by part (marshal.load from a file reads in small pieces:
    twice as slow)."""
    entries: dict[str, Any] = {}
    with suppress(OSError, ValueError, EOFError, TypeError):
        data = memoryview(path.read_bytes())
        at = 0
        while at < len(data):
            length = int.from_bytes(data[at:at + 8], "big")
            if length == 0 or at + 8 + length > len(data):
                return {}
            part = marshal.loads(data[at + 8:at + 8 + length])
            if not (isinstance(part, dict) and all(part.get(k) == v for k, v in head.items())
                    and isinstance(part.get("entries"), dict)):
                return {}
            entries.update(part["entries"])
            at += 8 + length
        return entries
    return {}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
