"""Turns invalid input into Problems that name the file, the record and the field."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from publisher import environment
from publisher.config import Config
from publisher.errors import Problem
from publisher.names import CONFIG_FILE as CONFIG_FILE
from publisher.records import Article, Image, Issue

SECRET_KEYS = {("email", "smtp_password"), ("send", "password")}


def _model_fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _unknown_key_hint(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known keys: " + ", ".join(allowed)


def _message(err: ErrorDetails) -> tuple[str, str]:
    """The reason and, where obvious, the fix, for one pydantic error."""
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    if kind == "missing" and err["loc"][-1:] == ("articles",):
        return "an issue needs at least one article", "add an [[articles]] table"
    if kind == "missing":
        return "is required but missing", "add it"
    if kind == "extra_forbidden":
        return "is not a known key", ""
    if kind.startswith("date"):
        return f"{msg}: got {err['input']!r}", "write a date as YYYY-MM-DD, e.g. 2024-04-19"
    if kind == "literal_error":
        return f"got {err['input']!r}; {msg[0].lower()}{msg[1:]}", ""
    if kind == "too_short" and err["loc"][-1:] == ("articles",):
        return "an issue needs at least one article", "add an [[articles]] table"
    return msg, ""


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not isinstance(p, int))


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose key set an unknown key at loc was checked against."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            field = next((f for f in model.model_fields.values() if f.alias == part), None)
        model = _submodel(field.annotation) if field else None
    return model


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if found := _submodel(arg):
            return found
    return None


def _problem(
    file: str, record: str, err: ErrorDetails, root: type[BaseModel], loc: tuple[int | str, ...], skip: int = 0
) -> Problem:
    reason, hint = _message(err)
    if err["type"] == "extra_forbidden" and (model := _model_at(root, loc)):
        hint = _unknown_key_hint(str(loc[-1]), _model_fields(model))
    field = _field_path(loc[skip:])
    return Problem(file=file, record=record, field=field, message=reason, hint=hint)


def issue_problems(file: str, data: dict[str, Any], exc: ValidationError) -> list[Problem]:
    """One Problem per error, naming the article by id (or by position when the id is bad)."""
    problems = []
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] == "articles" and isinstance(loc[1], int):
            record = _article_label(data, loc[1])
            problems.append(_problem(file, record, err, Article, loc[2:]))
        else:
            problems.append(_problem(file, "issue", err, Issue, loc))
    return problems


def _article_label(data: dict[str, Any], index: int) -> str:
    try:
        raw_id = data["articles"][index].get("id")
    except (KeyError, IndexError, TypeError, AttributeError):
        raw_id = None
    position = f"article #{index + 1}"
    if isinstance(raw_id, str) and raw_id:
        return f"{position} (id '{raw_id}')"
    return position


def config_problems(data: dict[str, Any], exc: ValidationError | None = None) -> list[Problem]:
    """Problems in config.toml: secrets in the file, and every validation error."""
    problems = [
        Problem(
            file=CONFIG_FILE,
            record=f"[{section}]",
            field=key,
            message="secrets may not be stored in config.toml",
            hint=f"remove it and set PUBLISHER_{section.upper()}__{key.upper()} in the environment",
        )
        for section, key in SECRET_KEYS
        if isinstance(data.get(section), dict) and key in data[section]
    ]
    problems += newsletter_url_problems(data)
    for err in exc.errors() if exc else []:
        loc = err["loc"]
        record = f"[{loc[0]}]" if loc else ""
        if len(loc) >= 2 and loc[0] == "sections" and isinstance(loc[1], int):
            record = _section_label(data, loc[1])
        # A value from PUBLISHER_<SECTION>__<KEY> is blamed on the variable, not on the file.
        file = environment.blame(os.environ, loc) or CONFIG_FILE
        problems.append(_problem(file, record, err, Config, loc, skip=1 if record else 0))
    return problems


def _section_label(data: dict[str, Any], index: int) -> str:
    try:
        name = data["sections"][index].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        name = None
    return f"[[sections]] #{index + 1}" + (f" '{name}'" if isinstance(name, str) else "")


def archive_problems(issues: Iterable[Issue]) -> list[Problem]:
    """Checks across issues: article ids are unique in the whole archive."""
    seen: dict[str, str] = {}
    problems = []
    for issue in issues:
        file = f"issues/{issue.id}.toml"
        for n, article in enumerate(issue.articles, 1):
            if (other := seen.get(article.id)) is not None:
                problems.append(
                    Problem(
                        file=file,
                        record=f"article #{n} (id '{article.id}')",
                        field="id",
                        message=f"duplicate article id; also used in {other}",
                        hint="give one of them a different id",
                    )
                )
            seen.setdefault(article.id, file)
        problems += stripped_char_warnings(issue)
    return problems


def record_warnings(issue: Issue, summaries: bool = True) -> list[Problem]:
    """Things an editor should fix but that do not stop a build (errors with --strict).

    summaries=False: a missing summary is no warning (a links digest needs none)."""
    file = f"issues/{issue.id}.toml"
    problems = []
    if not issue.articles:
        problems.append(Problem(file, "the draft has no articles yet; builds leave it out", "issue",
                                "articles", "add [[articles]] or run 'publisher import'", "warning"))
    for n, article in enumerate(issue.articles, 1):
        record = f"article #{n} (id '{article.id}')"
        if summaries and not article.summary:
            problems.append(
                Problem(file, "no summary", record, "summary", "add a sentence or two", "warning")
            )
        problems += _image_problems(file, record, article.image)
    return problems


def _image_problems(file: str, record: str, image: Image | None) -> list[Problem]:
    if image is None:
        return []
    problems = []
    if not image.alt:
        problems.append(
            Problem(
                file,
                "image without alt text",
                record,
                "image.alt",
                "describe the picture for readers who cannot see it",
            )
        )
    if not image.credit:
        problems.append(
            Problem(
                file,
                "image without credit",
                record,
                "image.credit",
                "add who owns the picture",
                "warning",
            )
        )
    if image.url.startswith("http:"):
        problems.append(
            Problem(
                file,
                "image served over plain http; mail clients may block it",
                record,
                "image.url",
                "use its https address",
                "warning",
            )
        )
    return problems


def stripped_char_warnings(issue: Issue) -> list[Problem]:
    """One warning per field whose XML-incompatible control characters loading removed."""
    file = f"issues/{issue.id}.toml"
    problems = []
    for path in issue.stripped_fields:
        parts = path.split(".")
        record, field = "issue", path
        if parts[0] == "articles" and len(parts) > 2 and parts[1].isdigit():
            n = int(parts[1])
            article_id = issue.articles[n].id if n < len(issue.articles) else "?"
            record, field = f"article #{n + 1} (id '{article_id}')", ".".join(parts[2:])
        message = (
            "invisible control characters removed (they break feeds and mail; bidirectional"
            " controls make text display reversed)"
        )
        hint = "delete the invisible characters, often pasted from a PDF or a word processor"
        problems.append(Problem(file, message, record, field, hint, "warning"))
    return problems


def newsletter_url_problems(data: dict[str, Any]) -> list[Problem]:
    """The newsletter's base URL must be absolute https: feeds and emails link with it."""
    section = data.get("newsletter")
    variable = "PUBLISHER_NEWSLETTER__URL"
    url = os.environ.get(variable)
    if url is None and isinstance(section, dict):
        url, variable = section.get("url"), CONFIG_FILE
    if not isinstance(url, str):
        return []
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.netloc:
        return []
    return [
        Problem(
            file=variable,
            record="[newsletter]",
            field="url",
            message=f"'{url[:80]}' is not an absolute https URL",
            hint="write the archive's address in full, like https://newsletter.example.org/",
        )
    ]
