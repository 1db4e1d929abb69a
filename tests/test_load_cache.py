"""The parsed-workspace cache (publisher/loadcache.py): reused only while a file is
unchanged, and never the reason a load fails or differs."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher import filecache, loadcache
from publisher.errors import Problem, RecordError
from publisher.filecache import digest, stat_key
from publisher.frozen import frozen_problems
from publisher.loadcache import FOLDER, SHARDS, LoadCache, read_all, read_entries
from publisher.workspace import Workspace, cache_folder, issue_files, load_issue, load_workspace

CACHE = Path(".build.generations/cache") / FOLDER  # its shards: 00.cache ...


def dumps(workspace: Workspace) -> list[dict[str, object]]:
    return [issue.model_dump(mode="json") for issue in workspace.issues]


def uncached(root: Path) -> list[dict[str, object]]:
    """Every issue as load_issue makes it from the file, no cache involved."""
    loaded = [load_issue(p, f"issues/{p.name}")[0] for p in issue_files(root)]
    issues = sorted((i for i in loaded if i is not None), key=lambda i: i.sort_key)
    return [i.model_dump(mode="json") for i in issues]


def edit_in_place(path: Path, old: str, new: str) -> None:
    """Change the text keeping the size and the modification time, as a careless tool might."""
    assert len(old.encode()) == len(new.encode())
    before = path.stat()
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.fixture
def settled(example: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example, its files' times old enough for the cache to trust their stat: the
    racy window shrunk to 50 ms (2 s by default, for filesystems with coarse times)."""
    monkeypatch.setattr(filecache, "RACY_NS", 50_000_000)
    time.sleep(0.12)
    return example


def test_a_warm_load_equals_an_uncached_one(settled: Path) -> None:
    example = settled
    cold = load_workspace(example)
    assert list((example / CACHE).glob("*.cache")), "the cache lives beside the output's generations"
    warm = load_workspace(example)
    assert dumps(cold) == dumps(warm) == uncached(example)
    assert cold.warnings == warm.warnings
    assert [i.stripped_fields for i in warm.issues] == [i.stripped_fields for i in cold.issues]
    entries = read_all(example / CACHE)
    assert sorted(entries) == sorted(p.name for p in issue_files(example))
    for path in issue_files(example):
        entry = entries[path.name]
        assert entry.key == stat_key(path.stat()) and entry.digest == digest(path.read_bytes())
        assert entry.trusted(stat_key(path.stat())), "settled files are trusted on their stat"


def test_the_cache_is_really_used_and_a_racy_stat_is_checked_by_content(settled: Path) -> None:
    """A planted entry with the file's own stat is believed when the stat is old enough, and
    refused when the file changed too soon after the read to trust the times."""
    example = settled
    load_workspace(example)
    path = example / "issues" / "2024-11.toml"
    cache = LoadCache(example / CACHE.parent)
    planted = cache.entries[path.name]
    marker = Problem(f"issues/{path.name}", "planted in the cache", severity="warning")
    planted.blob, planted.digest = pickle.dumps((None, [marker]), protocol=5), digest(b"not it")
    cache.dirty.update(range(SHARDS))
    cache.save(p.name for p in issue_files(example))
    loaded = load_workspace(example)
    assert marker in loaded.warnings, "a trusted stat takes the cache's word"
    assert "2024-11" not in [i.id for i in loaded.issues]

    cache = LoadCache(example / CACHE.parent)
    entry = cache.entries[path.name]
    entry.seen = max(entry.key[1], entry.key[2])  # as if read as it was written: racily clean
    cache.dirty.update(range(SHARDS))
    cache.save(p.name for p in issue_files(example))
    loaded = load_workspace(example)
    assert marker not in loaded.warnings
    assert dumps(loaded) == uncached(example)
    assert read_all(example / CACHE)[path.name].digest == digest(path.read_bytes())


def test_a_same_size_edit_with_the_mtime_put_back_is_seen(settled: Path) -> None:
    example = settled
    load_workspace(example)
    path = example / "issues" / "2024-16.toml"
    edit_in_place(path, "Kazakhstan", "Kazakhstam")
    loaded = load_workspace(example)
    assert "Kazakhstam" in loaded.issue("2024-16").model_dump_json()
    assert dumps(loaded) == uncached(example)


def test_a_changed_published_issue_is_still_caught_when_warm(settled: Path) -> None:
    example = settled
    workspace = load_workspace(example)
    assert not [p for p in frozen_problems(workspace.issues, workspace.registry) if p.is_error]
    edit_in_place(example / "issues" / "2024-11.toml", "After Berlin", "After Bonn!!")
    workspace = load_workspace(example)
    changed = [p for p in frozen_problems(workspace.issues, workspace.registry) if p.is_error]
    assert [p.file for p in changed] == ["issues/2024-11.toml"]


def test_deleted_and_new_issues(settled: Path) -> None:
    example = settled
    load_workspace(example)
    (example / "issues" / "2024-17.toml").rename(example / "issues" / "2024-18.toml")
    loaded = load_workspace(example)
    assert "2024-17" not in [i.id for i in loaded.issues]
    assert "2024-18" in [i.id for i in loaded.issues]
    assert dumps(loaded) == uncached(example)
    # The new file's shard is rewritten; the deleted file's entry may stay in another one,
    # harmless: a file of that name would be read and checked against it first.
    assert {p.name for p in issue_files(example)} <= set(read_all(example / CACHE))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "flipped", "other salt"])
def test_a_damaged_cache_file_is_ignored_and_rebuilt(settled: Path, damage: str) -> None:
    example = settled
    expected = dumps(load_workspace(example))
    shards = sorted((example / CACHE).glob("*.cache"))
    for path in shards:
        data = path.read_bytes()
        if damage == "garbage":
            path.write_bytes(os.urandom(4096))
        elif damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "empty":
            path.write_bytes(b"")
        elif damage == "flipped":
            path.write_bytes(data[:-10] + bytes([data[-10] ^ 0x55]) + data[-9:])
        else:
            path.write_bytes(data.replace(loadcache.salt(), b"0" * len(loadcache.salt()), 1))
        assert read_entries(path) == {}
    assert read_all(example / CACHE) == {}
    assert dumps(load_workspace(example)) == expected
    assert len(read_all(example / CACHE)) == len(issue_files(example)), "rebuilt"


class Planted:
    """What a planted cache file could try: run a command while being unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_foreign_cache_cannot_run_code(settled: Path, tmp_path: Path) -> None:
    """A file with the right header and checksum still builds nothing but records."""
    example = settled
    expected = dumps(load_workspace(example))
    marker = tmp_path / "ran"
    cache = LoadCache(example / CACHE.parent)
    for entry in cache.entries.values():
        entry.blob = pickle.dumps((Planted(marker), []))
    cache.dirty.update(range(SHARDS))
    cache.save(p.name for p in issue_files(example))
    assert dumps(load_workspace(example)) == expected
    assert not marker.exists()


@pytest.mark.parametrize("block", ["home is a file", "cache file is a folder"])
def test_a_cache_that_cannot_be_written_never_fails_a_load(example: Path, block: str) -> None:
    if block == "home is a file":
        (example / ".build.generations").write_text("not a folder")
    else:
        for n in range(SHARDS):
            (example / CACHE / f"{n:02d}.cache").mkdir(parents=True)
    for _ in range(2):
        assert dumps(load_workspace(example)) == uncached(example)
    assert not list(example.glob(".build.generations/**/.*.tmp")), "no temporary file left"


def test_a_read_only_cache_folder(example: Path) -> None:
    (example / CACHE.parent).mkdir(parents=True)
    (example / CACHE.parent).chmod(0o500)
    try:
        probe = example / CACHE.parent / "probe"
        try:
            probe.write_text("")
        except OSError:
            pass
        else:
            pytest.skip("permissions do not stop this user (root): the other cases block writes")
        for _ in range(2):
            assert dumps(load_workspace(example)) == uncached(example)
    finally:
        (example / CACHE.parent).chmod(0o700)


def test_warnings_and_errors_survive_the_cache(settled: Path) -> None:
    example = settled
    path = example / "issues" / "2024-17.toml"
    path.write_text(path.read_text().replace('title = "', 'title = "\u202e', 1))
    broken = example / "issues" / "2024-30.toml"
    broken.write_text('title = "Half a draft"\ndate = 2024-07-26\nstatus = "draft"\nnumber = "x"\n')
    runs = [load_workspace(example, focus={"2024-17"}) for _ in range(2)]
    assert runs[0].warnings == runs[1].warnings
    texts = [str(w) for w in runs[1].warnings]
    assert any("2024-17.toml" in t and "invisible control characters" in t for t in texts)
    assert any("2024-30.toml" in t and "not blocking" in t for t in texts)
    failures = []
    for _ in range(2):
        with pytest.raises(RecordError) as caught:
            load_workspace(example)
        failures.append(caught.value.problems)
    assert failures[0] == failures[1] and any(p.file == "issues/2024-30.toml" for p in failures[0])


def test_the_cache_stays_out_of_issues_and_the_public_tree(example: Path) -> None:
    workspace = load_workspace(example)
    folder = cache_folder(example, workspace.config)
    assert folder == Path(os.path.abspath(example / CACHE.parent))
    inside = workspace.config.model_copy(
        update={"build": workspace.config.build.model_copy(update={"output": "issues/site"})}
    )
    assert cache_folder(example, inside) is None
    assert not list((example / "issues").rglob("*.cache"))


def test_concurrent_loads_leave_a_whole_cache(example: Path) -> None:
    """Four processes each editing its own issue and loading (so parsing it and writing its
    shard) at once: none fails, every shard left is whole, and a load after them is right."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    code = (
        "import sys; from pathlib import Path; from publisher.workspace import load_workspace\n"
        "root, name = Path(sys.argv[1]), sys.argv[2]\n"
        "for n in range(6):\n"
        "    with open(root / 'issues' / name, 'a') as f: f.write(f'# edit {n}\\n')\n"
        "    load_workspace(root)\n"
    )
    names = [p.name for p in issue_files(example)][:4]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(example), n], env=env) for n in names]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    shards = list((example / CACHE).glob("*.cache"))
    assert shards and all(read_entries(s) for s in shards), "a torn or foreign shard"
    assert not list((example / CACHE).glob(".*.tmp")), "no temporary file left"
    assert dumps(load_workspace(example)) == uncached(example)
    assert all("# edit 5" in (example / "issues" / n).read_text() for n in names)


def test_a_load_that_parses_nothing_leaves_the_cache_file_as_it_was(settled: Path) -> None:
    """A refused build or a `check` that found every file cached writes nothing, even
    when the stats changed (a copied workspace: new inodes, same bytes)."""
    example = settled
    load_workspace(example)
    def state() -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (example / CACHE).iterdir()}

    before = state()
    for path in issue_files(example):
        os.utime(path)
    assert dumps(load_workspace(example)) == uncached(example)
    assert state() == before


def test_content_hashes_kept_by_the_cache_are_the_frozen_ones(settled: Path) -> None:
    from publisher.frozen import issue_hash

    example = settled
    for _ in range(2):
        workspace = load_workspace(example)
        published = [i for i in workspace.issues if i.is_published]
        assert published and set(workspace.hashes) == {i.id for i in published}
        assert all(workspace.issue_hash(i) == issue_hash(i) == i.content_hash for i in published)
    other = published[0].model_copy(update={"title": "Another title"})
    assert workspace.issue_hash(other) == issue_hash(other) != published[0].content_hash


def test_a_first_load_on_every_core_equals_one_by_one(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forked workers' entries (PARALLEL_FROM lowered so the example takes that path)."""
    broken = example / "issues" / "2024-30.toml"
    broken.write_text('title = "Half a draft"\ndate = 2024-07-26\nstatus = "draft"\nnumber = "x"\n')
    serial = load_workspace(example, focus={"2024-17"})
    shutil.rmtree(example / CACHE)
    monkeypatch.setattr(loadcache, "PARALLEL_FROM", 1)
    parallel = load_workspace(example, focus={"2024-17"})
    assert dumps(parallel) == dumps(serial) == [d for d in uncached(example)]
    assert parallel.warnings == serial.warnings
    assert {k: v[1] for k, v in parallel.hashes.items()} == {k: v[1] for k, v in serial.hashes.items()}
    assert len(read_all(example / CACHE)) == len(issue_files(example))


def test_digests_follow_the_file_and_cost_nothing_warm(settled: Path) -> None:
    """Workspace.digests: one per issue, the same warm as cold, changed by an edit only."""
    example = settled
    cold = load_workspace(example).digests
    warm = load_workspace(example).digests
    assert cold == warm and set(cold) == {p.stem for p in issue_files(example)}
    assert len(set(cold.values())) == len(cold) and all(len(d) == 32 for d in cold.values())
    edit_in_place(example / "issues" / "2024-16.toml", "Kazakhstan", "Kazakhstam")
    edited = load_workspace(example).digests
    assert {k for k in cold if cold[k] != edited[k]} == {"2024-16"}
