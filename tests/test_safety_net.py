"""The last safety net (exit 70 with a saved report), template blame, and `init` refusals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, run_cli

# A command that fails as a bug would: registered on the real app, run through the real main.
BOOM = """
import os, sys
from publisher import cli

@cli.app.command("boom")
def boom() -> None:
    raise RuntimeError("unexpected, with " + os.environ["PUBLISHER_SECRET"])

sys.argv = ["publisher", "boom"]
cli.main()
"""


def test_an_unexpected_error_prints_one_line_and_saves_a_report(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PUBLISHER_SECRET": "s3cret-value-42",
           "TMPDIR": str(tmp_path)}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", BOOM], capture_output=True, text=True, env=env)
    assert proc.returncode == 70
    (line,) = proc.stderr.splitlines()
    assert line.startswith("internal error while running 'publisher boom' (RuntimeError)")
    assert "Traceback" not in proc.stderr and "s3cret-value-42" not in proc.stderr
    report = Path(re.search(r"saved to (\S+?)\.? Please", line).group(1))  # type: ignore[union-attr]
    assert report.parent == tmp_path and report.stat().st_mode & 0o077 == 0, "private to the user"
    text = report.read_text()
    assert "Traceback" in text and "RuntimeError" in text and "publisher boom" in text
    assert "s3cret-value-42" not in text and "[PUBLISHER_SECRET redacted]" in text


def test_an_undefined_template_variable_names_the_file_and_line(example: Path) -> None:
    (example / "templates").mkdir()
    (example / "templates/article.html").write_text("<p>\n{{ article.title }}\n{{ artcle.url }}\n")
    for command in ("check", "build"):
        run = run_cli(command, cwd=example)
        assert run.code == 1 and "Traceback" not in run.stderr
        assert "error: templates/article.html:3: template error: 'artcle' is undefined" in run.stderr


def test_init_never_replaces_a_file_and_names_a_folder_it_cannot_use(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    run = run_cli("init", str(a_file), cwd=tmp_path)
    assert run.code == 2 and "Traceback" not in run.stderr
    assert f"error: {a_file}: is a file, not a folder" in run.stderr and a_file.read_text() == "mine"
    nope = run_cli("init", "/proc/nope", cwd=tmp_path)
    assert nope.code == 2 and "error: /proc/nope" in nope.stderr and "Traceback" not in nope.stderr
    half = tmp_path / "half"
    created = run_cli("init", str(half), cwd=tmp_path)
    assert created.code == 0, created.stderr
    (issue,) = (half / "issues").glob("2*.toml")
    (half / "config.toml").unlink()
    issue.write_text("# my own issue\n")
    again = run_cli("init", str(half), cwd=tmp_path)
    assert again.code == 2 and "exists already" in again.stderr
    assert issue.read_text() == "# my own issue\n" and not (half / "config.toml").exists()


def test_none_of_the_issue_cases_reach_the_net(example: Path) -> None:
    """A few of issue 9's cases, spot-checked for the net's words (the broad table in
    test_adversarial.py asserts the same for every case)."""
    config = example / "config.toml"
    config.write_text(config.read_text().replace('timezone = "Europe/Brussels"', 'timezone = "Mars/Olympus"'))
    for command in (("check",), ("build",), ("explain", "2024-16")):
        run = run_cli(*command, cwd=example, env={"PUBLISHER_EMAIL": "oops"})
        assert run.code == 1 and "internal error" not in run.stderr and "Traceback" not in run.stderr
