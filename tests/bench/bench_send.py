"""Send figures: personalising 100,000 messages from one render (one core, no I/O), and
end to end to a local aiosmtpd (STARTTLS + AUTH) with 8 connections, journal on SQLite.

Run: python tests/bench/bench_send.py [--messages 100000] [--smtp 3000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from publisher.delivery import outgoing  # noqa: E402
from publisher.delivery.journal import Entry  # noqa: E402
from publisher.workspace import load_workspace  # noqa: E402
from tests.conftest import copy_example  # noqa: E402
from tests.sendkit import SECRET, add_subscribers, env, ledger, send, workspace  # noqa: E402
from tests.smtpd import smtp_server  # noqa: E402

NAMES = [None, "Ann Smith", "Zoë Ünïcødé", "O'Brien, Pat", "李小龍", None, "Jo", None]


def entries(count: int) -> list[Entry]:
    return [Entry(n + 1, f"reader{n}@example{n % 97}.org", NAMES[n % len(NAMES)], 0)
            for n in range(count)]


def bench_personalise(count: int, runs: int) -> tuple[float, float, int]:
    """Render once, then fill `count` messages (token, Message-ID, headers, both parts)."""
    folder = Path(tempfile.mkdtemp())
    ws_root = copy_example(folder / "ws")
    config = ws_root / "config.toml"
    config.write_text(config.read_text() + '\n[subscribers]\nendpoint = "https://lists.example.org/"\n')
    workspace_ = load_workspace(ws_root)
    _, view = outgoing.load_issue(ws_root, "2024-16", draft_ok=False)
    start = time.perf_counter()
    template = outgoing.issue_template(workspace_, view)
    render = time.perf_counter() - start
    personal = outgoing.personal_maker(workspace_.config, "2024-16", SECRET.encode())
    people = entries(count)
    times, size = [], 0
    for _ in range(runs):
        start = time.process_time()
        size = 0
        for entry in people:
            size += len(template.fill(personal(entry)))
        times.append(time.process_time() - start)
    return render, statistics.median(times), size // count


def bench_smtp(count: int, runs: int) -> list[tuple[float, float, float, float]]:
    """(wall time of `publisher send`, messages/s of its sending phase, the sender's CPU
    seconds) per run. The server (aiosmtpd, in this process) shares the two cores."""
    results = []
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp())
        with smtp_server(folder) as server:
            ws = workspace(folder / "ws", server, concurrency=8)
            engine = ledger(ws)
            add_subscribers(engine, [f"b{n}@example.org" for n in range(count)])
            start, cpu, own = time.perf_counter(), children_cpu(), own_cpu()
            result = send(ws, "2024-16", "--yes", environ=env())
            wall, cpu, own = time.perf_counter() - start, children_cpu() - cpu, own_cpu() - own
            assert result.code == 0 and server.mailbox.total() == count, result.stderr
        results.append((wall, phase_rate(engine, count), cpu, own))
    return results


def own_cpu() -> float:
    """This process's CPU: here, the aiosmtpd server's thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def phase_rate(engine: object, count: int) -> float:
    """Messages per second between the first and the last journal update (no start-up)."""
    from sqlalchemy import func, select

    from publisher.delivery.schema import send_journal

    with engine.connect() as db:  # type: ignore[attr-defined]
        first, last = db.execute(select(func.min(send_journal.c.updated_at),
                                        func.max(send_journal.c.updated_at))).one()
    return count / max((last - first).total_seconds(), 1e-6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--smtp", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for the fill
    render, fill, size = bench_personalise(args.messages, args.runs)
    print(f"render + inline once: {render * 1000:.0f} ms; personalise {args.messages:,} messages "
          f"({size:,} bytes each): median {fill:.2f} s CPU on one core "
          f"({args.messages / fill:,.0f} messages/s, {fill / args.messages * 1e6:.1f} µs each)")
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    load = os.getloadavg()[0]
    runs = bench_smtp(args.smtp, args.runs)
    walls, rates, cpus, servers = ([run[i] for run in runs] for i in range(4))
    print(f"end to end, {args.smtp:,} messages to local aiosmtpd (STARTTLS + AUTH, 8 connections, "
          f"SQLite journal): sending phase median {statistics.median(rates):,.0f} messages/s; "
          f"whole command median {statistics.median(walls):.1f} s "
          f"({args.smtp / statistics.median(walls):,.0f} messages/s with start-up); the sender's "
          f"CPU median {statistics.median(cpus):.1f} s ({statistics.median(cpus) / args.smtp * 1000:.2f} ms "
          f"a message, start-up included), the server's {statistics.median(servers) / args.smtp * 1000:.2f} ms "
          f"a message; load average before: {load:.1f}")


if __name__ == "__main__":
    main()
