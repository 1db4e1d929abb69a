"""Edits of issue files with tomlkit: the editor's comments and layout survive every change."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import tomlkit
from pydantic import ValidationError
from tomlkit.toml_document import TOMLDocument

try:
    import fcntl
except ImportError:  # Windows: the re-read before writing is the only guard
    fcntl = None  # type: ignore[assignment]

from publisher.digest import RULES_VERSION
from publisher.errors import Problem, RecordError, UsageError
from publisher.frozen import articles_hash as articles_hash  # re-exported: older callers
from publisher.output import write_atomic
from publisher.records import SLUG_RE, Article, Issue, slugify
from publisher.validate import issue_problems
from publisher.workspace import parse_toml

T = TypeVar("T")
ATTEMPTS = 5


def issue_label(path: Path) -> str:
    return f"issues/{path.name}"


def read_text(path: Path) -> str:
    label = issue_label(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(
            Problem(label, f"no issue '{path.stem}'", hint=f"create it: publisher new {path.stem}")
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(Problem(label, f"cannot read the file: {exc}")) from exc


def parse(text: str, path: Path) -> TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        problem = Problem(issue_label(path), f"malformed TOML: {exc}", line=exc.line)
        raise RecordError(problem) from exc
    except RecursionError as exc:
        raise RecordError(Problem(issue_label(path), "is nested too deeply to read")) from exc


def as_issue(data: dict[str, Any], path: Path) -> Issue:
    """Validate parsed TOML as the issue it will be once written."""
    try:
        return Issue(id=path.stem, **data)
    except ValidationError as exc:
        raise RecordError(issue_problems(issue_label(path), data, exc)) from exc


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Serialise publisher's own writers of one folder (an flock on the folder itself, which
    survives the renames of write_atomic; no lock file is left behind)."""
    if fcntl is None or not folder.is_dir():
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


Change = Callable[[str, TOMLDocument], tuple[str, T]]


def update_issue_file(path: Path, change: Change[T]) -> T:
    """Apply `change` (old text and document -> new text) to the file and write it atomically.

    The file is re-read just before writing; if someone saved it meanwhile, the change is
    redone on their version, so a concurrent edit is never lost."""
    for _ in range(ATTEMPTS):
        with folder_lock(path.parent):
            before = read_text(path)
            text, result = change(before, parse(before, path))
            if text == before:
                return result
            as_issue(parse_toml(text), path)  # as the workspace will read it
            if read_text(path) == before:
                write_atomic(path, text.encode("utf-8"))
                return result
    raise RecordError(
        Problem(issue_label(path), "the file kept changing while it was being edited; try again")
    )


def refuse_published(doc: TOMLDocument, path: Path, action: str) -> None:
    if doc.get("status") == "published":
        raise RecordError(
            Problem(
                issue_label(path),
                f"the issue is published and frozen; cannot {action}",
                record="issue",
                field="status",
                hint="start a new issue with 'publisher new'",
            )
        )


def toml_value(value: object) -> str:
    """A value in TOML syntax: strings, dates, numbers, lists and inline tables."""
    if isinstance(value, str):
        # JSON's escapes are TOML's; DEL is the one control character JSON leaves raw.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | int | float):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_multiline(text: str) -> str:
    """A multi-line basic string in the hand-written style: text starts on the next line."""
    body = text.strip().replace("\\", "\\\\").replace('"""', '""\\"').replace("\r", "\\r")
    return f'"""\n{body}\n"""'


def article_table(article: Article, note: str = "") -> str:
    """An [[articles]] table in the key order and style of hand-written ones.

    Rendered directly rather than with tomlkit items, which cost ~2 ms an article; the
    result is parsed again before it is written."""
    lines = ["[[articles]]"]
    for key, value in article.model_dump(mode="python", exclude_defaults=True).items():
        text = toml_multiline(value) if key == "summary" else toml_value(value)
        lines.append(f"{key} = {text}")
    lines += [f"# {line}" for line in note.splitlines()]
    return "\n".join(lines) + "\n"


def append_articles(
    path: Path, articles: list[Article], comment: str = "", notes: Mapping[str, str] | None = None
) -> list[Article]:
    """Append articles to a draft; ones whose id or URL the file holds by now are left out.

    The new tables go after the file's last line, so its text is kept byte for byte; `notes`
    (by article id) become comment lines in the article's table."""

    def change(text: str, doc: TOMLDocument) -> tuple[str, list[Article]]:
        refuse_published(doc, path, "import into it")
        held = [a for a in doc.get("articles") or [] if isinstance(a, Mapping)]
        ids, urls = {a.get("id") for a in held}, {a.get("url") for a in held}
        fresh = [a for a in articles if a.id not in ids and a.url not in urls]
        if not fresh:
            return text, fresh
        tables = [article_table(a, (notes or {}).get(a.id, "")) for a in fresh]
        head = f"# {comment}\n" if comment else ""
        return text.rstrip("\n") + "\n\n" + head + "\n".join(tables), fresh

    return update_issue_file(path, change)


def set_after(doc: TOMLDocument, anchor: str, key: str, value: str | int | date) -> None:
    """Set a top-level key; a new one goes on the line after `anchor`, not at the end."""
    if key in doc or anchor not in doc:
        doc[key] = value
    else:
        doc._insert_after(anchor, key, value)  # tomlkit has no public "insert after"


def publish_issue(path: Path, number: int | None = None) -> Issue:
    """Set status = "published" and store the content hash of all that renders, keeping
    comments. The number is stored too: a back-dated issue added later renumbers nothing."""

    def change(text: str, doc: TOMLDocument) -> tuple[str, Issue]:
        refuse_published(doc, path, "publish it again")
        if not as_issue(doc.unwrap(), path).articles:
            raise RecordError(
                Problem(issue_label(path), "the issue has no articles", "issue", "articles")
            )
        doc["status"] = "published"
        set_after(doc, "status", "content_hash", "")
        if number is not None and "number" not in doc:
            set_after(doc, "content_hash", "number", number)
        set_after(doc, "content_hash", "rules_version", RULES_VERSION)  # its picks, forever
        return rehash(doc, path)

    return update_issue_file(path, change)


def amend_issue(
    path: Path, day: date | None, number: int | None = None, restore: bool = False
) -> Issue:
    """Record a correction of a published issue: a new content hash and, given a day,
    `updated = day` (feeds show it). The number is stored if the file has none yet.
    restore: the issue was published and turned back into a draft; it is published again."""

    def change(text: str, doc: TOMLDocument) -> tuple[str, Issue]:
        if restore:
            doc["status"] = "published"
        if doc.get("status") != "published":
            hint = f"publish it first: publisher publish {path.stem}"
            raise UsageError(Problem(issue_label(path), "is not published; --amend records a"
                                     " correction of a published issue", "issue", "status", hint))  # fmt: skip
        issue = as_issue(doc.unwrap(), path)
        if day is not None and day < issue.date:
            raise UsageError(Problem("--date", f"{day} is before the issue's date ({issue.date})",
                                     hint="give the day of the correction"))  # fmt: skip
        if day is not None:
            set_after(doc, "date", "updated", day)
        set_after(doc, "status", "content_hash", "")
        if number is not None and "number" not in doc:
            set_after(doc, "content_hash", "number", number)
        return rehash(doc, path)

    return update_issue_file(path, change)


def rehash(doc: TOMLDocument, path: Path) -> tuple[str, Issue]:
    """Store the hash of the issue exactly as it will be read back."""
    from publisher.frozen import issue_hash

    doc["content_hash"] = issue_hash(as_issue(doc.unwrap(), path))
    return tomlkit.dumps(doc), as_issue(doc.unwrap(), path)


def new_issue_text(template: Path, issue_id: str, day: date, title: str) -> str:
    text = template.read_text(encoding="utf-8")
    values = {
        "{{ID}}": issue_id,
        "{{DATE}}": day.isoformat(),
        "{{TITLE}}": tomlkit.string(title).as_string(),
    }
    for marker, value in values.items():
        text = text.replace(marker, value)
    return text


def new_issue(root: Path, issue_id: str, day: date, title: str, templates: Path) -> Path:
    """Write issues/<id>.toml as a draft from the template; never overwrite an issue."""
    label = f"issues/{issue_id}.toml"
    if not SLUG_RE.match(issue_id):
        hint = f"e.g. '{slugify(issue_id) or day.isoformat()}'"
        raise UsageError(Problem(label, f"'{issue_id}' is not a valid issue id", hint=hint))
    path = root / "issues" / f"{issue_id}.toml"
    own = templates / "init" / "new_issue.toml"
    from publisher.theme import builtin_templates  # here: Jinja need not load for `import`

    template = own if own.is_file() else builtin_templates() / "init" / "new_issue.toml"
    text = new_issue_text(template, issue_id, day, title)
    as_issue(parse(text, path).unwrap(), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(path.parent):  # two `new` at once: one writes, the other is refused
        if path.exists():
            hint = "choose another id or edit the file"
            raise UsageError(Problem(label, "the issue exists already", hint=hint))
        write_atomic(path, text.encode("utf-8"))
    return path


def publish(root: Path, issue_id: str) -> tuple[Issue, list[Problem]]:
    """Run the checks; with no errors, publish the draft (see publisher.publishing)."""
    from publisher.publishing import publish as run_publish

    return run_publish(root, issue_id)
