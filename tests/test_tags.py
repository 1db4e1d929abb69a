"""Tag pages and what readers see of tags: unique slugs, labels, internal tags hidden."""

from __future__ import annotations

from pathlib import Path

import feedparser
from lxml import html as lxml_html

from publisher.build import build
from publisher.labels import tag_slugs
from publisher.selection import select_all
from publisher.web.tags import tag_page_paths, tag_pages
from publisher.workspace import load_workspace
from tests.conftest import run_cli
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


def paged_workspace(root: Path, size: int) -> Path:
    write_workspace(root, some_issues(25))  # region:south-caucasus: 13 issues of 2 articles
    (root / "config.toml").write_text((root / "config.toml").read_text() + f"\n[site]\ntag_page_size = {size}\n")
    return root


def test_a_tag_past_one_page_lists_every_article_once_newest_first_across_pages(tmp_path: Path) -> None:
    root = paged_workspace(tmp_path / "ws", 10)
    files = build(root).files
    folder = f"{BASE}tags/region-south-caucasus/"
    urls = [folder, f"{folder}page/2/", f"{folder}page/3/"]
    paths = [u.removeprefix(BASE) + "index.html" for u in urls]
    workspace = load_workspace(root)
    tag = next(t for t in tag_pages(workspace.config, select_all(workspace, list(workspace.published)))
               if t.tag == "region:south-caucasus")
    assert tag_page_paths(tag, 10) == paths  # what the build wrote, known without rendering
    assert not [p for p in files if p.startswith("tags/region-south-caucasus/page/") and p not in paths]
    listed = []
    for n, (url, path) in enumerate(zip(urls, paths, strict=True)):
        tree = page(files, path)
        assert tree.xpath("//head/link[@rel='canonical']/@href") == [url]
        assert tree.xpath("//head/meta[@property='og:url']/@content") == [url]
        assert tree.xpath("//head/link[@rel='prev']/@href") == (urls[n - 1 : n] if n else [])
        assert tree.xpath("//head/link[@rel='next']/@href") == urls[n + 1 : n + 2]
        assert tree.xpath("//nav/a[@rel='prev']/@href") == tree.xpath("//head/link[@rel='prev']/@href")
        assert tree.xpath("//nav/a[@rel='next']/@href") == tree.xpath("//head/link[@rel='next']/@href")
        assert f"Page {n + 1} of 3" in tree.xpath("string(//nav)")
        assert "26 articles" in tree.xpath("string(//p[@class='meta'])")  # the tag's, on every page
        items = [li.xpath(".//a/@href")[1].rsplit("#", 1)[1] for li in tree.xpath("//ul[@class='tagged']/li")]
        assert len(items) == (10 if n < 2 else 6)
        listed += items
    # Every article of the tag exactly once, newest issue first, editorial order within.
    expected = [f"story-{n}-{k}" for n in range(25, 0, -2) for k in (1, 2)]
    assert listed == expected
    titles = {page(files, p).xpath("string(//title)") for p in paths}
    assert len(titles) == 3  # each page its own title (and description)
    sitemap = files["sitemap.xml"].decode()
    assert all(f"<loc>{u}</loc>" in sitemap for u in urls)
    central = page(files, "tags/region-central-asia/index.html")  # 12 articles: 2 pages of 10
    assert central.xpath("//head/link[@rel='next']/@href") == [f"{BASE}tags/region-central-asia/page/2/"]


def test_a_tag_within_one_page_has_no_page_links_and_page_size_is_at_least_ten(tmp_path: Path) -> None:
    files = build(paged_workspace(tmp_path / "ws", 30)).files
    tree = page(files, "tags/region-south-caucasus/index.html")
    assert not tree.xpath("//nav") and not tree.xpath("//head/link[@rel='next' or @rel='prev']")
    assert len(tree.xpath("//ul[@class='tagged']/li")) == 26
    assert not [p for p in files if "/page/" in p]
    run = run_cli("check", cwd=paged_workspace(tmp_path / "small", 9))
    assert run.code != 0 and "tag_page_size" in run.stderr and "[site]" in run.stderr
