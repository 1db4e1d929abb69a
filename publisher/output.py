"""Writes files, atomically: a reader never sees half a file, a failed build changes nothing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree(root: Path, files: Mapping[str, bytes], prune: bool = True) -> list[str]:
    """Make root hold exactly `files` (relative paths): changed files replaced atomically,
    unchanged ones left alone, stale ones removed. Returns the paths written."""
    written = []
    for rel, data in sorted(files.items()):
        target = root / rel
        try:
            if target.read_bytes() == data:
                continue
        except OSError:
            pass
        write_atomic(target, data)
        written.append(rel)
    if prune:
        _prune(root, set(files))
    return written


def _prune(root: Path, keep: set[str]) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".cache"):
            continue
        if path.is_file() and rel not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
