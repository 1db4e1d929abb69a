"""Incremental builds (issue 12): a no-op decided before any heavy import, digests that do
not depend on how --root is spelled, and each kind of edit rebuilding exactly what changes,
into a result equal to a cold build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from publisher.build import BuildResult
from tests.conftest import REPO, copy_example, run_cli
from tests.trees import public_tree

HEAVY = ("jinja2", "premailer", "numpy", "feedgen", "lxml", "pydantic")


def cli_modules(ws: Path, *args: str) -> tuple[str, set[str]]:
    """Run the CLI in a new process; its output and the modules it imported."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['publisher', *{list(args)!r}]\n"
        "try:\n    runpy.run_module('publisher', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "finally:\n    print('\\nMODULES=' + ','.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ws, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text, _, modules = done.stdout.rpartition("\nMODULES=")
    return text, set(modules.strip().split(","))


def test_a_no_op_build_imports_nothing_heavy(example: Path) -> None:
    cli_modules(example, "build")  # the same code as the no-op below (installed or the repo's)
    text, modules = cli_modules(example, "build")
    assert "(0 changed)" in text
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


def test_an_edit_is_noticed_by_the_no_op_check(example: Path) -> None:
    assert run_cli("build", cwd=example).code == 0
    config = example / "config.toml"
    config.write_text(config.read_text().replace("limit = 20 ", "limit = 19 ", 1))
    text, modules = cli_modules(example, "build")
    assert "(0 changed)" not in text and "jinja2" in modules


def test_the_stamp_does_not_depend_on_how_root_is_spelled(example: Path) -> None:
    assert run_cli("build", "--root", ".", cwd=example).code == 0
    again = run_cli("build", "--root", str(example.resolve()), cwd=example.parent)
    assert again.code == 0 and "(0 changed)" in again.stdout, again.stdout
    moved = run_cli("build", "--root", example.name, cwd=example.parent)
    assert "(0 changed)" in moved.stdout


def manifest_of(ws: Path) -> dict[str, object]:
    home = ws / ".build.generations"
    number = os.readlink(ws / "build").rsplit("/", 1)[-1]
    data: dict[str, object] = json.loads((home / f"{number}.json").read_text())
    return data


@pytest.fixture
def built(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws")
    assert run_cli("build", cwd=ws).code == 0
    return ws


# Each kind of edit, on a small unfrozen archive (published, never frozen: edits only warn).

def cold_tree(ws: Path, tmp: Path) -> dict[str, bytes]:
    from publisher.build import build

    out = tmp / "cold" / "out"
    build(ws, out=out, parallel=False)
    return public_tree(out)


def build_in(ws: Path) -> BuildResult:
    from publisher.build import build

    return build(ws, parallel=False)


def issue_files(ws: Path) -> list[Path]:
    return sorted((ws / "issues").glob("[!.]*.toml"))


def edit_issue(path: Path, change: Callable[[Any], None]) -> None:
    doc = tomlkit.parse(path.read_text())
    change(doc)
    path.write_text(tomlkit.dumps(doc))


def set_first_article(field: str, value: object) -> Callable[[Any], None]:
    def change(doc: Any) -> None:
        doc["articles"][0][field] = value
    return change


def add_past_issue(ws: Path) -> None:
    first = tomllib.loads(issue_files(ws)[3].read_text())
    first["date"] = first["date"] - timedelta(days=2)
    first["articles"] = [{**a, "id": a["id"] + "-past", "url": a["url"] + "&past"} for a in first["articles"]]
    (ws / "issues" / "1999-99.toml").write_text(tomlkit.dumps(first))


def set_config(section: str, key: str, value: object) -> Callable[[Path], None]:
    def change(ws: Path) -> None:
        doc = tomlkit.parse((ws / "config.toml").read_text())
        doc[section][key] = value  # type: ignore[index]
        (ws / "config.toml").write_text(tomlkit.dumps(doc))
    return change


def edit_template(ws: Path) -> None:
    from publisher.theme import builtin_templates

    (ws / "templates").mkdir(exist_ok=True)
    text = (builtin_templates() / "feed_entry.html").read_text()
    (ws / "templates" / "feed_entry.html").write_text(text + "<p>Thanks for reading.</p>\n")


EDITS: dict[str, Callable[[Path], None]] = {
    "article title": lambda ws: edit_issue(issue_files(ws)[5], set_first_article("title", "A new title")),
    "article tags": lambda ws: edit_issue(issue_files(ws)[5], set_first_article("tags", ["region:central-asia", "kazakhstan"])),
    "article date": lambda ws: edit_issue(issue_files(ws)[5], set_first_article("published", date(2000, 1, 2))),
    "[feeds] limit": set_config("feeds", "limit", 5),
    "[related] weights": set_config("related", "weights", {"region:*": 3.0, "*": 1.0}),
    "template": edit_template,
    "delete an issue": lambda ws: issue_files(ws)[7].unlink(),
    "add an issue in the past": add_past_issue,
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_each_edit_rebuilds_what_changes_and_equals_a_cold_build(
    archive: Path, tmp_path: Path, kind: str
) -> None:
    before = public_tree(archive / "build")
    EDITS[kind](archive)
    result = build_in(archive)
    after = public_tree(archive / "build")
    assert after == cold_tree(archive, tmp_path)
    changed = {k for k in after if before.get(k) != after[k]}
    assert set(result.written) == changed  # unchanged files are linked from the last generation
    assert changed, "the edit changed nothing: the test is not testing"


def test_a_drafts_edit_keeps_the_site_wide_files_whole(archive: Path, tmp_path: Path) -> None:
    """Tag pages, search, sitemap and feeds show published issues only: a draft's edit makes
    none of them again (their group's key is unchanged), yet the result is a cold build's;
    and a group file changed by hand has its group made again."""
    from publisher.build import build

    draft = issue_files(archive)[-1]
    edit_issue(draft, lambda doc: doc.__setitem__("status", "draft"))
    build(archive, drafts=True, parallel=False)
    groups: Any = manifest_of(archive)["groups"]
    web, feeds = groups["web"][1:], groups["feeds"][1:]
    assert {"sitemap.xml", "search/index.js", "tags/index.html"} <= set(web)
    assert {"feed.xml", "atom.xml"} <= set(feeds)

    edit_issue(draft, set_first_article("title", "A draft's new title"))
    result = build(archive, drafts=True, parallel=False)
    assert not set(result.written) & {*web, *feeds}
    assert f"issues/{draft.stem}/index.html" in result.written
    assert all(rel.startswith(f"issues/{draft.stem}/") for rel in result.written)
    build(archive, out=tmp_path / "cold", drafts=True, parallel=False)
    assert public_tree(archive / "build") == public_tree(tmp_path / "cold")

    page = archive / "build" / next(p for p in web if p.startswith("tags/") and p != "tags/index.html")
    original = page.read_bytes()
    page.write_bytes(b"changed by hand")
    edit_issue(draft, set_first_article("title", "Another title"))
    result = build(archive, drafts=True, parallel=False)
    assert page.read_bytes() == original
    assert manifest_of(archive)["groups"] == groups  # made again from the same key


def test_picks_read_back_from_the_selection_cache_are_a_fresh_selections(archive: Path) -> None:
    """Cached related picks are made into picks only when read (StoredPicks): equal to a
    fresh selection's, keys, order, scores and all, and pickled as a plain dict."""
    import pickle

    from publisher.related import StoredPicks
    from publisher.selectcache import SelectionCache, select_cached
    from publisher.selection import select_all
    from publisher.workspace import load_workspace

    workspace = load_workspace(archive)
    cache = SelectionCache(archive / ".build.generations" / "cache")
    views = select_cached(workspace, list(workspace.issues), cache)
    assert cache.selected == [] and all(isinstance(v.related, StoredPicks) for v in views)
    fresh = select_all(workspace, list(workspace.issues))
    for view, want in zip(views, fresh, strict=True):
        assert list(view.related) == list(want.related)
        assert [p.article for ps in want.related.values() for p in ps] == view.related.articles()  # type: ignore[attr-defined]
        assert dict(view.related.items()) == want.related == view.related
        assert type(pickle.loads(pickle.dumps(view.related))) is dict
    assert any(view.related.articles() for view in views)  # type: ignore[attr-defined]


def test_render_workers_set_their_files_aside_and_build_what_one_process_builds(
    archive: Path, tmp_path: Path
) -> None:
    """Forked render workers write each issue's files beside the generations themselves and
    send back only their names; the generation links them. The result is byte for byte a
    one-process build's, and nothing set aside is left once the build is done."""
    from publisher.build import build

    build(archive, out=tmp_path / "forked", parallel=True)
    build(archive, out=tmp_path / "here", parallel=False)
    assert public_tree(tmp_path / "forked") == public_tree(tmp_path / "here")
    assert not list((tmp_path / ".forked.generations").glob("spill-*"))


def test_a_title_edit_selects_nothing_again(archive: Path) -> None:
    from publisher.selectcache import SelectionCache, select_cached
    from publisher.workspace import load_workspace

    EDITS["article title"](archive)
    workspace = load_workspace(archive)
    cache = SelectionCache(archive / ".build.generations" / "cache")
    views = select_cached(workspace, list(workspace.issues), cache)
    assert cache.selected == []  # no rule reads a title: the views are rebuilt with the new one
    titles = {a.title for v in views for picks in v.related.values() for p in picks for a in [p.article]}
    assert "A new title" in titles | {a.title for v in views for a in v.issue.articles}


def test_a_summary_edit_selects_only_its_issue_again(archive: Path) -> None:
    from publisher.selectcache import SelectionCache, select_cached
    from publisher.workspace import load_workspace

    edit_issue(issue_files(archive)[5], set_first_article("summary", "See [this](https://example.org/x)."))
    workspace = load_workspace(archive)
    cache = SelectionCache(archive / ".build.generations" / "cache")
    select_cached(workspace, list(workspace.issues), cache)
    assert cache.selected == [issue_files(archive)[5].stem]  # its links count: shown once


def test_a_tag_edit_selects_that_issue_and_the_later_ones_again(archive: Path) -> None:
    from publisher.selectcache import SelectionCache, select_cached
    from publisher.workspace import load_workspace

    EDITS["article tags"](archive)
    workspace = load_workspace(archive)
    cache = SelectionCache(archive / ".build.generations" / "cache")
    select_cached(workspace, list(workspace.issues), cache)
    edited = issue_files(archive)[5].stem
    assert cache.selected == [i.id for i in workspace.issues if i.sort_key >= workspace.issue(edited).sort_key]


def test_the_fast_view_key_text_is_the_generic_one(example: Path) -> None:
    import dataclasses

    from publisher.cache import _text, _view_text
    from publisher.selection import select_all
    from publisher.workspace import load_workspace

    workspace = load_workspace(example)
    for view in select_all(workspace, list(workspace.issues)):
        fields = [getattr(view, f.name) for f in dataclasses.fields(view) if f.name != "config"]
        assert _view_text(view, {}) == _text(fields, {})


def test_check_leaves_the_caches_warm_for_build(example: Path) -> None:
    from publisher.build import build

    assert run_cli("check", cwd=example).code == 0
    cache = example / ".build.generations" / "cache"
    assert (cache / "selection.marshal").is_file() and any((cache / "issues").iterdir())

    def entries() -> dict[str, list[str]]:
        return {f.name: sorted(e.name for e in f.iterdir()) for f in (cache / "issues").iterdir() if f.is_dir()}

    checked = entries()
    result = build(example, parallel=False)
    fresh = cold_tree(example, example.parent)
    assert public_tree(example / "build") == fresh and result.written
    assert entries() == checked, "the build rendered under other keys than check did"
    assert run_cli("check", cwd=example).code == 0
    assert entries() == checked, "check after the build rendered again"


BODIES = [
    ("plain\n", "<p>html</p>\n"),
    ("no newline at the end", "<p>x</p>"),
    ("crlf\r\nand bare\rcr\n\nblank lines\n\n", "<p>" + "long line, " * 40 + "</p>\r\n"),
    ("trailing spaces   \nand tabs\t\nünïcødé · — “quotes”\n", "=_ looks like a boundary =_\n.\n..\nFrom me\n"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "html"), BODIES)
def test_the_assembled_eml_is_the_generators_byte_for_byte(example: Path, text: str, html: str) -> None:
    from publisher.eml import build_eml, stdlib_eml
    from publisher.selection import select_all
    from publisher.workspace import load_workspace

    workspace = load_workspace(example)
    for view in select_all(workspace, list(workspace.published)[:2]):
        assert build_eml(view, text, html) == stdlib_eml(view, text, html)


def test_selection_on_every_core_picks_what_one_core_picks(tmp_path: Path) -> None:
    from publisher.selectcache import PARALLEL_FROM, SelectionCache, _view_data, select_cached
    from publisher.workspace import load_workspace
    from tests.archive import make_archive

    ws = make_archive(tmp_path / "ws", PARALLEL_FROM + 6, articles=2)
    workspace = load_workspace(ws)
    issues = list(workspace.issues)
    one = select_cached(workspace, issues, SelectionCache(None))
    every = select_cached(workspace, issues, SelectionCache(None), parallel=True)
    assert [_view_data(v) for v in every] == [_view_data(v) for v in one]
    assert every == one


@pytest.mark.parametrize("layout", ["links", "auto"])
def test_the_digest_layouts_rebuild_from_the_selection_cache_as_a_cold_build(
    tmp_path: Path, layout: str
) -> None:
    from tests.archive import make_archive

    ws = make_archive(tmp_path / "ws", 14, articles=3)
    set_config("email", "layout", layout)(ws)
    build_in(ws)
    EDITS["article title"](ws)
    EDITS["article tags"](ws)
    build_in(ws)
    assert public_tree(ws / "build") == cold_tree(ws, tmp_path)


def test_outputs_past_the_memory_budget_are_set_aside_and_the_result_is_the_same(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no memory budget at all, every output goes through a spill folder on disk: the
    build's result is byte for byte a cold in-memory build's, the folder is gone afterwards,
    and an unchanged file is still linked, not counted as changed."""
    import publisher.build

    monkeypatch.setattr(publisher.build, "SPILL_BUDGET", 0)
    cold = cold_tree(archive, tmp_path)
    fresh = tmp_path / "spilled"
    from publisher.build import build

    build(archive, out=fresh, parallel=True)
    assert public_tree(fresh) == cold
    last = issue_files(archive)[-1]
    edit_issue(last, set_first_article("title", "Set aside"))
    result = build_in(archive)
    assert public_tree(archive / "build") == cold_tree(archive, tmp_path / "again")
    assert f"issues/{last.stem}/index.html" in result.written
    assert len(result.written) < len(result.files) / 2  # the rest linked from the last build
    for home in (archive / ".build.generations", fresh.parent / f".{fresh.name}.generations"):
        assert not list(home.glob("spill-*"))


def test_the_selection_cache_is_written_and_read_in_parts(tmp_path: Path) -> None:
    """The selection cache is written a part at a time (never whole in memory): read back,
    it is every entry; a torn file or another Python's gives none, so all is selected afresh."""
    from publisher.sealed import read_marshal_parts, save_marshal_parts

    path = tmp_path / "selection.marshal"
    entries = {f"issue-{n}": {"key": str(n), "sections": [[f"a{n}"]]} for n in range(1000)}
    save_marshal_parts(path, {"python": "this"}, entries, size=64)
    assert read_marshal_parts(path, {"python": "this"}) == entries
    assert list(read_marshal_parts(path, {"python": "this"})) == list(entries)
    assert read_marshal_parts(path, {"python": "another"}) == {}
    path.write_bytes(path.read_bytes()[:-100])
    assert read_marshal_parts(path, {"python": "this"}) == {}
    save_marshal_parts(path, {"python": "this"}, {})
    assert read_marshal_parts(path, {"python": "this"}) == {}


def test_the_search_index_written_in_pieces_is_the_one_made_whole(archive: Path, tmp_path: Path) -> None:
    """search/index.js is set aside as it is made (75 MB at 75,000 articles): its bytes are
    those of the index joined in memory, and hold MiniSearch's form as data."""
    from publisher.output import Spill, read_output
    from publisher.selectcache import views_for
    from publisher.web import search
    from publisher.workspace import load_workspace

    workspace = load_workspace(archive)
    views, _ = views_for(workspace, None, [i for i in workspace.issues if i.is_published])
    whole, count = search.search_index(workspace.config, views)
    spill = Spill(tmp_path, 0)
    streamed = spill.stream(search.INDEX_FILE, search.search_chunks(workspace.config, views))
    assert read_output(streamed) == whole and streamed.size == len(whole)
    data = json.loads(whole.decode().removeprefix(search.JS_PREFIX).removesuffix(";\n"))
    assert data["index"] == search.minisearch_index(search.documents(workspace.config, views))
    assert data["index"]["documentCount"] == count
    spill.close()


def test_the_caches_code_salts_are_those_of_the_code_the_process_runs(tmp_path: Path) -> None:
    """A process whose files are replaced while it runs (an upgrade under a preview server)
    salts its caches as the code it loaded, not as the files are now."""
    import shutil

    copy = tmp_path / "code"
    shutil.copytree(REPO / "publisher", copy / "publisher", ignore=shutil.ignore_patterns("__pycache__"))
    salts = (
        "from publisher import cache, loadcache, selectcache\n"
        "def salts():\n"
        "    return [loadcache.salt().decode(), selectcache._code_digest()]\n"
    )
    edit = (
        "from pathlib import Path\n"
        "path = Path(loadcache.__file__).with_name('records.py')\n"
        "path.write_text(path.read_text() + '\\n# upgraded\\n')\n"
    )

    def run(code: str) -> list[str]:
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    before = run(salts + "import json; print(json.dumps(salts()))")
    during = run(salts + edit + "import json; print(json.dumps(salts()))")
    after = run(salts + "import json; print(json.dumps(salts()))")
    assert during == before
    assert after[0] != before[0] and after[1] != before[1]
