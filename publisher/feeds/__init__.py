"""RSS 2.0, Atom 1.0 and JSON Feed 1.1: the issues feed, its RFC 5005 archive, articles and
per-tag feeds.

`entries` decides what the feeds say (ids, dates, pages); `documents` writes it with feedgen,
`jsonfeed` as JSON Feed, from the same entries.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from feedgen.feed import FeedGenerator

from publisher.config import Config
from publisher.errors import Problem
from publisher.feeds.documents import FILES, generator, render
from publisher.feeds.entries import Feed, article_feeds, issue_feeds, tag_uri
from publisher.feeds.jsonfeed import JSON_FILE, render_json
from publisher.output import Output
from publisher.reuse import Outputs, key_of
from publisher.selection import IssueView

__all__ = ["feed_size_warnings", "render_feeds", "tag_uri"]

# Feed readers fetch the main feed every few minutes; past this size they time out or truncate.
MAX_FEED_BYTES = 1_000_000
MAIN_FEEDS = ("atom.xml", "feed.xml", JSON_FILE)


Fill = Callable[[str], str]  # an issue's content stand-in -> its feed HTML


def render_feeds(
    config: Config, views: Sequence[IssueView], contents: Mapping[str, str],
    out: Outputs | None = None, fill: Fill | None = None, salt: str = "",
) -> dict[str, Output]:
    """Every feed file, by path relative to the output folder; `views` = published issues.

    Incrementally (`out` knows the previous build): `contents` holds stand-ins that name each
    issue's rendered content by its render key, and `fill` gives the real HTML. A document is
    keyed on its Feed (entries with stand-ins) and the config feeds read; only a document whose
    key changed is filled in and written, so full RFC 5005 archive pages are made once."""
    out = out if out is not None else Outputs()
    salt = key_of(salt, feeds_config(config))
    for feed in issue_feeds(config, views, contents) + article_feeds(config, views):
        base = key_of(salt, repr(feed))
        made = _Made(config, feed, fill)
        for fmt in config.feeds.formats:
            if fmt in FILES:
                out.make(feed.folder + FILES[fmt][0], key_of(base, fmt), partial(made.xml, fmt))
        # RFC 5005 archive pages are an XML mechanism: JSON Feed gets the subscription feeds.
        if "json" in config.feeds.formats and not feed.archived:
            out.make(feed.folder + JSON_FILE, key_of(base, "json"), made.json)
    return out.files


def feeds_config(config: Config) -> str:
    """What a feed document reads of config beyond its Feed: [newsletter] and [feeds], but not
    `limit` or `tags`, which decide the entries and feeds (already in the key)."""
    feeds = {k: v for k, v in config.feeds.model_dump(mode="json").items() if k not in ("limit", "tags")}
    return json.dumps([config.newsletter.model_dump(mode="json"), feeds], sort_keys=True, default=str)


class _Made:
    """One feed's documents, its stand-ins filled in and its generator made once, on demand."""

    def __init__(self, config: Config, feed: Feed, fill: Fill | None) -> None:
        self.config, self.feed, self.fill = config, feed, fill
        self._filled: Feed | None = None
        self._generator: FeedGenerator | None = None

    def filled(self) -> Feed:
        if self._filled is None:
            fill, feed = self.fill, self.feed
            if fill is not None:
                entries = tuple(dataclasses.replace(e, content=fill(e.content)) if e.content else e
                                for e in feed.entries)
                feed = dataclasses.replace(feed, entries=entries)
            self._filled = feed
        return self._filled

    def xml(self, fmt: str) -> bytes:
        if self._generator is None:
            self._generator = generator(self.config, self.filled())
        return render(self.config, self.filled(), self._generator, fmt)

    def json(self) -> bytes:
        return render_json(self.config, self.filled())


def feed_size_warnings(files: Mapping[str, Output]) -> list[Problem]:
    """A warning for a main feed over 1 MB: lower [feeds] limit or switch content to summary."""
    return [
        Problem(
            file=name,
            record="[feeds]",
            field="limit",
            message=f"the feed is {_size(files[name]) / 1e6:.1f} MB; feed readers may give up over 1 MB",
            hint='lower [feeds] limit, or set content = "summary"',
            severity="warning",
        )
        for name in MAIN_FEEDS
        if _size(files.get(name, b"")) > MAX_FEED_BYTES
    ]


def _size(data: Output) -> int:
    return len(data) if isinstance(data, bytes) else data.size
