"""Bytes per link of email.html, both layouts, on generated digests of 20, 50 and 100 links
(no summaries, no images: a This Week in Rust-like issue), and the render+inline time.

Run: PYTHONPATH=. python tests/bench/bench_digest.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.digests import digest_workspace  # noqa: E402


def measure(root: Path, links: int, layout: str, runs: int) -> tuple[int, float]:
    """email.html bytes of the digest issue, and the median seconds to render and inline it."""
    from publisher.email import render_email_html
    from publisher.selection import select_all
    from publisher.theme import make_environment
    from publisher.workspace import load_workspace

    ws = digest_workspace(root, links, layout)
    workspace = load_workspace(ws)
    view = select_all(workspace, [workspace.issue("digest")])[0]
    env = make_environment(ws / "templates", dict(workspace.config.email.utm))
    size = len(render_email_html(env, view).encode())
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render_email_html(env, view)
        times.append(time.perf_counter() - start)
    return size, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'layout':<8} {'links':>5} {'email.html':>11} {'bytes/link':>10} {'marginal':>9} {'render ms':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("links", "stories"):
            sizes = {}
            for links in (20, 50, 100):
                size, seconds = measure(Path(tmp) / f"{layout}-{links}", links, layout, args.runs)
                sizes[links] = size
                marginal = "" if links == 20 else f"{(size - sizes[20]) / (links - 20):9.0f}"
                print(f"{layout:<8} {links:>5} {size:>11,} {size / links:>10.0f} {marginal:>9} {seconds * 1000:>9.0f}")


if __name__ == "__main__":
    main()
