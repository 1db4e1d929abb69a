"""The CLI side of `check --links`: which issues, and a progress bar while links are fetched."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from publisher.errors import Problem
from publisher.links.check import issues_to_check, link_problems
from publisher.links.places import issue_links
from publisher.workspace import Workspace


def checked_links(workspace: Workspace, issue_id: str | None, console: Console) -> list[Problem]:
    issues = issues_to_check(workspace, issue_id)
    total = len({p.url for i in issues for p in issue_links(i)})
    if total <= 5 or not console.is_terminal or not workspace.config.check.fetch:
        return link_problems(workspace, issues)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("Checking links", total=total)
        return link_problems(workspace, issues, progress=lambda n: bar.advance(task, n))
