"""Issue 12's figures: cold, no-op and incremental builds of a generated archive, as whole
`python -m publisher` processes, medians of several runs, each also as a ratio to the cold
build of the same run. After each kind of edit the incremental output is compared, whole
tree, with a clean cold build of the same workspace (an AssertionError if any byte differs).

Run: python tests/bench/bench_incremental.py [--issues 500] [--articles 15] [--runs 5]
                                             [--big] [--quick] [--keep DIR]
--big adds the 5,000-issue archive (and its peak RSS); --quick takes 2 runs per row.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import tomlkit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.trees import public_tree  # noqa: E402

TOPICS = [f"topic:t{n}" for n in range(120)]
LAST_DAY = date(2026, 11, 27)  # the editor's draft
COUNTRIES = [f"country:c{n}" for n in range(40)]


def make_archive(root: Path, count: int, per_issue: int = 15, seed: int = 12) -> Path:
    """`count` weekly issues of `per_issue` articles up to LAST_DAY: the example's articles, renamed, with
    Zipf-like extra tags; every issue but the last published and frozen (number, content hash,
    registry entry, as `publisher publish` records them); the last is the editor's draft."""
    rnd = random.Random(seed)
    (root / "issues").mkdir(parents=True)
    shutil.copy(REPO / "config.toml", root / "config.toml")
    seeds = [tomllib.loads(p.read_text()) for p in sorted((REPO / "issues").glob("[!.]*.toml"))]
    pool = [a for s in seeds for a in s["articles"]]
    zipf = [1 / (n + 1) for n in range(len(TOPICS))]
    # Weekly, ending on a fixed past day: a real archive has no published issue dated in the
    # future (5,000 weeks from 2000 would reach 2095, and every build would warn 3,600 times).
    start = LAST_DAY - timedelta(days=7 * (count - 1))
    for n in range(count):
        day = start + timedelta(days=7 * n)
        articles = []
        for k in range(per_issue):
            a = pool[(n * per_issue + k) % len(pool)]
            tags = list(a.get("tags", [])) + rnd.choices(TOPICS, zipf, k=2) + [rnd.choice(COUNTRIES)]
            articles.append({**a, "id": f"{a['id']}-{n}", "url": f"{a['url']}?n={n}",
                             "published": day - timedelta(days=rnd.randint(0, 6)),
                             "tags": list(dict.fromkeys(tags)),
                             "popularity": rnd.randint(1, 5000)})
        data = {"title": f"Issue {n}: {articles[0]['title']}", "date": day,
                "status": "draft" if n == count - 1 else "published",
                "intro": f"Week {n} of the archive. {seeds[n % len(seeds)].get('intro', '')}",
                "articles": articles}
        if n < count - 1:
            data["number"] = n + 1
        (root / "issues" / f"{_issue_id(n)}.toml").write_text(tomlkit.dumps(data))
    freeze(root)
    return root


def _issue_id(n: int) -> str:
    return f"i{n:05d}"


def freeze(root: Path, only: str | None = None) -> None:
    """Record each published issue's content hash, in its file and in issues/.published.toml,
    as `publisher publish` would (only: just that issue, as after a recorded correction)."""
    from publisher.frozen import REGISTRY, issue_hash
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    registry = root / "issues" / REGISTRY
    doc = tomlkit.parse(registry.read_text()) if registry.exists() else tomlkit.document()
    for issue in workspace.issues:
        if not issue.is_published or (only and issue.id != only):
            continue
        digest = issue_hash(issue)
        path = root / "issues" / f"{issue.id}.toml"
        text = path.read_text()
        lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("content_hash")]
        path.write_text(f'content_hash = "{digest}"\n' + "".join(lines))
        entry = tomlkit.table()
        entry.update({"number": issue.number, "date": issue.date, "content_hash": digest})
        doc[issue.id] = entry
    registry.write_text(tomlkit.dumps(doc))


# A child's ru_maxrss also counts the memory of the process it was forked from, until its
# exec: forked from this bench (which holds a generated archive and two whole output trees to
# compare, 3.5 GB at 5,000 issues), every publisher process would seem to take that much. So
# each is started from this small process, which times it and reports its peak.
MARK = "PUBLISHER_BENCH_RUN"
MEASURE = f"""
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n{MARK} {{usage.ru_maxrss}} {{time.perf_counter() - start}}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


class Runner:
    """Whole `python -m publisher` processes against one workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # As an installed publisher runs: pip compiles its bytecode at install, so a run never
        # compiles publisher's modules (PYTHONDONTWRITEBYTECODE, if set here, is dropped).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env = {**env, "PYTHONPATH": str(REPO)}
        self.peak_rss = 0  # the largest of any one command (its workers included), kB
        self.peak_of = ""  # the command whose process tree reached it

    def run(self, *args: str) -> float:
        """One publisher process, timed; its peak RSS (its workers' included) noted."""
        command = [sys.executable, "-m", "publisher", *args, "--root", str(self.root)]
        done = subprocess.run([sys.executable, "-c", MEASURE, *command],
                              env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"publisher {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        rss, elapsed = done.stderr.rstrip().rpartition(MARK)[2].split()
        if int(rss) > self.peak_rss:
            self.peak_rss, self.peak_of = int(rss), " ".join(args)
        return float(elapsed)

    def build(self) -> float:
        return self.run("build", "--drafts")

    def cold_reference(self, out: Path) -> float:
        """A clean cold build into `out` (its own generations and cache): the reference."""
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(out.parent / f".{out.name}.generations", ignore_errors=True)
        return self.run("build", "--drafts", "--out", str(out))

    def assert_same_as_cold(self, out: Path, what: str) -> float:
        seconds = self.cold_reference(out)
        built, cold = public_tree(self.root / "build"), public_tree(out)
        if built != cold:
            differ = sorted(k for k in built.keys() | cold.keys() if built.get(k) != cold.get(k))
            raise AssertionError(f"after '{what}' the incremental build differs from a cold one: {differ[:10]}")
        return seconds


def edit_title(root: Path, n: int) -> None:
    """Retitle the first article of the draft (the issue the editor is working on)."""
    path = sorted((root / "issues").glob("[!.]*.toml"))[-1]
    doc = tomlkit.parse(path.read_text())
    doc["articles"][0]["title"] = f"Edited title, take {n}"  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))


def edit_config(root: Path, section: str, key: str, value: object) -> None:
    path = root / "config.toml"
    doc = tomlkit.parse(path.read_text())
    doc[section][key] = value  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))


def weights(n: int) -> dict[str, float]:
    return {"country:*": 2.0 + (n % 2) * 0.5, "topic:*": 1.5, "region:*": 0.5, "*": 1.0}


def measure(root: Path, runs: int, big: bool) -> tuple[dict[str, list[float]], int, str]:
    r, ref = Runner(root), root.parent / "cold"
    rows: dict[str, list[float]] = {k: [] for k in (
        "cold", "noop", "title", "weights", "limit", "check", "check-cold", "explain")}
    r.build()  # the first build, so that the rest have one to start from
    for _ in range(runs):
        rows["noop"].append(r.build())
    rows["cold"].append(r.assert_same_as_cold(ref, "no-op"))

    def series(name: str, edit: Callable[[int], None]) -> None:
        for n in range(runs):
            edit(n)
            rows[name].append(r.build())
        rows["cold"].append(r.assert_same_as_cold(ref, name))

    series("title", lambda n: edit_title(root, n))
    series("weights", lambda n: edit_config(root, "related", "weights", weights(n + 1)))
    series("limit", lambda n: edit_config(root, "feeds", "limit", 21 if n % 2 == 0 else 20))
    for _ in range(runs):
        rows["check"].append(r.run("check"))
    latest = _issue_id(len(list((root / "issues").glob("[!.]*.toml"))) - 2)
    for _ in range(runs):
        rows["explain"].append(r.run("explain", latest))
    for _ in range(runs):
        shutil.rmtree(root / "build", ignore_errors=True)
        shutil.rmtree(root / ".build.generations", ignore_errors=True)
        rows["check-cold"].append(r.run("check"))
    while len(rows["cold"]) < runs:
        rows["cold"].append(r.cold_reference(ref))
    return rows, r.peak_rss, r.peak_of


LABELS = {
    "cold": "cold `build`",
    "noop": "no-op rebuild",
    "title": "one article title edited",
    "weights": "`[related] weights` edited",
    "limit": "`[feeds] limit` 20→21",
    "check": "`check` with a build present",
    "check-cold": "`check` with no `build/`",
    "explain": "`explain` of one issue",
}


def report(title: str, rows: dict[str, list[float]], rss: int | None, peak_of: str = "") -> None:
    cold = statistics.median(rows["cold"])
    print(f"\n{title}\n\n| Task | median | x cold | runs |\n|---|---|---|---|")
    for key, label in LABELS.items():
        times = rows[key]
        med = statistics.median(times)
        print(f"| {label} | {med:.2f} s | {med / cold:.3f} | {len(times)} |")
    if rss is not None:
        print(f"| peak RSS of any process | {rss / 1024:.0f} MB | | first reached by `{peak_of}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--articles", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="also the 5,000-issue archive")
    parser.add_argument("--quick", action="store_true", help="2 runs per row")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    sizes = [args.issues] + ([5000] if args.big else [])
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    for count in sizes:
        base = Path(tempfile.mkdtemp(dir=args.keep)) if args.keep else Path(tempfile.mkdtemp())
        try:
            made = time.perf_counter()
            root = make_archive(base / "ws", count, args.articles)
            print(f"generated {count} issues x {args.articles} articles in {time.perf_counter() - made:.1f} s")
            rows, rss, peak_of = measure(root, runs, count >= 5000)
            report(f"{count} issues x {args.articles} articles ({count * args.articles:,} articles), "
                   f"outputs identical to a cold build after each edit", rows, rss, peak_of)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
