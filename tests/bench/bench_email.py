"""Email rendering figures: render+inline per issue, a 500-issue cold build, a no-op rebuild.

Run: python tests/bench/bench_email.py [--issues 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

import tomlkit

REPO = Path(__file__).resolve().parents[2]


def make_archive(root: Path, count: int) -> Path:
    """A workspace of `count` published weekly issues, cycled from the example archive."""
    (root / "issues").mkdir(parents=True)
    shutil.copy(REPO / "config.toml", root / "config.toml")
    seeds = [tomllib.loads(p.read_text()) for p in sorted((REPO / "issues").glob("[!.]*.toml"))]
    for n in range(count):
        data = dict(seeds[n % len(seeds)])
        year, week = 2000 + n // 52, n % 52 + 1
        data["date"] = data["date"].replace(year=year)
        data["status"] = "published"
        data["articles"] = [
            {**a, "id": f"{a['id']}-{n}", "url": f"{a['url']}?n={n}",
             "published": a["published"].replace(year=year)}
            for a in data["articles"]
        ]
        (root / "issues" / f"{year}-{week:02d}.toml").write_text(tomlkit.dumps(data))
    return root


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def median_of(runs: int, func) -> float:
    return statistics.median(timed(func) for _ in range(runs))


def bench_per_issue(runs: int) -> tuple[float, float]:
    """Median render+inline time of one example issue, and of premailer's inlining alone."""
    from publisher.email import email_css, unsubscribe_url
    from publisher.inline import inline_css
    from publisher.render import render_issue
    from publisher.selection import select_all
    from publisher.theme import make_environment
    from publisher.workspace import load_workspace

    workspace = load_workspace(REPO)
    views = select_all(workspace, list(workspace.published))
    env = make_environment(None, workspace.config.email.utm)
    render_issue(env, views[0])  # warm the template and CSS parsing caches
    whole = [timed(lambda v=v: render_issue(env, v)) for _ in range(runs) for v in views]
    pages = [
        env.get_template("email.html").render(
            view=v, config=v.config, css=email_css(env), unsubscribe_url=unsubscribe_url(v.config)
        )
        for v in views
    ]
    url = workspace.config.newsletter.url
    inline = [timed(lambda p=p: inline_css(p, url)) for _ in range(runs) for p in pages]
    return statistics.median(whole), statistics.median(inline)


def bench_archive(count: int, runs: int) -> dict[str, float]:
    """A cold build of `count` issues, no-op rebuilds (median), and a rebuild after one edit."""
    from publisher.build import build

    with tempfile.TemporaryDirectory() as tmp:
        root = make_archive(Path(tmp) / "ws", count)
        out = Path(tmp) / "out"
        cold = timed(lambda: build(root, out=out))
        noop = median_of(runs, lambda: build(root, out=out))
        latest = max((root / "issues").glob("[!.]*.toml"))
        latest.write_text(latest.read_text().replace("This week", "This busy week", 1))
        edited = timed(lambda: build(root, out=out))
        stages = _render_stage(root, out, runs)
    return {"cold": cold, "noop": noop, "edited": edited, **stages}


def _render_stage(root: Path, out: Path, runs: int) -> dict[str, float]:
    """The render stage alone: cold on every core, then every issue from the cache."""
    from publisher.cache import IssueCache
    from publisher.render import Theme, render_issues
    from publisher.selection import select_all
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    select = timed(lambda: select_all(workspace, list(workspace.issues)))
    views = select_all(workspace, list(workspace.issues))
    theme = Theme(None, dict(workspace.config.email.utm))
    cold = timed(lambda: render_issues(theme, views, IssueCache(None)))
    cached = median_of(runs, lambda: render_issues(theme, views, IssueCache(out)))
    return {"select": select, "render_cold": cold, "render_cached": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    whole, inline = bench_per_issue(args.runs)
    print(f"per issue (example archive, median): render+inline {whole * 1000:.1f} ms, "
          f"of which premailer inlining {inline * 1000:.1f} ms")
    figures = bench_archive(args.issues, args.runs)
    print(f"{args.issues}-issue archive: cold build {figures['cold']:.2f} s; "
          f"no-op rebuild {figures['noop']:.3f} s (median of {args.runs}); "
          f"rebuild after editing the latest issue {figures['edited']:.2f} s")
    from publisher.render import available_cores

    print(f"  render stage: cold on {available_cores()} cores {figures['render_cold']:.2f} s; "
          f"every issue from the cache {figures['render_cached']:.2f} s "
          f"(select, for comparison: {figures['select']:.2f} s)")


if __name__ == "__main__":
    main()
