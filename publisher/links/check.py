"""`check --links`: duplicates, placeholders and dead links of issues, as Problems."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from publisher.errors import Problem, Severity
from publisher.links.cache import LinkCache
from publisher.links.duplicates import duplicate_problems
from publisher.links.fetch import LinkStatus, Progress, check_links
from publisher.links.placeholders import placeholder_problems
from publisher.links.places import Place, issue_links
from publisher.records import Issue
from publisher.workspace import Workspace


def issues_to_check(workspace: Workspace, issue_id: str | None) -> list[Issue]:
    """The named issue; else every draft with articles; else the newest issue."""
    if issue_id:
        return [workspace.issue(issue_id)]
    drafts = [i for i in workspace.issues if not i.is_published and i.articles]
    return drafts or list(workspace.issues[-1:])


def link_problems(
    workspace: Workspace,
    issues: Sequence[Issue],
    allow_dead: bool = False,
    now: float | None = None,
    progress: Progress | None = None,
) -> list[Problem]:
    """Placeholders and duplicates (offline), then dead links unless [check] fetch = false."""
    rules = workspace.config.check
    problems = [p for i in issues for p in placeholder_problems(i)]
    problems += [
        p for i in issues for p in duplicate_problems(workspace.issues, i, rules.duplicate_window)
    ]
    if not rules.fetch:
        return problems
    places = [p for i in issues for p in issue_links(i)]
    statuses = fetch_statuses(workspace, [p.url for p in places], now, progress)
    if offline(statuses):
        return [*problems, offline_warning(len(statuses))]
    return problems + [
        p for place in places for p in status_problems(place, statuses[place.url], allow_dead)
    ]


def fetch_statuses(
    workspace: Workspace, urls: Iterable[str], now: float | None, progress: Progress | None
) -> dict[str, LinkStatus]:
    """Fresh answers from the cache, the others fetched; the cache keeps the new ones."""
    rules = workspace.config.check
    cache = LinkCache(workspace.output, rules.cache_hours, time.time() if now is None else now)
    wanted = list(dict.fromkeys(urls))
    found = {u: s for u in wanted if (s := cache.fresh(u))}
    if progress and found:
        progress(len(found))
    todo = [u for u in wanted if u not in found]
    fetched = check_links(rules, workspace.config.newsletter.url, todo, progress) if todo else {}
    if fetched:
        cache.save(fetched)
    return found | fetched


def offline(statuses: dict[str, LinkStatus]) -> bool:
    """No link answered at all, not one of several: the machine is offline, not the web."""
    return len(statuses) >= 2 and all(
        s.status is None and s.error.startswith("cannot connect") for s in statuses.values()
    )


def offline_warning(count: int) -> Problem:
    return Problem(
        "--links",
        f"none of the {count} links could be reached: is this machine offline? Dead links were not checked",
        hint="run 'publisher check --links' again when online, or set [check] fetch = false",
        severity="warning",
    )


def status_problems(place: Place, status: LinkStatus, allow_dead: bool) -> list[Problem]:
    """A dead link is an error (a warning with --allow-dead-links); a redirect is a warning."""

    def problem(message: str, hint: str, severity: Severity = "warning") -> list[Problem]:
        return [Problem(place.file, message, place.record, place.field, hint, severity)]

    if not status.ok:
        why = status.error or f"HTTP {status.status}"
        moved = status.hops and not status.error
        via = f" (after {len(status.hops)} redirects, at {status.final_url})" if moved else ""
        hint = "fix or remove the link; 'publish --allow-dead-links' lets it through"
        return problem(
            f"dead link {place.url}: {why}{via}", hint, "warning" if allow_dead else "error"
        )
    if not status.hops:
        return []
    chain = ", ".join(f"{h.status} to {h.location}" for h in status.hops)
    if target := status.permanent_target:
        return problem(
            f"{place.url} moved permanently ({chain})", f"write the new address instead: {target}"
        )
    hint = "a temporary redirect: keep the link, or link to where it leads"
    return problem(f"{place.url} redirects ({chain})", hint)
