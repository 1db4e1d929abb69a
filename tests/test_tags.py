"""Tag pages and what readers see of tags: unique slugs, labels, internal tags hidden."""

from __future__ import annotations

from pathlib import Path

import feedparser
from lxml import html as lxml_html

from publisher.build import build
from publisher.labels import tag_slugs
from publisher.workspace import load_workspace
from tests.test_feeds import BASE, issue_record, some_issues, write_workspace


def page(files: dict[str, bytes], path: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(files[path])


def test_tags_differing_only_by_namespace_or_punctuation_get_unique_slugs() -> None:
    tags = ["region:x", "region-x", "x", "region:x:y", "region-x-y", "казахстан", "日本"]
    slugs = tag_slugs(tags)
    assert len(set(slugs.values())) == len(tags)
    assert slugs["region:x"] == "region-x"  # the first keeps the plain slug (feed URLs stay)
    assert slugs["region-x"].startswith("region-x-") and slugs["x"] == "x"
    assert all(s and s.isascii() and s == s.lower() and "/" not in s for s in slugs.values())
    assert tag_slugs(tags) == slugs  # deterministic
    assert tag_slugs(["region-x", *tags])["region-x"] == "region-x"  # order decides, nothing else


def test_colliding_tags_build_separate_pages_and_feeds(tmp_path: Path) -> None:
    issues = some_issues(2)
    issues["2024-01"]["articles"][0]["tags"] = ["region:x", "Region X"]  # -> region-x
    issues["2024-02"]["articles"][0]["tags"] = ["x"]
    root = write_workspace(tmp_path / "ws", issues, {"tags": ["region:x", "region-x"]})
    files = build(root).files
    folders = {p.rsplit("/", 1)[0] for p in files if p.startswith("tags/") and p.count("/") == 2}
    region_x = [f for f in folders if f.startswith("tags/region-x")]
    assert len(region_x) == 2 and "tags/x" in folders
    titles = {feedparser.parse(files[f"{f}/atom.xml"]).feed.title for f in region_x}
    assert len(titles) == 2


def test_tag_pages_list_tagged_articles_linking_their_issues(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", some_issues(5))
    files = build(root).files
    views = {i.id: i for i in load_workspace(root).published}
    tagged = page(files, "tags/region-south-caucasus/index.html")
    items = tagged.xpath("//ul[@class='tagged']/li")
    assert len(items) == 6  # issues 1, 3, 5: two articles each, newest issue first
    issue_links = [li.xpath(".//a/@href")[1] for li in items]
    assert issue_links[0] == f"{BASE}issues/2024-05/#story-5-1"
    assert all(link.split("#")[0].rstrip("/").rsplit("/", 1)[1] in views for link in issue_links)
    feeds = tagged.xpath("//head/link[@rel='alternate']/@href")
    assert f"{BASE}tags/region-south-caucasus/atom.xml" in feeds
    index = page(files, "tags/index.html")
    rows = {li.xpath("./a/text()")[0]: li.text_content() for li in index.xpath("//ul[@class='tags']/li")}
    assert "6 articles" in rows["South caucasus"] and "feeds: RSS, Atom" in rows["South caucasus"]
    assert "4 articles" in rows["Central asia"] and "feeds" not in rows["Central asia"]


def test_internal_tags_never_reach_feeds_or_tag_pages_and_labels_title_feeds(tmp_path: Path) -> None:
    issues = some_issues(3)
    for record in issues.values():
        record["articles"][0]["tags"] += ["editors-choice", "sponsored", "internal:promo"]
    root = write_workspace(tmp_path / "ws", issues, {"hidden_tags": ["internal:*"], "articles": True})
    config = (root / "config.toml").read_text() + '\n[tags]\nlabels = { "region:south-caucasus" = "South Caucasus" }\n'
    (root / "config.toml").write_text(config)
    files = build(root).files
    hidden = {"editors-choice", "sponsored", "internal:promo"}
    for path, data in files.items():
        if path.endswith(("atom.xml", "feed.xml")):
            terms = {t.term for e in feedparser.parse(data).entries for t in e.get("tags", [])}
            assert not terms & hidden, path
    assert not [p for p in files if p.startswith(("tags/editors", "tags/sponsored", "tags/internal"))]
    assert b"editors-choice" not in files["tags/index.html"]
    tag_feed = feedparser.parse(files["tags/region-south-caucasus/atom.xml"])
    assert tag_feed.feed.title == "Example Weekly: South Caucasus"


def test_tag_feed_entries_are_dated_by_their_article(tmp_path: Path) -> None:
    issues = some_issues(3)
    issues["2024-03"] = issue_record(3)
    issues["2024-03"]["articles"][1]["published"] = issues["2024-03"]["date"].replace(day=10)
    root = write_workspace(tmp_path / "ws", issues)
    atom = feedparser.parse(build(root).files["tags/region-south-caucasus/atom.xml"])
    assert [e.updated for e in atom.entries] == [e.published for e in atom.entries]
    assert len({e.updated for e in atom.entries}) > len({e.link.split("/")[3] for e in atom.entries})


def test_the_archive_links_the_articles_feed_and_the_tags(tmp_path: Path) -> None:
    files = build(write_workspace(tmp_path / "ws", some_issues(2), {"articles": True})).files
    index = page(files, "index.html")
    assert f"{BASE}articles/atom.xml" in index.xpath("//head/link[@rel='alternate']/@href")
    assert f"{BASE}articles/atom.xml" in index.xpath("//p[@class='follow']/a/@href")
    assert f"{BASE}tags/" in index.xpath("//a/@href")
