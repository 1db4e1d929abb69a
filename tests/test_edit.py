"""new, publish, list, and tomlkit edits of issue files: comments kept, concurrent edits kept."""

from __future__ import annotations

import tempfile
import threading
import tomllib
from datetime import date
from pathlib import Path

import pytest
import tomlkit
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from publisher.check import CHECKS, check_published_unchanged
from publisher.cli import app
from publisher.edit import (
    append_articles,
    publish,
    publish_issue,
    update_issue_file,
)
from publisher.errors import RecordError
from publisher.frozen import issue_hash
from publisher.output import write_atomic
from publisher.records import Article, Issue
from publisher.workspace import load_workspace
from tests.conftest import run_cli

DRAFT = "2024-17"


def comments(text: str) -> list[str]:
    """Every comment of a TOML file, whole-line or trailing, in order."""
    found = []
    for line in text.splitlines():
        if "#" in line and not line.lstrip().startswith(("title", "summary", "intro", "url")):
            found.append(line[line.index("#") :].strip())
    return found


def article(n: int, host: str = "example.org") -> Article:
    return Article(
        title=f"Article number {n}",
        url=f"https://{host}/news/article-{n}",
        published=date(2024, 4, 20),
        tags=["test"],
        summary=f'Line one of {n} with "quotes", a \\ and """ triple quotes.\n\nLine two.',
    )


def test_new_writes_a_draft_that_loads(example: Path) -> None:
    run = run_cli("new", "--date", "2024-05-03", "--title", 'Floods "again"', cwd=example)
    assert run.code == 0, run.stderr
    path = example / "issues" / "2024-18.toml"  # ISO week of 3 May 2024
    assert path.exists()
    issue = load_workspace(example).issue("2024-18")
    assert (issue.status, issue.date, issue.title) == ("draft", date(2024, 5, 3), 'Floods "again"')
    assert issue.articles == ()
    listing = run_cli("list", cwd=example)
    assert listing.code == 0
    row = next(line for line in listing.stdout.splitlines() if line.startswith("2024-18"))
    assert row.split()[:4] == ["2024-18", "2024-05-03", "draft", "0"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["new", DRAFT], 2, "exists already"),
        (["new", "2024-11", "--date", "2030-01-01"], 2, "exists already"),
        (["new", "Not A Slug"], 2, "not a valid issue id"),
        (["new", "--date", "26/04/2024"], 2, "is not a date"),
    ],
)
def test_new_refuses_bad_input_and_changes_nothing(
    example: Path, args: list[str], code: int, message: str
) -> None:
    before = {p.name: p.read_bytes() for p in (example / "issues").iterdir()}
    run = run_cli(*args, cwd=example)
    assert run.code == code
    assert message in run.stderr
    assert {p.name: p.read_bytes() for p in (example / "issues").iterdir()} == before


def test_list_shows_every_issue(example: Path) -> None:
    run = run_cli("list", cwd=example)
    assert run.code == 0
    workspace = load_workspace(example)
    for issue in workspace.issues:
        row = next(line for line in run.stdout.splitlines() if line.startswith(issue.id + " "))
        assert row.split()[1:4] == [issue.date.isoformat(), issue.status, str(len(issue.articles))]


def test_publish_keeps_comments_and_stores_the_hash(example: Path) -> None:
    path = example / "issues" / f"{DRAFT}.toml"
    before = path.read_text()
    run = run_cli("publish", DRAFT, cwd=example)
    assert run.code == 0, run.stderr
    after = path.read_text()
    assert comments(after) == comments(before)
    old, new = tomllib.loads(before), tomllib.loads(after)
    assert new.pop("status") == "published" and old.pop("status") == "draft"
    workspace = load_workspace(example)
    assert new.pop("content_hash") == issue_hash(workspace.issue(DRAFT))
    assert new.pop("number") == [i.id for i in workspace.issues].index(DRAFT) + 1
    assert new.pop("rules_version") == 2  # the pick rules it went out with
    assert new == old  # nothing else changed
    entry = workspace.registry[DRAFT]  # and issues/.published.toml records it
    assert (entry.number, entry.content_hash) == (7, issue_hash(workspace.issue(DRAFT)))


def test_publish_twice_or_with_errors_fails_and_changes_nothing(example: Path) -> None:
    assert run_cli("publish", "2024-16", cwd=example).code == 1  # already published
    assert run_cli("publish", "no-such-issue", cwd=example).code == 2
    path = example / "issues" / f"{DRAFT}.toml"
    doc = tomlkit.parse(path.read_text())
    doc["articles"][0]["image"]["alt"] = ""  # an error: an image without alt text
    path.write_text(tomlkit.dumps(doc))
    before = path.read_bytes()
    with pytest.raises(RecordError) as caught:
        publish(example, DRAFT)
    assert any(
        p.file == f"issues/{DRAFT}.toml" and p.field == "image.alt" for p in caught.value.problems
    )
    assert path.read_bytes() == before


def test_check_errs_when_a_published_issue_changes(example: Path) -> None:
    publish_issue(example / "issues" / f"{DRAFT}.toml")
    assert list(check_published_unchanged(load_workspace(example))) == []
    path = example / "issues" / f"{DRAFT}.toml"
    doc = tomlkit.parse(path.read_text())
    doc["articles"][1]["title"] = "A title changed after publication"
    path.write_text(tomlkit.dumps(doc))
    workspace = load_workspace(example)
    (error,) = check_published_unchanged(workspace)
    assert (error.file, error.field, error.severity) == (
        f"issues/{DRAFT}.toml",
        "content_hash",
        "error",
    )
    assert check_published_unchanged in CHECKS


def test_append_keeps_the_file_byte_for_byte_and_round_trips(example: Path) -> None:
    path = example / "issues" / f"{DRAFT}.toml"
    before = path.read_text()
    added = append_articles(path, [article(1), article(2)], "Imported for a test")
    after = path.read_text()
    assert [a.id for a in added] == ["news-article-1", "news-article-2"]
    assert after.startswith(before.rstrip("\n"))
    assert comments(after) == [*comments(before), "# Imported for a test"]
    issue = load_workspace(example).issue(DRAFT)
    assert issue.articles[-2:] == (article(1), article(2))  # every character survived
    assert tomlkit.dumps(tomlkit.parse(after)) == after  # tomlkit round trip is exact
    # The same articles again: nothing to add, the file is untouched.
    assert append_articles(path, [article(1)]) == []
    assert path.read_text() == after


def test_a_save_in_between_is_not_lost(example: Path) -> None:
    """Someone saves the file while an edit is being prepared: the edit is redone on theirs."""
    path = example / "issues" / f"{DRAFT}.toml"
    calls = []

    def change(text: str, doc: tomlkit.TOMLDocument) -> tuple[str, int]:
        calls.append(text)
        if len(calls) == 1:  # the editor saves a new intro right now
            write_atomic(path, text.replace('intro = """', 'intro = """\nBreaking: ', 1).encode())
        return text.replace("# Editor's choice", "# Lead story", 1), len(calls)

    assert update_issue_file(path, change) == 2
    final = path.read_text()
    assert "Breaking: " in final and "# Lead story" in final


def test_concurrent_appends_are_all_kept(example: Path) -> None:
    path = example / "issues" / f"{DRAFT}.toml"
    errors: list[BaseException] = []

    def writer(start: int) -> None:
        try:
            for n in range(start, start + 5):
                append_articles(path, [article(n)], f"batch {n}")
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    ids = {a.id for a in load_workspace(example).issue(DRAFT).articles}
    assert {f"news-article-{k * 100 + i}" for k in range(4) for i in range(5)} <= ids


@pytest.mark.parametrize("command", ["new", "import", "preview", "publish", "list"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert f"Example: publisher {command}" in " ".join(result.output.split())


@settings(max_examples=40, deadline=None)
@given(
    title=st.text(min_size=1, max_size=40), summary=st.text(max_size=200), tag=st.text(max_size=12)
)
def test_any_text_survives_the_toml_writer(title: str, summary: str, tag: str) -> None:
    try:
        original = Article(
            title=title, url="https://example.org/x", published=date(2024, 1, 2),
            summary=summary, tags=[tag], author=tag,
        )  # fmt: skip
    except ValidationError:
        assume(False)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2024-01.toml"
        path.write_text('title = "T"\ndate = 2024-01-05\n')
        append_articles(path, [original])
        stored = Issue(id="2024-01", **tomllib.loads(path.read_text()))
    assert stored.articles == (original,)
