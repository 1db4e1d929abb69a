"""sitemap.xml (sitemaps.org 0.9) and robots.txt.

Every public page with the day it last changed, taken from the issues (never the build's
clock). Past 50,000 URLs or 50 MB a file, sitemap.xml becomes a sitemap index of chunks under
sitemaps/, as the protocol requires."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from lxml import etree

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024  # uncompressed, per file
SITEMAP_FILE = "sitemap.xml"
# Marks the robots.txt publisher writes: any other is the editor's, and builds keep it.
ROBOTS_MARKER = b"# Written by publisher build."


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: date | None  # None: nothing published yet, so no day to give


def urlset(urls: Sequence[SitemapUrl]) -> bytes:
    root = etree.Element(f"{{{NS}}}urlset", nsmap={None: NS})
    for url in urls:
        entry = etree.SubElement(root, f"{{{NS}}}url")
        etree.SubElement(entry, f"{{{NS}}}loc").text = url.loc
        if url.lastmod:
            etree.SubElement(entry, f"{{{NS}}}lastmod").text = url.lastmod.isoformat()
    return serialise(root)


def sitemapindex(chunks: Sequence[SitemapUrl]) -> bytes:
    root = etree.Element(f"{{{NS}}}sitemapindex", nsmap={None: NS})
    for chunk in chunks:
        entry = etree.SubElement(root, f"{{{NS}}}sitemap")
        etree.SubElement(entry, f"{{{NS}}}loc").text = chunk.loc
        if chunk.lastmod:
            etree.SubElement(entry, f"{{{NS}}}lastmod").text = chunk.lastmod.isoformat()
    return serialise(root)


def serialise(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return data


def chunked(urls: Sequence[SitemapUrl], max_urls: int, max_bytes: int) -> list[list[SitemapUrl]]:
    """Consecutive chunks within both limits (sizes are measured, not guessed)."""
    chunks: list[list[SitemapUrl]] = []
    start = 0
    while start < len(urls):
        end = min(start + max_urls, len(urls))
        # Halve until the chunk fits; URLs of at most 2,048 characters make this quick.
        while end - start > 1 and len(urlset(urls[start:end])) > max_bytes:
            end = start + (end - start) // 2
        chunks.append(list(urls[start:end]))
        start = end
    return chunks


def sitemap_files(
    base: str, urls: Sequence[SitemapUrl], max_urls: int = MAX_URLS, max_bytes: int = MAX_BYTES
) -> dict[str, bytes]:
    """sitemap.xml alone, or sitemap.xml as the index of sitemaps/sitemap-<n>.xml."""
    if len(urls) <= max_urls and len(single := urlset(urls)) <= max_bytes:
        return {SITEMAP_FILE: single}
    files: dict[str, bytes] = {}
    entries = []
    for n, chunk in enumerate(chunked(urls, max_urls, max_bytes), 1):
        name = f"sitemaps/sitemap-{n}.xml"
        files[name] = urlset(chunk)
        entries.append(SitemapUrl(base + name, newest(u.lastmod for u in chunk)))
    files[SITEMAP_FILE] = sitemapindex(entries)
    return files


def newest(days: Iterable[date | None]) -> date | None:
    return max((d for d in days if d), default=None)


def robots_txt(base: str, sitemap: bool) -> bytes:
    """Everything may be crawled; the sitemap is named. Crawlers read robots.txt only at a
    host's root, so this one counts when the archive is served from there."""
    lines = [
        ROBOTS_MARKER.decode() + " To use your own, put it in its place: builds keep it.",
        "User-agent: *",
        "Allow: /",
    ]
    if sitemap:
        lines += ["", f"Sitemap: {base}{SITEMAP_FILE}"]
    return ("\n".join(lines) + "\n").encode()
