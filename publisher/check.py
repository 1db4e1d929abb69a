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


def check_rules(workspace: Workspace) -> Iterable[Problem]:
    """Section pins, sections empty in an issue, rule tags that match nothing."""
    from publisher.rules import empty_section_problems, pattern_problems, pin_problems

    config, archive = workspace.config, workspace.articles
    yield from pin_problems(config.sections, archive)
    yield from pattern_problems(config.sections, config.related, archive)
    yield from empty_section_problems(config.sections, archive)


CHECKS: list[Check] = [check_records, check_rules]


def run_checks(workspace: Workspace) -> list[Problem]:
    """Every problem found: loading's warnings first, then each check's, in order."""
    problems = list(workspace.warnings)
    for check in CHECKS:
        problems.extend(check(workspace))
    return problems
