"""What the caches of files read (the workspace cache, the stamp's file digests) share: a
file's stat as a key, when a stat can be trusted to show an edit, and cache files framed by
a magic line, a length and a CRC, written under a temporary name then renamed.

Cheap to import (the no-op check uses it before anything heavy is loaded)."""

from __future__ import annotations

import os
import stat
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from hashlib import blake2b
from pathlib import Path
from typing import BinaryIO

RACY_NS = 2_000_000_000  # timestamps this close to the read may hide an edit (coarse clocks)
StatKey = tuple[int, int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    """Size, mtime, ctime, inode, device: ctime cannot be set back by hand, so an edit that
    restores size and mtime still shows."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def trusted(key: StatKey, seen: int) -> bool:
    """A file read at `seen` (time.time_ns() before the read) with this stat, and showing the
    same stat now, is unchanged: no edit since the read could have left the same times (any
    later change sets ctime at or after `seen`), as git's "racily clean" index entries."""
    return max(key[1], key[2]) < seen - RACY_NS


def digest(data: bytes) -> bytes:
    return blake2b(data, digest_size=16).digest()


def read_file(path: Path | str) -> tuple[StatKey, bytes, int] | None:
    """The file's stat, bytes and when reading began; None if it is no readable file. The
    stat is of the handle read, so it can only be older than the bytes, never newer."""
    seen = time.time_ns()
    try:  # non-blocking: a pipe put there since its stat is not waited on, only refused
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None
            return stat_key(st), handle.read(), seen
    except OSError:
        return None


def write_framed(path: Path, head: bytes, body: bytes) -> None:
    """head, the body's length and CRC, then the body: temp file, then rename, so readers see
    the old file or the new one. No fsync: a cache lost in a crash costs one slow command,
    and a torn one fails its CRC. A failed write is ignored."""
    frame = len(body).to_bytes(8, "big") + zlib.crc32(body).to_bytes(4, "big")
    replace_quietly(path, lambda handle: handle.writelines((head, frame, body)))


def read_framed(path: Path, head: bytes) -> memoryview | None:
    """The body of a file write_framed() wrote with this head; None for anything else
    (missing, foreign, torn, another version's)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    start = len(head) + 12
    if not data.startswith(head) or len(data) < start:
        return None
    size, crc = int.from_bytes(data[len(head) : start - 4], "big"), data[start - 4 : start]
    body = memoryview(data)[start:]
    if len(body) != size or zlib.crc32(body).to_bytes(4, "big") != crc:
        return None
    return body


def replace_quietly(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """path written by write(file) into a temporary file, then renamed over it: readers see
    the old file or the new one. A failure is ignored: a lost cache costs time, never a wrong
    result."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError):
            tmp.unlink()
