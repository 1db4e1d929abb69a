"""The no-op check's caches (issue 12): each input file's digest kept by its stat
(publisher/stamp.py), and the manifest's marshal twin (publisher/manifest.py). Both only
ever save time: the digest, the manifest and the no-op decision are those made without them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from publisher import filecache, manifest, stamp
from publisher.generations import Layout
from publisher.stamp import DIGESTS, FileDigests, inputs_digest
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


def saved(ws: Path) -> str:
    """The digest, its files' digests kept on disk for the next command."""
    known = kept(ws)
    found = digest_of(ws, known)
    known.save()
    return found


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
    before = saved(settled)
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
    saved(example)  # the files were written a moment ago: their stat proves nothing yet
    read = unread(monkeypatch)
    digest_of(example, kept(example))
    assert os.path.abspath(example / "config.toml") in read


def test_a_deleted_issue_changes_the_digest_and_leaves_the_kept_digests(
    settled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved(settled)
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


def test_a_manifest_read_from_its_twin_is_the_one_parsed(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli("build", cwd=example).code == 0
    layout = Layout((example / "build").absolute())
    path, twin = layout.manifest(layout.current() or 0), layout.home / manifest.TWIN
    assert twin.is_file(), "the build wrote the manifest's twin"
    parsed: list[Path] = []
    real = manifest.json.loads

    def parsing(text: bytes) -> object:
        parsed.append(path)
        return real(text)

    monkeypatch.setattr(manifest.json, "loads", parsing)
    fast = manifest.Manifest._parse(path)
    assert parsed == [] and fast is not None, "read from the twin"
    twin_bytes = twin.read_bytes()
    twin.write_bytes(twin_bytes[:-5])  # torn: the JSON is read
    whole = manifest.Manifest._parse(path)
    assert parsed == [path] and whole == fast
    twin.write_bytes(twin_bytes)
    data = real(path.read_text())
    data["issues"] = ["another"]
    path.write_text(json.dumps(data, sort_keys=True))  # the manifest changed: its twin stands for it no more
    changed = manifest.Manifest._parse(path)
    assert changed is not None and changed.issues == ["another"] and len(parsed) == 2


def test_the_no_op_check_with_damaged_caches_still_decides_right(example: Path) -> None:
    assert run_cli("build", cwd=example).code == 0
    cache = example / ".build.generations/cache"
    assert "(0 changed)" in run_cli("build", cwd=example).stdout
    time.sleep(2.1)  # the default racy window: the copies are now trusted
    assert "(0 changed)" in run_cli("build", cwd=example).stdout
    assert (cache / DIGESTS).is_file() and (cache / "../" / manifest.TWIN).is_file()
    for name in (DIGESTS, "../" + manifest.TWIN):
        (cache / name).write_bytes((cache / name).read_bytes()[:-7])  # torn
    assert "(0 changed)" in run_cli("build", cwd=example).stdout
    config = example / "config.toml"
    info = config.stat()
    text = config.read_text()
    config.write_text(text.replace("limit = 20 ", "limit = 19 ", 1))
    os.utime(config, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert "(0 changed)" not in run_cli("build", cwd=example).stdout
