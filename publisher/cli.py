"""The command line: a thin layer that turns typed errors into messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import track

from publisher.errors import Problem, PublisherError, UsageError

app = typer.Typer(
    help="Assemble curated articles into weekly issues: email, web pages, RSS and Atom feeds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

Root = Annotated[
    Path, typer.Option("--root", "-C", help="The workspace folder.", show_default=False)
]


def report(problems: Iterable[Problem], strict: bool = False) -> tuple[int, int]:
    """Print problems to stderr, one a line; returns (errors, warnings)."""
    errors = warnings = 0
    for p in problems:
        is_error = p.is_error or strict
        errors, warnings = errors + is_error, warnings + (not is_error)
        label = "error" if is_error else "warning"
        style = "bold red" if is_error else "yellow"
        err.print(f"[{style}]{label}[/]: ", end="")
        err.print(str(p), markup=False)
    return errors, warnings


def progress(items: list[T], description: str) -> Iterable[T]:
    """A progress bar when there is more than a handful of items."""
    if len(items) <= 5 or not err.is_terminal:
        return items
    return track(items, description=description, console=err, transient=True)


@app.command()
def check(
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    root: Root = Path("."),
) -> None:
    """Validate config.toml and every issue; report every problem at once.

    Example: publisher check --strict
    """
    from publisher.check import run_checks
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    errors, warnings = report(run_checks(workspace), strict)
    summary = f"{len(workspace.issues)} issues, {len(workspace.articles)} articles"
    out.print(f"{summary}: {errors} errors, {warnings} warnings")
    if errors:
        raise typer.Exit(1)


@app.command()
def build(
    issues: Annotated[list[str] | None, typer.Argument(help="Issue ids; default: all.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    drafts: Annotated[bool, typer.Option(help="Include draft issues.")] = False,
    root: Root = Path("."),
) -> None:
    """Build the email, web pages and feeds of every published issue into build/.

    Example: publisher build --drafts --out /tmp/site
    """
    from publisher.build import build as run_build

    result = run_build(
        root, issues or [], out_dir, drafts, lambda v: progress(list(v), "Rendering issues")
    )
    report(result.warnings)
    where = result.output
    out.print(
        f"Built {len(result.issues)} issues, {len(result.files)} files "
        f"({len(result.written)} changed) into {where}"
    )


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The new workspace's folder.")],
) -> None:
    """Create a new workspace with a commented config.toml and one example issue.

    Example: publisher init my-newsletter && cd my-newsletter && publisher build
    """
    from publisher.scaffold import create_workspace

    created = create_workspace(directory)
    for path in created:
        out.print(f"created {path}")
    out.print(f"Next: cd {directory} && publisher build")


@app.command()
def explain(
    issue: Annotated[str, typer.Argument(help="The issue id, e.g. 2024-16.")],
    article: Annotated[str | None, typer.Argument(help="Only this article's related picks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    misses: Annotated[int, typer.Option(min=0, help="Near-misses to show per list.")] = 3,
    root: Root = Path("."),
) -> None:
    """Show why each section and related pick of an issue was chosen, and what nearly was.

    Example: publisher explain 2024-16 kazakhstan-flooding --json
    """
    import json

    from publisher.explain import explain as run_explain
    from publisher.explain import to_json, to_text
    from publisher.workspace import load_workspace

    explanation = run_explain(load_workspace(root), issue, article, misses)
    if as_json:
        typer.echo(json.dumps(to_json(explanation), indent=2, ensure_ascii=False))
        return
    for line in to_text(explanation):
        out.print(line, markup=False)


def main() -> None:
    try:
        app()
    except UsageError as exc:
        report(exc.problems)
        sys.exit(2)
    except PublisherError as exc:
        report(exc.problems)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
