"""Generated link-digest workspaces (This Week in Rust-like): many links, no summaries."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

CATEGORIES = ("Official", "Project updates", "Articles", "Tools", "Podcasts", "Jobs")
TOPICS = ("async", "compiler", "wasm", "embedded", "web", "gui", "databases", "security",
          "cli", "testing", "performance", "macros", "networking", "games", "ml")
HOSTS = ("blog.rust-lang.org", "without.boats", "fasterthanli.me", "www.ncameron.org",
         "smallcultfollowing.com", "tokio.rs", "github.com", "lwn.net", "medium.com",
         "dev.to", "www.youtube.com", "netstack.fm")
WORDS = ("announcing", "release", "async", "traits", "borrow", "checker", "faster", "builds",
         "writing", "a", "database", "in", "rust", "why", "we", "moved", "to", "embedded",
         "safety", "lessons", "from", "production", "the", "compiler", "new", "cargo",
         "feature", "deep", "dive", "into", "memory", "allocation", "zero", "cost")

CONFIG = """
[newsletter]
title = "This Week in Examples"
description = "Links from the week."
url = "https://digest.example.org/"

[email]
from = "digest@example.org"
unsubscribe_url = "https://digest.example.org/unsubscribe"
utm = {{ utm_source = "newsletter", utm_medium = "email", utm_campaign = "weekly" }}
contact = "This Week in Examples · 1 Example Street · Springfield"
layout = "{layout}"
max_bytes = {max_bytes}

[layout]
categories = ["Official", "Articles"]
related = "{related}"

[[sections]]
name = "popular"
title = "Popular"
scope = "archive"
match = {{ any = ["*"] }}
order = "popular"
limit = 3
max_age_days = 120

[related]
limit = 3
weights = {{ "topic:*" = 1.5, "*" = 1.0 }}
max_tag_share = 0.9
"""


def article_toml(rng: random.Random, issue: int, n: int, day: date, summary: bool) -> str:
    words = rng.sample(WORDS, rng.randint(5, 10))
    title = " ".join(words).capitalize()
    host = rng.choice(HOSTS)
    slug = "-".join(words[:6])
    tags = sorted({f"topic:{t}" for t in rng.sample(TOPICS, rng.randint(1, 3))})
    lines = [
        "[[articles]]",
        f'id = "i{issue}-{n}-{slug}"',
        f'title = "{title}"',
        f'url = "https://{host}/{day.year}/{day.month:02d}/{slug}-{issue}-{n}/"',
        f"published = {day - timedelta(days=rng.randint(0, 6))}",
        f'category = "{rng.choice(CATEGORIES)}"',
        f"tags = [{', '.join(repr(t).replace(chr(39), chr(34)) for t in tags)}]",
        f"popularity = {rng.randint(10, 5000)}",
    ]
    if summary:
        lines.append(f'summary = "{title}. A short summary of what the piece says."')
    return "\n".join(lines) + "\n"


def digest_workspace(
    root: Path, links: int, layout: str = "links", history: int = 8, related: str = "issue",
    summaries: bool = False, seed: int = 13, max_bytes: int = 1_000_000, publish: bool = False,
    summary_every: int = 0,
) -> Path:
    """`history` published issues of 30 links, then one of `links` links (id 'digest'): a
    draft, or published (rules_version 2, as `publish` writes) with publish=True."""
    rng = random.Random(seed)
    (root / "issues").mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(CONFIG.format(layout=layout, related=related, max_bytes=max_bytes))
    start = date(2024, 1, 5)
    for k in range(history + 1):
        day = start + timedelta(weeks=k)
        last = k == history
        head = [f'title = "Issue {k + 1}"', f"date = {day}"]
        draft = last and not publish
        head.append('status = "draft"' if draft else 'status = "published"\nrules_version = 2')
        count = links if last else 30
        body = [article_toml(rng, k, n, day, summaries or bool(summary_every and n % summary_every == 1))
                for n in range(count)]
        name = "digest" if last else f"{day.year}-{k + 1:02d}"
        (root / "issues" / f"{name}.toml").write_text("\n".join(head) + "\n\n" + "\n".join(body))
    return root
