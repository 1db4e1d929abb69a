"""Load and validate a generated archive of 500 issues x 15 articles (target <= 1 s).

Run: python tests/bench/bench_load.py [--issues 500] [--articles 15] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from publisher.workspace import load_workspace

REPO = Path(__file__).resolve().parents[2]
TAGS = [f"topic:t{n}" for n in range(60)] + [f"region:r{n}" for n in range(8)] + ["editors-choice"]


def article_toml(rng: random.Random, issue: int, n: int, day: date) -> str:
    tags = ", ".join(f'"{t}"' for t in rng.sample(TAGS, 4))
    return f'''
[[articles]]
id = "a{issue}-{n}"
title = "Article {n} of issue {issue}: a headline of ordinary length for a news digest"
url = "https://news.example.org/{issue}/{n}/a-headline-of-ordinary-length"
published = {day - timedelta(days=n % 5)}
category = "{rng.choice(["News", "Analysis", "Opinion"])}"
tags = [{tags}]
summary = """A summary of two sentences, with *emphasis* and a [link](https://example.org/x). It says why it matters."""
popularity = {rng.randint(10, 9000)}
image = {{ url = "https://img.example.org/{issue}-{n}.jpg", alt = "A picture", credit = "(c) example.org", width = 600, height = 338 }}
'''


def generate(root: Path, issues: int, articles: int, seed: int = 1) -> Path:
    """Write config.toml (the example's) and `issues` weekly issue files."""
    rng = random.Random(seed)
    (root / "issues").mkdir(parents=True)
    (root / "config.toml").write_text((REPO / "config.toml").read_text())
    start = date(2015, 1, 2)
    for i in range(issues):
        day = start + timedelta(weeks=i)
        head = f'title = "Issue {i}"\ndate = {day}\nstatus = "published"\nintro = "Intro of issue {i}."\n'
        body = "".join(article_toml(rng, i, n, day) for n in range(articles))
        (root / "issues" / f"{day.isocalendar()[0]}-{i:03d}.toml").write_text(head + body)
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--articles", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp), args.issues, args.articles)
        times, cpu = [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            workspace = load_workspace(root)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        count = len(workspace.articles)
    print(f"load+validate {args.issues} issues x {args.articles} articles ({count} articles):")
    print(f"  median {statistics.median(times):.3f} s over {args.runs} runs "
          f"(min {min(times):.3f} s, max {max(times):.3f} s); target <= 1 s")
    print(f"  median CPU time {statistics.median(cpu):.3f} s (less sensitive to a busy machine)")


if __name__ == "__main__":
    main()
