"""Import throughput: giantbomb-podcast.rss (730 items, 1.6 MB) into a fresh draft; budget 1.5 s.

Run: python tests/bench/bench_import.py [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from publisher.edit import new_issue
from publisher.importers import Options, import_into
from publisher.scaffold import create_workspace

FEED = (
    Path(__file__).resolve().parents[3]
    / "shared/fixtures/feeds/real/rssparser__giantbomb-podcast.rss"
)
BUDGET = 1.5


def fresh_workspace(folder: Path) -> Path:
    root = folder / "ws"
    create_workspace(root, date(2024, 5, 1))
    new_issue(root, "2024-20", date(2024, 5, 17), "Bench", root / "templates")
    return root


def one_run() -> tuple[float, float, int]:
    """Wall and CPU seconds for one import in this process (load, parse, map, dedupe,
    validate, write); CPU time is the fairer figure on a machine shared with other work."""
    with tempfile.TemporaryDirectory() as tmp:
        root = fresh_workspace(Path(tmp))
        start, cpu = time.perf_counter(), time.process_time()
        report = import_into(root, str(FEED), "2024-20", Options())
        return time.perf_counter() - start, time.process_time() - cpu, len(report.added)


def one_cli_run() -> float:
    """Seconds for `publisher import` as a user runs it, interpreter start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        root = fresh_workspace(Path(tmp))
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "publisher", "import", str(FEED), "--into", "2024-20"],
            cwd=root, check=True, capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    one_run()  # warm-up: imports and caches
    timings, cpu, added = zip(*(one_run() for _ in range(runs)), strict=True)
    median = statistics.median(timings)
    cli = statistics.median(one_cli_run() for _ in range(3))
    size = FEED.stat().st_size / 1e6
    print(f"import {FEED.name} ({size:.1f} MB, {added[0]} articles added)")
    print(f"  in-process: median {median:.3f} s over {runs} runs (min {min(timings):.3f} s)")
    print(f"  CPU time: median {statistics.median(cpu):.3f} s")
    print(f"  CLI end to end (python start-up included): median {cli:.3f} s over 3 runs")
    verdict = "within" if median <= BUDGET else "OVER"
    print(f"  budget {BUDGET} s: {verdict}")


if __name__ == "__main__":
    main()
