"""The command line: a thin layer that turns typed errors into messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import track

from publisher.delivery.commands import subscribers_app
from publisher.delivery.send_commands import send_command
from publisher.errors import Problem, PublisherError, UsageError
from publisher.serve.commands import serve

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
    issue: Annotated[
        str | None, typer.Argument(help="With --links: the issue; default: every draft.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    links: Annotated[
        bool, typer.Option("--links", help="Also check links: duplicates, dead links, placeholders.")
    ] = False,
    root: Root = Path("."),
) -> None:
    """Validate config.toml and every issue; report every problem at once.

    Example: publisher check --strict; publisher check --links 2024-17
    """
    from publisher.check import run_checks
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    problems = run_checks(workspace)
    if links:
        from publisher.links.commands import checked_links

        problems += checked_links(workspace, issue, err)
    elif issue:
        raise UsageError(Problem(issue, "an issue is named only with --links", hint="publisher check --links ISSUE"))
    errors, warnings = report(problems, strict)
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
        root, issues or [], out_dir, drafts, lambda v: progress(list(v), "Rendering issues"),
        on_wait=lambda where: err.print(f"waiting: another build is writing {where}"),
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


def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(
            Problem(option, f"'{value}' is not a date", hint="write it as YYYY-MM-DD, e.g. 2024-04-19")
        ) from exc


@app.command()
def new(
    issue_id: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Issue id; default: the ISO year-week of the date."),
    ] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="The day it goes out (YYYY-MM-DD); default: today.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="The issue's title.")] = None,
    root: Root = Path("."),
) -> None:
    """Start a draft: write issues/<ID>.toml from a template; never overwrite an issue.

    Example: publisher new --date 2024-04-26 --title "Atyrau braces for the flood"
    """
    from publisher.edit import new_issue
    from publisher.scaffold import iso_week_id
    from publisher.workspace import load_config

    config = load_config(root)
    when = parse_day(day, "--date") or date.today()
    issue_id = issue_id or iso_week_id(when)
    path = new_issue(root, issue_id, when, title or f"Issue {issue_id}", root / config.build.templates)
    out.print(f"created {path}")
    out.print(f"Next: publisher import FEED --into {issue_id}, or edit the file")


@app.command("import")
def import_(
    source: Annotated[
        str, typer.Argument(help="RSS/Atom file or URL, JSON file (a list of records) or CSV file.")
    ],
    into: Annotated[str, typer.Option("--into", help="The draft issue to add the articles to.")],
    since: Annotated[
        str | None, typer.Option(help="Only records published on or after this day (YYYY-MM-DD).")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only records with this tag; repeat it; globs like 'region:*'."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=0, help="Add at most this many.")] = None,
    strict: Annotated[
        bool, typer.Option(help="Refuse a feed that is not well-formed XML instead of recovering.")
    ] = False,
    add_tag: Annotated[
        list[str] | None,
        typer.Option("--add-tag", help="Give every imported article this tag; repeat it."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Report what would be added; change nothing.")] = False,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for a URL.")] = 10.0,
    root: Root = Path("."),
) -> None:
    """Add a feed's or an export's records to a draft issue, skipping ones already in the archive.

    Example: publisher import https://example.org/feed.xml --into 2024-17 --since 2024-04-19 --limit 10
    """
    from publisher.importers import Options, import_into

    since_day = parse_day(since, "--since")
    options = Options(since_day, tuple(tag or ()), limit, strict, timeout, dry_run, tuple(add_tag or ()))
    result = import_into(root, source, into, options)
    verb = "Would add" if dry_run else "Added"
    count = f"{len(result.added)} article{'s' * (len(result.added) != 1)}"
    lines = [f"{verb} {count} to issues/{into}.toml"]
    lines += [f"  + {article.id}: {article.title}" for article in result.added]
    if result.skipped:
        lines.append(f"Skipped {len(result.skipped)}:")
    lines += [f"  - {where}: {reason}" for where, reason in result.skipped]
    out.print("\n".join(lines), markup=False)  # one call: a 700-item report prints at once
    for note in result.notes:
        err.print(f"note: {note}", markup=False)


@app.command()
def preview(
    issue: Annotated[str | None, typer.Argument(help="Show this issue first; default: all.")] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1.")] = 8000,
    root: Root = Path("."),
) -> None:
    """Serve drafts on http://127.0.0.1:PORT/ and rebuild when issues/, config.toml or templates/ change.

    Example: publisher preview 2024-17 --port 8001
    """
    import signal
    import time

    from publisher.preview import Preview

    try:
        server = Preview(root, issue, port)
    except OSError as exc:
        raise UsageError(
            Problem(f"--port {port}", f"cannot listen there: {exc.strerror or exc}", hint="choose another port")
        ) from exc
    # A plain `kill` stops it as cleanly as Ctrl-C: the temporary build folder is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    out.print(f"Previewing on {server.url} (web view and email); Ctrl-C to stop")
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.stop()


@app.command()
def publish(
    issue: Annotated[str, typer.Argument(help="The draft issue's id.")],
    amend: Annotated[
        bool, typer.Option(help="Record a correction of a published issue: re-hash, set updated.")
    ] = False,
    day: Annotated[
        str | None, typer.Option("--date", help="With --amend: the day of the correction; default: today.")
    ] = None,
    allow_dead_links: Annotated[
        bool, typer.Option(help="Publish even if some links are dead (they are warnings).")
    ] = False,
    root: Root = Path("."),
) -> None:
    """Run the checks, then freeze the issue: status, number and content hash in its file,
    and its entry in issues/.published.toml. `check --links` runs first: its errors stop it.

    Example: publisher publish 2024-17; publisher publish 2024-16 --amend --date 2024-04-22
    """
    from publisher.publishing import publish as run_publish

    if day is not None and not amend:
        raise UsageError(Problem("--date", "only goes with --amend", hint="add --amend"))
    published, problems = run_publish(root, issue, amend, parse_day(day, "--date"), allow_dead_links)
    report(problems)
    verb = "Published"
    if amend:
        verb = f"Amended (updated = {published.updated})" if published.updated else "Recorded"
    out.print(f"{verb} issues/{published.id}.toml: {len(published.articles)} articles")
    announce(root)


def announce(root: Path) -> None:
    """WebSub: ping [feeds] hub for each main feed; a failure is only a warning."""
    from publisher.websub import ping_hub
    from publisher.workspace import load_config

    pinged, problems = ping_hub(load_config(root))
    report(problems)
    if pinged:
        out.print(f"Pinged the WebSub hub for {len(pinged)} feeds", markup=False)


@app.command("list")
def list_(root: Root = Path(".")) -> None:
    """List the issues: id, date, status, number of articles and title.

    Example: publisher list --root my-newsletter
    """
    from publisher.workspace import load_workspace

    workspace = load_workspace(root)
    for issue in workspace.issues:
        line = f"{issue.id:<10} {issue.date}  {issue.status:<9} {len(issue.articles):>4}  {issue.title}"
        out.print(line, markup=False)
    out.print(f"{len(workspace.issues)} issues", markup=False)


app.add_typer(subscribers_app, name="subscribers")
app.command()(serve)
app.command("send")(send_command)


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
    except Exception as exc:  # the last safety net: a bug, never the user's input
        internal_error(exc)


def internal_error(exc: BaseException) -> None:
    """One line: what was being done and where the full report is; exit 70."""
    from publisher.crash import INTERNAL_ERROR, report_line

    err.print(report_line(exc, sys.argv[1:]), markup=False)
    sys.exit(INTERNAL_ERROR)
