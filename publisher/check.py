"""The checks `check` and `build` run over a loaded workspace, beyond what loading enforces."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from publisher.errors import Problem
from publisher.validate import record_warnings
from publisher.workspace import Workspace

Check = Callable[[Workspace], Iterable[Problem]]


def check_records(workspace: Workspace) -> Iterable[Problem]:
    summaries = workspace.config.email.layout == "stories"
    for issue in workspace.issues:
        yield from record_warnings(issue, summaries)


def check_rules(workspace: Workspace) -> Iterable[Problem]:
    """Section pins, sections empty in an issue, rule tags that match nothing."""
    from publisher.rules import pattern_problems, pin_problems
    from publisher.selectcache import empty_section_warnings, views_for

    config, archive = workspace.config, workspace.articles
    yield from pin_problems(config.sections, archive)
    yield from pattern_problems(config.sections, config.related, archive)
    from publisher.loadcache import can_fork

    # One section pass, cached per issue and shared with the build that runs these checks;
    # on every core, as a build selects, unless threads make forking unsafe (preview).
    issues = [i for i in workspace.issues if i.articles]
    views, _ = views_for(workspace, selection_cache(workspace), issues, can_fork())
    yield from empty_section_warnings(workspace, views)


def selection_cache(workspace: Workspace) -> Path:
    """The cache area beside the workspace's default output folder."""
    from publisher.generations import Layout

    return Layout(Path(os.path.abspath(workspace.output))).cache


def check_templates(workspace: Workspace) -> Iterable[Problem]:
    """Every template UTF-8, parsable, and never including itself, before anything renders."""
    from publisher.theme import make_environment
    from publisher.theme_check import template_problems

    yield from template_problems(make_environment(workspace.root / workspace.config.build.templates),
                                 selection_cache(workspace))


CHECKS: list[Check] = [check_records, check_rules, check_templates]


def run_checks(workspace: Workspace, skip: Collection[Check] = ()) -> list[Problem]:
    """Every problem found: loading's warnings first, then each check's, in order."""
    problems = list(workspace.warnings)
    for check in CHECKS:
        if check not in skip:
            problems.extend(check(workspace))
    return problems


def check_feed_tags(workspace: Workspace) -> Iterable[Problem]:
    """A per-tag feed for a tag no article carries would stay empty forever. (Two tags never
    share a feed folder: publisher.labels.tag_slugs gives each its own.)"""
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
    """Published issues dated after today, and `updated` days that feeds cannot show."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(workspace.config.newsletter.timezone)).date()
    for issue in workspace.published:
        file = f"issues/{issue.id}.toml"
        if issue.date > today:
            yield Problem(
                file,
                f"published, but dated {issue.date}, in the future",
                "issue",
                "date",
                'keep status = "draft" until it goes out, or correct the date',
                "warning",
            )
        if issue.updated and not issue.date <= issue.updated <= today:
            when = "in the future" if issue.updated > today else "before the issue's date (ignored)"
            yield Problem(
                file,
                f"updated = {issue.updated} is {when}",
                "issue",
                "updated",
                "set it to the day of the correction",
                "warning",
            )


# Feed checks; `check` is the only place that looks at today's date, never a build's output.
CHECKS += [check_feed_tags, check_future_issues]


def check_published_unchanged(workspace: Workspace) -> Iterable[Problem]:
    """Errors for a published issue that changed, turned back into a draft or was deleted."""
    from publisher.frozen import frozen_problems

    yield from frozen_problems(workspace.issues, workspace.registry, workspace.issue_hash)


# Editing checks: published issues are frozen (publisher.publishing records what went out).
CHECKS += [check_published_unchanged]


def scoped(problems: Iterable[Problem], workspace: Workspace, focus: Collection[str]) -> list[Problem]:
    """The problems as a command acting on `focus` judges them: errors in other drafts are
    warnings naming their file; config, archive-wide and published issues' errors stay."""
    from publisher.workspace import as_neighbour

    if not focus:
        return list(problems)
    drafts = {
        f"issues/{i.id}.toml"
        for i in workspace.issues
        if not i.is_published and i.id not in focus and i.id not in workspace.registry
    }
    # Duplicate ids across issues never get here: loading stops on them, focus or not.
    return [as_neighbour(p) if p.file in drafts else p for p in problems]


def check_markup(workspace: Workspace) -> Iterable[Problem]:
    """Markup in an intro or a summary that sanitising removes: named, so the editor knows."""
    from publisher.markup import unsafe_markup

    for issue in workspace.issues:
        texts = [("issue", "intro", issue.intro)] + [
            (f"article #{n} (id '{a.id}')", "summary", a.summary)
            for n, a in enumerate(issue.articles, 1)
        ]
        for record, field, text in texts:
            if found := unsafe_markup(text):
                yield Problem(
                    f"issues/{issue.id}.toml",
                    f"{found!r} is removed from the {field}: scripts, event handlers, forms,"
                    " frames and style attributes never reach an email or a feed",
                    record,
                    field,
                    "write Markdown; link with [text](https://...)",
                    "warning",
                )


def check_subject(workspace: Workspace) -> Iterable[Problem]:
    """The [email] subject pattern fills in for every issue, on one line."""
    from publisher.eml import subject_for
    from publisher.errors import BuildError
    from publisher.selection import issue_number

    for issue in workspace.issues:
        try:
            subject_for(workspace.config, issue, issue_number(workspace, issue))
        except BuildError as exc:
            yield from exc.problems
            return  # the pattern is shared: once is enough


def check_email_budget(workspace: Workspace) -> Iterable[Problem]:
    """Each email within [email] max_bytes. Renders every issue: the build's cache makes it quick."""
    from publisher.build import SPILL_BUDGET
    from publisher.cache import IssueCache, Memo
    from publisher.email import budget_problems
    from publisher.generations import Layout
    from publisher.output import Spill, read_output
    from publisher.render import Theme, render_issues
    from publisher.selectcache import prime, views_for

    if any(check_subject(workspace)) or any(check_templates(workspace)):
        return  # no email can be built; check_subject or check_templates says why
    config = workspace.config
    views, picks = views_for(workspace, selection_cache(workspace), [i for i in workspace.issues if i.articles])
    theme = Theme(workspace.root / config.build.templates, dict(config.email.utm),
                  selection_cache(workspace) / "templates")
    cache = IssueCache(workspace.output)
    memo: Memo = {}
    prime(memo, workspace, picks.sealed)
    # Rendered files past the build's memory budget are set aside on disk, as a build's are
    # (all of a 5,000-issue archive's held at once took 1.8 GB).
    spill = Spill(Layout(Path(os.path.abspath(workspace.output))).home, SPILL_BUDGET)
    found: list[Problem] = []
    try:
        # The build's own keys (from the stored picks), so each finds what the other rendered.
        rendered = render_issues(theme, views, cache, memo=memo, spill=spill,
                                 picked=picks.picked(v.issue.id for v in views), wanted=("email.html",))
        # Left warm for the next build: entries are content-addressed and written whole or not
        # at all, so one made here is exactly what the build would render (and a full disk
        # costs nothing).
        rendered.keep(cache)
        picks.save(i.id for i in workspace.issues)
        found += dict.fromkeys(rendered.problems)  # a template error shows once, not per issue
        for view in views:
            if files := rendered.files.get(view.issue.id):
                found += budget_problems(view, read_output(files["email.html"]))
    finally:
        spill.close()
    yield from found


# Email checks; `build` skips the budget one and measures the emails it renders instead.
CHECKS += [check_markup, check_subject, check_email_budget]
