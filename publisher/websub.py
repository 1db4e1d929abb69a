"""WebSub (W3C, 2018) publish pings: tell the hub in [feeds] hub that the main feeds changed.

A hub that is down or refuses must never undo a publish: every failure is a warning."""

from __future__ import annotations

import httpx

from publisher import __version__
from publisher.config import Config
from publisher.errors import Problem
from publisher.web.meta import main_feeds

TIMEOUT = httpx.Timeout(5.0, connect=3.0)


def ping_hub(config: Config) -> tuple[list[str], list[Problem]]:
    """POST hub.mode=publish&hub.url=<feed> once per main feed; (feeds pinged, warnings)."""
    hub = config.feeds.hub
    if not hub:
        return [], []
    pinged, problems = [], []
    headers = {"User-Agent": f"publisher/{__version__} (WebSub publisher)"}
    with httpx.Client(timeout=TIMEOUT, headers=headers, follow_redirects=False) as client:
        for feed in main_feeds(config):
            if problem := _ping(client, hub, feed.href):
                problems.append(problem)
            else:
                pinged.append(feed.href)
    return pinged, problems


def _ping(client: httpx.Client, hub: str, feed: str) -> Problem | None:
    try:
        response = client.post(hub, data={"hub.mode": "publish", "hub.url": feed})
    except httpx.HTTPError as exc:
        return _warning(hub, f"could not reach the WebSub hub for {feed}: {exc or type(exc).__name__}")
    if response.is_success:
        return None
    return _warning(hub, f"the WebSub hub answered {response.status_code} for {feed}")


def _warning(hub: str, message: str) -> Problem:
    return Problem(
        file="config.toml",
        record="[feeds]",
        field="hub",
        message=message,
        hint=f"the issue is published; readers' apps will still poll the feed. Check {hub}, or remove hub",
        severity="warning",
    )
