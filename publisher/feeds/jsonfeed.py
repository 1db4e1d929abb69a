"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written from the same Feed and Entry
objects as RSS and Atom: the same ids, dates, titles and content."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from publisher.config import Config
from publisher.feeds.entries import Entry, Feed

JSON_FILE = "feed.json"
JSON_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def item(entry: Entry) -> dict[str, Any]:
    """One item; content_html when the feeds carry full content, else the text summary."""
    data: dict[str, Any] = {"id": entry.id, "url": entry.link, "title": entry.title}
    if entry.content:
        data["content_html"] = entry.content
        data["summary"] = entry.summary
    else:
        data["content_text"] = entry.summary
    if entry.image:
        data["image"] = entry.image
    data["date_published"] = rfc3339(entry.published)
    data["date_modified"] = rfc3339(entry.updated)
    data["authors"] = [{"name": entry.author}]
    if entry.categories:
        data["tags"] = list(entry.categories)
    return data


def home_page(config: Config, feed: Feed) -> str:
    """A tag feed's home is its tag page (the same folder) when tag pages are built."""
    base = config.newsletter.url
    return base + feed.folder if feed.folder.startswith("tags/") and config.site.tag_pages else base


def document(config: Config, feed: Feed) -> dict[str, Any]:
    news = config.newsletter
    data: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": home_page(config, feed),
        "feed_url": f"{news.url}{feed.folder}{JSON_FILE}",
        "description": feed.subtitle or feed.title,
        "language": news.language,
        "authors": [{"name": news.author or news.title}],
    }
    if news.icon:
        data["favicon"] = news.icon
    if news.logo:
        data["icon"] = news.logo
    if config.feeds.hub:
        data["hubs"] = [{"type": "WebSub", "url": config.feeds.hub}]
    data["items"] = [item(e) for e in feed.entries]
    return data


def render_json(config: Config, feed: Feed) -> bytes:
    """The document as UTF-8 JSON, keys in a fixed order: rebuilds are byte-identical."""
    text = json.dumps(document(config, feed), ensure_ascii=False, indent=1)
    return (text + "\n").encode()
