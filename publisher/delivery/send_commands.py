"""`publisher send`: the CLI over the send run. Heavy modules load only when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from publisher.errors import Problem, UsageError

err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)  # addresses, paths: text
out = Console(highlight=False, soft_wrap=True, markup=False)


def send_command(
    targets: Annotated[list[str], typer.Argument(
        help="The issue id; with --test, then the addresses.", metavar="ISSUE [ADDR...]")],
    test: Annotated[bool, typer.Option("--test", help="Send now to the addresses given, subject "
                                       "prefixed [TEST]; drafts too; no journal.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    rate: Annotated[float | None, typer.Option(min=0, help="Messages per second at most "
                                               "(0: no limit); default [send] rate.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Connections (or API calls) "
                                                    "in flight; default [send] concurrency.")] = None,
    only_new: Annotated[bool, typer.Option("--only-new", help="Only recipients never tried "
                                           "yet (e.g. confirmed since the last run).")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show the journal: counts, failures "
                                         "with their answers, uncertain recipients.")] = False,
    resend_uncertain: Annotated[bool, typer.Option("--resend-uncertain", help="Send again to the "
                                                   "recipients a stopped run left uncertain.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write every personalised message "
                                          "into --out instead of sending.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="--dry-run's folder (.eml files), "
                                                 "or a file ending in .mbox.")] = None,
    root: Annotated[Path, typer.Option("--root", "-C", help="The workspace folder.",
                                       show_default=False)] = Path("."),
) -> None:
    """Send an issue to every confirmed subscriber, resumably; or a test to a few addresses.

    Example: publisher send 2024-18 --test me@example.org; publisher send 2024-18 --yes
    """
    from publisher.delivery import send_flow

    issue, addresses = targets[0], targets[1:]
    if addresses and not test:
        raise UsageError(Problem("send", f"unexpected arguments {addresses}", hint="addresses "
                                 "follow --test, e.g. publisher send 2024-18 --test me@example.org"))
    if test and not addresses:
        raise UsageError(Problem("--test", "no address given", hint="publisher send ISSUE --test ADDR"))
    if dry_run != (out_dir is not None):
        raise UsageError(Problem("--dry-run", "--dry-run and --out go together",
                                 hint="publisher send ISSUE --dry-run --out /tmp/messages"))
    options = send_flow.Options(issue, root, yes, rate, concurrency, only_new, resend_uncertain)
    if status:
        code = send_flow.show_status(options, out)
    elif test:
        code = send_flow.send_test(options, addresses, out, err)
    elif out_dir is not None:
        code = send_flow.dry_run(options, out_dir, out)
    else:
        code = send_flow.send_issue(options, out, err)
    if code:
        raise typer.Exit(code)
