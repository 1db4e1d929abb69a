"""Import throughput: a generated 730-item, 1.6 MB podcast RSS into a fresh draft; budget 1.5 s.

The feed is written by this script in the shape of a real podcast feed (itunes and media
namespaces, enclosures, HTML descriptions), so the benchmark needs nothing outside the repo.

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

BUDGET = 1.5
ITEMS = 730
FEED = Path(tempfile.gettempdir()) / f"publisher-bench-podcast-{ITEMS}.rss"
NS = (
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom"'
)


def feed_item(n: int) -> str:
    day = date(2019, 10, 1).toordinal() - 7 * n
    when = date.fromordinal(day).strftime("%a, %d %b %Y 14:30:00 PST")
    words = " ".join(f"game{(n * 7 + k) % 97} &amp; talk{k}" for k in range(20))
    mp3 = f"https://media.example.net/podcasts/download/{n}/episode-{n}.mp3"
    return f"""    <item>
      <title>Weekly Podcast {ITEMS - n}: Episode of the week {n}</title>
      <link>https://podcast.example.net/shows/{ITEMS - n}-episode/2970-{n}/free-podcast</link>
      <description>Video games! {words}... Surely we talk about stuff besides games too.</description>
      <pubDate>{when}</pubDate>
      <guid isPermaLink="false">1600-{n}</guid>
      <itunes:subtitle>Video games! {words}</itunes:subtitle>
      <itunes:summary>Video games! {words}</itunes:summary>
      <itunes:author>The hosts</itunes:author>
      <itunes:duration>{9000 + n}</itunes:duration>
      <itunes:keywords>podcast, video games, PC, consoles, news, reviews</itunes:keywords>
      <itunes:image href="https://media.example.net/uploads/{n}-marquee.jpg" />
      <media:content url="{mp3}" fileSize="{10**8 + n}" type="audio/mpeg"/>
      <enclosure url="{mp3}" length="{10**8 + n}" type="audio/mpeg"/>
    </item>
"""


def write_feed() -> Path:
    items = "".join(feed_item(n) for n in range(ITEMS))
    FEED.write_text(
        f'<?xml version="1.0" encoding="utf-8" ?>\n<rss {NS} version="2.0">\n<channel>\n'
        "  <title>Weekly Podcast</title>\n  <link>https://podcast.example.net/</link>\n"
        f"  <description>A generated podcast feed.</description>\n{items}</channel>\n</rss>\n",
        encoding="utf-8",
    )
    return FEED


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
    write_feed()
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
