"""Renders each issue's four files: from the content-hash cache when nothing changed,
otherwise on every core (inlining CSS is the slow part of a build)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateError

from publisher.cache import IssueCache, Memo, fingerprint, theme_salt
from publisher.email import build_eml, render_email_html, render_email_text
from publisher.errors import Problem, PublisherError
from publisher.output import Output, Same, Spill, read_output, set_aside
from publisher.related import StoredPicks
from publisher.reuse import Earlier
from publisher.selection import IssueView
from publisher.site import render_issue_page
from publisher.theme import make_environment
from publisher.theme_check import render_problem

FEED_ENTRY = "feed_entry.html"  # the issue's full content in the feeds: cached, not a file of its own
ISSUE_FILES = ("index.html", "email.html", "email.txt", "email.eml", FEED_ENTRY)
PUBLIC_FILES = ISSUE_FILES[:-1]  # under issues/<id>/ in the output
Progress = Callable[[Iterable[IssueView]], Iterable[IssueView]]
Made = tuple[dict[str, bytes] | None, list[Problem]]
Outcome = tuple[dict[str, bytes] | dict[str, Same] | None, list[Problem]]


@dataclass(frozen=True)
class Theme:
    """What a worker process needs to rebuild the Jinja environment."""

    templates: Path | None
    utm: dict[str, str] = field(default_factory=dict)
    compiled: Path | None = None  # compiled templates kept here between runs

    def environment(self) -> Environment:
        return make_environment(self.templates, self.utm, self.compiled)


@dataclass
class Rendered:
    """Each issue's files by name (`Same` where the previous build's files are reused), each
    issue's render key, and the fresh ones the cache should keep."""

    files: dict[str, dict[str, Output]] = field(default_factory=dict)
    fresh: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    staged: list[str] = field(default_factory=list)  # issues whose cache entry awaits commit()

    def keep(self, cache: IssueCache, hashes: Mapping[str, str] | None = None) -> None:
        """Store the freshly rendered issues; called once the build has written its files.
        `hashes`: the SHA-256 the build recorded of each output (not computed twice)."""
        self.stage(cache, hashes)
        self.commit(cache)

    def stage(self, cache: IssueCache, hashes: Mapping[str, str] | None = None) -> None:
        """Write the fresh issues' cache entries under temporary names (see IssueCache.stage)."""
        hashes = hashes or {}
        for issue_id, key in self.fresh.items():
            files = self.files[issue_id]  # a file set aside on disk is linked, not copied
            known = {n: hashes[rel] for n in files if (rel := f"issues/{issue_id}/{n}") in hashes}
            if cache.stage(issue_id, key, files, known):
                self.staged.append(issue_id)

    def commit(self, cache: IssueCache) -> None:
        """The staged entries made entries (once the build's generation is public)."""
        for issue_id in self.staged:
            cache.commit(issue_id, self.fresh[issue_id])
        self.staged.clear()

    def discard(self, cache: IssueCache) -> None:
        """The staged entries removed: a build that fails leaves the cache as it was."""
        for issue_id in self.staged:
            cache.discard(issue_id, self.fresh[issue_id])
        self.staged.clear()

    def feed_entry(self, issue_id: str, cache: IssueCache) -> str | None:
        """The issue's feed content: rendered by this build, else from the cache."""
        data = self.files.get(issue_id, {}).get(FEED_ENTRY)
        if data is not None and (isinstance(data, bytes) or data.fresh):
            return read_output(data).decode()
        if (key := self.keys.get(issue_id)) and (files := cache.get(issue_id, key, ISSUE_FILES, (FEED_ENTRY,))):
            return files[FEED_ENTRY].decode()
        return None


def render_issue(env: Environment, view: IssueView) -> dict[str, bytes]:
    """The four files of one issue, by file name, and its feed entry's content."""
    html = render_email_html(env, view)
    text = render_email_text(env, view)
    return {
        "index.html": render_issue_page(env, view).encode(),
        "email.html": html.encode(),
        "email.txt": text.encode(),
        "email.eml": build_eml(view, text, html),
        FEED_ENTRY: env.get_template(FEED_ENTRY).render(view=view, config=view.config).encode(),
    }


def template_problem(exc: TemplateError | RecursionError | UnicodeDecodeError) -> Problem:
    """The template file and line an error happened at (from Jinja's traceback)."""
    return render_problem(exc)


def render_outcome(env: Environment, view: IssueView) -> Made:
    """Files or problems: plain data, so it crosses a process boundary intact."""
    try:
        return render_issue(env, view), []
    except (TemplateError, RecursionError, UnicodeDecodeError) as exc:
        return None, [template_problem(exc)]
    except PublisherError as exc:
        return None, exc.problems


_worker_env: Environment | None = None
# The views to render, set before the workers fork: they inherit them, and are sent only
# ids (pickling a view and its records cost the parent and the worker a tenth of a render).
_forked_views: dict[str, IssueView] = {}
_forked_spill: Path | None = None  # where forked workers set their files aside (Spill.folder)


def _forget_forked() -> None:
    global _worker_env, _forked_spill
    _worker_env = None
    _forked_spill = None
    _forked_views.clear()


def _start_worker(theme: Theme) -> None:
    global _worker_env
    _worker_env = theme.environment()


def _render_in_worker(item: IssueView | str) -> Outcome:
    assert _worker_env is not None
    view = _forked_views[item] if isinstance(item, str) else item
    files, problems = render_outcome(_worker_env, view)
    if isinstance(view.related, StoredPicks):
        view.related.forget()
    if files is None or _forked_spill is None:
        return files, problems
    # Written (and hashed) here, on the worker's core: the build is sent only their names,
    # not 360 KB per issue to unpickle, hash and write again (1.8 GB at 5,000 issues).
    return {n: set_aside(_forked_spill, f"issues/{view.issue.id}/{n}", d) for n, d in files.items()}, problems


def render_issues(
    theme: Theme,
    views: list[IssueView],
    cache: IssueCache,
    progress: Progress | None = None,
    parallel: bool = True,
    earlier: Earlier | None = None,
    meanwhile: Callable[[Mapping[str, str]], None] | None = None,
    memo: Memo | None = None,
    spill: Spill | None = None,
    picked: Mapping[str, Mapping[str, Any]] | None = None,
    wanted: tuple[str, ...] = ISSUE_FILES,
) -> Rendered:
    """Every issue's files: the previous build's where their key is unchanged, else cached
    ones read back, the others rendered, in parallel if many. `meanwhile(keys)` runs in this
    process while the workers render (the site-wide pages, which need no issue's files),
    given every issue's render key.
    picked: each view's entry in the selection cache, which makes its key cheap. wanted: the
    files kept of an issue found in the cache (`check` reads only the email)."""
    result = Rendered()
    if not views:
        if meanwhile is not None:
            meanwhile({})
        return result
    env = theme.environment()
    salt = theme_salt(env, views[0].config)
    memo = memo if memo is not None else {}
    picked = picked or {}
    keys = result.keys = {v.issue.id: fingerprint(v, salt, memo, picked.get(v.issue.id)) for v in views}
    earlier = earlier or Earlier()
    misses = [
        v for v in views
        if not _reused(earlier, v.issue.id, keys[v.issue.id], result)
        and not _from_cache(cache, v.issue.id, keys[v.issue.id], result, spill, wanted)
    ]
    with ExitStack() as stack:
        global _forked_spill
        _forked_spill = spill.folder if spill is not None else None  # see _render_in_worker
        stack.callback(_forget_forked)
        pending = _start(theme, env, misses, stack, parallel, meanwhile is not None)
        if meanwhile is not None:
            meanwhile(keys)
        for view in progress(views) if progress else views:
            if view.issue.id in pending:  # popped: a done future would hold its files to the end
                _collect(result, view.issue.id, keys[view.issue.id], pending.pop(view.issue.id), spill)
    result.problems = list(dict.fromkeys(result.problems))  # a template error once, not per issue
    return result


def _collect(
    result: Rendered, issue_id: str, key: str, future: Future[Outcome], spill: Spill | None
) -> None:
    files, problems = future.result()
    result.problems += problems
    if files is not None:
        result.files[issue_id] = {
            n: spill.keep(f"issues/{issue_id}/{n}", d) if spill else d for n, d in files.items()
        }
        result.fresh[issue_id] = key


def _reused(earlier: Earlier, issue_id: str, key: str, result: Rendered) -> bool:
    """The issue's public files, as the previous build made them from the same key."""
    same: dict[str, Output] = {}
    for name in PUBLIC_FILES:
        if (found := earlier.same(f"issues/{issue_id}/{name}", key)) is None:
            return False
        same[name] = found
    result.files[issue_id] = same
    return True


def _from_cache(
    cache: IssueCache, issue_id: str, key: str, result: Rendered, spill: Spill | None,
    wanted: tuple[str, ...] = ISSUE_FILES,
) -> bool:
    files = cache.get(issue_id, key, ISSUE_FILES, wanted)
    if files is not None:  # set aside past the memory budget, as rendered files are
        result.files[issue_id] = {n: spill.keep(f"issues/{issue_id}/{n}", d) if spill else d
                                  for n, d in files.items()}
    return files is not None


def _start(
    theme: Theme, env: Environment, views: list[IssueView], stack: ExitStack, parallel: bool,
    overlap: bool = False,
) -> dict[str, Future[Outcome]]:
    """Submit every view at once, before any progress bar thread starts, then fork.
    overlap: this process has other work meanwhile, so even one issue renders in a worker."""
    cores = available_cores() if parallel else 1
    context = _context()
    if overlap and context is not None and 0 < len(views) <= cores and cores > 1:
        # A few issues (an edit): each in a worker of its own, while this process makes the
        # site pages; the workers import premailer and warm their own environment meanwhile.
        return _forked(env, views, [], stack, len(views), context)
    workers = min(len(views), cores)
    if workers < 2:
        return {v.issue.id: _done(render_outcome(env, v)) for v in views}
    if context is None:  # spawned workers: each is sent its views, and makes its environment
        pool = stack.enter_context(
            ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(theme,))
        )
        return {v.issue.id: pool.submit(_render_in_worker, v) for v in views}
    # Forked: the first issue renders here, warming the environment (templates loaded, the
    # stylesheet parsed, premailer imported) that the workers then inherit with the views.
    first, *rest = views
    return _forked(env, rest, [first], stack, workers, context)


def _forked(
    env: Environment, views: list[IssueView], here: list[IssueView], stack: ExitStack, workers: int,
    context: BaseContext,
) -> dict[str, Future[Outcome]]:
    """`here` rendered in this process first, then `views` in forked workers, which inherit
    the environment and the views (they are sent only ids)."""
    global _worker_env
    done = {v.issue.id: _done(render_outcome(env, v)) for v in here}
    _worker_env = env
    _forked_views.update((v.issue.id, v) for v in views)
    stack.callback(_forget_forked)  # once the pool has shut down
    pool = stack.enter_context(ProcessPoolExecutor(workers, context))
    return done | {v.issue.id: pool.submit(_render_in_worker, v.issue.id) for v in views}


def _context() -> BaseContext | None:
    """fork on Linux, whatever Python's default: workers start at once, and never re-run a
    script's top level (spawn and forkserver import __main__ again)."""
    return get_context("fork") if sys.platform == "linux" else None


def _done(outcome: Outcome) -> Future[Outcome]:
    future: Future[Outcome] = Future()
    future.set_result(outcome)
    return future


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1
