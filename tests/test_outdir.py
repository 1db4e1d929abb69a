"""The output folder's rules: `build` writes only where publisher may, and deletes only what it
made. Each refusal: exit 1, a message naming the option, variable or setting and the folder,
no traceback, and nothing changed anywhere (the workspace, its build, folders outside it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_cli
from tests.trees import public_tree, snapshot, temp_names

Setup = Callable[[Path], None]


def run_build(ws: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", "build", *args], cwd=ws, capture_output=True,
        text=True, timeout=300, env={**os.environ, **(env or {})},
    )


def set_output(value: str) -> Setup:
    def setup(ws: Path) -> None:
        config = ws / "config.toml"
        text = config.read_text()
        assert 'output = "build"' in text
        config.write_text(text.replace('output = "build"', f'output = "{value}"'))
    return setup


def users_folder(ws: Path) -> None:
    (ws / "mine/photos").mkdir(parents=True)
    (ws / "mine/thesis.docx").write_bytes(b"PK\x03\x04 four years of work")
    (ws / "mine/photos/a.jpg").write_bytes(b"\xff\xd8\xff")


def build_is_a_file(ws: Path) -> None:
    (ws / "build").unlink()
    (ws / "build").write_text("my notes, not a build")


def issue_folder_is_a_file(ws: Path) -> None:
    shutil.rmtree(ws / "build/issues/2024-16")
    (ws / "build/issues/2024-16").write_text("someone's file")


def foreign_link(ws: Path) -> None:
    (ws.parent / "elsewhere").mkdir()
    (ws.parent / "elsewhere/index.html").write_text("a site of its own")
    (ws / "build").unlink()
    (ws / "build").symlink_to(ws.parent / "elsewhere")


def link_loop(ws: Path) -> None:
    (ws / "loop").symlink_to("loop")


def a_pipe(ws: Path) -> None:
    os.mkfifo(ws / "pipe")


def a_file(ws: Path) -> None:
    (ws / "notes.txt").write_text("notes")


def nothing(ws: Path) -> None:
    pass


# name: (build arguments, environment, setup, what the message must name)
REFUSED: dict[str, tuple[list[str], dict[str, str], Setup, list[str]]] = {
    "--out .": (["--out", "."], {}, nothing, ["--out", "'.'", "workspace"]),
    'output = ""': ([], {}, set_output(""), ["config.toml", "[build]", "field 'output'", '""', "workspace"]),
    "PUBLISHER_BUILD__OUTPUT=.": ([], {"PUBLISHER_BUILD__OUTPUT": "."}, nothing, ["PUBLISHER_BUILD__OUTPUT", "'.'", "workspace"]),
    "--out issues": (["--out", "issues"], {}, nothing, ["--out", "'issues'", "issues/"]),
    'output = "templates"': ([], {}, set_output("templates"), ["config.toml", "field 'output'", "'templates'", "templates folder"]),
    "--out inside issues": (["--out", "issues/site"], {}, nothing, ["--out", "'issues/site'", "inside"]),
    "--out the parent": (["--out", ".."], {}, nothing, ["--out", "'..'", "holds"]),
    "--out a folder of the user's": (["--out", "mine"], {}, users_folder, ["--out", "'mine'", "did not make", "photos", "thesis.docx"]),
    "--out config.toml": (["--out", "config.toml"], {}, nothing, ["--out", "'config.toml'", "config.toml: a build would replace it"]),
    "--out /dev/null": (["--out", "/dev/null"], {}, nothing, ["--out", "'/dev/null'", "a device"]),
    "PUBLISHER_BUILD__OUTPUT=/proc/nope": ([], {"PUBLISHER_BUILD__OUTPUT": "/proc/nope"}, nothing, ["PUBLISHER_BUILD__OUTPUT", "/proc", "nothing was changed"]),
    "build/ is a file": ([], {}, build_is_a_file, ["config.toml", "field 'output'", "'build' is a file"]),
    "build/issues/<id> is a file": ([], {}, issue_folder_is_a_file, ["'build/issues/2024-16'", "did not make", "writes a folder"]),
    "--out inside build/": (["--out", "build/site"], {}, nothing, ["--out", "'build/site'", "which publisher builds into"]),
    "--out inside the generations": (["--out", ".build.generations/site"], {}, nothing, ["--out", "which publisher builds into"]),
    "a loop of links": (["--out", "loop"], {}, link_loop, ["--out", "'loop'", "symbolic link"]),
    "inside a loop of links": (["--out", "loop/site"], {}, link_loop, ["--out", "loop/.site.generations", "symbolic links"]),
    "a pipe": (["--out", "pipe"], {}, a_pipe, ["--out", "'pipe'", "a special file"]),
    "inside a file": (["--out", "notes.txt/site"], {}, a_file, ["--out", "notes.txt", "Not a directory", "nothing was changed"]),
    "a name too long": (["--out", "n" * 250], {}, nothing, ["--out", "File name too long"]),
    "build/ links elsewhere": ([], {}, foreign_link, ["'build'", "symbolic link publisher did not make"]),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("built") / "ws")
    assert run_cli("build", cwd=ws).code == 0
    return ws


def workspace_copy(built: Path, tmp_path: Path) -> Path:
    return shutil.copytree(built, tmp_path / "ws", symlinks=True)  # build/ stays a link


@pytest.mark.parametrize("name", REFUSED)
def test_a_folder_publisher_may_not_own_is_refused_and_nothing_changes(
    name: str, built: Path, tmp_path: Path
) -> None:
    args, env, setup, needles = REFUSED[name]
    ws = workspace_copy(built, tmp_path)
    setup(ws)
    before = snapshot(tmp_path)
    result = run_build(ws, *args, env=env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert snapshot(tmp_path) == before, "a refused build changed something"


def test_a_new_folder_anywhere_is_made(built: Path, tmp_path: Path) -> None:
    site = tmp_path / "not/yet/site"
    result = run_build(built, "--out", str(site))
    assert result.returncode == 0, result.stderr
    assert site.is_symlink() and public_tree(site) == public_tree(built / "build")


def test_an_empty_folder_becomes_the_build(built: Path, tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    assert run_build(built, "--out", str(tmp_path / "site")).returncode == 0
    assert (tmp_path / "site").is_symlink()
    assert public_tree(tmp_path / "site") == public_tree(built / "build")


def test_no_cache_stamp_or_temporary_file_is_in_the_public_tree(built: Path) -> None:
    tree = public_tree(built / "build")
    assert tree and not temp_names(tree), temp_names(tree)
    home = built / ".build.generations"
    assert (built / "build").resolve().parent == home
    assert any((home / "cache/issues").iterdir())


def legacy_build(ws: Path, built: Path, with_stamp: bool) -> dict[str, bytes]:
    """build/ as publisher left it before generations: a real folder with .cache/ inside."""
    (ws / "build").unlink()
    shutil.rmtree(ws / ".build.generations")
    tree = public_tree(built / "build")
    stale = {"issues/2023-52/index.html": b"<p>an issue since deleted</p>"}
    for rel, data in {**tree, **stale}.items():
        (ws / "build" / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / "build" / rel).write_bytes(data)
    (ws / "build/.cache/issues/2024-16").mkdir(parents=True)
    (ws / "build/.cache/issues/2024-16/key").write_text("0123")
    if with_stamp:
        listed = {rel: [len(d), 0] for rel, d in {**tree, **stale}.items()}
        (ws / "build/.cache/build.json").write_text(json.dumps({"digest": "x", "manifest": listed}))
    return tree


@pytest.mark.parametrize("with_stamp", [True, False], ids=["build.json", "cache only"])
def test_a_build_folder_of_the_old_layout_is_migrated(
    built: Path, tmp_path: Path, with_stamp: bool
) -> None:
    ws = workspace_copy(built, tmp_path)
    tree = legacy_build(ws, built, with_stamp)
    if with_stamp:  # a file the old build did not list is the user's: kept
        (ws / "build/robots.txt").write_text("User-agent: *\n")
    result = run_build(ws)
    assert result.returncode == 0, result.stderr
    assert (ws / "build").is_symlink()
    expected = {**tree, "robots.txt": b"User-agent: *\n"} if with_stamp else tree
    assert public_tree(ws / "build") == expected  # the stale issue pruned, no .cache inside
    assert run_build(ws).returncode == 0 and public_tree(ws / "build") == expected


def test_files_publisher_did_not_make_are_kept_and_its_own_stale_ones_pruned(
    built: Path, tmp_path: Path
) -> None:
    ws = workspace_copy(built, tmp_path)
    assert run_build(ws, "--drafts").returncode == 0
    assert (ws / "build/issues/2024-17/email.html").exists()
    (ws / "build/robots.txt").write_text("User-agent: *\n")
    (ws / "build/media").mkdir()
    (ws / "build/media/logo.png").write_bytes(b"\x89PNG")
    (ws / "build/media/latest").symlink_to("logo.png")
    result = run_build(ws)  # without --drafts: the draft's files no longer belong
    assert result.returncode == 0, result.stderr
    tree = public_tree(ws / "build")
    assert not any(rel.startswith("issues/2024-17/") for rel in tree)
    assert tree["robots.txt"] == b"User-agent: *\n" and tree["media/logo.png"] == b"\x89PNG"
    assert os.readlink(ws / "build/media/latest") == "logo.png"
    ours = {rel: data for rel, data in tree.items() if not rel.startswith(("robots", "media/"))}
    # The build writes a robots.txt of its own; the editor's replaced it and is kept.
    assert ours == {rel: d for rel, d in public_tree(built / "build").items() if rel != "robots.txt"}
    (ws / "build").unlink()  # the link removed by hand: the generation, and these files, remain
    assert run_build(ws).returncode == 0 and public_tree(ws / "build") == tree


def correct(ws: Path, note: str) -> None:
    """Edit the published 2024-16 the one way allowed: then `publish --amend` records it
    (dated the issue's own day, so only its content changes, not its feed dates)."""
    issue = ws / "issues/2024-16.toml"
    issue.write_text(issue.read_text().replace('intro = """\n', f'intro = """\n{note} ', 1))
    amend = run_cli("publish", "2024-16", "--amend", "--date", "2024-04-19", cwd=ws)
    assert amend.code == 0, amend.stderr


def test_a_partial_build_keeps_every_other_issue(built: Path, tmp_path: Path) -> None:
    ws = workspace_copy(built, tmp_path)
    before = public_tree(ws / "build")
    correct(ws, "Corrected.")
    result = run_build(ws, "2024-16")
    assert result.returncode == 0, result.stderr
    after = public_tree(ws / "build")
    assert set(after) == set(before)
    changed = {rel for rel in after if after[rel] != before[rel]}
    site_wide = ("issues/2024-16/", "tags/", "search/", "archive/")  # and top-level index, feeds, sitemap
    assert changed and all(rel.startswith(site_wide) or "/" not in rel for rel in changed), changed
    assert not any(rel.startswith("issues/") and not rel.startswith("issues/2024-16/") for rel in changed)


def test_unchanged_files_are_linked_not_rewritten_and_old_generations_go(
    built: Path, tmp_path: Path
) -> None:
    ws = workspace_copy(built, tmp_path)
    old = (ws / "build").resolve()
    for n in range(3):
        correct(ws, f"Edit {n}.")
        assert run_build(ws).returncode == 0
    assert not old.exists()  # the first generation is gone by now
    previous = sorted(p for p in (ws / ".build.generations").iterdir() if p.name.isdigit())
    assert len(previous) == 2, previous  # the current one and the one before
    before, current = previous
    assert (before / "issues/2024-11/email.eml").stat().st_ino == (current / "issues/2024-11/email.eml").stat().st_ino
    assert (before / "issues/2024-16/email.eml").read_bytes() != (current / "issues/2024-16/email.eml").read_bytes()
