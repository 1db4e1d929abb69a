"""A generated archive of many small published issues, for the build's fault and concurrency
tests: the example's config, each issue one or two of the example's articles, renamed."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import tomlkit

REPO = Path(__file__).resolve().parents[1]


def make_archive(root: Path, count: int, articles: int = 1) -> Path:
    """A workspace of `count` published weekly issues, from 2000 on, `articles` each."""
    (root / "issues").mkdir(parents=True)
    shutil.copy(REPO / "config.toml", root / "config.toml")
    seeds = [tomllib.loads(p.read_text()) for p in sorted((REPO / "issues").glob("[!.]*.toml"))]
    pool = [a for seed in seeds for a in seed["articles"]]
    for n in range(count):
        year, week = 2000 + n // 52, n % 52 + 1
        day = seeds[0]["date"].replace(year=year, month=1 + n % 52 // 5, day=1 + week % 5 * 5)
        picked = [pool[(n * articles + k) % len(pool)] for k in range(articles)]
        data = {
            "title": f"Issue {n}: {picked[0]['title']}",
            "date": day,
            "status": "published",
            "intro": f"Week {week} of {year}.",
            "articles": [
                {**a, "id": f"{a['id']}-{n}", "url": f"{a['url']}?n={n}",
                 "published": a["published"].replace(year=year, month=day.month, day=day.day)}
                for a in picked
            ],
        }
        (root / "issues" / f"{year}-{week:02d}.toml").write_text(tomlkit.dumps(data))
    return root


def retitle(root: Path, title: str) -> None:
    """Change [newsletter] title: every page, email and feed of the build changes."""
    config = root / "config.toml"
    doc = tomlkit.parse(config.read_text())
    doc["newsletter"]["title"] = title  # type: ignore[index]
    config.write_text(tomlkit.dumps(doc))


def reword(root: Path, every: int, words: str) -> list[str]:
    """Set the intro of every `every`-th issue: their pages, emails and the feeds change."""
    changed = []
    for n, path in enumerate(sorted((root / "issues").glob("[!.]*.toml"))):
        if n % every == 0:
            doc = tomlkit.parse(path.read_text())
            doc["intro"] = f"{words} ({path.stem})."
            path.write_text(tomlkit.dumps(doc))
            changed.append(path.stem)
    return changed
