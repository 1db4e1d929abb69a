"""RSS 2.0, Atom 1.0 and JSON Feed 1.1: the issues feed, its RFC 5005 archive, articles and
per-tag feeds.

`entries` decides what the feeds say (ids, dates, pages); `documents` writes it with feedgen,
`jsonfeed` as JSON Feed, from the same entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from publisher.config import Config
from publisher.errors import Problem
from publisher.feeds.documents import render_feed
from publisher.feeds.entries import article_feeds, issue_feeds, tag_uri
from publisher.feeds.jsonfeed import JSON_FILE, render_json
from publisher.selection import IssueView

__all__ = ["feed_size_warnings", "render_feeds", "tag_uri"]

# Feed readers fetch the main feed every few minutes; past this size they time out or truncate.
MAX_FEED_BYTES = 1_000_000
MAIN_FEEDS = ("atom.xml", "feed.xml", JSON_FILE)


def render_feeds(
    config: Config, views: Sequence[IssueView], contents: Mapping[str, str]
) -> dict[str, bytes]:
    """Every feed file, by path relative to the output folder; `views` = published issues."""
    files: dict[str, bytes] = {}
    for feed in issue_feeds(config, views, contents) + article_feeds(config, views):
        files.update(render_feed(config, feed))
        # RFC 5005 archive pages are an XML mechanism: JSON Feed gets the subscription feeds.
        if "json" in config.feeds.formats and not feed.archived:
            files[feed.folder + JSON_FILE] = render_json(config, feed)
    return files


def feed_size_warnings(files: Mapping[str, bytes]) -> list[Problem]:
    """A warning for a main feed over 1 MB: lower [feeds] limit or switch content to summary."""
    return [
        Problem(
            file=name,
            record="[feeds]",
            field="limit",
            message=f"the feed is {len(files[name]) / 1e6:.1f} MB; feed readers may give up over 1 MB",
            hint='lower [feeds] limit, or set content = "summary"',
            severity="warning",
        )
        for name in MAIN_FEEDS
        if len(files.get(name, b"")) > MAX_FEED_BYTES
    ]
