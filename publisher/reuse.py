"""One incremental rule for every file a build makes: each output is a function of declared
inputs, summed up in a key, and it is made again only when that key changes.

The key each file was made from is kept in the generation's manifest. A later build that
computes the same key for a path, and finds the previous generation's file still as that build
left it (size and mtime as recorded), links the old file (`Same`): it neither renders it nor
reads it back."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from pydantic import BaseModel

from publisher.cache import Memo, digest_of
from publisher.outdir import Previous
from publisher.output import Output, Same, Spill, read_output


def key_of(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True)
class Earlier:
    """The previous generation, as far as reuse goes: its files, their hashes and keys."""

    previous: Previous | None = None

    def same(self, rel: str, key: str) -> Same | None:
        """The previous file of `rel` if it was made from `key` and is untouched since."""
        previous = self.previous
        if previous is None or previous.keys.get(rel) != key:
            return None
        return self.intact(rel)

    def intact(self, rel: str) -> Same | None:
        """The previous file of `rel` if it is still as the previous build left it."""
        previous = self.previous
        if previous is None or previous.folder is None:
            return None
        digest, recorded = previous.hashes.get(rel), previous.files.get(rel)
        if digest is None or recorded is None:
            return None
        path = f"{previous.folder}/{rel}"  # a string: a Path per file was a tenth of this
        try:
            info = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or [info.st_size, info.st_mtime_ns] != recorded:
            return None  # changed by hand since: made again
        return Same(digest, info.st_size, path, inode=info.st_ino)  # a str: 26,000 at 5,000 issues


@dataclass
class Outputs:
    """The files of one build by path, each with the key it was made from."""

    earlier: Earlier = field(default_factory=Earlier)
    files: dict[str, Output] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    memo: Memo = field(default_factory=dict)  # records' digests, once per build
    spill: Spill | None = None  # where outputs past the memory budget go
    groups: dict[str, list[str]] = field(default_factory=dict)  # name: [key, its files...]

    def reuse_group(self, name: str, key: str) -> bool:
        """Every file of group `name` from the previous build, if it made the group from
        `key` and left each file untouched: nothing of it is computed (a group's key stands
        for all its inputs, so its files' own keys need not be). Else False, and nothing."""
        previous = self.earlier.previous
        found = previous.groups.get(name) if previous is not None else None
        if previous is None or not found or found[0] != key:
            return False
        paths = found[1:]
        reused = [self.earlier.intact(rel) for rel in paths]
        if not all(reused):
            return False
        for rel, data in zip(paths, reused, strict=True):
            self.files[rel] = data  # type: ignore[assignment]  # all() above: none is None
            if (known := previous.keys.get(rel)) is not None:
                self.keys[rel] = known
        self.groups[name] = found
        return True

    @contextmanager
    def group(self, name: str, key: str | None) -> Iterator[None]:
        """The files put inside make up group `name`, made from `key` (None: no group)."""
        before = len(self.files)
        yield
        if key is not None:
            self.groups[name] = [key, *islice(self.files, before, None)]

    def make(self, rel: str, key: str, render: Callable[[], Output]) -> None:
        """files[rel]: the previous file if made from the same key, else render()."""
        self.keys[rel] = key
        self.put(rel, self.earlier.same(rel, key) or render())

    def make_all(self, paths: list[str], key: str, render: Callable[[], dict[str, bytes]]) -> None:
        """make() for files made together (a tag's pages): all reused, or all made again."""
        reused = [found for path in paths if (found := self.earlier.same(path, key))]
        made: dict[str, Output] = dict(zip(paths, reused, strict=True)) if len(reused) == len(paths) else {**render()}
        for path, data in made.items():
            self.put(path, data, key)

    def put(self, rel: str, data: Output, key: str | None = None) -> None:
        self.files[rel] = self.spill.keep(rel, data) if self.spill and isinstance(data, bytes) else data
        if key is not None:
            self.keys[rel] = key

    def stream(self, rel: str, chunks: Iterable[str]) -> Output:
        """A file made in pieces of text: set aside as they come if there is a spill, else joined."""
        return self.spill.stream(rel, chunks) if self.spill else "".join(chunks).encode()

    def bytes_of(self, rel: str) -> bytes:
        return read_output(self.files[rel])

    def size_of(self, rel: str) -> int:
        data = self.files.get(rel, b"")
        return data.size if isinstance(data, Same) else len(data)

    def text(self, record: BaseModel) -> str:
        """The digest of a record's canonical JSON (as the render cache keys on it)."""
        return digest_of(record, self.memo)
