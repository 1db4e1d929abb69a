"""Subscriber figures: a 100,000-row CSV import on SQLite (one transaction), and `serve`
answering RFC 8058 one-click unsubscribe POSTs (one uvicorn worker pinned to one core, the
load client in another process over keep-alive connections).

Run: python tests/bench/bench_subscribers.py [--rows 100000] [--posts 3000] [--runs 3] [--only import|serve]
Wall-clock figures depend on how busy the machine is; the script prints the load with them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
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

from tests.servers import SECRET, configure, free_port, serving  # noqa: E402


def write_csv(path: Path, rows: int, offset: int = 0) -> None:
    with path.open("w") as handle:
        handle.write("email,name\n")
        handle.writelines(f"Reader.{i}@Example{i % 97}.org,Reader {i}\n" for i in range(offset, offset + rows))


def bench_import(rows: int, runs: int) -> list[tuple[float, float]]:
    from publisher.delivery.db import open_ledger
    from publisher.delivery.imports import import_file
    from publisher.delivery.settings import SubscribersSettings

    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            write_csv(root / "list.csv", rows)
            engine = open_ledger(root, SubscribersSettings())
            start, cpu = time.perf_counter(), time.process_time()
            report = import_file(engine, root / "list.csv")
            times.append((time.perf_counter() - start, time.process_time() - cpu))
            assert len(report.added) == rows, len(report.added)
            engine.dispose()
    return times


def load_client(base: str, ids: list[int], concurrency: int, queue: multiprocessing.Queue[object]) -> None:
    """In its own process: POST one-click unsubscribes over `concurrency` keep-alive connections."""
    import httpx

    from publisher.delivery import tokens

    urls = [tokens.unsubscribe_url(base, i, SECRET.encode()) for i in ids]
    latencies: list[float] = []

    async def worker(client: httpx.AsyncClient, mine: list[str]) -> None:
        for url in mine:
            start = time.perf_counter()
            answer = await client.post(url, content=b"List-Unsubscribe=One-Click",
                                       headers={"content-type": "application/x-www-form-urlencoded"})
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.status_code

    async def main() -> tuple[float, float]:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            await asyncio.gather(*(worker(client, urls[k:k + WARM]) for k in range(0, WARM * concurrency, WARM)))
            latencies.clear()  # the first requests open and warm the connections
            queue.put("ready")
            while not os.path.exists(ids_go(ids)):  # start together with the other clients
                await asyncio.sleep(0.001)
            start = time.perf_counter()
            rest = urls[WARM * concurrency:]
            await asyncio.gather(*(worker(client, rest[k::concurrency]) for k in range(concurrency)))
            return start, time.perf_counter()

    start, end = asyncio.run(main())
    queue.put((start, end, latencies))


WARM = 20
GO = Path(tempfile.gettempdir()) / "bench-subscribers-go"


def ids_go(_ids: list[int]) -> str:
    return str(GO)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(base: str, ids: list[int], clients: int, concurrency: int, server: int) -> tuple[float, float, float, float]:
    """(requests/s seen by the clients, p99, p50, requests per server CPU-second)."""
    GO.unlink(missing_ok=True)
    queues = [multiprocessing.Queue() for _ in range(clients)]  # type: ignore[var-annotated]
    share = len(ids) // clients
    procs = [multiprocessing.Process(target=load_client, args=(base, ids[k * share:(k + 1) * share], concurrency, q))
             for k, q in enumerate(queues)]
    for proc in procs:
        proc.start()
    for q in queues:
        assert q.get(timeout=300) == "ready"
    cpu = cpu_seconds(server)
    GO.touch()
    results = [q.get(timeout=300) for q in queues]
    cpu = cpu_seconds(server) - cpu
    for proc in procs:
        proc.join()
    GO.unlink(missing_ok=True)
    latencies = [x for r in results for x in r[2]]  # type: ignore[index]
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)  # type: ignore[index]
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, quantiles[98], statistics.median(latencies), len(latencies) / max(cpu, 1e-9)


def bench_serve(posts: int, runs: int, clients: int, concurrency: int) -> list[tuple[float, float, float, float]]:
    from publisher.delivery.db import open_ledger
    from publisher.delivery.imports import import_file
    from publisher.delivery.settings import SubscribersSettings

    per_run = posts + WARM * concurrency * clients
    results = []
    with tempfile.TemporaryDirectory() as folder:
        ws = Path(folder) / "ws"
        ws.mkdir()
        shutil.copy(REPO / "config.toml", ws / "config.toml")
        port = free_port()
        configure(ws, "sqlite:///private/subscribers.db", port)
        write_csv(ws / "list.csv", runs * per_run)
        engine = open_ledger(ws, SubscribersSettings())
        import_file(engine, ws / "list.csv")
        engine.dispose()
        with serving(ws, port) as base:
            found = subprocess.run(["pgrep", "-f", f"serve --port {port}"], capture_output=True, text=True)
            server = int(found.stdout.split()[0])
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(server, {0})  # one core for the server; clients on the rest
            for run in range(runs):
                ids = list(range(1 + run * per_run, 1 + (run + 1) * per_run))
                results.append(one_run(base, ids, clients, concurrency, server))
    return results



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("import", "serve"), help="run one of the two")
    parser.add_argument("--clients", type=int, default=2, help="load client processes")
    parser.add_argument("--concurrency", type=int, default=2, help="keep-alive connections per client")
    args = parser.parse_args()
    print(machine_load())
    if args.only != "serve":
        bench_import_report(args.rows, args.runs)
    if args.only != "import":
        bench_serve_report(args)
    print(machine_load())


def machine_load() -> str:
    """How busy the machine is: wall-clock figures on a shared machine depend on it."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        pressure = Path("/proc/pressure/cpu").read_text().split()[1]  # some avg10=…
    except OSError:
        pressure = "cpu pressure unknown"
    return f"machine: {os.cpu_count()} cores, load average {load}, cpu {pressure.replace('=', ' ')}%"


def bench_import_report(rows: int, runs: int) -> None:
    walls, cpus = zip(*bench_import(rows, runs), strict=True)
    print(f"import {rows:,} rows into SQLite, one transaction: median {statistics.median(walls):.2f} s, "
          f"CPU {statistics.median(cpus):.2f} s (runs: {', '.join(f'{t:.2f}' for t in walls)}; target <= 5 s)")


def bench_serve_report(args: argparse.Namespace) -> None:
    served = bench_serve(args.posts, args.runs, args.clients, args.concurrency)
    rates, p99s, p50s, capacity = zip(*served, strict=True)
    print(f"serve, {args.posts:,} one-click unsubscribe POSTs per run from {args.clients} client processes x "
          f"{args.concurrency} keep-alive connections: median {statistics.median(rates):,.0f} req/s, "
          f"p99 {statistics.median(p99s) * 1000:.1f} ms, p50 {statistics.median(p50s) * 1000:.1f} ms "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}); server CPU: {statistics.median(capacity):,.0f} "
          "requests per CPU-second; target >= 500 req/s, p99 <= 20 ms")


if __name__ == "__main__":
    main()
