"""Issue 12: a build recycles the generation before the previous one (the files it shares
with the previous are kept, the rest replaced), keeps per-issue digests of unchanged files
(publisher/sealed.py), and keys renders on the stored picks. Each must give exactly what a
cold build gives."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from tests.test_incremental import EDITS, build_in, cold_tree
from tests.trees import public_tree


def generations(ws: Path) -> list[int]:
    return sorted(int(p.name) for p in (ws / ".build.generations").iterdir() if p.name.isdigit())


def test_a_run_of_edits_recycles_generations_into_what_a_cold_build_makes(archive: Path, tmp_path: Path) -> None:
    (archive / "build" / "notes.txt").write_text("the editor's own file\n")  # never ours to remove
    build_in(archive)  # carried over: from here on the generation before last is recycled
    for n, (kind, edit) in enumerate(EDITS.items()):
        previous = (archive / "build").resolve()
        home = archive / ".build.generations"
        spares = [os.stat(home / str(g)).st_ino for g in generations(archive) if home / str(g) != previous]
        before = public_tree(archive / "build")
        edit(archive)
        result = build_in(archive)
        after = public_tree(archive / "build")
        assert after == cold_tree(archive, tmp_path / str(n)) | {"notes.txt": b"the editor's own file\n"}, kind
        changed = {k for k in after if before.get(k) != after[k]}
        assert set(result.written) == changed, kind
        assert changed, f"{kind}: the edit changed nothing"
        # What did not change is the previous generation's very file (a hard link), whether
        # the recycled folder kept it or it was linked afresh.
        current = (archive / "build").resolve()
        assert spares == [] if n == 0 else spares == [os.stat(current).st_ino], f"{kind}: recycled"
        same = [k for k in after if k not in changed]
        assert all(os.stat(current / k).st_ino == os.stat(previous / k).st_ino for k in same), kind
        assert len(generations(archive)) == 2, f"{kind}: the public generation and the one before"


def test_a_file_where_a_folder_was_and_a_changed_spare_file_are_replaced(archive: Path, tmp_path: Path) -> None:
    EDITS["[feeds] limit"](archive)
    build_in(archive)
    spare, public = (archive / ".build.generations" / str(n) for n in generations(archive))
    assert (archive / "build").resolve() == public
    (spare / "index.html").unlink()
    (spare / "index.html").mkdir()  # a folder where the archive page goes
    (spare / "index.html" / "x").write_text("x")
    feed = spare / "feed.xml"
    feed.unlink()
    feed.write_text("not ours")  # another inode than the previous generation's file
    EDITS["article title"](archive)
    build_in(archive)
    assert public_tree(archive / "build") == cold_tree(archive, tmp_path)


def test_a_view_rebuilt_from_the_selection_cache_keeps_its_render_key(archive: Path) -> None:
    from publisher.cache import fingerprint
    from publisher.selectcache import SelectionCache, _view_data, select_cached
    from publisher.workspace import load_workspace

    workspace = load_workspace(archive)
    issues = [i for i in workspace.issues if i.articles]
    fresh = select_cached(workspace, issues, SelectionCache(None))
    keys = [fingerprint(v, "salt", {}, _view_data(v)) for v in fresh]
    cache = SelectionCache(archive / ".build.generations" / "cache")
    stored = marshal.loads(marshal.dumps(cache.entries))  # as a later build reads them
    rebuilt = select_cached(workspace, issues, cache)
    assert not cache.selected, "every view came from the cache"
    assert [fingerprint(v, "salt", {}, stored[v.issue.id]) for v in rebuilt] == keys
    assert len(set(keys)) == len(keys)


def test_sealed_digests_are_the_records_and_follow_an_edit(archive: Path) -> None:
    from publisher.cache import record_digest
    from publisher.selectcache import SelectionCache, sealed_entry, selection_keys
    from publisher.workspace import load_workspace

    workspace = load_workspace(archive)
    cache = SelectionCache(archive / ".build.generations" / "cache", dict(workspace.digests))
    assert cache.sealed.entries, "the build kept them"
    for issue in workspace.issues:
        kept = cache.sealed.entry(issue, sealed_entry)
        assert kept[1:] == sealed_entry(issue)[1:]
        assert kept[3] == record_digest(issue)
    before = selection_keys(workspace, "code", cache.sealed)
    EDITS["article tags"](archive)
    edited = load_workspace(archive)
    after = selection_keys(edited, "code", SelectionCache(archive / ".build.generations" / "cache",
                                                         dict(edited.digests)).sealed)
    assert after == selection_keys(edited, "code")  # the same keys as computed from scratch
    changed = sorted(k for k in after if after[k] != before[k])
    assert changed and changed[0] == sorted(p.stem for p in (archive / "issues").glob("[!.]*.toml"))[5]


def test_a_small_folder_is_deleted_before_the_command_ends_and_a_large_one_in_the_background(
    example: Path, tmp_path: Path
) -> None:
    """What a build sets aside goes as it ends: a copy of the workspace made right after never
    meets a folder half deleted (small folders go at once); a large one goes all the same."""
    import time

    from publisher.generations import DELETE_HERE, delete_later
    from tests.conftest import run_cli

    assert run_cli("build", cwd=example).code == 0
    assert not [p.name for p in (example / ".build.generations").iterdir() if p.name.startswith(("trash-", "spill-"))]
    small, large = tmp_path / "small", tmp_path / "large"
    for folder, count in ((small, 10), (large, DELETE_HERE + 10)):
        (folder / "sub").mkdir(parents=True)
        for n in range(count):
            (folder / "sub" / str(n)).write_bytes(b"x")
    delete_later(small)
    assert not small.exists()
    delete_later(large)
    deadline = time.monotonic() + 60
    while large.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not large.exists()
