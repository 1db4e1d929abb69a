"""Shared fixtures: copies of the example workspace and a real run of the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The CLI runs the tests start (`python -m publisher`) import the code under test, as the tests
# themselves do, whether or not the package is installed (`python3 -m pytest` in a bare clone).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
# Hermetic: publish and check --links fetch no real site (the example's links are made up);
# tests/test_links.py turns fetching on against its own server on 127.0.0.1.
os.environ.setdefault("PUBLISHER_CHECK__FETCH", "false")

pytest_plugins = ["tests.postgres"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run `publisher ARGS` as a user would: a new process, real exit code and streams;
    `env` adds variables to this process's environment."""
    proc = subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, **env} if env else None,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def copy_example(dest: Path) -> Path:
    """A private copy of the repository's example newsletter (config.toml and issues/)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.toml", dest / "config.toml")
    shutil.copytree(REPO / "issues", dest / "issues")
    return dest


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A small generated archive (14 issues of 3 articles, published, never frozen), built."""
    from publisher.build import build
    from tests.archive import make_archive

    ws = make_archive(tmp_path / "ws", 14, articles=3)
    build(ws, parallel=False)
    return ws


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "ws")


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root (but the caches: `check` may warm the render cache), by relative path."""
    caches = (".cache", ".build.generations/cache/")
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith(caches)
    }
