"""Importer cases seen on real feeds: podcasts sharing one <link>, gzip files, items without
a title, backslash-escaped tags, impossible dates. Fixtures under tests/fixtures/importers/."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from publisher.edit import new_issue
from publisher.importers import Options, SourceError, import_into
from publisher.scaffold import create_workspace
from publisher.workspace import load_workspace
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
PODCAST = FIXTURES / "podcast-shared-link.rss"
DRAFT = "2024-20"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    create_workspace(root, date(2024, 5, 1))
    new_issue(root, DRAFT, date(2024, 5, 17), "Imports", root / "templates")
    return root


def test_episodes_sharing_one_link_are_distinct_records(workspace: Path) -> None:
    report = import_into(workspace, str(PODCAST), DRAFT, Options())
    assert len(report.added) == 24 and report.skipped == []
    urls = {a.title: a.url for a in report.added}
    assert len(set(urls.values())) == 24 and "https://pod.example.net/" not in urls.values()
    assert urls["Episode 1: the week in review"] == "https://pod.example.net/episodes/1"  # permalink guid
    assert urls["Episode 2: the week in review"] == "https://cdn.pod.example.net/audio/episode-2.mp3"
    third = urls["Episode 3: the week in review"]  # an opaque guid: the link, with it as fragment
    assert third.startswith("https://pod.example.net/#urn") and third.endswith("000000000003")
    assert any("shared with other items: took its enclosure" in n for n in report.notes)
    stored = load_workspace(workspace).issue(DRAFT).articles
    assert len({a.id for a in stored}) == 24


def test_a_second_import_of_the_podcast_adds_nothing(workspace: Path) -> None:
    import_into(workspace, str(PODCAST), DRAFT, Options())
    again = import_into(workspace, str(PODCAST), DRAFT, Options())
    assert again.added == [] and len(again.skipped) == 24
    assert all(reason.startswith("already in the archive") for _, reason in again.skipped)


def test_an_item_without_a_title_takes_its_first_sentence_with_a_warning(workspace: Path) -> None:
    report = import_into(workspace, str(PODCAST), DRAFT, Options())
    special = next(a for a in report.added if a.url.endswith("/episodes/7"))
    assert special.title == "A short special about the election."
    assert any("item #7" in n and "no title: took the first sentence" in n for n in report.notes)


def test_a_gzip_compressed_feed_file_is_read(workspace: Path, tmp_path: Path) -> None:
    packed = tmp_path / "podcast.rss.gz"
    packed.write_bytes(gzip.compress(PODCAST.read_bytes()))
    result = run_cli("import", str(packed), "--into", DRAFT, cwd=workspace)
    assert result.code == 0, result.stderr
    assert "Added 24 articles" in result.stdout


def test_a_damaged_gzip_file_is_a_clear_error(workspace: Path, tmp_path: Path) -> None:
    broken = tmp_path / "feed.xml.gz"
    broken.write_bytes(gzip.compress(PODCAST.read_bytes())[:200])
    with pytest.raises(SourceError) as caught:
        import_into(workspace, str(broken), DRAFT, Options())
    assert "a damaged gzip file" in str(caught.value) and str(broken) in str(caught.value)


def test_backslash_escapes_in_tags_are_undone(workspace: Path) -> None:
    report = import_into(workspace, str(FIXTURES / "cms-export.json"), DRAFT, Options())
    first = next(a for a in report.added if a.url.endswith("/a"))
    assert first.tags == ("angie's-list", "consumer-advice", "plain")


def test_an_impossible_json_date_is_an_error_naming_record_and_field(workspace: Path) -> None:
    result = run_cli("import", str(FIXTURES / "cms-export.json"), "--into", DRAFT, cwd=workspace)
    assert result.code == 0, result.stderr
    assert "cms-export.json, record #2: invalid: field 'published': '2024-02-30' is not a date" in result.stdout
    stored = {a.url: a.published for a in load_workspace(workspace).issue(DRAFT).articles}
    assert "https://cms.example.net/b" not in stored  # never silently 2024-03-01
    assert stored["https://cms.example.net/c"] == date(2024, 2, 29)


def test_an_impossible_feed_date_is_not_rolled_over(workspace: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id>'
        "<updated>2024-02-01T00:00:00Z</updated><entry><title>Bad day</title><id>urn:y</id>"
        '<link href="https://a.example.net/bad"/><updated>2024-02-30T10:00:00Z</updated></entry></feed>'
    )
    report = import_into(workspace, str(feed), DRAFT, Options())
    assert report.added == []
    assert "invalid: field 'published' (the item's date): '2024-02-30T10:00:00Z' is not a date" in report.skipped[0][1]
