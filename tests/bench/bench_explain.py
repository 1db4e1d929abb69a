"""Issue 12's `explain` row and the load cache: `python -m publisher explain ID` of one issue
in a generated 100,000-article archive (6,700 issues x 15), as whole processes, cold (no
load cache) and warm (after one earlier explain), medians of several runs; and
load_workspace cold and warm at 500 and 5,000 issues, each in a fresh process.

It asserts nothing about time; it asserts that explain prints the same, cold or warm.
The archives are tests/bench/bench_incremental.py's (make_archive), generated once per run
in a temporary folder (or in --keep DIR, reused by the next run that names it).

Run: python tests/bench/bench_explain.py [--runs 5] [--issues 6700] [--keep DIR] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.bench_incremental import make_archive  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
LOAD = (
    "import sys, time; from pathlib import Path\n"
    "from publisher.workspace import load_workspace\n"
    "start = time.perf_counter(); load_workspace(Path(sys.argv[1]))\n"
    "print(time.perf_counter() - start)\n"
)


def archive(base: Path, issues: int) -> Path:
    """The generated archive of `issues` issues x 15 articles, made once in `base`."""
    root = base / f"ws{issues}"
    if not (root / "issues" / ".published.toml").is_file():
        shutil.rmtree(root, ignore_errors=True)
        made = time.perf_counter()
        make_archive(root, issues)
        print(f"generated {issues:,} issues x 15 articles in {time.perf_counter() - made:.0f} s")
    return root


def drop_cache(root: Path) -> None:
    """No load (or selection) cache: what a first command after a clone finds."""
    shutil.rmtree(root / ".build.generations" / "cache", ignore_errors=True)


def explain(root: Path, issue: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "publisher", "explain", issue, "--root", str(root)],
                          env=ENV, capture_output=True, text=True)  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"explain {issue} failed:\n{done.stderr}")
    return elapsed, done.stdout


def load(root: Path) -> float:
    done = subprocess.run([sys.executable, "-c", LOAD, str(root)], env=ENV, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return float(done.stdout)


def explain_rows(root: Path, runs: int, issues: list[str]) -> None:
    for issue in issues:
        cold, warm, outputs = [], [], set()
        for _ in range(runs):
            drop_cache(root)
            seconds, out = explain(root, issue)
            cold.append(seconds)
            outputs.add(out)
        for _ in range(runs):
            seconds, out = explain(root, issue)
            warm.append(seconds)
            outputs.add(out)
        assert len(outputs) == 1, f"explain {issue} printed different things cold and warm"
        lines = len(outputs.pop().splitlines())
        print(f"  explain {issue:<8} cold {statistics.median(cold):6.2f} s   "
              f"warm {statistics.median(warm):6.2f} s   ({lines} lines, same cold and warm)")


def load_rows(root: Path, runs: int, label: str) -> None:
    cold = []
    for _ in range(runs):
        drop_cache(root)
        cold.append(load(root))
    warm = [load(root) for _ in range(runs)]
    print(f"  load_workspace {label:<28} cold {statistics.median(cold):6.2f} s   "
          f"warm {statistics.median(warm):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--issues", type=int, default=6700, help="of the explain archive")
    parser.add_argument("--keep", type=Path, help="generate the archives here, and keep them")
    parser.add_argument("--quick", action="store_true", help="2 runs, no 5,000-issue load row")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-explain-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
          f"medians of {runs} whole processes")  # fmt: skip
    try:
        big = archive(base, args.issues)
        last, middle = f"i{args.issues - 1:05d}", f"i{args.issues // 2:05d}"
        print(f"\n{args.issues:,} issues x 15 ({args.issues * 15:,} articles):")
        explain_rows(big, runs, [last, middle])
        load_rows(big, runs, f"{args.issues:,} issues")
        for issues in [500] if args.quick else [500, 5000]:
            load_rows(archive(base, issues), runs, f"{issues:,} issues x 15")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
