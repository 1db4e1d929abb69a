"""RSS 2.0 and Atom 1.0 of published issues, with feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedgen.feed import FeedGenerator

from publisher import __version__
from publisher.config import Config
from publisher.selection import IssueView


def tag_uri(config: Config, view: IssueView) -> str:
    """RFC 4151 id, fixed by the issue's id and date: never derived from a title."""
    host = urlsplit(config.newsletter.url).hostname or "localhost"
    return f"tag:{host},{view.issue.date.year}:issue/{view.issue.id}"


def issue_datetime(config: Config, view: IssueView) -> datetime:
    return datetime.combine(
        view.issue.date, time(8, 0), tzinfo=ZoneInfo(config.newsletter.timezone)
    )


def build_feed(
    config: Config, views: Sequence[IssueView], contents: dict[str, str]
) -> FeedGenerator:
    """The issues feed: newest first, the last `limit` published issues."""
    base = config.newsletter.url
    newest = sorted(views, key=lambda v: v.issue.sort_key, reverse=True)[: config.feeds.limit]
    fg = FeedGenerator()
    fg.id(f"{base}")
    fg.title(config.newsletter.title)
    fg.subtitle(config.newsletter.description or config.newsletter.title)
    fg.language(config.newsletter.language)
    fg.generator("publisher", version=__version__)
    if config.newsletter.author:
        fg.author({"name": config.newsletter.author})
    fg.link(href=f"{base}atom.xml", rel="self", type="application/atom+xml")
    fg.link(href=base, rel="alternate", type="text/html")
    if newest:
        fg.updated(issue_datetime(config, newest[0]))
        fg.lastBuildDate(issue_datetime(config, newest[0]))
    for view in newest:
        entry = fg.add_entry(order="append")
        entry.id(tag_uri(config, view))
        entry.guid(tag_uri(config, view), permalink=False)
        entry.title(view.issue.title)
        entry.link(href=view.web_url, rel="alternate", type="text/html")
        entry.published(issue_datetime(config, view))
        entry.updated(issue_datetime(config, view))
        entry.summary(view.preheader)
        entry.content(contents[view.issue.id], type="html")
        for tag in sorted({t for a in view.issue.articles for t in a.tags}):
            entry.category(term=tag)
    return fg


def render_feeds(
    config: Config, views: Sequence[IssueView], contents: dict[str, str]
) -> dict[str, bytes]:
    fg = build_feed(config, views, contents)
    return {
        "atom.xml": fg.atom_str(pretty=True),
        "feed.xml": fg.rss_str(pretty=True),
    }
