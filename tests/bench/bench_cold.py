"""Where a cold build's CPU goes, per stage, in one process (issue 12's cold rows): the cold
selection of the whole generated archive, and the render of one issue split into its parts
(the email's template, premailer's inlining, the text part, the web page, the feed entry,
the .eml), plus what pickling costs between a worker and the build. CPU seconds (process time),
medians of several runs, each run in a forked child so that no run warms the caches of the
next (a build's workers start from their parent's, and render a few hundred issues each).

Run: python tests/bench/bench_cold.py [--issues 500] [--articles 15] [--runs 3]
                                      [--sample 125] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from publisher.email import build_eml, email_document, render_email_text  # noqa: E402
from publisher.inline import inline_css  # noqa: E402
from publisher.render import FEED_ENTRY, Theme, render_issue  # noqa: E402
from publisher.selectcache import SelectionCache, select_cached  # noqa: E402
from publisher.selection import IssueView  # noqa: E402
from publisher.site import render_issue_page  # noqa: E402
from publisher.workspace import Workspace, load_workspace  # noqa: E402
from tests.bench.bench_incremental import make_archive  # noqa: E402


def cpu(func: Callable[[], Any]) -> float:
    start = time.process_time()
    func()
    return time.process_time() - start


def in_child(func: Callable[[], dict[str, float]]) -> dict[str, float]:
    """func's figures from a forked child: each run starts with this process's caches, as
    a build's worker starts with its parent's, and warms none of them for the next run."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, json.dumps(func()).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        figures: dict[str, float] = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    return figures


def selection(workspace: Workspace) -> list[IssueView]:
    """A cold selection (no cache), in this process only."""
    return select_cached(workspace, [i for i in workspace.issues if i.articles], SelectionCache(None))


STAGES = ["email template", "inline (premailer)", "text part", "web page", "feed entry", ".eml"]


def render_stages(env: Environment, views: list[IssueView]) -> dict[str, float]:
    """CPU seconds of each part of render_issue over the views, in render_issue's order."""
    totals = dict.fromkeys(STAGES, 0.0)
    entry = env.get_template(FEED_ENTRY)

    def timed(stage: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        result = func(*args, **kwargs)
        totals[stage] += time.process_time() - start
        return result

    for v in views:
        document = timed("email template", email_document, env, v)
        html = timed("inline (premailer)", inline_css, document, v.config.newsletter.url)
        text = timed("text part", render_email_text, env, v)
        timed("web page", render_issue_page, env, v)
        timed("feed entry", entry.render, view=v, config=v.config)
        timed(".eml", build_eml, v, text, html)
    return totals


def pickling(views: list[IssueView], env: Environment) -> dict[str, float]:
    files = [render_issue(env, v) for v in views]
    # Forked workers inherit the views; spawned ones (not Linux) are sent them pickled.
    return {"view to a spawned worker": cpu(lambda: [pickle.loads(pickle.dumps(v)) for v in views]),
            "files back to the parent": cpu(lambda: [pickle.loads(pickle.dumps(f)) for f in files])}


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--articles", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=125, help="issues rendered per run")
    parser.add_argument("--keep", type=Path, help="generate the archive here (or reuse it)")
    args = parser.parse_args()
    tmp = None
    root = args.keep
    if root is None:
        tmp = tempfile.mkdtemp(prefix="bench-cold-")
        root = Path(tmp) / "archive"
    if not (root / "config.toml").exists():
        make_archive(root, args.issues, args.articles)
    try:
        workspace = load_workspace(root)
        print(f"{args.issues} issues x {args.articles} articles; CPU seconds, median of {args.runs}")
        # Selection first: a selection in this process would warm the children's caches.
        chosen = medians([in_child(lambda: {"s": cpu(lambda: selection(workspace))})
                          for _ in range(args.runs)])
        print(f"selection, cold, one process: {chosen['s']:.2f} s")
        views = selection(workspace)
        env = Theme(root / "templates", dict(workspace.config.email.utm)).environment()
        for v in views[:3]:
            render_issue(env, v)  # templates compiled, stylesheet parsed: as after a worker's first issue
        # Every other issue of the later half: one of two workers' share, a full archive behind it.
        sample = views[len(views) // 2 :: 2][: args.sample]
        parts = medians([in_child(lambda: render_stages(env, sample)) for _ in range(args.runs)])
        parts.update(medians([in_child(lambda: pickling(sample, env)) for _ in range(args.runs)]))
        print(f"render, per issue, over {len(sample)} issues in one fresh worker:")
        print(f"  {'all six parts':<24} {sum(parts[s] for s in STAGES) / len(sample) * 1000:6.2f} ms")
        for name, seconds in parts.items():
            print(f"  {name:<24} {seconds / len(sample) * 1000:6.2f} ms")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
