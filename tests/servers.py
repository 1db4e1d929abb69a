"""Start `publisher serve` as a real subprocess on a free 127.0.0.1 port, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SECRET = "test-secret-0123456789-abcdefghij"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configure(ws: Path, database: str, port: int, **extra: object) -> None:
    """Append a [subscribers] table to the workspace's config.toml."""
    lines = ["", "[subscribers]", f'database = "{database}"', f'endpoint = "http://127.0.0.1:{port}/"']
    lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in extra.items()]
    with (ws / "config.toml").open("a") as handle:
        handle.write("\n".join(lines) + "\n")


@contextmanager
def serving(ws: Path, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """`publisher serve` running until the block ends; yields its base URL."""
    environment = {**os.environ, "PUBLISHER_SECRET": SECRET, **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "publisher", "serve", "--port", str(port), "--root", str(ws)],
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "subscribe", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {proc.communicate()[1]}") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
