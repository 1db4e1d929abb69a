"""The feed stage (feedgen + mending) against raw lxml writing the same documents (target <= 1.5x).

Both run in one process on one generated archive: the feed stage is publisher.feeds.render_feeds
(planning entries, feedgen, lxml mending, serialising every feed file); the baseline serialises
the same planned Feed objects with plain lxml, the fastest honest way to write them.

Run: python tests/bench/bench_feeds.py [--issues 300] [--articles 8] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from lxml import etree

from publisher import __version__
from publisher.config import Config
from publisher.feeds import render_feeds
from publisher.feeds.documents import FILES, HTML_TYPE, feed_links
from publisher.feeds.entries import Feed, article_feeds, issue_feeds
from publisher.selection import select_all
from publisher.theme import make_environment
from publisher.workspace import load_workspace

REPO = Path(__file__).resolve().parents[2]
TAGS = ["region:south-caucasus", "region:central-asia"] + [f"topic:t{n}" for n in range(30)]
ATOM = "http://www.w3.org/2005/Atom"
SUMMARY = (
    "A summary of three sentences, with *emphasis* and a [link](https://example.org/x). "
    "It says what happened and why it matters to readers in the region. "
    "It ends with what to watch next week."
)


def article(issue: int, n: int, day: date) -> str:
    tags = ", ".join(f'"{TAGS[(issue * 7 + n * 3 + k) % len(TAGS)]}"' for k in range(4))
    return f'''
[[articles]]
id = "a{issue}-{n}"
title = "Article {n} of issue {issue}: a headline of ordinary length for a news digest"
url = "https://news.example.org/{issue}/{n}/a-headline"
published = {day - timedelta(days=1 + n % 4)}
category = "News"
tags = [{tags}]
summary = """{SUMMARY}"""
image = {{ url = "https://img.example.org/{issue}-{n}.jpg", alt = "A picture", credit = "(c) example.org" }}
'''


def generate(root: Path, issues: int, articles: int) -> Path:
    """The example's config.toml (articles feed on) and `issues` weekly published issues."""
    (root / "issues").mkdir(parents=True)
    config = (REPO / "config.toml").read_text().replace("[feeds]\n", "[feeds]\narticles = true\n")
    (root / "config.toml").write_text(config)
    for i in range(issues):
        day = date(2019, 1, 4) + timedelta(weeks=i)
        intro = f'intro = """{SUMMARY * 3}"""\n'
        head = f'title = "Issue {i}: the week"\ndate = {day}\nstatus = "published"\n{intro}'
        body = "".join(article(i, n, day) for n in range(articles))
        (root / "issues" / f"{day.year}-{i:03d}.toml").write_text(head + body)
    return root


def sub(parent: etree._Element, tag: str, text: str = "", **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrib)
    element.text = text or None
    return element


def lxml_atom(config: Config, feed: Feed) -> bytes:
    news = config.newsletter
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    root.set("{http://www.w3.org/XML/1998/namespace}lang", news.language)
    a = f"{{{ATOM}}}"
    sub(root, a + "id", feed.id)
    sub(root, a + "title", feed.title)
    sub(root, a + "updated", feed.updated.isoformat())
    sub(sub(root, a + "author"), a + "name", news.author or news.title)
    for link in feed_links(config, feed, "atom"):
        sub(root, a + "link", **link)
    sub(root, a + "generator", "publisher", version=__version__)
    sub(root, a + "subtitle", feed.subtitle or feed.title)
    for entry in feed.entries:
        item = sub(root, a + "entry")
        sub(item, a + "id", entry.id)
        sub(item, a + "title", entry.title)
        author = sub(item, a + "author")
        sub(author, a + "name", entry.author)
        if entry.author_email:
            sub(author, a + "email", entry.author_email)
        sub(item, a + "updated", entry.updated.isoformat())
        sub(item, a + "published", entry.published.isoformat())
        sub(item, a + "link", href=entry.link, rel="alternate", type=HTML_TYPE)
        sub(item, a + "summary", entry.summary)
        if entry.content:
            sub(item, a + "content", entry.content, type="html")
        for term in entry.categories:
            sub(item, a + "category", term=term)
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)


def lxml_rss(config: Config, feed: Feed) -> bytes:
    news = config.newsletter
    nsmap = {"atom": ATOM, "content": "http://purl.org/rss/1.0/modules/content/"}
    root = etree.Element("rss", version="2.0", nsmap=nsmap)
    channel = sub(root, "channel")
    sub(channel, "title", feed.title)
    sub(channel, "link", news.url)
    sub(channel, "description", feed.subtitle or feed.title)
    for link in feed_links(config, feed, "rss")[:-1]:
        sub(channel, f"{{{ATOM}}}link", **link)
    sub(channel, "generator", "publisher")
    sub(channel, "language", news.language)
    sub(channel, "lastBuildDate", format_datetime(feed.updated))
    for entry in feed.entries:
        item = sub(channel, "item")
        sub(item, "title", entry.title)
        sub(item, "link", entry.link)
        if entry.author_email:
            sub(item, "author", f"{entry.author_email} ({entry.author})")
        sub(item, "description", escape(entry.summary, quote=False))
        if entry.content:
            sub(item, f"{{{nsmap['content']}}}encoded", entry.content)
        sub(item, "guid", entry.id, isPermaLink="false")
        for term in entry.categories:
            sub(item, "category", term)
        sub(item, "pubDate", format_datetime(entry.published))
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)


def raw_lxml(config: Config, feeds: list[Feed]) -> dict[str, bytes]:
    writers = {"atom": lxml_atom, "rss": lxml_rss}
    return {
        f.folder + FILES[fmt][0]: writers[fmt](config, f)
        for f in feeds
        for fmt in config.feeds.formats
    }


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run; CPU time is less sensitive to a busy machine."""
    start, start_cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - start_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = load_workspace(generate(Path(tmp), args.issues, args.articles))
    config = workspace.config
    views = select_all(workspace, list(workspace.published))
    template = make_environment(None).get_template("feed_entry.html")
    contents = {v.issue.id: template.render(view=v, config=config) for v in views}
    feeds = issue_feeds(config, views, contents) + article_feeds(config, views)
    files = render_feeds(config, views, contents)  # warm-up; also the sizes reported below
    assert raw_lxml(config, feeds).keys() == files.keys()
    # Interleaved, so a burst of load elsewhere on the machine hits both alike.
    stage, plain = [], []
    for _ in range(args.runs):
        stage.append(timed(lambda: render_feeds(config, views, contents)))
        plain.append(timed(lambda: raw_lxml(config, feeds)))
    total = sum(len(f.entries) for f in feeds)
    print(
        f"feeds of {args.issues} issues x {args.articles} articles: {len(files)} files, {total} entries"
    )
    for label, i in (("wall", 0), ("CPU", 1)):
        ours = statistics.median(t[i] for t in stage)
        theirs = statistics.median(t[i] for t in plain)
        print(
            f"  {label}: feed stage {ours * 1000:.1f} ms, raw lxml {theirs * 1000:.1f} ms"
            f" (medians of {args.runs}): ratio {ours / theirs:.2f}x (target <= 1.5x)"
        )
    for name in ("atom.xml", "feed.xml"):
        print(f"  main {name}: {len(files[name]) / 1000:.0f} kB ({config.feeds.limit} entries)")


if __name__ == "__main__":
    main()
