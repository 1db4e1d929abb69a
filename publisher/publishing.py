"""`publisher publish`: check, freeze the issue, and record what went out.

The issue file gets its status, number and content hash (publisher.edit, comments kept),
then the registry issues/.published.toml gets its entry (publisher.frozen). The file is
written first: an interruption in between leaves an issue whose own hash still holds, which
`check` accepts and `publish --amend` records; never a registry that disowns a file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from publisher.edit import amend_issue, folder_lock, issue_label, parse, publish_issue, read_text
from publisher.errors import Problem, RecordError, UsageError
from publisher.frozen import REGISTRY, articles_hash, issue_hash, with_entry
from publisher.output import write_atomic
from publisher.records import Issue


def publish(
    root: Path,
    issue_id: str,
    amend: bool = False,
    day: date | None = None,
    allow_dead_links: bool = False,
) -> tuple[Issue, list[Problem]]:
    """Publish a draft (or, with amend, record a correction of a published issue) once the
    checks and the issue's link checks (`check --links`; dead links only warn with
    allow_dead_links) find no error in it or across the archive. Returns it and the warnings."""
    from publisher.check import run_checks, scoped
    from publisher.selection import issue_number
    from publisher.workspace import load_workspace

    workspace = load_workspace(root, focus={issue_id})
    path = workspace.issue_path(issue_id)
    if not path.exists():
        hint = "see: publisher list"
        raise UsageError(Problem(issue_label(path), f"no issue '{issue_id}'", hint=hint))
    ignore = _own_frozen_problems(issue_id, amend)
    problems = [p for p in scoped(run_checks(workspace), workspace, {issue_id}) if _key(p) not in ignore]
    from publisher.links.check import link_problems

    problems += link_problems(workspace, [workspace.issue(issue_id)], allow_dead_links)
    if errors := [p for p in problems if p.is_error]:
        raise RecordError(errors)
    entry, current = workspace.registry.get(issue_id), workspace.issue(issue_id)
    number = entry.number if entry else (current.number or issue_number(workspace, current))
    if amend:
        recorded = entry.content_hash if entry else current.content_hash
        day = day or (date.today() if _changed_since(current, recorded) else None)
        issue = amend_issue(path, day, number, restore=entry is not None)
    else:
        _refuse_republish(path, current, entry.content_hash if entry else None)
        issue = publish_issue(path, number)
    record(root, issue, issue.number or number)
    return issue, problems


def _changed_since(issue: Issue, recorded: str) -> bool:
    """A real correction: the issue differs from the full hash recorded when it went out.
    An issue never frozen (no hash, or an older articles-only one) is recorded as it is."""
    if not recorded or recorded == articles_hash(issue.articles):
        return False
    return issue_hash(issue) != recorded


def _own_frozen_problems(issue_id: str, amend: bool) -> set[tuple[str, str]]:
    """What this command resolves: the issue's own "now a draft" (publishing it again), and
    with --amend its "changed after it was published"."""
    file = f"issues/{issue_id}.toml"
    return {(file, "status"), (file, "content_hash")} if amend else {(file, "status")}


def _key(problem: Problem) -> tuple[str, str]:
    return (problem.file, problem.field) if problem.is_error else ("", "")


def _refuse_republish(path: Path, issue: Issue, recorded: str | None) -> None:
    """Publishing again is for restoring an issue turned back into a draft, unchanged."""
    if parse(read_text(path), path).get("status") == "published":
        hint = f"to record a correction: publisher publish {issue.id} --amend"
        raise RecordError(Problem(issue_label(path), "the issue is published and frozen; cannot"
                                  " publish it again", "issue", "status", hint))  # fmt: skip
    if recorded and issue_hash(issue) != recorded:  # the hash leaves the status out
        raise RecordError(Problem(issue_label(path), "was published before with other content",
                                  "issue", "status", f"publisher publish {issue.id} --amend"
                                  " records the change as a correction"))  # fmt: skip


def record(root: Path, issue: Issue, number: int) -> None:
    """Set the issue's entry in issues/.published.toml, keeping the file's comments."""
    path = root / "issues" / REGISTRY
    with folder_lock(path.parent):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        write_atomic(path, with_entry(text, issue, number).encode("utf-8"))
