"""The checks `check` and `build` run over a loaded workspace, beyond what loading enforces."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from publisher.errors import Problem
from publisher.validate import record_warnings
from publisher.workspace import Workspace

Check = Callable[[Workspace], Iterable[Problem]]


def check_records(workspace: Workspace) -> Iterable[Problem]:
    for issue in workspace.issues:
        yield from record_warnings(issue)


CHECKS: list[Check] = [check_records]


def run_checks(workspace: Workspace) -> list[Problem]:
    """Every problem found: loading's warnings first, then each check's, in order."""
    problems = list(workspace.warnings)
    for check in CHECKS:
        problems.extend(check(workspace))
    return problems
