"""Every bad input: a clear message naming file, record and field; exit != 0; build/ intact."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli, tree_bytes

ISSUE = "issues/2024-12.toml"
FIRST_ID = "nato-secretary-general-south-caucasus-tour"


def edit(rel: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def apply(ws: Path) -> None:
        path = ws / rel
        text = path.read_text()
        assert re.search(old, text, re.M), f"{old!r} not in {rel}"
        path.write_text(re.sub(old, new, text, count=count, flags=re.M))

    return apply


def write(rel: str, text: str) -> Callable[[Path], None]:
    def apply(ws: Path) -> None:
        (ws / rel).write_text(text)

    return apply


def remove(rel: str) -> Callable[[Path], None]:
    return lambda ws: (ws / rel).unlink()


A = f"article #1 (id '{FIRST_ID}')"
BAD_INPUTS = {
    "malformed toml": (edit(ISSUE, r'^title = "', 'title = "unclosed\n'), [ISSUE + ":3", "malformed TOML", "line 3"]),
    "article without title": (edit(ISSUE, r'^title = "NATO Secretary General tours.*$', ""), [ISSUE, A, "'title'", "missing"]),
    "article without url": (edit(ISSUE, r'^url = "https://www.commonspace.eu/news/nato.*$', ""), [ISSUE, A, "'url'", "missing"]),
    "article without date": (edit(ISSUE, r"^published = 2024-03-19$", ""), [ISSUE, A, "'published'", "missing"]),
    "issue without title": (edit(ISSUE, r"^title = \"NATO's chief.*$", ""), [ISSUE, "issue", "'title'", "missing"]),
    "issue without date": (edit(ISSUE, r"^date = 2024-03-22$", ""), [ISSUE, "issue", "'date'", "missing"]),
    "javascript url": (edit(ISSUE, r'^url = "https://www.commonspace.eu/news/nato', 'url = "javascript:alert(1)//x'), [ISSUE, A, "'url'", "http(s)"]),
    "relative url": (edit(ISSUE, r'^url = "https://www.commonspace.eu/news/nato', 'url = "/news/nato'), [ISSUE, A, "'url'", "absolute"]),
    "duplicate id": (edit(ISSUE, f'^id = "{FIRST_ID}"', 'id = "kazakhstan-flooding"'), ["kazakhstan-flooding", "'id'", "duplicate", "issues/2024-"]),
    "id with path": (edit(ISSUE, f'^id = "{FIRST_ID}"', 'id = "../x"'), [ISSUE, "article #1", "'id'", "not a slug"]),
    "id with spaces": (edit(ISSUE, f'^id = "{FIRST_ID}"', 'id = "two words"'), [ISSUE, "article #1", "'id'", "not a slug"]),
    "date not a date": (edit(ISSUE, r"^published = 2024-03-19$", 'published = "last tuesday"'), [ISSUE, A, "'published'", "YYYY-MM-DD"]),
    "tags not a list": (edit(ISSUE, r"^tags = \[.*$", 'tags = "climate"'), [ISSUE, A, "'tags'", "list of strings"]),
    "tags not strings": (edit(ISSUE, r"^tags = \[.*$", "tags = [1, 2]"), [ISSUE, A, "'tags'", "list of strings"]),
    "unknown status": (edit(ISSUE, r'^status = "published"', 'status = "sent"'), [ISSUE, "issue", "'status'", "'draft' or 'published'"]),
    "issue without articles": (write("issues/2024-30.toml", 'title = "Empty"\ndate = 2024-07-26\nstatus = "published"\n'), ["issues/2024-30.toml", "at least one article"]),
    "config missing": (remove("config.toml"), ["config.toml", "publisher init"]),
    "config malformed": (edit("config.toml", r"^\[newsletter\]", "[newsletter"), ["config.toml", "malformed TOML"]),
    "unknown config key": (edit("config.toml", r"^language = ", "langauge = "), ["config.toml", "[newsletter]", "'langauge'", "did you mean 'language'"]),
    "issue id not a slug": (write("issues/Week 31.toml", 'title = "x"\n'), ["issues/Week 31.toml", "not a slug", "week-31.toml"]),
    "secret in config": (edit("config.toml", r"^\[email\]$", '[email]\nsmtp_password = "hunter2"'), ["config.toml", "smtp_password", "environment"]),
    "image without alt": (edit(ISSUE, r'alt = "The NATO Secretary General[^"]*", ', ""), [ISSUE, A, "'image.alt'"]),
}


@pytest.fixture(scope="module")
def built_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import copy_example

    ws = copy_example(tmp_path_factory.mktemp("example") / "ws")
    result = run_cli("build", cwd=ws)
    assert result.code == 0, result.stderr
    return ws


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_reported_and_the_build_is_kept(
    name: str, built_example: Path, tmp_path: Path
) -> None:
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(built_example, ws)
    before = tree_bytes(ws / "build")
    mutate, expected = BAD_INPUTS[name]
    mutate(ws)
    for command in (["check"], ["build"]):
        result = run_cli(*command, cwd=ws)
        assert result.code == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        for needle in expected:
            assert needle in result.stderr, (command, needle, result.stderr)
    assert tree_bytes(ws / "build") == before


def test_every_problem_of_a_file_is_reported_at_once(example: Path) -> None:
    edit(ISSUE, r'^url = "https://www.commonspace.eu/news/nato', 'url = "javascript:x//')(example)
    edit(ISSUE, r"^published = 2024-03-20$", 'published = "soon"')(example)
    edit("issues/2024-13.toml", r'^status = "published"', 'status = "sent"')(example)
    result = run_cli("check", cwd=example)
    assert result.code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 3, result.stderr


def test_clean_example_passes_check(example: Path) -> None:
    result = run_cli("check", cwd=example)
    assert result.code == 0, result.stderr
    assert "0 errors" in result.stdout


def test_warnings_fail_only_with_strict(example: Path) -> None:
    # The draft: an edit to a published issue is an error of its own (it is frozen).
    edit("issues/2024-17.toml", r'credit = "\(c\) commonspace.eu", ', "")(example)
    plain, strict = run_cli("check", cwd=example), run_cli("check", "--strict", cwd=example)
    assert plain.code == 0 and "image without credit" in plain.stderr
    assert strict.code == 1 and "image.credit" in strict.stderr


def test_environment_overrides_config(example: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PUBLISHER_NEWSLETTER__TITLE": "Overridden Weekly"}
    subprocess.run([sys.executable, "-m", "publisher", "build"], cwd=example, env=env, check=True,
                   capture_output=True)
    assert "Overridden Weekly" in (example / "build/index.html").read_text()
