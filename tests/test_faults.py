"""Faults during a build: a full disk, a full cache area, a read-only disk, corrupt cache
entries, a build that has to wait for another. The public folder is always the previous
build or the new one, the message names the folder, and there is never a traceback."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from publisher.build import build
from tests.archive import retitle
from tests.conftest import copy_example, run_cli
from tests.trees import public_tree, snapshot, temp_names


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small RAM disk at path; the test is skipped where mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True, text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command: a full disk cannot be made here")
    if mounted.returncode != 0:
        pytest.skip(
            f"mounting a tmpfs is not permitted here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A file that takes all but `leave` bytes of the disk."""
    stat = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        room = stat.f_bavail * stat.f_frsize - leave
        while room > 0:
            handle.write(chunk[: min(room, len(chunk))])
            room -= len(chunk)
    return filler


def clean_build(ws: Path, out: Path) -> dict[str, bytes]:
    result = run_cli("build", "--out", str(out), cwd=ws)
    assert result.code == 0, result.stderr
    return public_tree(out)


def assert_refused_cleanly(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def cli(ws: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "publisher", "build", *args], cwd=ws,
                          capture_output=True, text=True, timeout=300)


def as_a_user() -> tuple[str, ...]:
    """A command prefix under which file permissions hold: root without the capabilities that
    override them (setpriv), or nothing for a user who is not root."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and no setpriv to drop CAP_DAC_OVERRIDE: permissions do not bind")
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


@contextmanager
def read_only(*folders: Path) -> Iterator[None]:
    for folder in folders:
        folder.chmod(0o555)
    try:
        yield
    finally:
        for folder in folders:
            folder.chmod(0o755)


def read_only_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            os.chmod(Path(folder) / name, 0o444)
        os.chmod(folder, 0o555)


@pytest.mark.parametrize("where", ["the workspace (build/'s folder)", "the generations folder"])
def test_a_folder_without_write_permission_is_a_message_and_the_build_stays(
    tmp_path: Path, where: str
) -> None:
    prefix = as_a_user()
    ws = copy_example(tmp_path / "ws")
    old = clean_build(ws, ws / "build")
    retitle(ws, "A renamed newsletter")
    before = snapshot(ws)
    folder = ws if where.startswith("the workspace") else ws / ".build.generations"
    with read_only(folder):
        result = cli(ws, prefix=prefix)
    assert_refused_cleanly(result, "config.toml", "field 'output'", "Permission denied", str(folder), "intact")
    assert public_tree(ws / "build") == old and snapshot(ws) == before


def test_a_read_only_build_folder_is_never_written_into(tmp_path: Path) -> None:
    prefix = as_a_user()
    ws = copy_example(tmp_path / "ws")
    old = clean_build(ws, ws / "build")
    published = (ws / "build").resolve()
    read_only_tree(published)
    retitle(ws, "A renamed newsletter")
    result = cli(ws, prefix=prefix)  # a new generation beside it; that one is left as it was
    assert result.returncode == 0, result.stderr
    assert public_tree(published) == old and (ws / "build").resolve() != published
    assert "A renamed newsletter" in (ws / "build/index.html").read_text()
    retitle(ws, "Caucasus & Central Asia Weekly")
    result = cli(ws, prefix=prefix)  # the read-only generation is now the one to collect
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert public_tree(ws / "build") == old


def test_a_full_disk_is_a_message_and_the_previous_build_stays(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    with tmpfs(tmp_path / "disk", "8m") as disk:  # two generations of the example and its cache
        site = disk / "site"
        old = clean_build(ws, site)
        retitle(ws, "A renamed newsletter")
        expected = clean_build(ws, tmp_path / "expected")
        filler = fill(disk, leave=200_000)
        before = snapshot(disk)
        result = cli(ws, "--out", str(site))
        assert_refused_cleanly(result, "--out", "the disk is full", str(disk), "the previous build is intact")
        assert public_tree(site) == old
        after = snapshot(disk)
        after.pop("filler"), before.pop("filler")
        assert after == before, "the half-written generation was left behind"
        filler.unlink()
        assert cli(ws, "--out", str(site)).returncode == 0
        assert public_tree(site) == expected


def test_a_full_cache_area_never_fails_a_build(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    site = tmp_path / "site"
    clean_build(ws, site)
    retitle(ws, "A renamed newsletter")
    expected = clean_build(ws, tmp_path / "expected")
    cache = tmp_path / ".site.generations/cache"
    shutil.rmtree(cache)
    with tmpfs(cache, "64k"):
        result = cli(ws, "--out", str(site))  # the entries do not fit: the build goes on
        assert result.returncode == 0, result.stderr
        assert public_tree(site) == expected
        leftovers = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
        assert not leftovers, leftovers
    retitle(ws, "Caucasus & Central Asia Weekly")
    assert cli(ws, "--out", str(site)).returncode == 0
    retitle(ws, "A renamed newsletter")
    assert cli(ws, "--out", str(site)).returncode == 0 and public_tree(site) == expected


def test_a_read_only_disk_is_a_message_and_the_previous_build_stays(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    with tmpfs(tmp_path / "disk", "8m") as disk:
        old = clean_build(ws, disk / "site")
        before = snapshot(disk)
        retitle(ws, "A renamed newsletter")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            result = cli(ws, "--out", str(disk / "site"))
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert_refused_cleanly(result, "--out", "Read-only file system", str(disk), "intact")
        assert public_tree(disk / "site") == old and snapshot(disk) == before


@pytest.mark.parametrize("damage", ["truncated", "a flipped byte", "garbage", "a file", "empty", "a file gone"])
def test_a_damaged_cache_entry_is_ignored_and_rendered_again(tmp_path: Path, damage: str) -> None:
    ws = copy_example(tmp_path / "ws")
    expected = clean_build(ws, tmp_path / "expected")
    build(ws)
    for folder in (ws / ".build.generations/cache/issues").iterdir():
        (entry,) = folder.iterdir()  # a folder: entry.json and the files
        email, eml = entry / "email.html", entry / "email.eml"
        html, mime = email.read_bytes(), eml.read_bytes()
        for path, data in ((email, html), (eml, mime)):  # unlinked first: never damaged through
            path.unlink()  # a link, so the generation's files stay whole
            path.write_bytes(data)
        if damage == "truncated":
            email.write_bytes(html[: len(html) // 2])
        elif damage == "a flipped byte":
            eml.write_bytes(mime[:-10] + bytes([mime[-10] ^ 1]) + mime[-9:])
        elif damage == "garbage":
            (entry / "entry.json").write_bytes(os.urandom(200))
        elif damage == "a file":  # where the entry's folder was (the old one-file form)
            shutil.rmtree(entry)
            entry.write_bytes(os.urandom(len(html)))
        elif damage == "empty":
            (entry / "entry.json").write_bytes(b"")
        else:
            email.unlink()
    (ws / "build").unlink()  # no replay: a real rebuild, reading the damaged cache
    build(ws)
    assert public_tree(ws / "build") == expected


def test_a_second_build_waits_for_the_first_and_says_so(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    old = clean_build(ws, ws / "build")
    retitle(ws, "A renamed newsletter")
    lock = os.open(ws / ".build.generations/lock", os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)  # as a build in the middle of writing holds it
    try:
        proc = subprocess.Popen([sys.executable, "-m", "publisher", "build"], cwd=ws,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("waiting: another build is writing") and "build" in line, line
        time.sleep(0.3)
        assert proc.poll() is None and public_tree(ws / "build") == old
    finally:
        os.close(lock)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "A renamed newsletter" in (ws / "build/index.html").read_text()
    assert not temp_names(public_tree(ws / "build"))
