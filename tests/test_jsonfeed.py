"""JSON Feed 1.1 beside RSS and Atom: the JSON Schema in tests/schemas, a real feed parser, and
the same ids, dates, titles and content as the Atom feed written from the same entries.

The JSON Schema was written from the specification at https://jsonfeed.org/version/1.1 (see its
$comment). feedparser 6.0 (PyPI's newest) does not read JSON Feed yet, so the read-back uses
feedparser-rs, which does, with feedparser's own API; a feedparser that reads JSON is used first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from lxml import etree

from publisher.build import build
from tests.test_feeds import A, issue_record, judge, some_issues, write_workspace

SCHEMA = json.loads((Path(__file__).parent / "schemas/jsonfeed-1.1.schema.json").read_text())
FORMATS = {"formats": ["rss", "atom", "json"]}


def json_reader(data: bytes) -> Any:
    parsed = feedparser.parse(data)
    if str(parsed.get("version", "")).startswith("json"):
        return parsed
    rs = pytest.importorskip("feedparser_rs", reason="no installed parser reads JSON Feed")
    return rs.parse(data)


def built_files(root: Path) -> dict[str, bytes]:
    return build(root).files


def schema_errors(data: bytes) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(json.loads(data))]


def test_every_json_feed_passes_the_schema_and_reads_back(tmp_path: Path) -> None:
    feeds = {**FORMATS, "articles": True, "hub": "https://hub.example.net/", "archive_size": 2}
    files = built_files(write_workspace(tmp_path / "ws", some_issues(5), feeds))
    jsons = sorted(p for p in files if p.endswith("feed.json"))
    assert jsons == ["articles/feed.json", "feed.json", "tags/region-south-caucasus/feed.json"]
    for path in jsons:
        assert schema_errors(files[path]) == [], path
        parsed = json_reader(files[path])
        assert not parsed.bozo, path
        assert len(parsed.entries) == len(json.loads(files[path])["items"]) > 0
    assert json.loads(files["feed.json"])["hubs"] == [{"type": "WebSub", "url": "https://hub.example.net/"}]
    feeds_xml = {p: d for p, d in files.items() if p.endswith(("atom.xml", "feed.xml"))}
    assert judge(feeds_xml) == {p: [] for p in feeds_xml}  # RSS and Atom stay clean


def test_the_same_ids_dates_titles_and_content_as_atom(tmp_path: Path) -> None:
    files = built_files(write_workspace(tmp_path / "ws", some_issues(4), {**FORMATS, "articles": True}))
    for folder in ("", "articles/", "tags/region-south-caucasus/"):
        atom = feedparser.parse(files[folder + "atom.xml"])
        items = json.loads(files[folder + "feed.json"])["items"]
        assert [i["id"] for i in items] == [e.id for e in atom.entries]
        assert [i["title"] for i in items] == [e.title for e in atom.entries]
        assert [i["url"] for i in items] == [e.link for e in atom.entries]
        # The raw Atom content (feedparser would sanitise it): byte for byte the same HTML.
        contents = [c.text for c in etree.fromstring(files[folder + "atom.xml"]).iter(f"{A}content")]
        assert [i["content_html"] for i in items] == contents
        for item, entry in zip(items, atom.entries, strict=True):
            assert item["date_published"] == entry.published
            assert item["date_modified"] == entry.updated
            assert item.get("tags", []) == [t.term for t in entry.get("tags", [])]


def test_summary_mode_carries_text_and_a_title_with_quotes_survives(tmp_path: Path) -> None:
    issues = some_issues(2)
    issues["2024-02"] = issue_record(2, title='He said "no" </script>\u2028 & left')
    feeds = {**FORMATS, "content": "summary"}
    data = json.loads(built_files(write_workspace(tmp_path / "ws", issues, feeds))["feed.json"])
    assert data["items"][0]["title"] == 'He said "no" </script> & left'  # one line, as loaded
    assert "content_html" not in data["items"][0] and data["items"][0]["content_text"]


def test_json_only_when_asked_for(tmp_path: Path) -> None:
    files = built_files(write_workspace(tmp_path / "ws", some_issues(2)))
    assert not [p for p in files if p.endswith(".json")]
