"""`publisher init`: a new workspace of the same shape as the example."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import tomlkit

from publisher.edit import set_after
from publisher.errors import Problem, UsageError
from publisher.frozen import REGISTRY, issue_hash, with_entry
from publisher.records import Issue
from publisher.theme import builtin_templates

# Build output and personal data (the subscriber ledger in private/) stay out of git. build is a
# symlink to a generation in .build.generations/, and "build/" would match only a folder.
GITIGNORE = "/build\n/.build.generations/\nprivate/\n"


def iso_week_id(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-{week:02d}"


def create_workspace(directory: Path, today: date | None = None) -> list[Path]:
    """Write config.toml and issues/<week>.toml; never replace a file that exists."""
    today = today or date.today()
    init = builtin_templates() / "init"
    config = directory / "config.toml"
    issue = directory / "issues" / f"{iso_week_id(today)}.toml"
    issue_text = (init / "issue.toml").read_text().replace("{{DATE}}", today.isoformat())
    issue_text, registry_text = frozen_example(issue_text, issue.stem)
    files = {
        config: (init / "config.toml").read_bytes(),
        issue: issue_text.encode(),
        issue.parent / REGISTRY: registry_text.encode(),
    }
    if existing := [path for path in files if path.exists()]:
        raise UsageError(
            Problem(
                file=str(existing[0]),
                message="exists already; init never replaces a file",
                hint="choose an empty or new folder",
            )
        )
    for path, data in files.items():
        create_exclusively(path, data)
    created = list(files)
    if not (gitignore := directory / ".gitignore").exists():  # a .gitignore of the user's own is kept
        create_exclusively(gitignore, GITIGNORE.encode())
        created.append(gitignore)
    return created


def frozen_example(text: str, issue_id: str) -> tuple[str, str]:
    """The example issue as `publish` leaves it (hash and number), and the registry entry."""
    doc = tomlkit.parse(text)
    set_after(doc, "status", "content_hash", "")
    set_after(doc, "content_hash", "number", 1)
    doc["content_hash"] = issue_hash(Issue(id=issue_id, **doc.unwrap()))
    issue = Issue(id=issue_id, **doc.unwrap())
    return tomlkit.dumps(doc), with_entry("", issue, 1)


def create_exclusively(path: Path, data: bytes) -> None:
    """Create the file, failing if anything is there by now (O_EXCL: no race with another
    writer); a folder that cannot be made is a usage error naming it."""
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise UsageError(Problem(str(folder), "is a file, not a folder", hint="choose a folder"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as exc:
        raise UsageError(Problem(str(path), "exists already; init never replaces a file")) from exc
    except OSError as exc:
        where = exc.filename or path
        reason = exc.strerror or str(exc)
        raise UsageError(
            Problem(str(where), f"cannot create it: {reason}", hint="choose a folder you can write to")
        ) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
