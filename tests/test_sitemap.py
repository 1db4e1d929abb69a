"""sitemap.xml and robots.txt, judged by the sitemaps.org XSDs in tests/schemas (written out
from the schemas published at https://www.sitemaps.org/schemas/sitemap/0.9/)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from lxml import etree

from publisher.build import build
from publisher.web.sitemap import MAX_URLS, SitemapUrl, sitemap_files
from tests.test_feeds import BASE, issue_record, some_issues, write_workspace

SCHEMAS = Path(__file__).parent / "schemas"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


URLSET, INDEX = schema("sitemap.xsd"), schema("siteindex.xsd")


def valid(data: bytes, xsd: etree.XMLSchema) -> bool:
    ok: bool = xsd.validate(etree.fromstring(data))
    assert ok, xsd.error_log
    return ok


def locs(data: bytes) -> list[str]:
    return [e.text for e in etree.fromstring(data).iter(f"{SM}loc")]


def test_every_public_page_with_the_issues_own_dates(tmp_path: Path) -> None:
    issues = some_issues(3)
    issues["2024-02"] = issue_record(2, updated=date(2024, 3, 1))
    issues["2024-04"] = issue_record(4, status="draft")
    root = write_workspace(tmp_path / "ws", issues)
    files = build(root, drafts=True).files
    assert valid(files["sitemap.xml"], URLSET)
    tree = etree.fromstring(files["sitemap.xml"])
    lastmod = {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in tree.iter(f"{SM}url")}
    assert lastmod[f"{BASE}issues/2024-01/"] == "2024-01-05"
    assert lastmod[f"{BASE}issues/2024-02/"] == "2024-03-01"  # the recorded correction
    assert lastmod[BASE] == "2024-03-01" and f"{BASE}tags/" in lastmod
    assert f"{BASE}issues/2024-04/" not in lastmod  # a draft is not public, even when built
    assert f"{BASE}tags/region-south-caucasus/" in lastmod
    pages = {f"{BASE}{p.removesuffix('index.html')}" for p in files if p.endswith("index.html")}
    assert set(lastmod) == pages - {f"{BASE}issues/2024-04/", f"{BASE}search/"}
    robots = files["robots.txt"].decode()
    assert f"Sitemap: {BASE}sitemap.xml" in robots.splitlines()


def test_60000_urls_become_an_index_of_two_valid_chunks() -> None:
    start = date(2000, 1, 1)
    urls = [SitemapUrl(f"{BASE}issues/{n}/", start + timedelta(days=n // 100)) for n in range(60_000)]
    files = sitemap_files(BASE, urls)
    assert sorted(files) == ["sitemap.xml", "sitemaps/sitemap-1.xml", "sitemaps/sitemap-2.xml"]
    assert valid(files["sitemap.xml"], INDEX)
    assert locs(files["sitemap.xml"]) == [f"{BASE}sitemaps/sitemap-1.xml", f"{BASE}sitemaps/sitemap-2.xml"]
    chunks = [locs(files[f"sitemaps/sitemap-{n}.xml"]) for n in (1, 2)]
    assert [len(c) for c in chunks] == [MAX_URLS, 10_000]
    assert chunks[0] + chunks[1] == [u.loc for u in urls]  # every URL once, in order
    for n in (1, 2):
        assert valid(files[f"sitemaps/sitemap-{n}.xml"], URLSET)
    index = etree.fromstring(files["sitemap.xml"])
    days = [e.text for e in index.iter(f"{SM}lastmod")]
    assert days == [urls[MAX_URLS - 1].lastmod.isoformat(), urls[-1].lastmod.isoformat()]


def test_a_byte_limit_splits_too_and_50000_urls_stay_one_file() -> None:
    urls = [SitemapUrl(f"{BASE}issues/{n}/", date(2024, 1, 1)) for n in range(1_000)]
    small = sitemap_files(BASE, urls, max_bytes=20_000)
    chunks = [p for p in small if p.startswith("sitemaps/")]
    assert len(chunks) > 1 and all(len(small[p]) <= 20_000 for p in chunks)
    assert sum(len(locs(small[p])) for p in chunks) == 1_000
    assert list(sitemap_files(BASE, urls)) == ["sitemap.xml"]


def test_switched_off(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", some_issues(2))
    (root / "config.toml").write_text((root / "config.toml").read_text() + "\n[site]\nsitemap = false\nsearch = false\ntag_pages = false\n")
    files = build(root).files
    assert "sitemap.xml" not in files
    assert not [p for p in files if p.startswith("search/") or (p.endswith("index.html") and p.startswith("tags/"))]
    assert "tags/region-south-caucasus/atom.xml" in files  # the per-tag feeds stay
    assert "Sitemap:" not in files["robots.txt"].decode()


def test_bad_extras_settings_are_errors_naming_the_key(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    root = write_workspace(tmp_path / "ws", some_issues(1))
    base = (root / "config.toml").read_text()
    for extra, where in [
        ("\n[site]\nserch = true\n", "[site], field 'serch'"),
        ('\n[tags]\nlabels = { "region:x" = "" }\n', "[tags], field 'labels"),
    ]:
        (root / "config.toml").write_text(base + extra)
        result = run_cli("check", cwd=root)
        assert result.code == 1 and "Traceback" not in result.stderr
        assert f"config.toml, {where}" in result.stderr, result.stderr
    (root / "config.toml").write_text(base.replace('[feeds]\n', '[feeds]\nformats = ["jsonfeed"]\n', 1))
    result = run_cli("check", cwd=root)
    assert result.code == 1 and "field 'formats" in result.stderr, result.stderr


def test_an_editors_own_robots_txt_is_kept(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", some_issues(2))
    build(root)
    assert (root / "build/robots.txt").read_bytes().startswith(b"# Written by publisher build.")
    mine = b"User-agent: *\nDisallow: /drafts/\n"
    (root / "build/robots.txt").write_bytes(mine)
    result = build(root)
    assert (root / "build/robots.txt").read_bytes() == mine
    (warning,) = [p for p in result.warnings if p.file.endswith("robots.txt")]
    assert f"Sitemap: {BASE}sitemap.xml" in warning.hint and not warning.is_error
    mine += f"Sitemap: {BASE}sitemap.xml\n".encode()
    (root / "build/robots.txt").write_bytes(mine)
    result = build(root)
    assert (root / "build/robots.txt").read_bytes() == mine
    assert not [p for p in result.warnings if p.file.endswith("robots.txt")]
