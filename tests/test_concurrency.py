"""Two publisher processes at once on one workspace: two builds of a 150-issue archive, and
two imports into the same draft. Neither crashes, and nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from publisher.workspace import load_workspace
from tests.archive import make_archive
from tests.conftest import copy_example, run_cli
from tests.trees import public_tree, temp_names

DRAFT = "2024-17"


def start(ws: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "publisher", *args], cwd=ws, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def test_two_builds_at_once_both_succeed_and_the_site_is_whole(tmp_path: Path) -> None:
    ws = make_archive(tmp_path / "ws", 150)
    first, second = start(ws, "build"), start(ws, "build")
    results = [finish(first), finish(second)]
    for code, out, err in results:
        assert code == 0 and "Traceback" not in err, err
        assert "Built 150 issues" in out, out
    expected = run_cli("build", "--out", str(tmp_path / "clean"), cwd=ws)
    assert expected.code == 0
    site = public_tree(ws / "build")
    assert site == public_tree(tmp_path / "clean") and not temp_names(site)
    assert run_cli("build", cwd=ws).code == 0 and public_tree(ws / "build") == site


def records(prefix: str, count: int) -> list[dict[str, object]]:
    return [
        {"title": f"{prefix} record {n}", "url": f"https://news.example.org/{prefix}/{n}",
         "date": "2024-04-25", "summary": "Text.", "tags": [prefix, "concurrency"]}
        for n in range(count)
    ]


def test_two_imports_into_one_draft_at_once_keep_both(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    before = len(load_workspace(ws).issue(DRAFT).articles)
    sources = []
    for round_ in range(3):
        for side in ("left", "right"):
            source = tmp_path / f"{side}-{round_}.json"
            source.write_text(json.dumps(records(f"{side}{round_}", 8)))
            sources.append(source)
    for round_ in range(3):  # a few rounds: the two should overlap at least once
        left, right = sources[2 * round_], sources[2 * round_ + 1]
        procs = [start(ws, "import", str(s), "--into", DRAFT) for s in (left, right)]
        for code, out, err in map(finish, procs):
            assert code == 0 and "Traceback" not in err, err
            assert "Added 8 articles" in out, out
    titles = [a.title for a in load_workspace(ws).issue(DRAFT).articles]
    assert len(titles) == before + 48
    for round_ in range(3):
        for side in ("left", "right"):
            assert all(f"{side}{round_} record {n}" in titles for n in range(8)), titles
