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


def check_feed_tags(workspace: Workspace) -> Iterable[Problem]:
    """A per-tag feed for a tag no article carries would stay empty forever."""
    carried = {t for _, article in workspace.articles for t in article.tags}
    for tag in workspace.config.feeds.tags:
        if tag not in carried:
            yield Problem(
                "config.toml",
                f"no article carries the tag '{tag}', so its feed stays empty",
                "[feeds]",
                "tags",
                "check the spelling against the articles' tags, or remove it",
                "warning",
            )


def check_future_issues(workspace: Workspace) -> Iterable[Problem]:
    """A published issue dated after today: readers see a post from the future."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(workspace.config.newsletter.timezone)).date()
    for issue in workspace.published:
        if issue.date > today:
            yield Problem(
                f"issues/{issue.id}.toml",
                f"published, but dated {issue.date}, in the future",
                "issue",
                "date",
                'keep status = "draft" until it goes out, or correct the date',
                "warning",
            )


# Feed checks; `check` is the only place that looks at today's date, never a build's output.
CHECKS += [check_feed_tags, check_future_issues]
