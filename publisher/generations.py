"""A build is all or nothing: each build writes a new generation folder beside the output,
then the output (a symbolic link) is switched to it by one rename(2).

    build                      -> .build.generations/7   (a relative symlink)
    .build.generations/7/      the public tree a web server or rsync reads
    .build.generations/7.json  its manifest: the files publisher made there
    .build.generations/6/      the previous generation, kept until the next build
    .build.generations/cache/  the render cache (never inside the public tree)
    .build.generations/lock    flock'ed by the build that is writing

Whatever the moment a build dies, the link names the old generation or the new one."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import BuildError
from publisher.lock import exclusive
from publisher.manifest import Manifest, stat_of
from publisher.outdir import (
    Previous,
    Target,
    generation_of,
    home_of,
    inspect,
    others_files,
    refuse_conflicts,
)
from publisher.output import (
    Output,
    Same,
    carry,
    clear_spills,
    recycle,
    running,
    scan,
    write_generation,
)

NEXT_LINK = "next.link"  # the new symlink, before it is renamed over the output


@dataclass(frozen=True)
class Layout:
    output: Path  # absolute: the public path

    @property
    def home(self) -> Path:
        return home_of(self.output)

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    def folder(self, number: int) -> Path:
        return self.home / str(number)

    def manifest(self, number: int) -> Path:
        return self.home / f"{number}.json"

    def current(self) -> int | None:
        """The generation the output links to, if it is a link of ours."""
        return generation_of(self.output)

    def numbers(self) -> list[int]:
        try:
            return sorted(int(p.name) for p in self.home.iterdir() if p.name.isdigit())
        except OSError:
            return []


class Site:
    """The output folder of one build: inspected, locked, then replaced by a new generation."""

    def __init__(self, target: Target) -> None:
        self.target, self.layout = target, Layout(target.path)

    def previous(self) -> Previous:
        with self.failures("prepare"):
            return inspect(self.target, self.layout.home, self.layout.current())

    def publish(
        self, files: dict[str, Output], partial: bool, record: Manifest,
        on_wait: Callable[[], None] | None = None, after: Callable[[], None] | None = None,
    ) -> list[str]:
        """Write a new generation, then make it public; returns the paths whose bytes changed.
        A partial build (some issues) carries every other file over; a full one only the files
        publisher did not make. `after` runs while the lock is still held."""
        with self.failures("prepare"):
            fresh = not self.layout.home.exists()
        if fresh:  # refused before the lock creates anything
            refuse_conflicts(self.target, others_files(self.previous()), set(files))
        with self.locked(on_wait):
            previous = self.previous()  # again: another build may have finished while we waited
            others = others_files(previous)
            refuse_conflicts(self.target, others, set(files))
            with self.failures("write"):
                clear_leftovers(self.layout, {previous.number, *self.below(previous.number)})
            number = max([*self.layout.numbers(), previous.number or 0]) + 1
            with self.failures("write"), self.undo(number):
                written, twin = self.fill(number, files, previous, others, partial, record)
                swap(self.layout, number, previous)
            twin()
            with suppress(OSError):  # the build is public; old generations go next time
                clear_leftovers(self.layout, {number, previous.number})
            if after is not None:
                after()
        return written

    @contextmanager
    def locked(self, on_wait: Callable[[], None] | None) -> Iterator[None]:
        """The generations folder, created if need be, held by this build alone."""
        with ExitStack() as stack:
            with self.failures("prepare"):
                self.layout.home.mkdir(parents=True, exist_ok=True)
                stack.enter_context(exclusive(self.layout.home / "lock", on_wait))
            yield

    def fill(
        self, number: int, files: dict[str, Output], previous: Previous, others: list[str],
        partial: bool, record: Manifest,
    ) -> tuple[list[str], Callable[[], None]]:
        """The new generation and its manifest: the paths written, and what writes the
        manifest's twin once the generation is public."""
        folder = self.layout.folder(number)
        ours = [rel for rel in previous.files if rel not in files] if partial else []
        theirs = [rel for rel in others if rel not in files]
        kept, folders = self.recycled(folder, previous, files, [*ours, *theirs])
        known = {rel: (previous.files[rel], h) for rel, h in previous.hashes.items() if rel in previous.files}
        written, hashes = write_generation(folder, files, previous.folder, known, kept, folders)
        if previous.folder is not None:
            ours = carry(folder, previous.folder, ours, kept)
            carry(folder, previous.folder, theirs, kept)
        # A kept file is the previous generation's (one inode): its recorded stat is its stat.
        record.files = {rel: previous.files[rel] if rel in kept and rel in previous.files else stat_of(folder / rel)
                        for rel in sorted([*files, *ours])}
        hashes.update({rel: previous.hashes[rel] for rel in ours if rel in previous.hashes})
        record.hashes = dict(sorted(hashes.items()))
        carried = {rel: previous.keys[rel] for rel in ours if rel in previous.keys}
        record.keys = dict(sorted({**carried, **record.keys}.items()))
        return written, record.write(self.layout.manifest(number))

    def recycled(
        self, folder: Path, previous: Previous, files: dict[str, Output], carried: list[str]
    ) -> tuple[set[str], set[str]]:
        """The new generation's folder: the generation before the previous one (it would be
        deleted now anyway), emptied of all it does not share with the previous one, then
        renamed; else a new folder. Files it shares (hard links: one inode) stay, which spares
        linking every file and making every folder again. Returns the files kept, and the
        folders there. Its manifest goes first: killed meanwhile, it is no generation."""
        spare = self.below(previous.number)
        if previous.folder is not None and spare:
            old = self.layout.folder(spare[0])
            try:  # emptied where it is, then renamed: any failure leaves it to be removed later
                self.layout.manifest(spare[0]).unlink(missing_ok=True)  # no rollback to it now
                present, folders = scan(old)
                kept = {rel for rel, data in files.items() if isinstance(data, Same) and not data.fresh
                        and data.inode and present.get(rel) == data.inode}
                for rel in carried:
                    with suppress(OSError):
                        if rel in present and os.lstat(previous.folder / rel).st_ino == present[rel]:
                            kept.add(rel)
                folders = recycle(old, present, folders, kept)
                for rel in sorted(folders & files.keys()):  # a folder where a file goes now
                    shutil.rmtree(old / rel)
                    folders -= {f for f in folders if f == rel or f.startswith(rel + "/")}
                os.rename(old, folder)
                return kept, folders
            except OSError:  # read-only (made so by hand): a new folder, as without a spare
                pass
        folder.mkdir()
        return set(), set()

    def below(self, number: int | None) -> list[int]:
        """The generation before `number`: kept, so a rollback is one symlink away."""
        older = [n for n in self.layout.numbers() if number is not None and n < number]
        return older[-1:]

    @contextmanager
    def undo(self, number: int) -> Iterator[None]:
        """A generation that never became public is removed, whatever stopped it."""
        try:
            yield
        except BaseException:
            if self.layout.current() != number:
                shutil.rmtree(self.layout.folder(number), ignore_errors=True)
                with suppress(OSError):
                    self.layout.manifest(number).unlink(missing_ok=True)
                    if (self.layout.home / NEXT_LINK).is_symlink():
                        (self.layout.home / NEXT_LINK).unlink()
            raise

    @contextmanager
    def failures(self, stage: str) -> Iterator[None]:
        """An OSError (full disk, read-only or missing folder) as a message; never a traceback."""
        try:
            yield
        except OSError as exc:
            raise BuildError(self.target.problem(*explain_os_error(exc, self.layout, stage))) from exc


def explain_os_error(exc: OSError, layout: Layout, stage: str) -> tuple[str, str]:
    """(message, hint) for a failed write: which folder, why, and that nothing was lost."""
    path = Path(os.fsdecode(exc.filename2 or exc.filename or layout.home))  # a rename's target
    reason = exc.strerror or str(exc)
    previous = stage == "write" or os.path.lexists(layout.output)
    intact = "the previous build is intact" if previous else "nothing was changed"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"the disk is full ({reason}) writing '{path}'; {intact}",
                f"free some space on the disk of '{layout.output.parent}' and build again")
    message = f"cannot build into '{layout.output}': cannot write '{path}' ({reason}); {intact}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return message, f"make '{path.parent}' writable, or build elsewhere with --out DIR"
    return message, "build into another folder with --out DIR"


def clear_leftovers(layout: Layout, keep: set[int | None]) -> None:
    """Generations other than `keep`, a killed build's half-written one, its temporary link."""
    for trash in layout.home.glob(f"{TRASH_PREFIX}*"):
        shutil.rmtree(trash, ignore_errors=True)  # a deleter that died (or has not finished)
    for number in layout.numbers():
        if number not in keep:
            discard(layout, number)
    link = layout.home / NEXT_LINK
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():  # an old-layout folder a killed migration had swapped out
        shutil.rmtree(link)
    clear_spills(layout.home)
    for stale in [*layout.home.glob(".*.tmp"), *layout.cache.glob("issues/.*.tmp")]:
        pid = stale.name.rsplit(".", 2)[-2]  # every temporary name here ends .<pid>.tmp
        if not (pid.isdigit() and running(int(pid))):
            if stale.is_dir() and not stale.is_symlink():  # a killed build's staged cache entry
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink()


TRASH_PREFIX = "trash-"  # + a discarded generation's number: no generation any more


def discard(layout: Layout, number: int) -> None:
    """A generation out of the way at once (one rename: it is no generation any more), its
    files deleted by a background process: unlinking thousands of files was a tenth of a
    one-edit rebuild, and nothing waits for it."""
    trash = layout.home / f"{TRASH_PREFIX}{number}"  # none left: clear_leftovers removed them
    os.rename(layout.folder(number), trash)
    layout.manifest(number).unlink(missing_ok=True)
    delete_later(trash)


DELETE_HERE = 2_000  # files: a folder of fewer is removed before the command ends


def delete_later(folder: Path) -> None:
    """rmtree in a detached grandchild (nothing to reap, no lock held: it keeps no file
    open); here, where forking is not safe (threads) or possible, or for a small folder
    (a few milliseconds: a copy of the workspace made as the command ends never meets a
    folder being deleted, unless it is a large one's)."""
    from publisher.loadcache import can_fork

    if not can_fork() or _files_in(folder, DELETE_HERE) < DELETE_HERE:
        shutil.rmtree(folder, ignore_errors=True)
        return
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked processes
        try:
            os.closerange(0, 65536)  # the build lock above all: never held by the deleter
            if os.fork() == 0:
                os.nice(10)
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def _files_in(folder: Path, most: int) -> int:
    """The entries under folder, counted up to `most`."""
    found = 0
    for _, dirs, files in os.walk(folder):
        found += len(dirs) + len(files)
        if found >= most:
            break
    return found


def swap(layout: Layout, number: int, previous: Previous) -> None:
    """Point the output at generation `number` in one rename(2)."""
    link = layout.home / NEXT_LINK
    os.symlink(f"{layout.home.name}/{number}", link)
    if previous.kind in ("empty", "legacy"):
        _replace_folder(layout, link, previous)
    else:
        os.replace(link, layout.output)
    _fsync_folder(layout.output.parent)


def _replace_folder(layout: Layout, link: Path, previous: Previous) -> None:
    """A real folder (empty, or an old build to migrate) cannot be renamed over: exchange it
    with the link atomically (renameat2); where the kernel cannot, move it, then rename."""
    if _exchange(link, layout.output):
        old = link
    else:
        old = layout.home / "old-layout"
        os.rename(layout.output, old)
        os.replace(link, layout.output)
    if previous.kind == "empty":
        old.rmdir()
        return
    shutil.rmtree(old / ".cache", ignore_errors=True)  # the old cache, now in cache/
    shutil.rmtree(layout.folder(0), ignore_errors=True)
    os.rename(old, layout.folder(0))  # the previous generation, kept like any other


def _exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two paths atomically. False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_folder(folder: Path) -> None:
    """The rename is durable once the folder holding it is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
