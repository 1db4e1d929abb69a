"""Reads a workspace: config.toml and issues/*.toml. The one module that reads it."""

from __future__ import annotations

import gc
import io
import os
import tomllib
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import rtoml
from pydantic import ValidationError
from pydantic_settings import SettingsError

from publisher import environment
from publisher.config import Config
from publisher.errors import ConfigError, Problem, RecordError
from publisher.frozen import REGISTRY, REGISTRY_LABEL, PublishedEntry, parse_registry
from publisher.loadcache import LoadCache
from publisher.names import ISSUES_DIR as ISSUES_DIR
from publisher.records import SLUG_RE, Article, Issue, slugify
from publisher.validate import CONFIG_FILE, archive_problems, config_problems, issue_problems

DEEP_HINT = "an issue or a setting needs a few levels of tables and lists, not hundreds"


@dataclass(frozen=True)
class Workspace:
    """A loaded, valid workspace: the config and every issue, ordered by date then id."""

    root: Path
    config: Config
    issues: tuple[Issue, ...]
    warnings: tuple[Problem, ...] = ()
    # issues/.published.toml: what `publish` sent out, by issue id (see publisher.frozen).
    registry: Mapping[str, PublishedEntry] = field(default_factory=dict)
    # Content hashes the load cache kept, by issue id, with the very record each is of.
    hashes: Mapping[str, tuple[Issue, str]] = field(default_factory=dict, repr=False)
    # Issue id -> a digest of its file's name, bytes and publisher's loading code: equal
    # digests, equal records (a key for per-issue caches of pure checks; loadcache.digest_of).
    digests: Mapping[str, str] = field(default_factory=dict, repr=False)

    def issue(self, issue_id: str) -> Issue:
        for issue in self.issues:
            if issue.id == issue_id:
                return issue
        known = ", ".join(i.id for i in self.issues) or "none"
        raise RecordError(
            Problem(
                file=f"{ISSUES_DIR}/{issue_id}.toml",
                message=f"no issue '{issue_id}' (known: {known})",
            )
        )

    @cached_property
    def articles(self) -> tuple[tuple[Issue, Article], ...]:
        """The archive: every article of every issue, with the issue that carries it."""
        return tuple((issue, article) for issue in self.issues for article in issue.articles)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each issue's place (from 1) in date order: an issue's number until it is published."""
        return {issue.id: n for n, issue in enumerate(self.issues, 1)}

    @property
    def published(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.is_published)

    def issue_hash(self, issue: Issue) -> str:
        """frozen.issue_hash of one of these records; kept by the load cache, computed once
        when its file was parsed (the cache's salt covers publisher.frozen)."""
        known = self.hashes.get(issue.id)
        if known is not None and known[0] is issue:
            return known[1]
        from publisher.frozen import issue_hash

        return issue_hash(issue)

    def issue_path(self, issue_id: str) -> Path:
        return self.root / ISSUES_DIR / f"{issue_id}.toml"

    @property
    def output(self) -> Path:
        return self.root / self.config.build.output


def read_toml(path: Path, label: str) -> dict[str, Any]:
    """Parse one TOML file; malformed TOML is reported with its line."""
    if path.exists() and not path.is_file():  # reading a pipe or a device would hang or never end
        raise ConfigError(Problem(file=label, message="is not a regular file (a folder, pipe or device)",
                                  hint="replace it with a TOML file, or move it out of the workspace"))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(Problem(file=label, message="file not found")) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(Problem(file=label, message=f"cannot read the file: {exc}")) from exc
    return toml_data(text, label)


def toml_data(text: str, label: str) -> dict[str, Any]:
    """The TOML text parsed; malformed or nested thousands deep is a RecordError."""
    try:
        return parse_toml(text)
    except RecursionError as exc:  # tables or arrays nested thousands deep
        raise RecordError(Problem(label, "is nested too deeply to read", hint=DEEP_HINT)) from exc
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        raise RecordError(
            Problem(
                file=label,
                line=line,
                message=f"malformed TOML: {exc}",
                hint="fix the syntax at that line",
            )
        ) from exc


def parse_toml(text: str) -> dict[str, Any]:
    """rtoml is ten times faster; tomllib, the reference, words the errors (with their line)."""
    try:
        return rtoml.loads(text)
    except rtoml.TomlParsingError:
        return tomllib.loads(text)


def _toml_error_line(message: str) -> int | None:
    marker = "line "
    if marker not in message:
        return None
    digits = message.rsplit(marker, 1)[1].split(",")[0].split(")")[0]
    return int(digits) if digits.isdigit() else None


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    if not path.exists():
        raise ConfigError(
            Problem(
                file=str(path),
                message="no config.toml here",
                hint="run in a workspace, or create one with 'publisher init DIR'",
            )
        )
    try:
        data = read_toml(path, CONFIG_FILE)
    except RecordError as exc:
        raise ConfigError(exc.problems) from exc
    if problems := config_problems(data) + environment.problems(Config, os.environ):
        raise ConfigError(problems)
    try:
        return Config(**data)
    except RecursionError as exc:
        raise ConfigError(Problem(CONFIG_FILE, "is nested too deeply to read", hint=DEEP_HINT)) from exc
    except ValidationError as exc:
        raise ConfigError(config_problems(data, exc)) from exc
    except SettingsError as exc:  # a PUBLISHER_ value pydantic-settings cannot parse
        problem = Problem("environment", str(exc), hint="check the PUBLISHER_ variables")
        raise ConfigError(problem) from exc


def load_issue(path: Path, label: str) -> tuple[Issue | None, list[Problem]]:
    try:
        data = read_toml(path, label)
    except (RecordError, ConfigError) as exc:
        return None, exc.problems
    return issue_from_data(path.stem, data, label)


def issue_from_bytes(path: Path, raw: bytes, label: str) -> tuple[Issue | None, list[Problem]]:
    """load_issue of the file's bytes (read once by the load cache): the same result."""
    try:  # decoded as read_text does (universal newlines), with the same error
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        return None, [Problem(file=label, message=f"cannot read the file: {exc}")]
    try:
        data = toml_data(text, label)
    except RecordError as exc:
        return None, exc.problems
    return issue_from_data(path.stem, data, label)


def issue_from_data(issue_id: str, data: dict[str, Any], label: str) -> tuple[Issue | None, list[Problem]]:
    if not SLUG_RE.match(issue_id):
        return None, [
            Problem(
                file=label,
                message=f"the file name '{issue_id}' is not a slug (it is the issue id)",
                hint=f"rename it to '{slugify(issue_id) or 'issue'}.toml'",
            )
        ]
    try:
        return Issue(id=issue_id, **data), []
    except RecursionError:
        return None, [Problem(label, "is nested too deeply to read", hint=DEEP_HINT)]
    except ValidationError as exc:
        return None, issue_problems(label, data, exc)
    except TypeError:
        return None, [
            Problem(file=label, message="the file sets 'id'; an issue's id is its file name")
        ]


def issue_files(root: Path) -> list[Path]:
    """issues/*.toml but dot files (the registry, editors' lock and backup files)."""
    return [p for p in sorted((root / ISSUES_DIR).glob("*.toml"), key=str) if not p.name.startswith(".")]


def load_registry(root: Path) -> tuple[dict[str, PublishedEntry], list[Problem]]:
    path = root / ISSUES_DIR / REGISTRY
    if not path.exists():
        return {}, []
    try:
        return parse_registry(read_toml(path, REGISTRY_LABEL))
    except (RecordError, ConfigError) as exc:
        return {}, exc.problems


def load_workspace(root: Path, focus: Collection[str] = ()) -> Workspace:
    """Load and validate everything; raise RecordError listing every problem found.

    With `focus` (the issues a command acts on), a draft outside it that does not load is
    left out with a warning instead: a broken neighbour never blocks `publish` or `build ID`.
    Unchanged issue files come from the load cache (publisher.loadcache)."""
    config = load_config(root)
    registry, problems = load_registry(root)
    issues: list[Issue] = []
    files = issue_files(root)
    cache = LoadCache(cache_folder(root, config))
    hashes: dict[str, tuple[Issue, str]] = {}
    digests: dict[str, str] = {}
    with collector_paused():
        cache.prefetch(files, parse_issue_file)
        for path in files:
            issue, found = cache.load(path, parse_issue_file, load_issue_file)
            if focus and path.stem not in focus and path.stem not in registry:
                found = [as_neighbour(p) for p in found]
            problems += found
            if issue is not None:
                issues.append(issue)
                digests[issue.id] = cache.digest_of(path.name)
                if known := cache.hash_of(path.name):
                    hashes[issue.id] = (issue, known)
    cache.save(p.name for p in files)
    issues.sort(key=lambda i: i.sort_key)
    problems += archive_problems(issues)
    if any(p.is_error for p in problems):
        raise RecordError(problems)
    return Workspace(root, config, tuple(issues), tuple(problems), registry, hashes, digests)


def parse_issue_file(path: Path, raw: bytes) -> tuple[Issue | None, list[Problem]]:
    return issue_from_bytes(path, raw, f"{ISSUES_DIR}/{path.name}")


def load_issue_file(path: Path) -> tuple[Issue | None, list[Problem]]:
    return load_issue(path, f"{ISSUES_DIR}/{path.name}")


def cache_folder(root: Path, config: Config) -> Path | None:
    """The cache area beside the configured output (as the render cache's); None if that
    would be inside issues/, which holds only the editor's files."""
    from publisher.generations import Layout

    folder = Layout(Path(os.path.abspath(root / config.build.output))).cache
    issues = Path(os.path.abspath(root / ISSUES_DIR))
    return None if folder == issues or issues in folder.parents else folder


@contextmanager
def collector_paused() -> Iterator[None]:
    """Loading makes a few hundred thousand objects that live as long as the workspace. The
    cyclic garbage collector would walk them again and again for nothing: paused while they
    are made, then frozen (gc.freeze: they are left out of its passes; reference counting
    still frees them). That takes a third off `explain` at 100,000 articles. What the last
    load froze is unfrozen first, so a long-lived process (preview) leaks no cycle for long."""
    was_enabled = gc.isenabled()
    gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def as_neighbour(problem: Problem) -> Problem:
    """An error in a draft the command does not act on, as a warning that says so."""
    if not problem.is_error:
        return problem
    hint = (problem.hint + "; " if problem.hint else "") + "not blocking: another draft"
    return replace(problem, severity="warning", hint=hint)
