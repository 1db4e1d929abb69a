"""Issue 14's extras stage alone: the CPU of publisher.web.pages.render_web (tag pages, search
page and index, sitemap, robots.txt) on bench_incremental's generated archive (500 issues of
15 articles, 120 topic and 40 country tags). Each run is a fresh process, so no cache of an
earlier run flatters the next (in a cold build render_web runs once): the medians are of
first calls. Its parts are timed the same way, in that order, in other fresh processes.
--digest FILE writes a sha256 per output path, to compare two versions of the code byte
for byte (`diff` the two files); against code from before tag pages came in pages, set
PUBLISHER_SITE__TAG_PAGE_SIZE=100000 (one page a tag, as then).

Run: python tests/bench/bench_web.py [--issues 500] [--runs 5] [--keep DIR] [--digest FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.bench_incremental import make_archive  # noqa: E402

PARTS = ("tag_pages()", "render_tag_pages", "render_search")


def once(root: Path, parts: bool, digest: Path | None) -> dict[str, float]:
    """CPU seconds of render_web (or of its parts) as first called in this process."""
    from publisher.selection import select_all
    from publisher.theme import make_environment
    from publisher.web import pages
    from publisher.web.tags import tag_pages
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    config = workspace.config
    views = select_all(workspace, list(workspace.published))
    env = make_environment(None, config.email.utm)
    published = [v for v in views if v.issue.is_published]
    clock = time.process_time
    if parts:
        start = clock()
        tags = tag_pages(config, published)
        t1 = clock()
        pages.render_tag_pages(env, config, tags)
        t2 = clock()
        pages.render_search(env, config, published)
        t3 = clock()
        return dict(zip(PARTS, (t1 - start, t2 - t1, t3 - t2), strict=True))
    start = clock()
    files = pages.render_web(env, config, views)
    seconds = clock() - start
    if digest:
        digest.write_text("".join(
            f"{hashlib.sha256(data).hexdigest()} {path}\n" for path, data in sorted(files.items())
        ))
    return {"render_web": seconds, "files": len(files)}


def run(root: Path, *flags: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, __file__, "--keep", str(root), "--once", *flags],
                          env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="make (or reuse) the archive in this folder")
    parser.add_argument("--digest", type=Path, help="write 'sha256 path' of every output here")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parts", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(once(args.keep, args.parts, args.digest)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "ws"
        if not (root / "issues").is_dir():
            make_archive(root, args.issues)
        digest = ["--digest", str(args.digest.resolve())] if args.digest else []
        whole = [run(root, *digest)] + [run(root) for _ in range(args.runs - 1)]
        split = [run(root, "--parts") for _ in range(args.runs)]
        print(f"{args.issues} issues, {int(whole[0]['files'])} files written by render_web")
        print(f"\n| part | CPU s, median of {args.runs} fresh processes |\n|---|---|")
        print(f"| render_web | {statistics.median(r['render_web'] for r in whole):.3f} |")
        for name in PARTS:
            print(f"| {name} | {statistics.median(r[name] for r in split):.3f} |")


if __name__ == "__main__":
    main()
