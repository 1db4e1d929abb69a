"""Published means frozen: what went out is recorded, and any later change to it is an error.

Two records, both written by `publisher publish`: the issue file's own `content_hash`, and
the registry `issues/.published.toml` (id -> number, date, content hash), which lives with
the editor's files and is committed with them. The registry is what notices an issue file
that was deleted or turned back into a draft: the file itself can no longer say so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

import tomlkit
from pydantic import BaseModel, ConfigDict

from publisher.errors import Problem
from publisher.records import Article, Issue

REGISTRY = ".published.toml"  # inside issues/; a dot file, so no loader takes it for an issue
REGISTRY_LABEL = f"issues/{REGISTRY}"
REGISTRY_HEADER = """\
# What `publisher publish` sent out: issue id -> number, date and content hash.
# Written by publisher: commit it with the issues, do not edit it by hand.
# A published issue whose file changes, turns back into a draft or disappears is an error
# until it is restored, or the change is recorded with `publisher publish ID --amend`.
# To retract an issue on purpose, delete both its file and its table here.
"""
# Everything but these renders somewhere (email, web page, feeds), so the hash covers it.
NOT_HASHED = {"id", "status", "content_hash"}


class PublishedEntry(BaseModel):
    """One published issue as the registry remembers it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    date: date
    content_hash: str


# Fields added after hashes were first recorded count only when set, so an older hash holds.
LATER_ISSUE_FIELDS = {"rules_version": None}
LATER_ARTICLE_FIELDS = {"note": ""}


def _unless_later_default(data: dict[str, Any], later: Mapping[str, object]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k in later and v == later[k])}


def _article_data(article: Article) -> dict[str, Any]:
    return _unless_later_default(article.model_dump(mode="json"), LATER_ARTICLE_FIELDS)


def issue_hash(issue: Issue) -> str:
    """A stable digest of everything of the issue that renders: title, date, intro,
    preheader, number, updated, pins, exclusions, the pick rules' version and every field
    of every article."""
    data = issue.model_dump(mode="json", exclude=NOT_HASHED | {"articles"})
    data = _unless_later_default(data, LATER_ISSUE_FIELDS)
    data["articles"] = [_article_data(a) for a in issue.articles]
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def articles_hash(articles: Iterable[Article]) -> str:
    """The older hash, of the articles alone: accepted for issues published before the
    registry existed, with a warning, until `publish --amend` records the full hash."""
    data = [_article_data(a) for a in articles]
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def with_entry(text: str, issue: Issue, number: int) -> str:
    """The registry's text with the issue's entry set (tomlkit: its comments are kept)."""
    doc = tomlkit.parse(text or REGISTRY_HEADER)
    entry = tomlkit.table()
    entry.update({"number": number, "date": issue.date, "content_hash": issue.content_hash})
    doc[issue.id] = entry
    return tomlkit.dumps(doc)


def parse_registry(data: Mapping[str, Any]) -> tuple[dict[str, PublishedEntry], list[Problem]]:
    """The registry's entries, and a problem for each table that is not one."""
    entries, problems = {}, []
    for issue_id, table in data.items():
        try:
            entries[issue_id] = PublishedEntry.model_validate(table)
        except ValueError as exc:
            problems.append(Problem(REGISTRY_LABEL, f"not a valid entry: {exc}".splitlines()[0],
                                    record=f"[{issue_id}]",
                                    hint="restore the file from git; publisher writes it"))  # fmt: skip
    return entries, problems


def frozen_problems(
    issues: Iterable[Issue], registry: Mapping[str, PublishedEntry],
    hash_of: Callable[[Issue], str] = issue_hash,
) -> Iterator[Problem]:
    """Errors for published issues that changed, went back to draft or were deleted.
    `hash_of` is issue_hash, or a workspace's (the load cache keeps each record's)."""
    by_id = {issue.id: issue for issue in issues}
    for issue_id, entry in sorted(registry.items()):
        issue = by_id.get(issue_id)
        if issue is None:
            yield _gone(issue_id, entry)
        elif not issue.is_published:
            yield _unpublished(issue, entry)
        elif hash_of(issue) != entry.content_hash:
            yield _changed(issue, entry.content_hash)
    for issue in by_id.values():
        if issue.is_published and issue.id not in registry:
            yield from _unregistered(issue, hash_of)


def _file(issue_id: str) -> str:
    return f"issues/{issue_id}.toml"


def _amend(issue_id: str) -> str:
    return f"undo the edit (see git diff), or record the correction: publisher publish {issue_id} --amend"


def _gone(issue_id: str, entry: PublishedEntry) -> Problem:
    return Problem(
        _file(issue_id),
        f"was published (#{entry.number}, {entry.date}) but the file is gone: its page and its"
        " feed entry would vanish for readers who have it",
        record="issue",
        hint=f"restore it (git checkout -- {_file(issue_id)}); to retract it on purpose, also"
        f" delete its table [{issue_id}] from {REGISTRY_LABEL}",
    )


def _unpublished(issue: Issue, entry: PublishedEntry) -> Problem:
    return Problem(
        _file(issue.id),
        f"was published (#{entry.number}, {entry.date}) and is now a draft: the build would drop"
        " it from the site and the feeds",
        record="issue",
        field="status",
        hint='set status = "published" again; corrections go through publisher publish --amend',
    )


def _changed(issue: Issue, recorded: str) -> Problem:
    return Problem(
        _file(issue.id),
        "changed after it was published (its content no longer matches the hash recorded"
        " then); subscribers and feed readers have the old version",
        record="issue",
        field="content_hash",
        hint=_amend(issue.id),
    )


def _unregistered(issue: Issue, hash_of: Callable[[Issue], str] = issue_hash) -> Iterator[Problem]:
    """A published issue the registry does not know: from before it existed, or by hand."""
    if issue.content_hash == hash_of(issue):
        return  # published before the registry, unchanged since: publish --amend records it
    if issue.content_hash and issue.content_hash == articles_hash(issue.articles):
        yield Problem(
            _file(issue.id),
            "its hash (from an older publisher) covers only the articles, so a changed title,"
            " date or intro would go unnoticed",
            record="issue",
            field="content_hash",
            hint=f"freeze all of it: publisher publish {issue.id} --amend",
            severity="warning",
        )
    elif issue.content_hash:
        yield _changed(issue, issue.content_hash)
    else:
        yield Problem(
            _file(issue.id),
            "is published but was never frozen (no content_hash), so later edits go unnoticed",
            record="issue",
            field="content_hash",
            hint=f"freeze it as it is: publisher publish {issue.id} --amend",
            severity="warning",
        )
