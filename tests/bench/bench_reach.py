"""The web archive's extras (tag pages, search index, sitemap, JSON Feed): what they cost a
cold build of a generated archive, with all of them on versus off, and the search index size.

Run: python tests/bench/bench_reach.py [--issues 500] [--runs 3]

"Off" is [site] tag_pages/search/sitemap = false and [feeds] formats = ["rss", "atom"]; the
pages' <head> metadata and JSON-LD are part of every page either way. Runs alternate on and
off so that the machine's noise falls on both; each is a cold build into an empty folder.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.bench_email import make_archive

OFF = {
    "PUBLISHER_SITE__TAG_PAGES": "false",
    "PUBLISHER_SITE__SEARCH": "false",
    "PUBLISHER_SITE__SITEMAP": "false",
    "PUBLISHER_FEEDS__FORMATS": '["rss", "atom"]',
}
ON = {"PUBLISHER_FEEDS__FORMATS": '["rss", "atom", "json"]'}


def generated_archive(root: Path, count: int) -> Path:
    """bench_email's archive, without the seeds' frozen-issue hashes: its articles are renamed,
    so a hash recorded for the example would make every issue a changed published issue."""
    import tomllib

    import tomlkit

    make_archive(root, count)
    for path in (root / "issues").glob("[!.]*.toml"):
        data = tomllib.loads(path.read_text())
        data.pop("content_hash", None)
        data.pop("number", None)
        path.write_text(tomlkit.dumps(data))
    return root


def cpu_seconds() -> float:
    """This process's and its finished children's (the render workers') CPU time."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cold_build(root: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one cold build: CPU time is less hurt by a busy machine."""
    from publisher.build import build

    # Cold: no earlier generation and no render cache (both live in .<out>.generations/).
    shutil.rmtree(out.parent / f".{out.name}.generations", ignore_errors=True)
    if out.is_symlink():
        out.unlink()
    saved = {k: os.environ.get(k) for k in {*OFF, *ON}}
    os.environ.update(env)
    try:
        start, cpu = time.perf_counter(), cpu_seconds()
        build(root, out=out)
        return time.perf_counter() - start, cpu_seconds() - cpu
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def extras_stage(root: Path) -> float:
    """render_web alone (tag pages, search, sitemap), over the whole archive."""
    from publisher.selection import select_all
    from publisher.theme import make_environment
    from publisher.web.pages import render_web
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    views = select_all(workspace, list(workspace.published))
    env = make_environment(None, workspace.config.email.utm)
    start = time.perf_counter()
    render_web(env, workspace.config, views)
    return time.perf_counter() - start


# The full records (with summaries) where the project's shared data sits beside the clone;
# otherwise the vendored slim copy (titles and tags only), which gives a lower estimate.
FULL = Path(__file__).resolve().parents[3] / "shared/data/gov-tech-articles.jsonl"
SLIM = Path(__file__).resolve().parents[1] / "data" / "gov-tech-articles.jsonl.gz"


def real_text_index(per_archive: int) -> tuple[int, int, int] | None:
    """The generated archive repeats the example's 46 articles, which flatters gzip. This
    indexes 2,928 real records (with summaries where ../shared/data is present) and scales to `per_archive`
    articles linearly: postings and stored titles grow with the articles, the vocabulary
    more slowly, so the estimate errs high. Returns (records, raw, gzip bytes) scaled."""
    import json

    from publisher.web.search import Document, minisearch_index

    text = FULL.read_text() if FULL.exists() else gzip.decompress(SLIM.read_bytes()).decode()
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    docs = [
        Document(str(n), (r.get("title") or "", r.get("summary") or "", " ".join(r.get("tags") or [])),
                 {"t": r.get("title") or "", "s": r.get("source") or "", "i": n // 15})
        for n, r in enumerate(rows)
    ]
    data = json.dumps(minisearch_index(docs), ensure_ascii=False, separators=(",", ":")).encode()
    scale = per_archive / len(rows)
    return len(rows), int(len(data) * scale), int(len(gzip.compress(data, 6)) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generated_archive(Path(tmp) / "ws", args.issues)
        out = Path(tmp) / "out"
        on, off = [], []
        for _ in range(args.runs):
            off.append(cold_build(root, out, OFF))
            on.append(cold_build(root, out, ON))
        index = (out / "search/index.js").read_bytes()
        library = (out / "search/minisearch.js").read_bytes()
        files = sum(1 for p in out.rglob("*") if p.is_file() and ".cache" not in p.parts)
        extras = extras_stage(root)
    for label, k in (("wall", 0), ("CPU", 1)):
        m_on, m_off = statistics.median(r[k] for r in on), statistics.median(r[k] for r in off)
        print(f"{args.issues}-issue archive, cold build, {label} time (median of {args.runs}): "
              f"extras on {m_on:.2f} s, off {m_off:.2f} s: +{(m_on / m_off - 1) * 100:.1f} %")
        print(f"  runs on: {', '.join(f'{r[k]:.2f}' for r in on)}; "
              f"off: {', '.join(f'{r[k]:.2f}' for r in off)}")
    print(f"  {files:,} files with the extras on")
    print(f"  the extras stage alone (tag pages, search index, sitemap): {extras:.2f} s")
    size = len(index) + len(library)
    zipped = len(gzip.compress(index, 6)) + len(gzip.compress(library, 6))
    print(f"  search page's scripts, what a query loads: {size / 1e6:.2f} MB, "
          f"{zipped / 1e6:.2f} MB gzip-compressed (index {len(index) / 1e6:.2f} MB raw)")
    articles = args.issues * 15
    if real := real_text_index(articles):
        records, raw, packed = real
        library_gz = len(gzip.compress(library, 6))
        source = "with summaries" if FULL.exists() else "vendored: titles and tags only"
        print(f"  real text ({source}): {records:,} gov-tech records scaled to {articles:,} articles: index "
              f"{raw / 1e6:.2f} MB raw, {(packed + library_gz) / 1e6:.2f} MB gzip with the library")


if __name__ == "__main__":
    main()
