"""Where a cold build's CPU goes, per stage, in one process (issue 12's cold rows): the cold
selection of the whole generated archive, and the render of one issue split into its parts
(the email's template, premailer's inlining, the text part, the web page, the feed entry,
the .eml), plus what a view costs to pickle to a worker. CPU seconds (process time),
medians of several runs.

Run: python tests/bench/bench_cold.py [--issues 500] [--articles 15] [--runs 3]
                                      [--sample 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def median_cpu(runs: int, func: Callable[[], Any]) -> float:
    return statistics.median(cpu(func) for _ in range(runs))


def selection(workspace: Workspace) -> list[IssueView]:
    """A cold selection (no cache), in this process only."""
    return select_cached(workspace, [i for i in workspace.issues if i.articles], SelectionCache(None))


def stages(root: Path, views: list[IssueView]) -> dict[str, Callable[[], Any]]:
    """Each part of render_issue, over the sampled views; inputs computed beforehand."""
    env = Theme(root / "templates", dict(views[0].config.email.utm)).environment()
    docs = [email_document(env, v) for v in views]
    html = [inline_css(d, v.config.newsletter.url) for d, v in zip(docs, views, strict=True)]
    text = [render_email_text(env, v) for v in views]
    entry = env.get_template(FEED_ENTRY)
    files = [render_issue(env, v) for v in views]
    return {
        "render_issue (all)": lambda: [render_issue(env, v) for v in views],
        "  email template": lambda: [email_document(env, v) for v in views],
        "  inline (premailer)": lambda: [
            inline_css(d, v.config.newsletter.url) for d, v in zip(docs, views, strict=True)],
        "  text part": lambda: [render_email_text(env, v) for v in views],
        "  web page": lambda: [render_issue_page(env, v) for v in views],
        "  feed entry": lambda: [entry.render(view=v, config=v.config) for v in views],
        "  .eml": lambda: [build_eml(v, t, h) for v, t, h in zip(views, text, html, strict=True)],
        "  pickle view (to worker)": lambda: [pickle.loads(pickle.dumps(v)) for v in views],
        "  pickle files (back)": lambda: [pickle.loads(pickle.dumps(f)) for f in files],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--articles", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100, help="issues rendered per run")
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
        views = selection(workspace)
        sample = views[len(views) // 2 :][: args.sample]  # later issues: a full archive behind them
        print(f"{len(views)} issues x {args.articles} articles; CPU seconds, median of {args.runs}")
        print(f"selection, cold, one process: {median_cpu(args.runs, lambda: selection(workspace)):.2f} s")
        for name, func in stages(root, sample).items():
            func()  # warm: templates compiled, stylesheet parsed, as in a worker after its first issue
            ms = median_cpu(args.runs, func) / len(sample) * 1000
            print(f"{name:<24} {ms:6.2f} ms an issue")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
