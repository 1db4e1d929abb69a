"""`publisher import` over real feeds, broken feeds, JSON and CSV exports, and bad input."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest

from publisher.edit import new_issue
from publisher.importers import Options, SourceError, import_into
from publisher.records import Article
from publisher.scaffold import create_workspace
from publisher.workspace import load_workspace
from tests.conftest import run_cli

FEEDS = Path(__file__).parent / "fixtures" / "feeds"  # vendored: see its README
REAL = sorted((FEEDS / "real").glob("*")) if FEEDS.is_dir() else []
needs_fixtures = pytest.mark.skipif(not FEEDS.is_dir(), reason="tests/fixtures/feeds is absent")
DRAFT = "2024-20"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh small workspace with an empty draft to import into."""
    root = tmp_path / "ws"
    create_workspace(root, date(2024, 5, 1))
    new_issue(root, DRAFT, date(2024, 5, 17), "Imports", root / "templates")
    return root


def imported(root: Path, source: Path | str, **options: Any) -> list[Article]:
    """Import; check that what the report lists is what the issue file now ends with."""
    report = import_into(root, str(source), DRAFT, Options(**options))
    stored = load_workspace(root).issue(DRAFT).articles
    assert stored[len(stored) - len(report.added) :] == tuple(report.added)
    return report.added


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@needs_fixtures
@pytest.mark.parametrize("feed", REAL, ids=lambda p: p.name)
def test_every_real_feed_imports(workspace: Path, feed: Path) -> None:
    entries = feedparser.parse(feed.read_bytes()).entries
    report = import_into(workspace, str(feed), DRAFT, Options())
    assert report.added, f"nothing imported from {feed.name}: {report.skipped}"
    assert len(report.added) + len(report.skipped) == len(entries)
    for article in report.added:
        assert article.title.strip() and is_absolute(article.url)
        assert "\ufffd" not in article.title + article.summary  # decoded, not mangled
        assert article.image is None or (is_absolute(article.image.url) and article.image.alt)
    for where, reason in report.skipped:
        assert feed.name in where and reason
    stored = load_workspace(workspace).issue(DRAFT).articles
    assert stored == tuple(report.added)  # what the report says is what the file holds


@needs_fixtures
def test_relative_links_are_resolved(workspace: Path) -> None:
    relative = imported(workspace, FEEDS / "real" / "nodefeedparser__rss-with-relative-urls.xml")
    assert {urlsplit(a.url).netloc for a in relative} == {"www.arcgames.com"}
    assert all(
        a.url.startswith("http://www.arcgames.com/en/games/neverwinter/news/detail/")
        for a in relative
    )
    atom = imported(workspace, FEEDS / "real" / "nodefeedparser__intertwingly.atom")
    assert all(a.url.startswith("http://intertwingly.net/blog/20") for a in atom)


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("nodefeedparser__iconv.xml", r"[\u0400-\u04ff]"),  # windows-1251
        ("rssparser__qq-news-gb2312.xml", r"[\u4e00-\u9fff]"),  # GB2312
        ("rssparser__encoding.rss", r"[ãçõé]"),  # ISO-8859-1
    ],
)
def test_legacy_encodings_are_decoded(workspace: Path, name: str, script: str) -> None:
    articles = imported(workspace, FEEDS / "real" / name)
    assert all(re.search(script, a.title + a.summary) for a in articles[:5])


@needs_fixtures
def test_feedburner_links_point_at_the_article(workspace: Path) -> None:
    articles = imported(workspace, FEEDS / "real" / "feedjira__TechCrunch.xml")
    assert all(urlsplit(a.url).netloc == "techcrunch.com" for a in articles)
    assert (
        articles[0].id
        == "2011-11-02-angies-list-prices-ipo-at-11-to-13-per-share-valued-at-over-600m"
    )


@needs_fixtures
def test_local_language_dates(workspace: Path) -> None:
    (article,) = imported(workspace, FEEDS / "real" / "feedrs__rss_2.0_ilmessaggero.xml")
    assert article.published == date(2022, 11, 16)  # "mer, 16 nov 2022"


@needs_fixtures
def test_broken_feeds_give_clear_errors(workspace: Path) -> None:
    path = workspace / "issues" / f"{DRAFT}.toml"
    before = path.read_bytes()
    with pytest.raises(SourceError) as truncated:
        import_into(
            workspace, str(FEEDS / "broken" / "feedrs__rss_2.0_invalid_1.xml"), DRAFT, Options()
        )
    problem = truncated.value.problems[0]
    assert problem.file.endswith("rss_2.0_invalid_1.xml") and problem.line == 19
    assert "not well-formed XML at line 19" in problem.message
    with pytest.raises(SourceError) as html:
        import_into(
            workspace, str(FEEDS / "broken" / "nodefeedparser__notafeed.html"), DRAFT, Options()
        )
    assert "not an RSS or Atom feed (it is an HTML page)" in str(html.value)
    saxerror = FEEDS / "broken" / "nodefeedparser__saxerror.xml"
    with pytest.raises(SourceError, match="line 15"):
        import_into(workspace, str(saxerror), DRAFT, Options(strict=True))
    assert path.read_bytes() == before
    report = import_into(workspace, str(saxerror), DRAFT, Options())
    assert len(report.added) == 3  # the lenient import recovers, and says so
    assert any("line 15" in note and "recovered 3 items" in note for note in report.notes)


def feed_file(tmp_path: Path, items: str) -> Path:
    path = tmp_path / "feed.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        "<title>T</title><link>https://news.example.org/</link>" + items + "</channel></rss>"
    )
    return path


def test_images_alt_text_tags_and_markdown(workspace: Path, tmp_path: Path) -> None:
    items = (
        "<item><title>Media</title><link>https://news.example.org/a</link>"
        "<pubDate>Fri, 10 May 2024 23:30:00 -0500</pubDate><category>Central Asia</category>"
        "<category>region : Caucasus</category>"
        "<description>&lt;p&gt;One &lt;b&gt;bold&lt;/b&gt; &lt;a href='/more'&gt;link&lt;/a&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;&lt;p&gt;Two_*x*&lt;/p&gt;</description>"
        '<media:content url="https://img.example.org/a.jpg" medium="image">'
        "<media:description>Flooded street</media:description></media:content></item>"
        "<item><title>Img</title><link>/b</link><pubDate>Fri, 10 May 2024 08:00:00 GMT</pubDate>"
        "<description>&lt;img src='/pics/b.png' alt='A river'&gt; text</description></item>"
        "<item><title>No alt</title><link>https://news.example.org/c</link>"
        '<enclosure url="https://img.example.org/c.jpg" type="image/jpeg" length="1"/></item>'
    )
    media, img, no_alt = imported(workspace, feed_file(tmp_path, items))
    assert media.image and (media.image.url, media.image.alt) == (
        "https://img.example.org/a.jpg",
        "Flooded street",
    )
    assert media.tags == ("central-asia", "region:caucasus") and media.category == "Central Asia"
    assert media.published == date(2024, 5, 10)  # the source's day, not UTC's
    assert media.summary == "One **bold** [link](https://news.example.org/more)\n\nTwo\\_\\*x\\*"
    assert img.url == "https://news.example.org/b"
    assert img.image and (img.image.url, img.image.alt) == (
        "https://news.example.org/pics/b.png",
        "A river",
    )
    assert no_alt.image is None and no_alt.published == date(2024, 5, 17)  # the issue's date
    text = (workspace / "issues" / f"{DRAFT}.toml").read_text()
    assert '# image = { url = "https://img.example.org/c.jpg", alt = "", credit = "" }' in text


def test_duplicates_are_skipped_with_reasons(workspace: Path, tmp_path: Path) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>https://news.example.org/story-{n % 3}</link></item>"
        for n in range(5)
    )
    first = import_into(workspace, str(feed_file(tmp_path, items)), DRAFT, Options())
    assert [a.id for a in first.added] == ["story-0", "story-1", "story-2"]
    assert all("of this import" in reason for _, reason in first.skipped)
    again = import_into(workspace, str(feed_file(tmp_path, items)), DRAFT, Options())
    assert again.added == [] and len(again.skipped) == 5
    assert all(
        reason.startswith(f"already in the archive: issues/{DRAFT}.toml")
        for _, reason in again.skipped
    )


def test_json_csv_and_filters(workspace: Path, tmp_path: Path) -> None:
    records = [
        {"title": f"Record {n}", "url": f"https://cms.example.org/r/{n}", "date": f"2024-05-0{n}",
         "summary": "Text &amp; more", "tags": ["Open Source", "data"] if n % 2 else ["data"]}
        for n in range(1, 8)
    ]  # fmt: skip
    source = tmp_path / "export.json"
    source.write_text(json.dumps(records))
    report = import_into(
        workspace, str(source), DRAFT, Options(since=date(2024, 5, 3), tags=("open-*",), limit=2)
    )
    assert [a.title for a in report.added] == ["Record 3", "Record 5"]
    assert report.added[0].summary == "Text & more" and report.added[0].tags == (
        "open-source",
        "data",
    )
    reasons = " | ".join(reason for _, reason in report.skipped)
    assert "before --since 2024-05-03" in reasons and "matches --tag open-*" in reasons
    assert "beyond --limit 2" in reasons
    dry = import_into(workspace, str(source), DRAFT, Options(add_tags=("From CMS",), dry_run=True))
    assert all(a.tags[-1] == "from-cms" for a in dry.added) and len(dry.added) == 5
    assert load_workspace(workspace).issue(DRAFT).articles == tuple(report.added)  # dry run
    table = tmp_path / "export.csv"
    table.write_bytes(
        "Title;URL;Published;Tags\nCafé ünïcode;https://cms.example.org/x;2024-05-09;a, b\n".encode(
            "cp1252"
        )
    )
    (row,) = import_into(workspace, str(table), DRAFT, Options()).added
    assert (row.title, row.tags, row.published) == ("Café ünïcode", ("a", "b"), date(2024, 5, 9))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", '[{"title": "T",\n "url": }]', "not valid JSON"),
        ("object.json", '{"count": 3}', "expected a list of records"),
        ("empty.csv", "", "no title or url column"),
    ],
)
def test_malformed_exports_are_typed_errors(
    workspace: Path, tmp_path: Path, name: str, text: str, message: str
) -> None:
    source = _write(tmp_path / name, text)
    with pytest.raises(SourceError, match=message) as caught:
        import_into(workspace, source, DRAFT, Options())
    assert caught.value.problems[0].file == source


def test_real_export_as_json_lines(workspace: Path, tmp_path: Path) -> None:
    data = Path(__file__).resolve().parent / "data" / "gov-tech-articles.jsonl.gz"
    lines = gzip.decompress(data.read_bytes()).decode("utf-8").splitlines()[:40]
    source = tmp_path / "gov.jsonl"
    source.write_text("\n".join(lines))
    report = import_into(workspace, str(source), DRAFT, Options())
    assert len(report.added) + len(report.skipped) == 40 and report.added
    assert all(a.published.year >= 2010 and is_absolute(a.url) for a in report.added)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No request log in the test output."""


@pytest.fixture
def feed_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the fixture feeds."""
    handler = functools.partial(QuietHandler, directory=str(FEEDS / "real"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@needs_fixtures
def test_import_from_a_url(workspace: Path, feed_server: str) -> None:
    heise = imported(workspace, feed_server + "rssparser__heise.atom")
    assert len(heise) == 15 and all(
        a.url.startswith("http://www.heise.de/developer/") for a in heise
    )
    # Relative links resolve against the address the feed came from.
    relative = imported(workspace, feed_server + "nodefeedparser__rss-with-relative-urls.xml")
    assert all(
        a.url.startswith(feed_server + "en/games/neverwinter/news/detail/") for a in relative
    )
    with pytest.raises(SourceError, match="404"):
        imported(workspace, feed_server + "no-such-feed.xml")


def test_a_url_that_never_answers_times_out(workspace: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"
        start = time.monotonic()
        with pytest.raises(SourceError, match="no answer"):
            imported(workspace, url, timeout=1.0)
    assert time.monotonic() - start < 10


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nobody answers


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda tmp: f"http://127.0.0.1:{closed_port()}/feed.xml", "no answer"),
        (
            lambda tmp: str(FEEDS / "broken" / "nodefeedparser__notafeed.html"),
            "not an RSS or Atom feed",
        ),
        (lambda tmp: str(tmp), "is a folder"),
        (lambda tmp: str(tmp / "missing.xml"), "no such file"),
        (
            lambda tmp: _write(tmp / "bad.csv", "heading,address\nx,https://e.org/x\n"),
            "no title or url column",
        ),
        (lambda tmp: _write(tmp / "f.xml", "<rss/>") + "/child.xml", "cannot read the file"),
    ],
    ids=["closed-port", "not-a-feed", "folder", "missing", "csv-without-columns", "unreadable"],
)
def test_bad_input_exits_non_zero_and_changes_nothing(
    workspace: Path, tmp_path: Path, make_source: Callable[[Path], str], message: str
) -> None:
    if "notafeed" in make_source(tmp_path) and not FEEDS.is_dir():
        pytest.skip("tests/fixtures/feeds is absent")
    path = workspace / "issues" / f"{DRAFT}.toml"
    before = path.read_bytes()
    run = run_cli("import", make_source(tmp_path), "--into", DRAFT, "--timeout", "3", cwd=workspace)
    assert run.code == 1
    assert message in run.stderr and "Traceback" not in run.stderr
    assert path.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(workspace: Path, tmp_path: Path) -> None:
    source = _write(tmp_path / "feed.xml", "<rss/>")
    os.chmod(source, 0)
    run = run_cli("import", source, "--into", DRAFT, cwd=workspace)
    assert run.code == 1 and "cannot read the file" in run.stderr


def test_import_into_a_published_issue_is_refused(workspace: Path, tmp_path: Path) -> None:
    published = next((workspace / "issues").glob("2024-18.toml"))  # create_workspace's example
    before = published.read_bytes()
    source = _write(tmp_path / "x.json", '[{"title": "T", "url": "https://e.org/t"}]')
    run = run_cli("import", source, "--into", "2024-18", cwd=workspace)
    assert run.code == 1 and "issues/2024-18.toml" in run.stderr and "published" in run.stderr
    assert published.read_bytes() == before
    missing = run_cli("import", source, "--into", "2099-01", cwd=workspace)
    assert missing.code == 2 and "publisher new 2099-01" in missing.stderr


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)
