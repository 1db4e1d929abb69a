"""email.html in a real browser: headless Chromium at phone and desktop widths, light and dark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.build import build
from tests.conftest import REPO, copy_example

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def issue_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("render") / "ws")
    build(ws, ["2024-12"])
    return ws / "build/issues/2024-12"


@pytest.fixture(scope="module")
def email_html(issue_folder: Path) -> str:
    return (issue_folder / "email.html").read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


_measured: dict[tuple[str, int, str], dict[str, float]] = {}


def measure(browser: object, html: str, width: int, scheme: str) -> dict[str, float]:
    """Each rendering once per module: the tests share a browser and its measurements."""
    key = (html, width, scheme)
    if key not in _measured:
        _measured[key] = _measure(browser, html, width, scheme)
    return _measured[key]


def _measure(browser: object, html: str, width: int, scheme: str) -> dict[str, float]:
    """Render at a viewport width; the page's and the container's geometry; a screenshot kept."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[attr-defined]
    try:
        page.route("**/*", lambda route: route.abort())  # no network: images stay empty boxes
        page.set_content(html, wait_until="domcontentloaded")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"email-{width}-{scheme}.png"), full_page=True)
        return page.evaluate(
            """() => {
              const box = document.querySelector('table.container').getBoundingClientRect();
              const text = getComputedStyle(document.querySelector('.article-title a'));
              const card = getComputedStyle(document.querySelector('table.container'));
              return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
                      left: box.left, right: box.right, width: box.width,
                      color: text.color, background: card.backgroundColor};
            }"""
        )
    finally:
        page.close()


@pytest.mark.parametrize("width", [375, 600])
def test_no_horizontal_scrolling_and_the_container_fits(browser: object, email_html: str, width: int) -> None:
    box = measure(browser, email_html, width, "light")
    assert box["scroll"] <= box["client"] == width
    assert box["left"] >= 0 and box["right"] <= width
    assert box["width"] >= width - 20  # it fills a phone, not a 600px strip that scrolls


def test_wide_screens_keep_a_600px_column(browser: object, email_html: str) -> None:
    box = measure(browser, email_html, 1024, "light")
    assert box["width"] == 600 and box["scroll"] <= 1024


def luminance(css_color: str) -> float:
    r, g, b = (int(float(c)) for c in css_color[css_color.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("width", [375, 600])
def test_readable_in_light_and_dark(browser: object, email_html: str, width: int) -> None:
    light = measure(browser, email_html, width, "light")
    dark = measure(browser, email_html, width, "dark")
    assert luminance(light["color"]) < 0.3 < 0.8 < luminance(light["background"])
    assert luminance(dark["color"]) > 0.7 > 0.2 > luminance(dark["background"])
    assert dark["scroll"] <= dark["client"]


def test_the_web_page_fits_a_phone(browser: object, issue_folder: Path) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 800})  # type: ignore[attr-defined]
    try:
        page.route("**/*", lambda route: route.abort())
        page.set_content((issue_folder / "index.html").read_text(), wait_until="domcontentloaded")
        sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert sizes[0] <= sizes[1] == 375
        assert page.locator("article").count() >= 5
    finally:
        page.close()
