"""The build: load -> check -> select -> render -> write, into build/ by default."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, TemplateError

from publisher.cache import IssueCache, theme_salt
from publisher.check import check_email_budget, run_checks, scoped
from publisher.config import Config
from publisher.email import WARN_RATIO, budget_problems
from publisher.errors import BuildError, Problem, RecordError
from publisher.feeds import feed_size_warnings, render_feeds
from publisher.feeds.entries import xml_text
from publisher.forked import Forked
from publisher.generations import Site, explain_os_error
from publisher.loadcache import can_fork
from publisher.manifest import Manifest
from publisher.outdir import Target, output_target, refuse_editors_files, refuse_nested
from publisher.output import Built, Spill, sync_filesystem
from publisher.records import Issue
from publisher.render import (
    FEED_ENTRY,
    PUBLIC_FILES,
    Rendered,
    Theme,
    render_issues,
    template_problem,
)
from publisher.reuse import Earlier, Outputs, key_of
from publisher.selectcache import SelectionCache, prime, views_for
from publisher.selection import IssueView
from publisher.site import render_index
from publisher.stamp import BuildStamp
from publisher.web.pages import keep_owners_robots, render_web
from publisher.workspace import Workspace, load_config, load_workspace

Progress = Callable[[Iterable[IssueView]], Iterable[IssueView]]
SPILL_BUDGET = 8 * 2**20  # bytes of outputs held in memory; past it they are set aside on disk
CONTENT_MARK = "publisher:content:"  # a feed entry's content, named by its issue's render key


@dataclass
class BuildResult:
    output: Path
    issues: list[str]
    files: Mapping[str, bytes] = field(default_factory=dict)
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


def add_issue_files(out: Outputs, views: list[IssueView], rendered: Rendered) -> None:
    """The rendered issues' files under issues/<id>/, each keyed on its issue's render key."""
    for view in views:
        issue_id = view.issue.id
        for name in PUBLIC_FILES:
            out.put(f"issues/{issue_id}/{name}", rendered.files[issue_id][name], rendered.keys[issue_id])


def email_budget(views: list[IssueView], out: Outputs) -> list[Problem]:
    """Warnings for emails near [email] max_bytes; an error (nothing written) for any over it.
    Only an email near the budget is read (a reused one from the previous build)."""
    found = []
    for view in views:
        rel = f"issues/{view.issue.id}/email.html"
        if out.size_of(rel) >= WARN_RATIO * view.config.email.max_bytes:
            found += budget_problems(view, out.bytes_of(rel))
    if errors := [p for p in found if p.is_error]:
        raise RecordError(errors)
    return found


def render_pages(
    env: Environment, config: Config, views: list[IssueView], out: Outputs, salt: str, keys: Mapping[str, str]
) -> None:
    """The archive index and the web extras: they need no issue's rendered files, so they are
    made while the workers render the issues. The extras (published issues only) are one
    group: when no published issue's render key changed, nor the config, the previous
    build's are kept whole, and a draft's edit computes none of their 200 pages."""
    out.put("index.html", render_index(env, config, views).encode())
    key = group_key("web", salt, config, views, keys)
    if key is None or not out.reuse_group("web", key):
        with out.group("web", key):
            render_web(env, config, views, out, salt)


def group_key(
    name: str, salt: str, config: Config, views: list[IssueView], keys: Mapping[str, str]
) -> str | None:
    """What the published issues' site-wide files are made from: the salt, the whole config
    and each published issue's render key, which names everything its view holds (record,
    number, picks, the records they show). None if some issue has no key (a partial build)."""
    published = [v.issue.id for v in views if v.issue.is_published]
    if not all(i in keys for i in published):
        return None
    return key_of(name, salt, config.model_dump_json(), *(f"{i}:{keys[i]}" for i in published))


def add_feeds(
    env: Environment, workspace: Workspace, views: list[IssueView], rendered: Rendered,
    cache: IssueCache, out: Outputs, salt: str,
) -> None:
    """The feeds over every published issue. An issue's content is named by its render key,
    and filled in (this build's render, else the cache) only for a document made again; an
    issue this build did not render (a partial build) has its content rendered here."""
    published = [v for v in views if v.issue.is_published]
    template = env.get_template(FEED_ENTRY)
    by_id = {v.issue.id: v for v in published}
    contents: dict[str, str] = {}
    if workspace.config.feeds.content == "full":
        for v in published:
            key = rendered.keys.get(v.issue.id)
            contents[v.issue.id] = f"{CONTENT_MARK}{v.issue.id}:{key}" if key \
                else template.render(view=v, config=v.config)

    def fill(content: str) -> str:
        if not content.startswith(CONTENT_MARK):
            return content
        issue_id = content[len(CONTENT_MARK):].rpartition(":")[0]
        found = rendered.feed_entry(issue_id, cache)
        if found is None:  # not in the cache any more: rendered again, as it would be
            view = by_id[issue_id]
            found = template.render(view=view, config=view.config)
        return xml_text(found)

    key = group_key("feeds", salt, workspace.config, published, rendered.keys)
    if key is None or not out.reuse_group("feeds", key):
        with out.group("feeds", key):
            render_feeds(workspace.config, published, contents, out, fill, salt)


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
    stamp = BuildStamp(root, config, (sorted(ids or []), drafts), site.layout)
    if (last := stamp.replay(site.layout)) is not None:  # no input changed since the last build
        return BuildResult(target.path, last.issues, last.files, [], last.warnings)
    workspace = load_workspace(root, focus=ids or ())  # other drafts' errors only warn
    # Select first, on every core: the checks then read the same views (one section pass).
    views_for(workspace, site.layout.cache, [i for i in workspace.issues if i.articles], parallel)
    # The checks run in a child on the other core while this process renders; their errors
    # still come first (before any other error, and before anything is written).
    # What is loaded now lives until the build ends: the collector leaves it be, so forked
    # children never write to (and so copy) the pages it sits on.
    gc.freeze()
    checked = Forked(lambda: scoped(run_checks(workspace, skip={check_email_budget}), workspace, ids or ()),
                     parallel and can_fork())
    try:
        return _build(root, ids, drafts, progress, parallel, on_wait, config, target, site, stamp, workspace,
                      checked)
    except Exception as exc:
        errors = [p for p in checked.result() if p.is_error]
        if errors and not (isinstance(exc, RecordError) and exc.problems == errors):
            raise RecordError(errors) from exc
        raise
    finally:
        gc.unfreeze()


def _checked(checked: Forked[list[Problem]]) -> list[Problem]:
    problems = checked.result()
    if errors := [p for p in problems if p.is_error]:
        raise RecordError(errors)
    return problems


def _build(
    root: Path, ids: list[str] | None, drafts: bool, progress: Progress | None, parallel: bool,
    on_wait: Callable[[Path], None] | None, config: Config, target: Target, site: Site, stamp: BuildStamp,
    workspace: Workspace, checked: Forked[list[Problem]],
) -> BuildResult:
    previous = site.previous()  # refuse a folder publisher did not make before rendering
    issues = chosen_issues(workspace, ids or [], drafts)
    site_issues = [i for i in workspace.issues if i.is_published or i in issues]
    views, picks = views_for(workspace, site.layout.cache, site_issues)  # changed issues only
    theme = Theme(root / workspace.config.build.templates, dict(workspace.config.email.utm),
                  site.layout.cache / "templates")
    env = theme.environment()
    salt = theme_salt(env, workspace.config)
    wanted = {i.id for i in issues}
    todo = [v for v in views if v.issue.id in wanted]
    cache = IssueCache(target.path)
    spill = Spill(site.layout.home, SPILL_BUDGET)
    made = Outputs(Earlier(previous), spill=spill)
    prime(made.memo, workspace, picks.sealed)
    storing = ThreadPoolExecutor(1, thread_name_prefix="publisher-cache")
    rendered: Rendered | None = None
    try:
        # Issues the previous build made from the same inputs are reused; the rest render on
        # every core, while this process makes the site-wide pages.
        rendered = render_issues(theme, todo, cache, progress, parallel, made.earlier,
                                 lambda keys: render_pages(env, workspace.config, views, made, salt, keys),
                                 made.memo, spill,
                                 picks.picked(v.issue.id for v in todo))
        if rendered.problems:
            raise BuildError(rendered.problems)
        # A thread, while this one makes the feeds and the generation: the files set aside
        # are synced to disk (the generation's own sync then has little left to wait for),
        # and the render cache's entries are staged under temporary names (links to those
        # files); they become entries once the generation is public, and are removed if the
        # build fails.
        if spill.folder.exists():
            storing.submit(sync_filesystem, spill.folder)
        stored = storing.submit(rendered.stage, cache)
        add_issue_files(made, todo, rendered)
        budget = email_budget(todo, made)
        add_feeds(env, workspace, views, rendered, cache, made, salt)
        files = made.files
        problems = _checked(checked) + budget + feed_size_warnings(files) + keep_owners_robots(files, config, previous)
        record = Manifest(built=sorted(files), digest=stamp.digest, issues=sorted(wanted), warnings=problems,
                          keys=dict(sorted(made.keys.items())),
                          groups={k: [v[0], *(p for p in v[1:] if p in files)] for k, v in made.groups.items()})
        waiting = (lambda: on_wait(target.path)) if on_wait else None
        written = site.publish(files, bool(ids), record, waiting, lambda: keep(stored, rendered, cache, picks, workspace))
        stamp.save()
    except TemplateError as exc:
        raise BuildError(template_problem(exc)) from exc
    except OSError as exc:  # setting outputs aside: the disk is full, or not writable
        raise BuildError(site.target.problem(*explain_os_error(exc, site.layout, "prepare"))) from exc
    finally:
        storing.shutdown()  # before the set-aside outputs it reads go
        if rendered is not None:
            rendered.discard(cache)  # left staged only if the build failed
        spill.close()
    return BuildResult(target.path, sorted(wanted), Built(target.path, files), written, problems)


def keep(
    stored: Future[None], rendered: Rendered, cache: IssueCache, picks: SelectionCache, workspace: Workspace
) -> None:
    """Store what this build rendered and selected, for the next build (under its lock): the
    render cache's entries, once its thread has staged them, then the picks."""
    stored.result()
    rendered.commit(cache)
    picks.save(i.id for i in workspace.issues)
