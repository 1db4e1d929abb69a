"""Checks the theme before anything renders: every template is UTF-8, parses, and never
includes or extends itself (Jinja would recurse until Python gives up), and names where a
template error happened: the template file and its line, not just "templates"."""

from __future__ import annotations

import hashlib
import os
import traceback
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from jinja2 import Environment, TemplateError, TemplateSyntaxError, meta

from publisher.errors import Problem

TEMPLATE_SUFFIXES = (".html", ".htm", ".txt", ".xml")
READ_ONLY_SUFFIXES = (".css",)  # read as they are, never through Jinja


def shown(filename: str | None) -> str:
    """A template's path as the editor knows it: relative to the current folder if inside."""
    if not filename:
        return "templates"
    path = Path(filename)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def template_location(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost template frame of a render error: Jinja rewrites its tracebacks so
    that those frames carry the template's file name and line."""
    filename = getattr(exc, "filename", None)
    line = getattr(exc, "lineno", None)
    if filename and line:
        return filename, line
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(TEMPLATE_SUFFIXES):
            return frame.filename, frame.lineno
    return filename, line


def render_problem(exc: BaseException) -> Problem:
    """A Problem for any error raised while rendering: the template, the line, the reason."""
    filename, line = template_location(exc)
    if isinstance(exc, RecursionError):
        reason = "templates include each other without end"
    elif isinstance(exc, UnicodeDecodeError):
        reason = f"a template is not UTF-8 text ({exc.reason} at byte {exc.start})"
    else:
        reason = getattr(exc, "message", None) or str(exc)
    return Problem(file=shown(filename), line=line, message=f"template error: {reason}",
                   hint="fix the template")  # fmt: skip


def template_problems(env: Environment, remember: Path | None = None) -> list[Problem]:
    """Every template the theme can load: readable as UTF-8, parsable, no include cycle.

    remember: a cache folder where a clean theme is noted by the digest of every template's
    name, file and source (and this check's code and Jinja's version): the same theme is
    then not parsed again, which was a sixth of a one-edit rebuild."""
    assert env.loader is not None
    noted = remember / CLEAN_FILE if remember else None
    digest = _theme_digest(env)
    if noted is not None and digest is not None:
        with suppress(OSError):
            if noted.read_text() == digest:
                return []
    problems = _parse_all(env)
    if noted is not None and digest is not None and not problems:
        with suppress(OSError):
            noted.parent.mkdir(parents=True, exist_ok=True)
            tmp = noted.with_name(f".{CLEAN_FILE}.{os.getpid()}.tmp")
            tmp.write_text(digest)
            os.replace(tmp, noted)
    return problems


CLEAN_FILE = "theme-clean"


def _theme_digest(env: Environment) -> str | None:
    """None if any template cannot be read (the full check then says why)."""
    import jinja2

    assert env.loader is not None
    found = hashlib.sha256(f"{jinja2.__version__}\0".encode() + Path(__file__).read_bytes())
    try:
        for name in env.list_templates():
            source, filename, _ = env.loader.get_source(env, name)
            found.update(f"\0{name}\0{filename}\0{source}".encode("utf-8", "surrogatepass"))
    except (TemplateError, OSError, UnicodeDecodeError):
        return None
    return found.hexdigest()


def _parse_all(env: Environment) -> list[Problem]:
    assert env.loader is not None
    problems: list[Problem] = []
    graph: dict[str, list[str]] = {}
    files: dict[str, str] = {}
    for name in env.list_templates():
        if not name.endswith(TEMPLATE_SUFFIXES + READ_ONLY_SUFFIXES):
            continue
        try:
            source, filename, _ = env.loader.get_source(env, name)
        except UnicodeDecodeError as exc:
            problems.append(Problem(f"templates/{name}", f"is not UTF-8 text ({exc.reason} at byte"
                                    f" {exc.start})", hint="save it as UTF-8"))  # fmt: skip
            continue
        except (TemplateError, OSError) as exc:
            problems.append(Problem(f"templates/{name}", f"cannot be read: {exc}"))
            continue
        files[name] = shown(filename)
        if name.endswith(READ_ONLY_SUFFIXES):
            continue
        try:
            tree = env.parse(source, name, filename)
        except TemplateSyntaxError as exc:
            problems.append(Problem(files[name], f"template error: {exc.message}", line=exc.lineno,
                                    hint="fix the template"))  # fmt: skip
            continue
        graph[name] = [ref for ref in meta.find_referenced_templates(tree) if ref]
    known = set(env.list_templates())
    problems += [
        Problem(files[name], f"template error: it includes '{ref}', which does not exist",
                hint="check the name against templates/ and the built-in theme")
        for name, refs in graph.items()
        for ref in refs
        if ref not in known
    ]
    return problems + list(_cycle_problems(graph, files))


def _cycle_problems(graph: dict[str, list[str]], files: dict[str, str]) -> Iterator[Problem]:
    """One problem per template that can reach itself through include/extends/import."""
    for start in sorted(graph):
        if path := _path_back(graph, start):
            chain = " -> ".join(path)
            yield Problem(
                files.get(start, f"templates/{start}"),
                f"template error: it includes or extends itself ({chain}), which never ends",
                hint="remove the include that leads back, or extend '!theme/<name>' instead",
            )


def _path_back(graph: dict[str, list[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start, if there is one (depth-first, each template once)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for ref in graph.get(name, []):
            if ref == start:
                return [*path, ref]
            if ref not in seen:
                seen.add(ref)
                stack.append((ref, [*path, ref]))
    return None
