"""The output folder's rules: which folder a build may own, and what it found there.

A build writes only into a folder that publisher made (or a new or empty one), never over
the editor's work: the workspace itself, issues/, templates/, config.toml, .git, or a
folder of someone else's files."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from publisher.errors import BuildError, Problem
from publisher.manifest import Manifest, Stat, legacy_files

if TYPE_CHECKING:  # a no-op build decides before pydantic is imported (see nochange.py)
    from publisher.config import Config

ENV_OUTPUT = "PUBLISHER_BUILD__OUTPUT"
HOME_SUFFIX = ".generations"
LEGACY_MARKERS = (".cache/build.json", ".cache/issues")  # what builds before generations left
Kind = Literal["missing", "ours", "empty", "legacy"]


@dataclass(frozen=True)
class Target:
    """The output folder, and where its name came from (for messages)."""

    path: Path  # absolute and normalised: the path a web server reads
    shown: str  # as the user wrote it
    source: Problem  # file/record/field naming the option, variable or config key

    def problem(self, message: str, hint: str) -> Problem:
        return Problem(self.source.file, message, self.source.record, self.source.field, hint)

    def refuse(self, message: str, hint: str) -> BuildError:
        return BuildError(self.problem(message, hint))


@dataclass
class Previous:
    """What the output folder holds now."""

    kind: Kind
    folder: Path | None = None  # the public tree now, to link unchanged files from
    number: int | None = None  # its generation; 0 for an old-layout folder being migrated
    files: dict[str, Stat] = field(default_factory=dict)  # the files publisher made in it
    hashes: dict[str, str] = field(default_factory=dict)  # their SHA-256, where recorded
    keys: dict[str, str] = field(default_factory=dict)  # the inputs each was made from
    groups: dict[str, list[str]] = field(default_factory=dict)  # files made together, by one key


def output_target(root: Path, config: Config, out: Path | None) -> Target:
    """--out, else [build] output (from config.toml or PUBLISHER_BUILD__OUTPUT), under root."""
    if out is not None:
        path, shown, source = out, str(out), Problem("--out", "")
    else:
        path, shown = root / config.build.output, config.build.output
        from_env = any(key.upper() == ENV_OUTPUT for key in os.environ)
        source = Problem(ENV_OUTPUT, "") if from_env else Problem("config.toml", "", "[build]", "output")
    return Target(Path(os.path.abspath(path)), shown or '""', source)


def refuse_editors_files(root: Path, config: Config, target: Target) -> None:
    """The workspace, or a folder holding or inside its issues/, templates/, config.toml, .git."""
    workspace = Path(os.path.realpath(root))  # realpath: a loop of links is not an exception
    guarded = {
        workspace: "the workspace folder (config.toml, issues/, templates/)",
        workspace / "issues": "issues/, the editor's issues",
        Path(os.path.realpath(workspace / config.build.templates)): "the templates folder",
        workspace / "config.toml": "config.toml",
        workspace / ".git": ".git",
    }
    hint = f"build into a folder of its own: {_suggestion(target)}"
    for path in dict.fromkeys([target.path, Path(os.path.realpath(target.path))]):
        shown = f"'{target.shown}'" + (f" (a link to '{path}')" if path != target.path else "")
        for guard, what in guarded.items():
            if path == guard:
                raise target.refuse(f"{shown} is {what}: a build would replace it", hint)
            if guard.is_relative_to(path):
                raise target.refuse(f"{shown} holds {what}: a build could replace it", hint)
            if guard != workspace and path.is_relative_to(guard):
                raise target.refuse(f"{shown} lies inside {what}", hint)


def refuse_nested(target: Target) -> None:
    """A folder inside another build (its public tree, or its generations)."""
    for parent in target.path.parents:
        if generation_of(parent) is not None or _is_home(parent):
            raise target.refuse(
                f"'{target.shown}' lies inside '{parent}', which publisher builds into",
                f"build into a folder of its own: {_suggestion(target)}",
            )


def _is_home(folder: Path) -> bool:
    name = folder.name
    return name.startswith(".") and name.endswith(HOME_SUFFIX) and (folder / "lock").is_file()


def home_of(output: Path) -> Path:
    """The hidden folder beside the output that holds its generations."""
    return output.parent / f".{output.name}{HOME_SUFFIX}"


def generation_of(output: Path) -> int | None:
    """The generation the output links to, if it is one of publisher's links."""
    try:
        text = os.readlink(output)
    except OSError:
        return None
    prefix = home_of(output).name + "/"
    number = text.removeprefix(prefix) if text.startswith(prefix) else ""
    return int(number) if number.isdigit() else None


def _suggestion(target: Target) -> str:
    if target.source.file == "--out":
        return "--out build, or a new folder"
    if target.source.file == ENV_OUTPUT:
        return f"{ENV_OUTPUT}=build, or unset it"
    return 'output = "build"'


def inspect(target: Target, home: Path, current: int | None) -> Previous:
    """What the output folder holds; refuse anything publisher did not make."""
    path = target.path
    if path.is_symlink():
        return _ours(target, home, current)
    if not path.exists():
        return _unlinked(home)
    if not path.is_dir():
        raise target.refuse(
            f"'{target.shown}' is {_kind(path)}, not a folder publisher made",
            f"build into a folder of its own ({_suggestion(target)}), or move that file away",
        )
    if any((path / marker).exists() for marker in LEGACY_MARKERS):
        return Previous("legacy", path, 0, legacy_files(path))
    if entries := sorted(os.listdir(path)):
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise target.refuse(
            f"'{target.shown}' is a folder publisher did not make, and it is not empty ({shown})",
            "build into a new or empty folder, or move those files away",
        )
    return Previous("empty")


def _ours(target: Target, home: Path, current: int | None) -> Previous:
    if current is None:
        raise target.refuse(
            f"'{target.shown}' is a symbolic link publisher did not make (to '{os.readlink(target.path)}')",
            "remove the link, or build elsewhere with --out DIR",
        )
    folder = home / str(current)
    if not folder.is_dir():
        return Previous("ours", None, current)
    manifest = Manifest.read(home / f"{current}.json")
    # Without its manifest (deleted by hand), every file of our own generation counts as ours.
    files = manifest.files if manifest else {rel: [0, 0] for rel in entries(folder)}
    if manifest is None:
        return Previous("ours", folder, current, files)
    return Previous("ours", folder, current, files, manifest.hashes, manifest.keys, manifest.groups)


def _unlinked(home: Path) -> Previous:
    """No output, but maybe generations (its link was removed by hand): the newest complete
    one is the previous build, so files in it that publisher did not make are kept."""
    try:
        numbers = sorted((int(p.name) for p in home.iterdir() if p.name.isdigit()), reverse=True)
    except OSError:
        return Previous("missing")
    for number in numbers:
        if (manifest := Manifest.read(home / f"{number}.json")) is not None:
            return Previous("missing", home / str(number), number, manifest.files)
    return Previous("missing")


def _kind(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file (a pipe or a socket)"


def entries(folder: Path) -> list[str]:
    """Every file and symbolic link under folder, relative, without following links."""
    from publisher.output import scan

    return sorted(scan(folder)[0])


def others_files(previous: Previous) -> list[str]:
    """Files in the output folder that publisher did not make: never removed, never replaced."""
    if previous.folder is None:
        return []
    skip = ".cache/" if previous.kind == "legacy" else None
    return [
        rel for rel in entries(previous.folder)
        if rel not in previous.files and not (skip and (rel + "/").startswith(skip))
    ]


def refuse_conflicts(target: Target, others: list[str], wanted: set[str]) -> None:
    """A file of someone else's where the build writes a file, or needs a folder."""
    if not others:
        return  # the usual case: nothing of anyone else's (26,000 outputs at 5,000 issues)
    folders = {rel[:n] for rel in wanted for n, c in enumerate(rel) if c == "/"}
    for rel in others:
        blocked = rel in wanted or rel in folders
        inside = any(rel[:n] in wanted for n, c in enumerate(rel) if c == "/")
        if blocked or inside:
            what = "a folder" if rel in folders else "a file"
            raise target.refuse(
                f"'{target.shown}/{rel}' is something publisher did not make, where the build writes {what}",
                "move it out of the way, or delete it, and build again",
            )
