"""Writes files: one at a time atomically (write_atomic), or a whole new generation of a build
beside the last one, unchanged files hard-linked from it (write_generation)."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# A full or read-only disk is the build's failure, not a reason to fall back to copying.
FATAL = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


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


@dataclass(frozen=True)
class Same:
    """A file made from the same inputs as the previous generation's file of that path (its
    recorded key matched, and the file is still as that build left it): linked, not re-made."""

    digest: str  # "sha256:..." as the previous manifest recorded it
    size: int
    source: str | Path | None = None  # the previous generation's file (kept while this build writes)
    fresh: bool = False  # made by this build and set aside on disk (see Spill), not reused
    inode: int = 0  # of `source` when it was found unchanged: a recycled folder's link to it is kept


Output = bytes | Same


def read_output(data: Output) -> bytes:
    """An output's bytes: in memory, or in the file a `Same` names."""
    if isinstance(data, bytes):
        return data
    assert data.source is not None
    with open(data.source, "rb") as file:
        return file.read()
SPILL_PREFIX = "spill-"  # + the pid of the build whose outputs it holds


class Spill:
    """Outputs past a memory budget are set aside in files beside the generations (never in
    the public tree), then hard-linked from there into the new generation: however large the
    archive, a build holds at most `budget` bytes of outputs in memory."""

    def __init__(self, home: Path, budget: int) -> None:
        self.folder, self.budget, self.held = home / f"{SPILL_PREFIX}{os.getpid()}", budget, 0

    def keep(self, rel: str, data: Output) -> Output:
        """data, or past the budget a `Same` naming it set aside (one set aside already, by
        a render worker, is passed on)."""
        if isinstance(data, Same):
            return data
        self.held += len(data)
        if self.held <= self.budget:
            return data
        return set_aside(self.folder, rel, data)

    def stream(self, rel: str, chunks: Iterable[str]) -> Same:
        """A file made in pieces (the search index, 74 MB at 75,000 articles), set aside as
        they come: never held whole in memory."""
        path = f"{self.folder}/{rel}"
        os.makedirs(path.rpartition("/")[0], exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with _open_new(path) as handle:
            for chunk in chunks:
                data = chunk.encode()
                digest.update(data)
                size += handle.write(data)
        return Same("sha256:" + digest.hexdigest(), size, path, fresh=True)

    def close(self) -> None:
        """The set-aside files removed. The generation links them, so only their names go;
        26,000 of them at 5,000 issues took 3 s to unlink: renamed out of the way (the next
        build's clear-up takes a trash folder left over), and unlinked in the background."""
        from publisher.generations import TRASH_PREFIX, delete_later

        trash = self.folder.with_name(f"{TRASH_PREFIX}{self.folder.name}")
        try:
            os.rename(self.folder, trash)
        except OSError:  # nothing was set aside, or it cannot be moved: removed here
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        delete_later(trash)


def set_aside(folder: Path, rel: str, data: bytes) -> Same:
    """data written under folder (a Spill's, or a render worker's for its parent's Spill)."""
    path = f"{folder}/{rel}"
    os.makedirs(path.rpartition("/")[0], exist_ok=True)
    _write_new(path, data)
    return Same("sha256:" + hashlib.sha256(data).hexdigest(), len(data), path, fresh=True)


def clear_spills(home: Path) -> None:
    """Spill folders of builds that are no longer running (killed): under the build lock."""
    for folder in home.glob(f"{SPILL_PREFIX}*"):
        pid = folder.name.removeprefix(SPILL_PREFIX)
        if pid.isdigit() and not running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def running(pid: int) -> bool:
    """Is process `pid` alive (on this host)? One that is not ours to signal still is."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_generation(
    folder: Path, files: Mapping[str, Output], previous: Path | None,
    known: Mapping[str, tuple[list[int], str]] | None = None,
    kept: Collection[str] = (), folders: Collection[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """Fill the new folder with `files`: a file with the same bytes in `previous` is
    hard-linked (not rewritten), the others written, then synced to disk. Returns the paths
    written, and every file's SHA-256. `known` holds the previous files' recorded [size,
    mtime] and hash: a file still as recorded is compared by hash, without reading it back.
    A `Same` file is linked (copied where links are not possible) from `previous`.

    A recycled folder (see `recycle`) already holds the `kept` files, and `folders` (paths
    relative to it); nothing else of `files` is there."""
    home, known = str(folder), known or {}
    written, copied, hashes = [], [], {}
    made = {home, *(f"{home}/{d}" for d in folders)}
    for rel, data in sorted(files.items()):
        if rel in kept:
            assert isinstance(data, Same)
            hashes[rel] = data.digest
            continue
        target = f"{home}/{rel}"  # strings: a Path per file was a third of linking 2,000 files
        parent = target.rpartition("/")[0]
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if isinstance(data, Same):
            source = data.source or (previous / rel if previous else Path(target))
            hashes[rel] = data.digest
            if data.fresh:  # this build's bytes, set aside: changed unless the previous has them
                recorded = known.get(rel)
                unchanged = previous is not None and recorded is not None and recorded[1] == data.digest \
                    and _still(previous / rel, recorded[0])
                source = previous / rel if unchanged and previous is not None else source
                if not unchanged:
                    written.append(rel)
            if not _link(source, target):
                shutil.copy2(source, target)  # the same bytes
                copied.append(rel)
            continue
        hashes[rel] = "sha256:" + hashlib.sha256(data).hexdigest()
        if previous is not None and _same(previous / rel, data, hashes[rel], known.get(rel)) \
                and _link(previous / rel, target):
            continue
        _write_new(target, data)
        written.append(rel)
    make_durable(folder, [*written, *copied])
    return written, hashes


def scan(folder: Path) -> tuple[dict[str, int], set[str]]:
    """Every file and symbolic link under folder (relative path -> inode, from the directory
    entries themselves: no stat per file), and every folder under it."""
    files: dict[str, int] = {}
    folders: set[str] = set()
    todo = [("", str(folder))]
    while todo:
        rel, path = todo.pop()
        with os.scandir(path) as found:
            for entry in found:
                name = f"{rel}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    folders.add(name)
                    todo.append((name + "/", entry.path))
                else:
                    files[name] = entry.inode()
    return files, folders


def recycle(folder: Path, present: dict[str, int], folders: set[str], kept: Collection[str]) -> set[str]:
    """Empty a recycled generation of everything but `kept` (files it shares, by inode, with
    the previous one): each other file is unlinked, never written into, since its inode may be
    shared with the public tree. Folders left empty go too. Returns the folders that remain."""
    emptied: set[str] = set()
    for rel in present:
        if rel not in kept:
            os.unlink(f"{folder}/{rel}")
            emptied.add(rel.rpartition("/")[0])
    for rel in sorted(_with_parents(emptied), key=lambda r: r.count("/"), reverse=True):
        try:
            os.rmdir(f"{folder}/{rel}")
            folders.discard(rel)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    return folders


def _with_parents(paths: Iterable[str]) -> set[str]:
    found = set()
    for rel in paths:
        while rel and rel not in found:
            found.add(rel)
            rel = rel.rpartition("/")[0]
    return found


def make_durable(folder: Path, written: list[str]) -> None:
    """On disk before the generation goes public: one syncfs(2) for the whole filesystem,
    far quicker than an fsync per file (which is the fallback where there is no syncfs)."""
    if sync_filesystem(folder):
        return
    for rel in written:
        fd = os.open(folder / rel, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sync_filesystem(folder: Path) -> bool:
    """syncfs(2) of the filesystem holding folder; False where there is none, or it failed.
    Also called early, as the rendered files are all set aside: the disk then writes them
    while the build makes its feeds, and the generation's own sync has little left to wait for
    (2.2 s of a cold 5,000-issue build, 1.2 GB)."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return False
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        return bool(syncfs(fd) == 0)
    finally:
        os.close(fd)


def carry(folder: Path, previous: Path, paths: Iterable[str], kept: Collection[str] = ()) -> list[str]:
    """Bring files of the previous generation into the new one, as they are; returns those
    carried (one deleted by hand meanwhile is not). `kept`: there already (recycled)."""
    carried = []
    for rel in paths:
        source, target = previous / rel, folder / rel
        if rel in kept:
            carried.append(rel)
            continue
        if not os.path.lexists(source):
            continue
        carried.append(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif not _link(source, target):
            shutil.copy2(source, target)
    return carried


def _same(path: Path, data: bytes, digest: str, known: tuple[list[int], str] | None) -> bool:
    if known is not None and _still(path, known[0]):
        return known[1] == digest  # as the last build left it: its recorded hash decides
    try:
        info = path.lstat()
        return stat.S_ISREG(info.st_mode) and info.st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _still(path: Path, recorded: list[int]) -> bool:
    """The file is as the last build recorded it ([size, mtime])."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and [info.st_size, info.st_mtime_ns] == recorded


def _link(source: Path | str, target: Path | str) -> bool:
    """A hard link; False where the filesystem has none (the caller copies instead)."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in FATAL:
            raise
        return False
    return True


def _write_new(path: Path | str, data: bytes) -> None:
    with _open_new(path) as handle:
        handle.write(data)


def _open_new(path: Path | str) -> BinaryIO:
    """A file that did not exist, for writing, readable by all whatever the umask (a web
    server must read it)."""
    handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb")
    try:
        os.fchmod(handle.fileno(), 0o644)
    except BaseException:
        handle.close()
        raise
    return handle


class Built(Mapping[str, bytes]):
    """A build's files by path: those made in memory, and `Same` ones read from `folder` (the
    public tree) only when asked for."""

    def __init__(self, folder: Path, files: Mapping[str, Output]) -> None:
        self.folder, self._files = folder, files

    def __getitem__(self, rel: str) -> bytes:
        data = self._files[rel]
        return (self.folder / rel).read_bytes() if isinstance(data, Same) else data

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)
