"""`publisher init`: a new workspace of the same shape as the example."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from publisher.errors import Problem, UsageError
from publisher.output import write_atomic
from publisher.theme import builtin_templates

GITIGNORE = "build/\nprivate/\n"


def iso_week_id(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-{week:02d}"


def create_workspace(directory: Path, today: date | None = None) -> list[Path]:
    """Write config.toml and issues/<week>.toml; refuse to touch an existing workspace."""
    config = directory / "config.toml"
    if config.exists():
        raise UsageError(
            Problem(
                file=str(config),
                message="a workspace exists here already",
                hint="choose an empty or new folder",
            )
        )
    today = today or date.today()
    init = builtin_templates() / "init"
    issue = directory / "issues" / f"{iso_week_id(today)}.toml"
    issue_text = (init / "issue.toml").read_text().replace("{{DATE}}", today.isoformat())
    write_atomic(config, (init / "config.toml").read_bytes())
    write_atomic(issue, issue_text.encode())
    created = [config, issue]
    gitignore = directory / ".gitignore"
    if not gitignore.exists():  # build output and personal data (the subscriber ledger) stay out of git
        write_atomic(gitignore, GITIGNORE.encode())
        created.append(gitignore)
    return created
