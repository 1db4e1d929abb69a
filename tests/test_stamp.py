"""The build stamp's own caches (publisher/stamp.py, issue 12): each input file's digest kept
by its stat, and a marshal copy of what the stamp reads of the manifest. Both only ever
save time: the digest and the no-op decision are those made without them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from publisher import filecache, stamp
from publisher.generations import Layout
from publisher.manifest import Manifest
from publisher.stamp import DIGESTS, RECORDED, FileDigests, inputs_digest, recorded
from tests.conftest import REPO, run_cli

ARGS = "([], False)"


@pytest.fixture
def settled(example: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example with a cache area, its files older than a racy window shrunk to 50 ms."""
    monkeypatch.setattr(filecache, "RACY_NS", 50_000_000)
    monkeypatch.setattr(stamp, "_OPEN", {})  # no digests kept in memory from another test
    (example / ".build.generations/cache").mkdir(parents=True)
    time.sleep(0.12)
    return example


def digest_of(ws: Path, known: FileDigests | None) -> str:
    return inputs_digest(ws, REPO / "templates", ARGS, known)


def kept(ws: Path) -> FileDigests:
    """The digests kept on disk, as the next command finds them."""
    return FileDigests(ws / ".build.generations/cache" / DIGESTS)


def unread(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every file the stamp reads from now on."""
    read: list[str] = []
    real = filecache.read_file

    def reading(path: Path | str) -> tuple[filecache.StatKey, bytes, int] | None:
        read.append(str(path))
        return real(path)

    monkeypatch.setattr(stamp, "read_file", reading)
    return read


def test_kept_digests_give_the_digest_of_the_bytes_and_spare_reading_them(
    settled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = digest_of(settled, None)
    first = kept(settled)
    assert digest_of(settled, first) == plain
    first.save()
    assert (settled / ".build.generations/cache" / DIGESTS).is_file()
    read = unread(monkeypatch)
    assert digest_of(settled, kept(settled)) == plain
    assert read == [], "an unchanged file whose stat can be trusted is not read again"


def test_an_edit_that_keeps_the_size_and_modification_time_is_noticed(
    settled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = kept(settled)
    before = digest_of(settled, known)
    known.save()
    path = sorted((settled / "issues").glob("2*.toml"))[0]
    info = path.stat()
    text = path.read_bytes()
    at = text.index(b"title")
    path.write_bytes(text[:at] + b"T" + text[at + 1 :])  # the same size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the same mtime: only ctime moved
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns
    read = unread(monkeypatch)
    after = digest_of(settled, kept(settled))
    assert read == [os.path.abspath(path)]
    assert after != before and after == digest_of(settled, None)


def test_a_file_read_in_its_racy_window_is_read_again(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stamp, "_OPEN", {})
    (example / ".build.generations/cache").mkdir(parents=True)
    known = kept(example)
    digest_of(example, known)  # the files were written a moment ago: their stat proves nothing yet
    known.save()
    read = unread(monkeypatch)
    digest_of(example, kept(example))
    assert os.path.abspath(example / "config.toml") in read


def test_a_deleted_issue_changes_the_digest_and_leaves_the_kept_digests(
    settled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = kept(settled)
    before = digest_of(settled, known)
    known.save()
    gone = sorted((settled / "issues").glob("2*.toml"))[-1]
    gone.unlink()
    (settled / "config.toml").touch()  # something read afresh: the digests are written again
    time.sleep(0.12)
    again = kept(settled)
    assert digest_of(settled, again) not in (before, "")
    again.save()
    assert os.path.abspath(gone) not in kept(settled).known


@pytest.mark.parametrize("damage", [b"", b"publisher inputs cache 1\n" + b"\0" * 40, b"not ours"])
def test_a_damaged_digest_cache_is_no_cache(settled: Path, damage: bytes) -> None:
    plain = digest_of(settled, None)
    (settled / ".build.generations/cache" / DIGESTS).write_bytes(damage)
    assert kept(settled).known == {}
    assert digest_of(settled, kept(settled)) == plain


def test_the_manifests_copy_is_what_the_stamp_reads_of_it_until_the_manifest_changes(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("build", cwd=example).code == 0
    monkeypatch.setattr(filecache, "RACY_NS", 50_000_000)
    time.sleep(0.12)
    layout = Layout((example / "build").absolute())
    path, copy = layout.manifest(layout.current() or 0), layout.cache / RECORDED
    whole, pending = recorded(path, copy)
    assert whole is not None and pending is not None
    filecache.write_framed(*pending)
    fast, again = recorded(path, copy)
    assert fast is not None and again is None, "read from the copy"
    for name in ("files", "digest", "issues", "built", "warnings"):
        assert getattr(fast, name) == getattr(whole, name), name
    changed = Manifest.read(path)
    assert changed is not None
    changed.issues = ["another"]
    changed.write(path)  # a new file, renamed over the old one: another stat
    fresh, pending = recorded(path, copy)
    assert fresh is not None and fresh.issues == ["another"] and pending is not None


def test_the_no_op_check_with_damaged_caches_still_decides_right(example: Path) -> None:
    assert run_cli("build", cwd=example).code == 0
    cache = example / ".build.generations/cache"
    assert "(0 changed)" in run_cli("build", cwd=example).stdout
    time.sleep(2.1)  # the default racy window: the copies are now trusted
    assert "(0 changed)" in run_cli("build", cwd=example).stdout
    assert (cache / DIGESTS).is_file() and (cache / RECORDED).is_file()
    for name in (DIGESTS, RECORDED):
        (cache / name).write_bytes((cache / name).read_bytes()[:-7])  # torn
    assert "(0 changed)" in run_cli("build", cwd=example).stdout
    config = example / "config.toml"
    info = config.stat()
    text = config.read_text()
    config.write_text(text.replace("limit = 20 ", "limit = 19 ", 1))
    os.utime(config, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert "(0 changed)" not in run_cli("build", cwd=example).stdout
