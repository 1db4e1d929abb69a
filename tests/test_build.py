"""`publisher build` end to end on the example, judged by feedparser, email and lxml."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from email import policy
from pathlib import Path

import feedparser
import pytest
from lxml import html as lxml_html

from publisher.workspace import load_workspace
from tests.conftest import REPO, copy_example, run_cli, tree_bytes

ISSUE_FILES = ("index.html", "email.html", "email.txt", "email.eml")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("built") / "ws")
    result = run_cli("build", cwd=ws)
    assert result.code == 0, result.stderr
    assert "Built" in result.stdout
    return ws


def test_every_output_of_every_published_issue(built: Path) -> None:
    workspace = load_workspace(built)
    out = built / "build"
    for issue in workspace.issues:
        folder = out / "issues" / issue.id
        if issue.is_published:
            assert all((folder / name).stat().st_size > 0 for name in ISSUE_FILES), issue.id
        else:
            assert not folder.exists(), f"draft {issue.id} was built"
    for name in ("index.html", "feed.xml", "atom.xml"):
        assert (out / name).stat().st_size > 0


def test_feeds_parse_and_list_published_issues(built: Path) -> None:
    published = {i.title for i in load_workspace(built).published}
    for name in ("feed.xml", "atom.xml"):
        feed = feedparser.parse((built / "build" / name).read_bytes())
        assert feed.bozo == 0, (name, feed.get("bozo_exception"))
        assert {e.title for e in feed.entries} == published


def test_eml_is_multipart_alternative_text_then_html(built: Path) -> None:
    for issue in load_workspace(built).published:
        raw = (built / "build/issues" / issue.id / "email.eml").read_bytes()
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        assert issue.title in str(msg["Subject"])
        assert issue.lead.title in " ".join(msg.get_body(("plain",)).get_content().split())


def test_web_pages_parse_and_link_every_issue(built: Path) -> None:
    index = lxml_html.parse(str(built / "build/index.html")).getroot()
    links = set(index.xpath("//a/@href"))
    for issue in load_workspace(built).published:
        assert any(link.endswith(f"issues/{issue.id}/") for link in links), issue.id
        page = lxml_html.parse(str(built / "build/issues" / issue.id / "index.html")).getroot()
        assert page.get("lang") == "en"
        assert issue.title in page.findtext(".//title")
        assert {a.title for a in issue.articles} <= set(page.xpath("//a/text()"))


def test_two_builds_are_byte_identical(built: Path, tmp_path: Path) -> None:
    fresh = shutil.ignore_patterns("build", ".build.generations")
    again = shutil.copytree(built, tmp_path / "again", ignore=fresh)
    assert run_cli("build", cwd=again).code == 0
    assert tree_bytes(again / "build") == tree_bytes(built / "build")


def test_drafts_only_with_the_flag(built: Path, tmp_path: Path) -> None:
    drafts = [i for i in load_workspace(built).issues if not i.is_published]
    assert drafts, "the example keeps one draft"
    result = run_cli("build", "--drafts", "--out", str(tmp_path / "site"), cwd=built)
    assert result.code == 0, result.stderr
    assert (tmp_path / "site/issues" / drafts[0].id / "email.eml").exists()


def test_a_failed_build_leaves_the_previous_build(built: Path, tmp_path: Path) -> None:
    ws = shutil.copytree(built, tmp_path / "ws", symlinks=True)  # build/ is a link
    before = tree_bytes(ws / "build")
    (ws / "templates").mkdir()
    (ws / "templates/article.html").write_text("{{ article.no_such_field }}")
    result = run_cli("build", cwd=ws)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert "template" in result.stderr and "no_such_field" in result.stderr
    assert tree_bytes(ws / "build") == before


def test_workspace_templates_override_the_theme_file_by_file(built: Path, tmp_path: Path) -> None:
    ws = shutil.copytree(built, tmp_path / "ws", symlinks=True)  # build/ is a link
    (ws / "templates").mkdir()
    (ws / "templates/index.html").write_text(
        '{% extends "!theme/index.html" %}{% block main %}<p id="mine">Ours</p>{{ super() }}{% endblock %}'
    )
    assert run_cli("build", cwd=ws).code == 0
    index = lxml_html.parse(str(ws / "build/index.html")).getroot()
    assert index.xpath("//p[@id='mine']/text()") == ["Ours"]
    assert index.xpath("//ol[@class='archive']/li"), "the theme's block still renders"


def test_init_creates_a_workspace_that_builds(tmp_path: Path) -> None:
    result = run_cli("init", "news", cwd=tmp_path)
    assert result.code == 0, result.stderr
    ws = tmp_path / "news"
    assert "#" in (ws / "config.toml").read_text(), "the config explains itself in comments"
    assert run_cli("check", "--strict", cwd=ws).code == 0
    assert run_cli("build", cwd=ws).code == 0
    assert len(list((ws / "build/issues").iterdir())) == 1
    assert run_cli("init", "news", cwd=tmp_path).code != 0, "init never overwrites"


def test_only_named_issues_are_rebuilt(built: Path, tmp_path: Path) -> None:
    ws = shutil.copytree(built, tmp_path / "ws", symlinks=True)  # build/ is a link
    first = load_workspace(ws).published[0].id
    result = run_cli("build", first, cwd=ws)
    assert result.code == 0, result.stderr
    assert run_cli("build", "no-such-issue", cwd=ws).code == 1


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_wheel_ships_the_theme(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("publisher-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ("email.html", "email.txt", "issue.html", "init/config.toml"):
        assert f"publisher/templates/{template}" in names


def test_pages_link_only_the_feeds_that_are_built(built: Path, tmp_path: Path) -> None:
    import os

    ws = shutil.copytree(built, tmp_path / "ws", symlinks=True)  # build/ is a link
    env = {**os.environ, "PUBLISHER_FEEDS__FORMATS": '["atom"]'}
    subprocess.run([sys.executable, "-m", "publisher", "build"], cwd=ws, env=env, check=True,
                   capture_output=True)
    page = lxml_html.parse(str(ws / "build/index.html")).getroot()
    alternates = page.xpath("//link[@rel='alternate']/@href")
    assert [h.rsplit("/", 1)[1] for h in alternates] == ["atom.xml"]
    assert not (ws / "build/feed.xml").exists()
    assert not any(h.endswith("feed.xml") for h in page.xpath("//a/@href"))
