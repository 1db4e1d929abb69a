"""Published means frozen: changes, re-drafts and deletions are errors; --amend records a
correction; a broken or oversized neighbour draft never blocks publishing another."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import feedparser
import pytest
import tomlkit

from publisher.frozen import issue_hash
from publisher.workspace import load_workspace
from tests.conftest import REPO, run_cli, tree_bytes

PUBLISHED = "issues/2024-16.toml"


def edit(root: Path, name: str, change: dict[str, object], article: int | None = None) -> None:
    path = root / name
    doc = tomlkit.parse(path.read_text())
    table = doc if article is None else doc["articles"][article]
    table.update(change)
    path.write_text(tomlkit.dumps(doc))


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_the_example_issues_carry_their_hashes() -> None:
    workspace = load_workspace(REPO)
    registry = tomllib.loads((REPO / "issues/.published.toml").read_text())
    assert {i.id for i in workspace.published} == set(registry) and len(registry) == 6
    for issue in workspace.published:
        assert issue.content_hash == issue_hash(issue) == registry[issue.id]["content_hash"]
        assert registry[issue.id]["number"] == issue.number and registry[issue.id]["date"] == issue.date
    assert "# Issue 2024-16" in (REPO / PUBLISHED).read_text(), "the editor's comments are kept"
    assert len(workspace.issues) == 7, "the registry is not taken for an issue"


@pytest.mark.parametrize(
    ("change", "article"),
    [({"title": "A new title"}, None), ({"date": date(2024, 4, 20)}, None),
     ({"intro": "Rewritten."}, None), ({"preheader": "Other preview"}, None),
     ({"summary": "Changed."}, 2), ({"popularity": 1}, 0), ({"tags": ["x"]}, 1)],
)  # fmt: skip
def test_a_changed_published_issue_is_an_error(
    example: Path, change: dict[str, object], article: int | None
) -> None:
    edit(example, PUBLISHED, change, article)
    run = run_cli("check", cwd=example)
    assert run.code == 1 and "Traceback" not in run.stderr
    (line,) = errors(run.stderr)
    assert line.startswith(f"error: {PUBLISHED}, issue, field 'content_hash': changed after")
    assert "publisher publish 2024-16 --amend" in line


def test_a_published_issue_turned_draft_or_deleted_is_an_error(example: Path) -> None:
    assert run_cli("build", cwd=example).code == 0
    before = tree_bytes(example / "build")
    edit(example, PUBLISHED, {"status": "draft"})
    for command in ("check", "build"):
        run = run_cli(command, cwd=example)
        (line,) = errors(run.stderr)
        assert run.code == 1 and line.startswith(f"error: {PUBLISHED}, issue, field 'status'")
        assert "now a draft" in line
    (example / PUBLISHED).unlink()
    run = run_cli("build", cwd=example)
    assert run.code == 1 and f"error: {PUBLISHED}, issue: was published (#6, 2024-04-19)" in run.stderr
    assert "the file is gone" in run.stderr
    assert tree_bytes(example / "build") == before, "nothing was built"


def test_amend_records_the_correction_and_feeds_show_it(example: Path) -> None:
    path = example / PUBLISHED
    edit(example, PUBLISHED, {"title": "Floods in Kazakhstan (corrected)"})
    comments = re.findall(r"^#.*$", path.read_text(), re.M)
    run = run_cli("publish", "2024-16", "--amend", "--date", "2024-04-22", cwd=example)
    assert run.code == 0, run.stderr
    assert "updated = 2024-04-22" in run.stdout
    data = tomllib.loads(path.read_text())
    assert data["updated"] == date(2024, 4, 22) and data["status"] == "published"
    assert re.findall(r"^#.*$", path.read_text(), re.M) == comments
    registry = tomllib.loads((example / "issues/.published.toml").read_text())
    assert registry["2024-16"]["content_hash"] == data["content_hash"]
    assert run_cli("check", cwd=example).code == 0
    assert run_cli("build", cwd=example).code == 0
    atom = feedparser.parse((example / "build/atom.xml").read_bytes())
    (entry,) = [e for e in atom.entries if e.id.endswith("issue/2024-16")]
    assert entry.title == "Floods in Kazakhstan (corrected)" and entry.updated.startswith("2024-04-22")
    assert entry.published.startswith("2024-04-19")
    early = run_cli("publish", "2024-16", "--amend", "--date", "2024-01-01", cwd=example)
    assert early.code == 2 and "--date" in early.stderr


def test_publish_records_the_draft_and_refuses_to_republish_changed_content(example: Path) -> None:
    run = run_cli("publish", "2024-17", cwd=example)
    assert run.code == 0, run.stderr
    registry = tomllib.loads((example / "issues/.published.toml").read_text())
    assert registry["2024-17"]["number"] == 7
    again = run_cli("publish", "2024-17", cwd=example)
    assert again.code == 1 and "--amend" in again.stderr
    edit(example, "issues/2024-17.toml", {"status": "draft", "title": "Sneaky"})
    sneaky = run_cli("publish", "2024-17", cwd=example)
    assert sneaky.code == 1 and "was published before with other content" in sneaky.stderr
    restored = run_cli("publish", "2024-17", "--amend", "--date", "2024-04-27", cwd=example)
    assert restored.code == 0, restored.stderr
    assert run_cli("check", cwd=example).code == 0


def test_a_neighbour_draft_never_blocks_publishing(example: Path) -> None:
    """2024-18 is over the email budget, 2024-19 is not even TOML: 2024-17 still goes out."""
    text = (example / "issues/2024-17.toml").read_text()
    text = re.sub(r'^id = "(.*)"', r'id = "n18-\1"', text, flags=re.M)
    text = text.replace("date = 2024-04-26", "date = 2024-05-03")
    text = text.replace('intro = """', 'intro = """' + "A very long note. " * 8000, 1)
    (example / "issues/2024-18.toml").write_text(text)
    (example / "issues/2024-19.toml").write_text('title = "Unfinished\ndate = 2024-05-10\n')
    assert run_cli("check", cwd=example).code == 1, "check still judges every draft"
    build = run_cli("build", "2024-17", "--drafts", cwd=example)
    assert build.code == 0, build.stderr
    run = run_cli("publish", "2024-17", cwd=example)
    assert run.code == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if line.startswith("warning: ")]
    assert any(line.startswith("warning: issues/2024-19.toml") for line in warned)
    assert any(line.startswith("warning: issues/2024-18.toml") and "budget" in line for line in warned)
    assert tomllib.loads((example / "issues/2024-17.toml").read_text())["status"] == "published"
