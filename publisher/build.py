"""The build: load -> check -> select -> render -> write, into build/ by default."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, TemplateError

from publisher.cache import IssueCache
from publisher.check import check_email_budget, run_checks, scoped
from publisher.email import budget_problems
from publisher.errors import BuildError, Problem, RecordError
from publisher.feeds import feed_size_warnings, render_feeds
from publisher.generations import Site
from publisher.manifest import Manifest
from publisher.outdir import output_target, refuse_editors_files, refuse_nested
from publisher.records import Issue
from publisher.render import FEED_ENTRY, Rendered, Theme, render_issues, template_problem
from publisher.selectcache import SelectionCache, views_for
from publisher.selection import IssueView
from publisher.site import render_index
from publisher.stamp import BuildStamp
from publisher.web.pages import keep_owners_robots, render_web
from publisher.workspace import Workspace, load_config, load_workspace

Progress = Callable[[Iterable[IssueView]], Iterable[IssueView]]


@dataclass
class BuildResult:
    output: Path
    issues: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def chosen_issues(workspace: Workspace, ids: list[str], drafts: bool) -> list[Issue]:
    if ids:
        chosen = [workspace.issue(i) for i in ids]
        if empty := [i.id for i in chosen if not i.articles]:
            raise BuildError(Problem(file=f"issues/{empty[0]}.toml", record="issue", field="articles",
                                     message="the issue has no articles to build",
                                     hint="add [[articles]] or run 'publisher import'"))
        return chosen
    return [i for i in workspace.issues if i.is_published or (drafts and i.articles)]


def issue_files(views: list[IssueView], rendered: Rendered) -> dict[str, bytes]:
    """The rendered issues' files under issues/<id>/."""
    return {
        f"issues/{view.issue.id}/{name}": data
        for view in views
        for name, data in rendered.files[view.issue.id].items()
        if name != FEED_ENTRY
    }


def email_budget(views: list[IssueView], rendered: Rendered) -> list[Problem]:
    """Warnings for emails near [email] max_bytes; an error (nothing written) for any over it."""
    found = [p for v in views for p in budget_problems(v, rendered.files[v.issue.id]["email.html"])]
    if errors := [p for p in found if p.is_error]:
        raise RecordError(errors)
    return found


def render_site(
    env: Environment, workspace: Workspace, views: list[IssueView], rendered: Rendered
) -> dict[str, bytes]:
    """The archive index and the feeds, over every issue shown on the web. Feed entries come
    with the issues' rendered (or cached) files; only issues this build did not render
    (a partial build) render theirs here."""
    files = {"index.html": render_index(env, workspace.config, views).encode()}
    published = [v for v in views if v.issue.is_published]
    template = env.get_template("feed_entry.html")
    full = workspace.config.feeds.content == "full"
    contents = {
        v.issue.id: entry.decode() if (entry := rendered.files.get(v.issue.id, {}).get(FEED_ENTRY))
        else template.render(view=v, config=v.config)
        for v in published if full
    }
    files.update(render_feeds(workspace.config, published, contents))
    files.update(render_web(env, workspace.config, views))
    return files


def build(
    root: Path,
    ids: list[str] | None = None,
    out: Path | None = None,
    drafts: bool = False,
    progress: Progress | None = None,
    parallel: bool = True,
    on_wait: Callable[[Path], None] | None = None,
) -> BuildResult:
    """Build everything, in memory first, then into a new generation made public at once: a
    failed or killed build leaves the previous one as it was. on_wait(output) is called if
    another build holds the output folder (this one then waits for it).

    parallel=False renders in this thread: a threaded server (preview) must not fork."""
    config = load_config(root)
    target = output_target(root, config, out)
    refuse_editors_files(root, config, target)
    refuse_nested(target)
    site = Site(target)
    stamp = BuildStamp(root, config, (sorted(ids or []), drafts))
    if (last := stamp.replay(site.layout)) is not None:  # no input changed since the last build
        return BuildResult(target.path, last.issues, last.files, [], last.warnings)
    workspace = load_workspace(root, focus=ids or ())  # other drafts' errors only warn
    # Select first, on every core: the checks then read the same views (one section pass).
    views_for(workspace, site.layout.cache, [i for i in workspace.issues if i.articles], parallel)
    problems = scoped(run_checks(workspace, skip={check_email_budget}), workspace, ids or ())
    if errors := [p for p in problems if p.is_error]:
        raise RecordError(errors)
    previous = site.previous()  # refuse a folder publisher did not make before rendering
    issues = chosen_issues(workspace, ids or [], drafts)
    site_issues = [i for i in workspace.issues if i.is_published or i in issues]
    views, picks = views_for(workspace, site.layout.cache, site_issues)  # changed issues only
    theme = Theme(root / workspace.config.build.templates, dict(workspace.config.email.utm))
    env = theme.environment()
    wanted = {i.id for i in issues}
    todo = [v for v in views if v.issue.id in wanted]
    cache = IssueCache(target.path)
    # Unchanged issues come from the cache; the rest render on every core.
    rendered = render_issues(theme, todo, cache, progress, parallel)
    if rendered.problems:
        raise BuildError(rendered.problems)
    budget = email_budget(todo, rendered)
    files = issue_files(todo, rendered)
    try:
        files.update(render_site(env, workspace, views, rendered))
    except TemplateError as exc:
        raise BuildError(template_problem(exc)) from exc
    problems += budget + feed_size_warnings(files) + keep_owners_robots(files, config, previous)
    record = Manifest(built=sorted(files), digest=stamp.digest, issues=sorted(wanted), warnings=problems)
    waiting = (lambda: on_wait(target.path)) if on_wait else None
    written = site.publish(files, bool(ids), record, waiting, lambda: keep(rendered, cache, picks, workspace))
    return BuildResult(target.path, sorted(wanted), files, written, problems)



def keep(rendered: Rendered, cache: IssueCache, picks: SelectionCache, workspace: Workspace) -> None:
    """Store what this build rendered and selected, for the next build (under its lock)."""
    rendered.keep(cache)
    picks.save(i.id for i in workspace.issues)
