"""A file in issues/ that is not a regular file is named, never read: a pipe would hang the load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("command", ["check", "build", "list"])
def test_a_pipe_among_the_issues_is_an_error_not_a_hang(example: Path, command: str) -> None:
    os.mkfifo(example / "issues" / "2030-01.toml")
    run = run_cli(command, cwd=example)  # run_cli's timeout fails the test if the pipe is read
    assert run.code == 1
    assert "issues/2030-01.toml: is not a regular file" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert not (example / "build").exists()
