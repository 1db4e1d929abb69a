"""Link results kept for a day in links.json of the build's cache folder, beside the
output and never inside it (.build.generations/cache/ by default; git-ignored): a cache is
not output, and no reader of the site should see it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from publisher.generations import Layout
from publisher.links.fetch import Hop, LinkStatus
from publisher.output import write_atomic

CACHE_FILE = "links.json"
VERSION = 1


def to_json(status: LinkStatus) -> dict[str, Any]:
    hops = [[h.status, h.location] for h in status.hops]
    return {
        "status": status.status,
        "hops": hops,
        "error": status.error,
        "method": status.method,
        "checked": status.checked,
    }


def from_json(url: str, data: dict[str, Any]) -> LinkStatus:
    hops = tuple(Hop(int(s), str(loc)) for s, loc in data.get("hops", []))
    return LinkStatus(
        url,
        data.get("status"),
        hops,
        str(data.get("error", "")),
        str(data.get("method", "HEAD")),
        float(data["checked"]),
    )


def cache_path(output: Path) -> Path:
    """Where the link results of a workspace whose build goes to `output` are kept."""
    return Layout(Path(os.path.abspath(output))).cache / CACHE_FILE


class LinkCache:
    def __init__(self, output: Path, max_age_hours: float, now: float) -> None:
        self.path = cache_path(output)
        self.max_age = max_age_hours * 3600
        self.now = now
        self.entries = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no cache yet, or a damaged one: check again
        ok = (
            isinstance(data, dict)
            and data.get("version") == VERSION
            and isinstance(data.get("links"), dict)
        )
        return data["links"] if ok else {}

    def fresh(self, url: str) -> LinkStatus | None:
        entry = self.entries.get(url)
        try:
            status = from_json(url, entry) if isinstance(entry, dict) else None
        except (KeyError, TypeError, ValueError):
            return None
        return status if status and self.now - status.checked < self.max_age else None

    def save(self, found: dict[str, LinkStatus]) -> None:
        """Keep the definite answers; a timeout or a busy server is asked again next time."""
        kept = {
            u: e
            for u, e in self.entries.items()
            if self.now - float(e.get("checked", 0)) < self.max_age
        }
        kept.update({u: to_json(s) for u, s in found.items() if not s.transient})
        text = json.dumps({"version": VERSION, "links": dict(sorted(kept.items()))}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, text.encode("utf-8"))
