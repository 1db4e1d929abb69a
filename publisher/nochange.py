"""A no-op build, decided before anything heavy is imported: when the inputs digest (stamp.py)
matches the current generation's manifest and its files are as that build left them, the CLI
reports the last build and stops, without loading pydantic, Jinja, premailer, numpy or feedgen.

The output and templates folders are read from config.toml with tomllib alone. Whenever that
reading is not plainly what the full config would say (a PUBLISHER_BUILD__ variable, a value
that is not a string, an unreadable file), this gives up and the full build decides: a miss
costs only time, and a hit needs the very digest a full build recorded."""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import Problem
from publisher.generations import Layout
from publisher.names import CONFIG_FILE
from publisher.stamp import BuildStamp


@dataclass(frozen=True)
class LastBuild:
    output: Path
    issues: list[str]
    files: int
    warnings: list[Problem]


def unchanged(root: Path, ids: list[str], out: Path | None, drafts: bool) -> LastBuild | None:
    """The last build into the output folder, if a build now would do nothing."""
    folders = _build_folders(root)
    if folders is None:
        return None
    output, templates = folders
    target = Path(os.path.abspath(out if out is not None else root / output))
    layout = Layout(target)
    stamp = BuildStamp.of(root, root / templates, (sorted(ids), drafts), layout)
    manifest = stamp.current(layout)
    if manifest is None:
        return None  # the build follows, and reads only the files changed since this read
    stamp.save()
    return LastBuild(target, manifest.issues, len(manifest.built), manifest.warnings)


def _build_folders(root: Path) -> tuple[str, str] | None:
    """[build] output and templates as config.toml spells them, or None if unsure."""
    if any(key.upper().startswith("PUBLISHER_BUILD") for key in os.environ):
        return None
    try:
        data = tomllib.loads((root / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    section = data.get("build", {})
    if not isinstance(section, dict):
        return None
    output, templates = section.get("output", "build"), section.get("templates", "templates")
    if not (isinstance(output, str) and isinstance(templates, str) and output):
        return None
    return output, templates


def build_arguments(argv: list[str]) -> tuple[list[str], Path | None, bool, Path] | None:
    """(ids, --out, --drafts, --root) of a plain `build` command line; None for anything else
    (help, unknown options, other commands): typer then parses it as always."""
    if not argv or argv[0] != "build":
        return None
    ids: list[str] = []
    out, drafts, root = None, False, Path(".")
    args = iter(argv[1:])
    for arg in args:
        name, eq, value = arg.partition("=")
        if arg in ("--drafts", "--no-drafts"):
            drafts = arg == "--drafts"
        elif name in ("--out", "--root") or arg == "-C":
            value = value if eq else next(args, "")
            if not value or value.startswith("-"):
                return None
            out, root = (Path(value), root) if name == "--out" else (out, Path(value))
        elif arg.startswith("-") or not arg:
            return None
        else:
            ids.append(arg)
    return ids, out, drafts, root


def report_unchanged(argv: list[str]) -> bool:
    """Print what `publisher build` prints when nothing changed, and True; else False."""
    parsed = build_arguments(argv)
    if parsed is None:
        return False
    ids, out, drafts, root = parsed
    try:
        last = unchanged(root, ids, out, drafts)
    except Exception:  # the full build decides, and reports, whatever went wrong
        return False
    if last is None or (last.warnings and sys.stderr.isatty()):
        return False  # warnings on a terminal: the CLI prints them in colour
    for problem in last.warnings:
        print(f"{'error' if problem.is_error else 'warning'}: {problem}", file=sys.stderr)
    print(f"Built {len(last.issues)} issues, {last.files} files (0 changed) into {last.output}")
    return True
