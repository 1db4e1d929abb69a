"""The links layout, lean CSS sizes, one article once per email, and rules_version."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from lxml import html as lxml_html

from publisher.build import build
from publisher.frozen import REGISTRY, issue_hash, with_entry
from publisher.links.normalize import normalize_url
from publisher.records import Issue
from publisher.related import RelatedIndex
from publisher.rules import SectionIndex
from publisher.selection import select_all
from publisher.workspace import load_workspace
from tests.conftest import copy_example, run_cli
from tests.digests import digest_workspace

URL_LINE_RE = re.compile(r"^\s*(?:Read: )?(https?://\S+)\s*$", re.M)


def email_of(ws: Path, issue: str = "digest", name: str = "email.html") -> Path:
    return ws / "build/issues" / issue / name


def built(ws: Path) -> Path:
    build(ws, drafts=True)
    return ws


@pytest.fixture(scope="module")
def links70(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(digest_workspace(tmp_path_factory.mktemp("d") / "ws", 70))


def with_rules_version_2(ws: Path) -> Path:
    """The example, as if every issue had been published after the upgrade: rules_version 2,
    and re-frozen (content hash and registry) as publish would have left them."""
    for path in (ws / "issues").glob("[!.]*.toml"):
        text = path.read_text()
        path.write_text(text.replace('status = "published"\n', 'status = "published"\nrules_version = 2\n'))
    refreeze(ws)
    return ws


def refreeze(ws: Path) -> None:
    """Record every published issue's hash as it now is, in its file and in the registry."""
    workspace = load_workspace_unchecked(ws)
    registry = ws / "issues" / REGISTRY
    text = registry.read_text() if registry.exists() else ""
    for issue in workspace:
        if issue.is_published:
            path = ws / "issues" / f"{issue.id}.toml"
            fresh = issue_hash(issue)
            path.write_text(re.sub(r'(?m)^content_hash = ".*"$', f'content_hash = "{fresh}"', path.read_text()))
            text = with_entry(text, issue.model_copy(update={"content_hash": fresh}), issue.number or 0)
    registry.write_text(text)


def load_workspace_unchecked(ws: Path) -> list[Issue]:
    import tomllib

    issues = []
    for path in sorted((ws / "issues").glob("[!.]*.toml")):
        data = tomllib.loads(path.read_text())
        issues.append(Issue(id=path.stem, **data))
    return issues


def set_config(ws: Path, table: str, line: str) -> Path:
    config = ws / "config.toml"
    config.write_text(config.read_text().replace(f"[{table}]\n", f"[{table}]\n{line}\n", 1))
    return ws


def shown_links(page: Path) -> list[str]:
    """Every article the page links as an item (titles, related picks, sections): not the
    links inside an intro or a summary, nor an image's link to its own article."""
    tree = lxml_html.document_fromstring(page.read_bytes())
    anchors = tree.xpath(
        "//a[normalize-space(.) and not(ancestor::*[contains(@class,'summary') or contains(@class,'intro')])"
        " and not(contains(@class,'brand') or contains(@class,'footer-link'))]"
    )
    hrefs = [a.get("href") for a in anchors if a.get("href", "").startswith("http")]
    base = "https://digest.example.org/", "https://weekly.commonspace.example/"
    return [normalize_url(h) for h in hrefs if not h.startswith(base)]


def text_links(page: Path) -> list[str]:
    return [normalize_url(u) for u in URL_LINE_RE.findall(page.read_text()) if "example.org/" not in u
            and "commonspace.example/" not in u]


def repeats(links: list[str]) -> list[str]:
    return [u for u, n in Counter(links).items() if n > 1]


# --- layout ------------------------------------------------------------------------------------


def test_links_layout_groups_by_category_in_the_configured_order(links70: Path) -> None:
    issue = load_workspace(links70).issue("digest")
    tree = lxml_html.document_fromstring(email_of(links70).read_bytes())
    headings = [h.text_content() for h in tree.cssselect(".group-title")]
    seen = list(dict.fromkeys(a.category for a in issue.articles))
    assert headings == ["Official", "Articles"] + [c for c in seen if c not in ("Official", "Articles")]
    titles = [a.text_content() for a in tree.cssselect(".link-title")]
    expected = [a.title for h in headings for a in issue.articles if a.category == h]
    assert titles == expected  # editorial order inside each group
    assert not tree.cssselect("ul.related") and not tree.cssselect(".article-title")
    blocks = [p for p in tree.cssselect(".section-title") if p.text_content() == "Related from the archive"]
    assert len(blocks) == 1


def test_related_blocks_per_group(tmp_path: Path) -> None:
    ws = built(digest_workspace(tmp_path / "ws", 40, related="group"))
    tree = lxml_html.document_fromstring(email_of(ws).read_bytes())
    groups = tree.cssselect("td.group")
    blocks = [g for g in groups if "Related from the archive" in g.text_content()]
    assert len(blocks) >= 3 and len(tree.xpath("//*[text()='Related from the archive']")) == len(blocks)
    assert repeats(shown_links(email_of(ws))) == []


def test_auto_keeps_stories_for_articles_with_a_summary_or_image(tmp_path: Path) -> None:
    ws = digest_workspace(tmp_path / "ws", 12, layout="auto")
    path = ws / "issues/digest.toml"
    text = path.read_text().split("[[articles]]")
    text[2] = text[2] + 'summary = "A summary worth a story."\n'
    path.write_text("[[articles]]".join(text))
    build(ws, drafts=True)
    tree = lxml_html.document_fromstring(email_of(ws).read_bytes())
    story = load_workspace(ws).issue("digest").articles[1]
    assert [a.text_content() for a in tree.cssselect(".article-link")] == [story.title]
    assert len(tree.cssselect(".link-title")) == 11
    assert "A summary worth a story." in email_of(ws, name="email.txt").read_text()
    page = lxml_html.document_fromstring(email_of(ws, name="index.html").read_bytes())
    assert len(page.cssselect("article")) == 1 and len(page.cssselect("p.link")) == 11


def test_a_compact_note_comes_from_the_note_or_a_short_summary(tmp_path: Path) -> None:
    ws = digest_workspace(tmp_path / "ws", 3)
    path = ws / "issues/digest.toml"
    parts = path.read_text().split("[[articles]]")
    parts[1] += 'note = "Worth your lunch break."\n'
    parts[2] += 'summary = "Short and sweet. More after that."\n'
    parts[3] += 'summary = "' + "Far too long " * 20 + '."\n'
    path.write_text("[[articles]]".join(parts))
    build(ws, drafts=True)
    tree = lxml_html.document_fromstring(email_of(ws).read_bytes())
    notes = {p.cssselect(".link-title")[0].text_content(): p.cssselect(".link-note") for p in tree.cssselect("p.link")}
    assert sorted(n[0].text_content() for n in notes.values() if n) == ["Short and sweet.", "Worth your lunch break."]
    assert "Worth your lunch break." in email_of(ws, name="email.txt").read_text()


# --- sizes -------------------------------------------------------------------------------------


def test_digest_sizes_fit_gmail(tmp_path: Path, links70: Path) -> None:
    small = built(digest_workspace(tmp_path / "s", 20))
    large = built(digest_workspace(tmp_path / "l", 100))
    sizes = {n: email_of(ws).stat().st_size for n, ws in ((20, small), (70, links70), (100, large))}
    assert sizes[70] < 90_000 and sizes[100] < 102_000, sizes
    assert (sizes[100] - sizes[20]) / 80 <= 1024, sizes  # bytes per compact link, styles included
    styles = lxml_html.document_fromstring(email_of(links70).read_bytes()).xpath("//p[@class='link']/@style")
    assert styles == []  # a compact item's style is a class rule in the head, not inline


def test_the_stories_layout_is_leaner_than_before_with_the_same_content(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    build(ws)
    golden = Path(__file__).parent / "golden/example-build/issues/2024-12/email.html"
    ours = email_of(ws, "2024-12")
    assert ours.stat().st_size < 32_517 * 0.95  # its size with every style inlined
    body = lambda p: " ".join(lxml_html.document_fromstring(p.read_bytes()).body.text_content().split())  # noqa: E731
    assert body(ours) == body(golden)
    assert "; " not in " ".join(lxml_html.document_fromstring(ours.read_bytes()).xpath("//@style"))


# --- one article once per email ----------------------------------------------------------------


@pytest.mark.parametrize("layout", ["stories", "links", "auto"])
def test_no_email_page_or_text_shows_an_article_twice(tmp_path: Path, layout: str) -> None:
    ws = with_rules_version_2(copy_example(tmp_path / "ws"))
    set_config(ws, "email", f'layout = "{layout}"')
    build(ws, drafts=True)
    for issue in load_workspace(ws).issues:
        for name in ("email.html", "index.html"):
            links = shown_links(email_of(ws, issue.id, name))
            assert len(links) >= len(issue.articles) and repeats(links) == [], (issue.id, name)
        assert repeats(text_links(email_of(ws, issue.id, "email.txt"))) == [], issue.id


def every_href(page: Path) -> list[str]:
    """Every link of the page, as written: brand, images, footer and all."""
    return [h for h in lxml_html.document_fromstring(page.read_bytes()).xpath("//a/@href")]


@pytest.mark.parametrize("layout", ["links", "auto"])
def test_no_href_repeats_within_a_digest_email(tmp_path: Path, links70: Path, layout: str) -> None:
    """A checker that counts every href (not only articles) finds no repeat either."""
    ws = with_rules_version_2(copy_example(tmp_path / "ws"))
    set_config(ws, "email", f'layout = "{layout}"')
    build(ws, drafts=True)
    pages = [email_of(ws, i.id) for i in load_workspace(ws).issues] + [email_of(links70)]
    for page in pages:
        hrefs = every_href(page)
        assert len(hrefs) > 3 and repeats(hrefs) == [], page


def test_no_digest_shows_a_link_twice(links70: Path) -> None:
    for name in ("email.html", "index.html"):
        links = shown_links(email_of(links70, name=name))
        assert len(links) > 70 and repeats(links) == []
    assert repeats(text_links(email_of(links70, name="email.txt"))) == []


def test_related_picks_are_unique_within_an_issue_unless_repeats_are_allowed(tmp_path: Path) -> None:
    ws = with_rules_version_2(copy_example(tmp_path / "ws"))
    total = 0
    for view in select_all(load_workspace(ws), list(load_workspace(ws).issues)):
        picks = [p.article.id for ps in view.related.values() for p in ps]
        assert repeats(picks) == [], view.issue.id
        total += len(picks)
    assert total > 30
    set_config(ws, "related", "allow_repeats = true")
    workspace = load_workspace(ws)
    index = RelatedIndex(workspace.articles, workspace.config.related)
    allowed = select_all(workspace, [workspace.issue("2024-12")])[0]
    issue = workspace.issue("2024-12")
    assert allowed.related == {a.id: index.related_for(issue, a) for a in issue.articles}


def test_issues_published_before_the_upgrade_keep_their_picks(example: Path) -> None:
    workspace = load_workspace(example)
    view = select_all(workspace, [workspace.issue("2024-12")])[0]
    picks = [p.article.id for ps in view.related.values() for p in ps]
    assert len(picks) == 14 and len(set(picks)) == 7  # as the issue went out (rules_version 1)
    v2 = load_workspace(with_rules_version_2(example))
    view = select_all(v2, [v2.issue("2024-12")])[0]
    assert repeats([p.article.id for ps in view.related.values() for p in ps]) == []


def test_the_links_layout_shows_every_issue_once_per_email_whatever_its_version(example: Path) -> None:
    set_config(example, "email", 'layout = "links"')  # no issue went out in it under version 1
    build(example)
    for issue in load_workspace(example).published:
        assert issue.rules_version is None
        assert repeats(shown_links(email_of(example, issue.id))) == [], issue.id
    assert run_cli("explain", "2024-12", cwd=example).stdout.splitlines()[1].startswith("rules_version 2")


def test_publish_stores_the_rules_version(example: Path) -> None:
    result = run_cli("publish", "2024-17", cwd=example)
    assert result.code == 0, result.stderr
    assert "\nrules_version = 2\n" in (example / "issues/2024-17.toml").read_text()
    assert load_workspace(example).issue("2024-17").rules_version == 2


def test_explain_gives_the_reason_for_every_skip(tmp_path: Path) -> None:
    ws = with_rules_version_2(copy_example(tmp_path / "ws"))
    workspace = load_workspace(ws)
    sections = SectionIndex(workspace.config.sections, workspace.articles)
    index = RelatedIndex(workspace.articles, workspace.config.related)
    skipped = 0
    for issue in workspace.issues:
        result = run_cli("explain", issue.id, "--json", cwd=ws)
        assert result.code == 0, result.stderr
        found = json.loads(result.stdout)
        assert found["rules_version"] == 2
        for section, trace in zip(workspace.config.sections, found["sections"], strict=True):
            alone = [a.id for a in sections.select(section, issue).articles]  # version 1
            reasons = {m["id"]: m["reason"] for m in trace["near_misses"]}
            for article_id in set(alone) - set(trace["articles"]):
                assert reasons[article_id].startswith("already shown "), (issue.id, article_id)
                skipped += 1
        for article in issue.articles:
            alone = [p.article.id for p in index.related_for(issue, article)]
            reasons = {s["id"]: s["reason"] for s in found["skipped"][article.id]}
            for article_id in set(alone) - {p["id"] for p in found["related"][article.id]}:
                assert re.match(r"already shown (under article '|in section '|in this issue)", reasons[article_id])
                skipped += 1
    assert skipped > 10
    text = run_cli("explain", "2024-12", cwd=ws).stdout
    assert "rules_version 2" in text and "already shown under article '" in text


@pytest.mark.parametrize("related", ["issue", "group"])
def test_explain_shows_each_related_block_and_what_it_passed_over(tmp_path: Path, related: str) -> None:
    ws = digest_workspace(tmp_path / "ws", 40, related=related)
    found = json.loads(run_cli("explain", "digest", "--json", cwd=ws).stdout)
    issue = load_workspace(ws).issue("digest")
    ids = {a.id for a in issue.articles}
    assert found["blocks"] and all(set(b["picked_for"].values()) <= ids for b in found["blocks"])
    assert (len(found["blocks"]) == 1) == (related == "issue")
    picked = [a for b in found["blocks"] for a in b["articles"]]
    assert picked and repeats(picked) == []
    skips = [s for b in found["blocks"] for s in b["skipped"]]
    assert all(s["reason"].startswith("already shown ") for s in skips)
    if related == "group":  # a later group's block passes over an earlier one's picks
        assert any("in 'Related from the archive' under '" in s["reason"] for s in skips)
    text = run_cli("explain", "digest", cwd=ws).stdout
    assert "'Related from the archive'" in text and ": picked for '" in text


def test_an_issue_repeating_its_own_link_shows_it_once_and_says_why(tmp_path: Path) -> None:
    ws = digest_workspace(tmp_path / "ws", 10)
    path = ws / "issues/digest.toml"
    first = load_workspace(ws).issue("digest").articles[0]
    again = f'[[articles]]\nid = "again"\ntitle = "Same page"\nurl = "{first.url}?utm_source=x"\npublished = 2024-02-26\n'
    path.write_text(path.read_text() + "\n" + again)
    build(ws, drafts=True)
    assert repeats(shown_links(email_of(ws))) == [] and "Same page" not in email_of(ws).read_text()
    assert repeats(text_links(email_of(ws, name="email.txt"))) == []
    found = json.loads(run_cli("explain", "digest", "--json", cwd=ws).stdout)
    assert found["repeated"] == [{"id": "again", "reason": f"already shown in this issue (article #1, '{first.id}')"}]
    checked = run_cli("check", "--links", "digest", cwd=ws)
    assert checked.code == 1 and "article #11 (id 'again'), field 'url'" in checked.stderr
