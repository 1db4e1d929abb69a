"""A first load of a large archive, on every core: forked workers read, parse, validate,
hash and pickle issue files, and send back the load cache's entries (what the parent then
unpickles, as a warm load does)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from publisher.filecache import digest, read_file
from publisher.loadcache import Entry, Parse, new_entry

Row = tuple[str, tuple[Any, ...]]  # file name, Entry.row()
_job: tuple[Sequence[Path], Parse, Mapping[str, Entry]] | None = None


def parse_all(paths: Sequence[Path], parse: Parse, entries: Mapping[str, Entry]) -> list[Row]:
    """The entries of `paths` made in workers; [] if the workers cannot run (the caller
    then parses them itself, so nothing is lost but time)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    global _job
    cores = min(len(os.sched_getaffinity(0)), 8)
    chunks = [list(range(n, len(paths), cores * 4)) for n in range(cores * 4)]
    _job = (paths, parse, entries)
    try:
        with ProcessPoolExecutor(cores, get_context("fork")) as pool:
            return [row for part in pool.map(_chunk, chunks) for row in part]
    except Exception:  # a broken pool, a full /dev/shm: load one by one instead
        return []
    finally:
        _job = None


def _chunk(positions: list[int]) -> list[Row]:
    assert _job is not None
    paths, parse, entries = _job
    rows = []
    for n in positions:
        path = paths[n]
        if (fresh := read_file(path)) is None:
            continue
        key, data, seen = fresh
        known = entries.get(path.name)
        if known is not None and known.digest == digest(data):
            continue  # the same bytes as cached: the parent confirms it without parsing
        rows.append((path.name, new_entry(path, key, data, seen, parse).row()))
    return rows
