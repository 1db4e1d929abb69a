"""`publisher import`: read a source, keep what is new and valid, append it to a draft."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from publisher.edit import append_articles, toml_value
from publisher.errors import Problem, RecordError, UsageError
from publisher.importers.feed import parse_feed
from publisher.importers.mapping import Candidate, article_id, title_from_summary, url_key
from publisher.importers.sources import Source, read_source
from publisher.importers.tables import parse_csv, parse_json
from publisher.records import Article, Issue, normalize_tag
from publisher.workspace import Workspace, load_workspace

IMAGE_NOTE = """The feed's image has no alt text; describe it, then remove the '#':
image = {{ url = {url}, alt = "", credit = "" }}"""


@dataclass(frozen=True)
class Options:
    since: date | None = None
    tags: tuple[str, ...] = ()
    limit: int | None = None
    strict: bool = False
    timeout: float = 10.0
    dry_run: bool = False
    add_tags: tuple[str, ...] = ()  # given to every article imported


@dataclass
class ImportReport:
    source: str
    issue: str
    added: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def candidates(source: Source, strict: bool) -> tuple[list[Candidate], list[str]]:
    if source.kind == "json":
        return parse_json(source.data, source.label, source.base), []
    if source.kind == "csv":
        return parse_csv(source.data, source.label, source.base), []
    return parse_feed(source.data, source.label, source.base, strict)


def target_issue(workspace: Workspace, issue_id: str) -> Issue:
    label = f"issues/{issue_id}.toml"
    if not workspace.issue_path(issue_id).exists():
        hint = f"create it first: publisher new {issue_id}"
        raise UsageError(Problem(label, f"no issue '{issue_id}'", hint=hint))
    issue = workspace.issue(issue_id)
    if issue.is_published:
        raise RecordError(
            Problem(
                label,
                "the issue is published and frozen; nothing was imported",
                "issue",
                "status",
                hint="import into a draft: publisher new",
            )
        )
    return issue


def import_into(root: Path, source: str, issue_id: str, options: Options) -> ImportReport:
    """Import every new, valid record of `source` into the draft `issue_id`."""
    workspace = load_workspace(root)
    issue = target_issue(workspace, issue_id)
    items, notes = candidates(read_source(source, options.timeout), options.strict)
    report = ImportReport(source, issue_id, notes=notes)
    options = replace(options, tags=tuple(normalize_tag(t) for t in options.tags))
    picker = Picker(workspace, issue, options, report)
    chosen = [a for a in (picker.take(item) for item in items) if a is not None]
    if picker.over_limit:
        report.skipped.append(
            (f"{picker.over_limit} more items", f"beyond --limit {options.limit}")
        )
    if chosen and not options.dry_run:
        chosen = write(workspace.issue_path(issue_id), chosen, picker.table_notes, report)
    report.added = chosen
    return report


def write(
    path: Path, chosen: list[Article], notes: dict[str, str], report: ImportReport
) -> list[Article]:
    """Append to the issue file; what someone else added meanwhile is reported, not doubled."""
    comment = f"Imported from {report.source} on {date.today().isoformat()}"
    written = append_articles(path, chosen, comment, notes)
    kept = {a.id for a in written}
    report.skipped += [
        (a.id, "added to the file by someone else meanwhile") for a in chosen if a.id not in kept
    ]
    return written


class Picker:
    """Decides for each candidate: an Article to add, or a reason to skip it."""

    def __init__(self, workspace: Workspace, issue: Issue, options: Options, report: ImportReport):
        self.issue, self.options, self.report = issue, options, report
        self.urls = {
            url_key(a.url): f"issues/{i.id}.toml (id '{a.id}')" for i, a in workspace.articles
        }
        self.ids = {a.id: f"issues/{i.id}.toml" for i, a in workspace.articles}
        self.added = self.over_limit = 0
        self.pending_note = ""
        self.table_notes: dict[str, str] = {}

    def take(self, item: Candidate) -> Article | None:
        self.pending_note = ""
        title_from_summary(item)
        reason = self.reason_to_skip(item)
        if reason is None and self.options.limit is not None and self.added >= self.options.limit:
            self.over_limit += 1  # reported once, not item by item
            return None
        if reason is None:
            article, reason = self.article(item)
            if article is not None:
                self.remember(item, article)
                return article
        self.report.skipped.append((item.where, reason or "skipped"))
        return None

    def reason_to_skip(self, item: Candidate) -> str | None:
        options = self.options
        if item.invalid:
            return f"invalid: {item.invalid}"
        if item.notes and not item.title and not item.url:
            return item.notes[0]
        if not item.url:
            return "no link, or a relative one with no base URL to resolve it against"
        if (seen := self.urls.get(url_key(item.url))) is not None:
            return f"already in the archive: {seen}"
        if item.id and (held := self.ids.get(item.id)) is not None:
            return f"id '{item.id}' is already used in {held}"
        if options.since and item.published and item.published < options.since:
            return f"published {item.published}, before --since {options.since}"
        if options.tags and not any(
            fnmatch.fnmatchcase(t, p) for t in item.tags for p in options.tags
        ):
            return f"none of its tags ({', '.join(item.tags) or 'none'}) matches --tag {' '.join(options.tags)}"
        return None

    def article(self, item: Candidate) -> tuple[Article | None, str]:
        data = self.record(item)
        try:
            return Article(**data), ""
        except ValidationError as exc:
            if data.get("image") and all(e["loc"][:1] == ("image",) for e in exc.errors()):
                item.notes.append(f"image left out: {exc.errors()[0]['msg']}")
                return self.article_without_image(data)
            return None, "invalid: " + "; ".join(_error_text(e) for e in exc.errors())

    def article_without_image(self, data: dict[str, Any]) -> tuple[Article | None, str]:
        try:
            return Article(**{**data, "image": None}), ""
        except ValidationError as exc:
            return None, "invalid: " + "; ".join(_error_text(e) for e in exc.errors())

    def record(self, item: Candidate) -> dict[str, Any]:
        published = item.published
        if published is None:
            published = self.issue.date
            item.notes.append(f"no date: took the issue's date {published}")
        image = item.image
        if image and not image.get("alt"):
            item.notes.append("image left out: it has no alt text (see the comment in its table)")
            self.pending_note = IMAGE_NOTE.format(url=toml_value(image["url"]))
            image = None
        data = {
            "id": item.id or article_id(item.url, set(self.ids)),
            "title": item.title, "url": item.url, "published": published,
            "category": item.category, "tags": [*item.tags, *self.options.add_tags],
            "summary": item.summary,
            "source": item.source, "author": item.author, "image": image,
            "popularity": item.popularity,
        }  # fmt: skip
        return {k: v for k, v in data.items() if v not in (None, "")}

    def remember(self, item: Candidate, article: Article) -> None:
        self.urls[url_key(article.url)] = f"{item.where} of this import (id '{article.id}')"
        self.ids[article.id] = "this import"
        if self.pending_note:
            self.table_notes[article.id] = self.pending_note
        self.added += 1
        self.report.notes += [f"{item.where}: {note}" for note in item.notes]


def _error_text(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    return f"field '{where}': {error['msg'].removeprefix('Value error, ')}"
