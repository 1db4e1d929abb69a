"""Selection, cached per issue and keyed on what it reads.

An issue's picks (sections and related) depend only on the rules ([related], [[sections]]),
the issue's own articles and the published archive before it: ids, URLs, tags, dates,
sources, categories, popularity, pins and exclusions. Titles, summaries, images and intros
are only shown, never read by a rule. So each issue's key is

    H(rules, its own selection fields, the running signature of the published issues before it)

and its picks (article ids, scores) are kept in the build's cache. Editing a title re-selects
nothing; editing an old issue's tags re-selects that issue and the ones after it; editing the
weights re-selects everything. Views are rebuilt from the current records, so a retitled
article shows its new title wherever it was picked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher import code
from publisher.cache import Memo, record_digest
from publisher.digest.groups import Group, Item
from publisher.errors import Problem
from publisher.markup import SENTENCES, first_sentence
from publisher.records import Article, Issue
from publisher.related import RelatedIndex, RelatedPick, StoredPicks
from publisher.rules import SectionIndex, SectionPicks
from publisher.sealed import Entry, Sealed, read_marshal_parts, save_marshal_parts, sha
from publisher.selection import IssueView, issue_number
from publisher.workspace import Workspace

FILE = "selection.marshal"  # marshal: JSON's types, read 5x quicker than JSON at 5,000 issues
VIEW_FIELDS = ["issue", "number", "sections", "related", "config", "groups", "block"]  # _rebuilt's
GROUP_FIELDS = [["heading", "items", "related"], ["article", "compact", "note"]]
VERSION = "3"  # of the stored form; bump when what a rule reads changes
PYTHON = sys.version  # marshal's format may change between Python versions


def article_fields(article: Article) -> str:
    """What any rule may read of an article (never its title, summary, author or image)."""
    return repr((article.id, str(article.url), article.published.toordinal(), article.category,
                 article.tags, article.source, article.popularity))


def issue_fields(issue: Issue) -> str:
    """What a later issue's rules may read of a published one."""
    return repr((issue.id, issue.date.toordinal(), issue.status, sorted(issue.pin.items()),
                 issue.exclude, [article_fields(a) for a in issue.articles]))


def own_fields(issue: Issue) -> str:
    """All of the issue itself but what is only shown: the digest's picks read its intro and
    summaries (links shown once), notes and images (compact items), rules_version; no rule
    reads a title, an author or the preheader. Editing it re-selects it alone; retitling an
    article re-selects nothing (its view is rebuilt with the new title)."""
    return issue.model_dump_json(exclude=SHOWN_ONLY) + issue_fields(issue)


# Fields only shown, never read by selection (grep publisher/digest, rules, related, diversity
# for `.title`/`.author`/`.preheader` before a rule starts reading one).
SHOWN_ONLY: Any = {"title": True, "preheader": True, "articles": {"__all__": {"title", "author"}}}


def selection_keys(workspace: Workspace, code: str, sealed: Sealed | None = None) -> dict[str, str]:
    """Every issue's key: rules, own fields, and the running signature of the published
    issues strictly before it (the only ones either index lets it see). `sealed` keeps the
    digests of unchanged issue files' fields between builds."""
    config = workspace.config
    layout = getattr(config, "layout", None)  # the digest's [layout], if this build has it
    rules = hashlib.sha256((VERSION + code + config.related.model_dump_json() + json.dumps(
        [s.model_dump(mode="json") for s in config.sections], sort_keys=True)
        + config.email.model_dump_json() + (layout.model_dump_json() if layout else "")).encode())
    running = hashlib.sha256(rules.digest())
    sealed = sealed or Sealed(None, code, {})
    sealed.fill(workspace.issues, sealed_entry)
    keys: dict[str, str] = {}
    for issue in sorted(workspace.issues, key=lambda i: i.sort_key):
        _, own, fields, _, _, _ = sealed.entry(issue, sealed_entry)
        keys[issue.id] = hashlib.sha256(running.digest() + own.encode()).hexdigest()
        if issue.is_published:
            running.update(fields.encode())
    return keys


def sealed_entry(issue: Issue) -> Entry:
    """What Sealed keeps of an issue: its selection fields' digests and its records'."""
    return ("", sha(own_fields(issue)), sha(issue_fields(issue)), record_digest(issue),
            tuple(record_digest(a) for a in issue.articles), first_sentence(issue.intro or issue.title))


def prime(memo: Memo, workspace: Workspace, sealed: Sealed) -> None:
    """The records' digests, into a render-key memo (digest_of then computes none), and
    their intros' first sentences (markup.first_sentence then renders none)."""
    for issue in workspace.issues:
        _, _, _, head, articles, sentence = sealed.entry(issue, sealed_entry)
        memo[id(issue)] = (issue, head)
        # zip()s in C, not a generator: 75,000 articles at 5,000 issues
        memo.update(zip(map(id, issue.articles), zip(issue.articles, articles, strict=True), strict=True))
        SENTENCES[issue.intro or issue.title] = sentence


def _pick_data(pick: RelatedPick) -> list[Any]:
    return [pick.article.id, pick.score, list(pick.shared_tags), list(pick.contributions), pick.decay]


def _view_data(view: IssueView) -> dict[str, Any]:
    """The view's picks as ids and numbers. The related picks are kept as one compressed
    marshal blob per issue (StoredPicks.pack: equal picks, equal bytes), read only for an
    issue that is rendered, with the picked articles' ids beside them for its render key:
    300,000 picks at 5,000 issues were most of this file's reading time, and 50 MB held."""
    return {
        "sections": [[a.id for a in s.articles] for s in view.sections],
        "related": StoredPicks.pack({k: [_pick_data(p) for p in picks] for k, picks in view.related.items()}),
        "shown": [p.article.id for picks in view.related.values() for p in picks],
        "groups": [[g.heading, [[i.article.id, i.compact, i.note] for i in g.items],
                    [_pick_data(p) for p in g.related]] for g in view.groups],
        "block": [_pick_data(p) for p in view.block],
    }


class SelectionCache:
    """The picks of every issue at its key, in one file of the build's cache area."""

    def __init__(self, folder: Path | None, digests: dict[str, str] | None = None) -> None:
        self.path = folder / FILE if folder else None
        self.sealed = Sealed(folder, _code_digest() + _renderers(), digests or {})  # Workspace.digests
        self.entries: dict[str, dict[str, Any]] = {}
        self.changed = False
        self.selected: list[str] = []  # issues selected afresh by this build
        if self.path is not None:
            # A torn file, or one written by another Python (marshal's format is per version):
            # no entries, so everything is selected afresh.
            self.entries = read_marshal_parts(self.path, {"python": PYTHON})

    def get(self, issue_id: str, key: str) -> dict[str, Any] | None:
        entry = self.entries.get(issue_id)
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def picked(self, issue_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored picks of these issues (each, once views_for has run, at its key)."""
        return {i: self.entries[i] for i in issue_ids if i in self.entries}

    def put(self, issue_id: str, key: str, view: IssueView, data: dict[str, Any] | None = None) -> None:
        """Store the view's picks; data: _view_data(view), if made already (by a worker)."""
        self.entries[issue_id] = {"key": key, **(data if data is not None else _view_data(view))}
        self.selected.append(issue_id)
        self.changed = True

    def save(self, known: Iterable[str]) -> None:
        """Write the entries of the issues that still exist (no fsync: a lost cache costs a
        selection, never a wrong one, since every entry carries its key)."""
        wanted = set(known)
        self.sealed.save(wanted)
        if self.path is None or not (self.changed or set(self.entries) - wanted):
            return
        data = {k: v for k, v in self.entries.items() if k in wanted}
        save_marshal_parts(self.path, {"python": PYTHON}, data)


def _code_digest() -> str:
    """Our code: any change to it (a rule's implementation, a new picks module) re-selects
    everything once, rather than trust a list of the modules selection happens to use."""
    return code.ALL


def _renderers() -> str:
    """The versions of what the sealed first sentences are rendered with."""
    from importlib import metadata

    return "|".join(metadata.version(p) for p in ("markdown-it-py", "nh3"))


def select_cached(
    workspace: Workspace, issues: Sequence[Issue], cache: SelectionCache, parallel: bool = False,
    keys: dict[str, str] | None = None,
) -> list[IssueView]:
    """The issues' views, as select_all would make them, re-selecting only changed issues.
    keys: selection_keys() of the workspace, if known."""
    keys = keys or selection_keys(workspace, _code_digest(), cache.sealed)
    by_id = {a.id: a for _, a in workspace.articles}
    views: list[IssueView | None] = []
    for issue in issues:
        entry = cache.get(issue.id, keys[issue.id])
        views.append(_rebuilt(workspace, issue, entry, by_id) if entry else None)
    missing = [n for n, v in enumerate(views) if v is None]
    if missing:
        index = RelatedIndex(workspace.articles, workspace.config.related)
        sections = SectionIndex(workspace.config.sections, workspace.articles)
        from publisher.selection import select_issue

        if parallel and len(missing) >= PARALLEL_FROM and _cores() > 1:
            picked = _select_in_workers(workspace, [issues[n] for n in missing], index, sections)
            stored = set()
            for n, data in zip(missing, picked, strict=True):
                views[n] = view = _rebuilt(workspace, issues[n], data, by_id)
                if view is not None:  # stored as the worker wrote it, not written out again
                    cache.put(issues[n].id, keys[issues[n].id], view, data)
                    stored.add(n)
            missing = [n for n in missing if n not in stored]
        for n in missing:
            view = views[n] or select_issue(workspace, issues[n], index, sections)
            cache.put(issues[n].id, keys[issues[n].id], view)
            views[n] = view
    return [v for v in views if v is not None]


PARALLEL_FROM = 64  # fewer issues select faster than workers start
_job: tuple[Workspace, list[Issue], RelatedIndex, SectionIndex] | None = None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return 1


def _select_in_workers(
    workspace: Workspace, issues: list[Issue], index: RelatedIndex, sections: SectionIndex
) -> list[dict[str, Any]]:
    """Select on every core: forked workers share the indexes as they are, and send back
    only ids and scores (a view's records would cost more to pickle than to select)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    global _job
    _job = (workspace, issues, index, sections)
    cores = _cores()
    chunks = [list(range(n, len(issues), cores * 4)) for n in range(cores * 4)]
    try:
        with ProcessPoolExecutor(cores, get_context("fork")) as pool:
            parts = list(pool.map(_select_chunk, chunks))
    finally:
        _job = None
    found: dict[int, dict[str, Any]] = {n: d for part in parts for n, d in part}
    return [found[n] for n in range(len(issues))]


def _select_chunk(positions: list[int]) -> list[tuple[int, dict[str, Any]]]:
    from publisher.selection import select_issue

    assert _job is not None
    workspace, issues, index, sections = _job
    return [(n, _view_data(select_issue(workspace, issues[n], index, sections))) for n in positions]


def _rebuilt(
    workspace: Workspace, issue: Issue, entry: dict[str, Any], by_id: dict[str, Article]
) -> IssueView | None:
    """The view from stored picks and today's records; None if the entry does not fit."""
    if not _known_shapes():
        return None  # the view grew a field this cache does not store: select afresh
    try:
        sections = tuple(
            SectionPicks(section, tuple(by_id[i] for i in ids))
            for section, ids in zip(workspace.config.sections, entry["sections"], strict=True)
        )
        own = {a.id for a in issue.articles}
        (keys, blob), shown = entry["related"], entry["shown"]
        if not (isinstance(keys, list) and isinstance(blob, bytes) and isinstance(shown, list)
                and all(map(by_id.__contains__, shown))):
            return None  # made into picks only when read (StoredPicks): their articles checked here
        related = StoredPicks(keys, blob, shown, by_id)
        groups = tuple(
            Group(str(heading), tuple(Item(by_id[a], bool(c), str(n)) for a, c, n in items),
                  _picks(picks, by_id))
            for heading, items, picks in entry["groups"]
        )
        block = _picks(entry["block"], by_id)
    except (KeyError, ValueError, TypeError):
        return None
    if not set(related) <= own:
        return None
    return IssueView(issue, issue_number(workspace, issue), sections, related, workspace.config,
                     groups, block)


def _picks(data: list[Any], by_id: dict[str, Article]) -> tuple[RelatedPick, ...]:
    return tuple(RelatedPick(by_id[a], float(s), tuple(t), tuple(map(float, c)), float(d))
                 for a, s, t, c, d in data)


def _known_shapes() -> bool:
    """The view and group fields this cache stores (a merge that adds one disables it)."""
    return [f.name for f in dataclasses.fields(IssueView)] == VIEW_FIELDS and [
        [f.name for f in dataclasses.fields(t)] for t in (Group, Item)] == GROUP_FIELDS


@dataclass
class _Loaded:
    """What one loaded workspace has selected so far: check, then build, share it."""

    workspace: Workspace
    views: dict[str, IssueView] = field(default_factory=dict)
    caches: dict[Path | None, SelectionCache] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)


_memo: list[_Loaded] = []  # the last workspace's


def views_for(
    workspace: Workspace, folder: Path | None, issues: Sequence[Issue], parallel: bool = False
) -> tuple[list[IssueView], SelectionCache]:
    """select_cached, sharing the views of one loaded workspace between the checks and the
    build (one section pass, not two); and the cache of `folder`, brought up to date in
    memory: only a build saves it, once its generation is public (a refused build or a
    `check` leaves every file as it was)."""
    if not _memo or _memo[0].workspace is not workspace:
        _memo[:] = [_Loaded(workspace)]
    loaded = _memo[0]
    cache = loaded.caches.get(folder) or SelectionCache(folder, dict(workspace.digests))  # read once
    loaded.caches[folder] = cache
    keys = loaded.keys = loaded.keys or selection_keys(workspace, _code_digest(), cache.sealed)
    known = loaded.views
    todo = [i for i in issues if i.id not in known]
    fresh = {v.issue.id: v for v in select_cached(workspace, todo, cache, parallel, keys)} if todo else {}
    for issue in issues:
        if issue.id in known and cache.get(issue.id, keys[issue.id]) is None:
            cache.put(issue.id, keys[issue.id], known[issue.id])
    known.update(fresh)
    return [known[i.id] for i in issues], cache


def empty_section_warnings(workspace: Workspace, views: Sequence[IssueView]) -> Iterator[Problem]:
    """What rules.empty_section_problems finds, from views already selected."""
    published = sorted(i.sort_key for i in workspace.issues if i.is_published)
    for view in views:
        issue = view.issue
        first = bisect_left(published, issue.sort_key) == 0  # nothing published before it
        for section, picks in zip(workspace.config.sections, view.sections, strict=True):
            if first and section.scope == "archive" and section.exclude_issue_articles:
                continue
            if section.limit and not picks.articles:
                yield Problem(
                    f"issues/{issue.id}.toml",
                    f"section '{section.name}' comes out empty for this issue",
                    "issue",
                    hint=f"run 'publisher explain {issue.id}' to see what its rule considered",
                    severity="warning",
                )
