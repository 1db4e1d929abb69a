"""RSS 2.0, Atom 1.0 and JSON Feed 1.1: the issues feed, its RFC 5005 archive, articles and
per-tag feeds.

`entries` decides what the feeds say (ids, dates, pages); `documents` writes it with feedgen,
`jsonfeed` as JSON Feed, from the same entries.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

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
    out: Outputs | None = None, fill: Fill | None = None, salt: str = "", parallel: bool = False,
) -> dict[str, Output]:
    """Every feed file, by path relative to the output folder; `views` = published issues.

    Incrementally (`out` knows the previous build): `contents` holds stand-ins that name each
    issue's rendered content by its render key, and `fill` gives the real HTML. A document is
    keyed on its Feed (entries with stand-ins) and the config feeds read; only a document whose
    key changed is filled in and written, so full RFC 5005 archive pages are made once."""
    out = out if out is not None else Outputs()
    salt = key_of(salt, feeds_config(config))
    todo: list[_Made] = []
    for feed in issue_feeds(config, views, contents) + article_feeds(config, views):
        base = key_of(salt, repr(feed))
        made = _Made(config, feed, fill)
        for fmt in config.feeds.formats:
            if fmt in FILES:
                made.want(out, feed.folder + FILES[fmt][0], key_of(base, fmt), fmt)
        # RFC 5005 archive pages are an XML mechanism: JSON Feed gets the subscription feeds.
        if "json" in config.feeds.formats and not feed.archived:
            made.want(out, feed.folder + JSON_FILE, key_of(base, "json"), "json")
        if made.docs:
            todo.append(made)
    for rel, data in _make_all(todo, out.spill.folder if out.spill else None, parallel):
        out.put(rel, data)
    return out.files


PARALLEL_FROM = 32  # feeds to make before workers pay for their start (a cold build: 250 at 5,000 issues)
_jobs: list[_Made] = []  # the feeds to make, set before the workers fork: they are sent indexes


def _make_all(todo: list[_Made], spill: Path | None, parallel: bool) -> Iterator[tuple[str, Output]]:
    """Every wanted document of these feeds: in forked workers if there are many (each
    inherits the feeds and sets its documents aside in `spill`, sending back their names),
    else here."""
    from publisher.loadcache import can_fork

    if not (parallel and len(todo) >= PARALLEL_FROM and can_fork()):
        for made in todo:
            yield from made.documents()
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    global _jobs, _spill
    _jobs, _spill = todo, spill
    cores = min(2, len(os.sched_getaffinity(0)))
    try:
        with ProcessPoolExecutor(cores, get_context("fork")) as pool:
            for part in pool.map(_make_part, range(len(todo)), chunksize=8):
                yield from part
    finally:
        _jobs, _spill = [], None


_spill: Path | None = None


def _make_part(n: int) -> list[tuple[str, Output]]:
    from publisher.output import set_aside

    return [(rel, set_aside(_spill, rel, data) if _spill is not None else data)
            for rel, data in _jobs[n].documents()]


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
        self.docs: list[tuple[str, str]] = []  # (path, format) to make: their keys changed

    def want(self, out: Outputs, rel: str, key: str, fmt: str) -> None:
        """The previous document of `rel` if made from `key`; else noted, to be made (its
        place among the files taken now, as out.make() would)."""
        if (found := out.earlier.same(rel, key)) is not None:
            out.put(rel, found, key)
        else:
            out.reserve(rel, key)
            self.docs.append((rel, fmt))

    def documents(self) -> Iterator[tuple[str, bytes]]:
        for rel, fmt in self.docs:
            yield rel, self.json() if fmt == "json" else self.xml(fmt)

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
