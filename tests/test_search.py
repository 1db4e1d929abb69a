"""The archive's static search: the index build writes, and a real headless Chromium typing a
query into search/index.html, opened from file:// and from a local http.server."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.build import build
from publisher.web.search import _WORD_RE, Document, minisearch_index, term, tokens
from tests.conftest import REPO, copy_example

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("search") / "ws")
    build(ws)
    return ws / "build"


def index_data(site: Path) -> dict[str, Any]:
    text = (site / "search/index.js").read_text()
    prefix = "window.PUBLISHER_SEARCH = "
    assert text.startswith(prefix) and text.endswith(";\n")
    data: dict[str, Any] = json.loads(text[len(prefix) : -2])
    return data


def test_words_are_split_and_normalised_as_the_browser_does() -> None:
    assert tokens("Kazakhstan's floods, 2024: Ağrı—Tbilisi") == ["Kazakhstan", "s", "floods", "2024", "Ağrı", "Tbilisi"]  # noqa: RUF001
    assert [term(t) for t in tokens("Élysée ÇAĞ Москва")] == ["elysee", "cag", "москва"]


@given(st.text(st.characters(max_codepoint=127)))
def test_ascii_text_splits_as_the_regex_does(text: str) -> None:
    assert tokens(text) == _WORD_RE.findall(text)  # the fast path for ASCII gives the same words


def test_a_words_fields_come_in_the_order_documents_met_them() -> None:
    docs = [Document("a", ("Dry", "no rain", "Water"), {}), Document("b", ("Water water", "", ""), {}),
            Document("c", ("", "water", ""), {})]
    index = dict(minisearch_index(docs)["index"])
    assert index["water"] == {"2": {"0": 1}, "0": {"1": 2}, "1": {"2": 1}}
    assert list(index) == ["dry", "no", "rain", "water"]


def test_the_index_is_minisearch_serialised_form_of_every_issue_and_article(site: Path) -> None:
    data = index_data(site)
    index = data["index"]
    assert index["serializationVersion"] == 2 and data["fields"] == ["title", "text", "tags"]
    ids = list(index["documentIds"].values())
    assert len(ids) == index["documentCount"] == len(index["storedFields"]) == 6 + 46
    assert "issue:2024-16" in ids and "kazakhstan-flooding" in ids
    terms = dict(index["index"])
    assert "flooding" in terms and all(len(t) > 1 and t == t.lower() for t in terms)
    assert [t for t, _ in index["index"]] == sorted(terms)  # byte-identical rebuilds


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def search(browser: Any, url: str, query: str, shot: str = "") -> list[str]:
    page = browser.new_page(viewport={"width": 800, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.fill("#q", query)  # fires "input": results appear as one types
    page.wait_for_selector("#search-results li", timeout=10_000)
    results = [li.inner_text() for li in page.query_selector_all("#search-results li")]
    links = [a.get_attribute("href") for a in page.query_selector_all("#search-results a")]
    if shot:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    page.close()
    assert not errors, errors
    return [f"{r} -> {h}" for r, h in zip(results, links, strict=True)]


@pytest.mark.browser
def test_typing_a_query_finds_articles_from_file_url(browser: Any, site: Path) -> None:
    found = search(browser, (site / "search/index.html").as_uri(), "flood", "search-results.png")
    assert any("Kazakhstan struggles to deal with massive flooding" in r for r in found), found
    assert any(r.endswith("/issues/2024-16/#kazakhstan-flooding") for r in found), found


@pytest.mark.browser
def test_search_over_http_and_from_the_q_parameter(browser: Any, server: str) -> None:
    found = search(browser, server + "search/", "armenia azerbaijan border")
    assert found and all("#" in r for r in found)
    page = browser.new_page()
    page.goto(server + "search/?q=Tbilisi")
    page.wait_for_selector("#search-results li", timeout=10_000)
    assert page.input_value("#q") == "Tbilisi"
    assert "results for" in page.inner_text("#search-status")
    page.close()


@pytest.mark.browser
def test_screenshot_of_a_tag_page(browser: Any, site: Path) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 900})
    page.goto((site / "tags/region-south-caucasus/index.html").as_uri())
    assert page.inner_text("h1") == "South Caucasus"
    assert len(page.query_selector_all("ul.tagged li")) == 22
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tag-page.png"), full_page=True)
    page.close()
