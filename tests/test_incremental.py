"""Incremental builds (issue 12): a no-op decided before any heavy import, digests that do
not depend on how --root is spelled, and each kind of edit rebuilding exactly what changes,
into a result equal to a cold build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example, run_cli

HEAVY = ("jinja2", "premailer", "numpy", "feedgen", "lxml", "pydantic")


def cli_modules(ws: Path, *args: str) -> tuple[str, set[str]]:
    """Run the CLI in a new process; its output and the modules it imported."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['publisher', *{list(args)!r}]\n"
        "try:\n    runpy.run_module('publisher', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "finally:\n    print('\\nMODULES=' + ','.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ws, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text, _, modules = done.stdout.rpartition("\nMODULES=")
    return text, set(modules.strip().split(","))


def test_a_no_op_build_imports_nothing_heavy(example: Path) -> None:
    assert run_cli("build", cwd=example).code == 0
    text, modules = cli_modules(example, "build")
    assert "(0 changed)" in text
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


def test_an_edit_is_noticed_by_the_no_op_check(example: Path) -> None:
    assert run_cli("build", cwd=example).code == 0
    config = example / "config.toml"
    config.write_text(config.read_text().replace("limit = 20 ", "limit = 19 ", 1))
    text, modules = cli_modules(example, "build")
    assert "(0 changed)" not in text and "jinja2" in modules


def test_the_stamp_does_not_depend_on_how_root_is_spelled(example: Path) -> None:
    assert run_cli("build", "--root", ".", cwd=example).code == 0
    again = run_cli("build", "--root", str(example.resolve()), cwd=example.parent)
    assert again.code == 0 and "(0 changed)" in again.stdout, again.stdout
    moved = run_cli("build", "--root", example.name, cwd=example.parent)
    assert "(0 changed)" in moved.stdout


def manifest_of(ws: Path) -> dict[str, object]:
    home = ws / ".build.generations"
    number = os.readlink(ws / "build").rsplit("/", 1)[-1]
    data: dict[str, object] = json.loads((home / f"{number}.json").read_text())
    return data


@pytest.fixture
def built(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws")
    assert run_cli("build", cwd=ws).code == 0
    return ws
