"""The last safety net's report: a traceback saved to a private file, never a secret."""

from __future__ import annotations

import os
import platform
import tempfile
import traceback
from pathlib import Path

from publisher import __version__

INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): a bug, not the user's input
# Names of variables whose values are blanked out of a report wherever they appear.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY", "CREDENTIAL", "DSN")


def redacted(text: str) -> str:
    """The text with every secret-looking environment value replaced by its name."""
    for name, value in os.environ.items():
        if len(value) >= 4 and any(word in name.upper() for word in SECRET_WORDS):
            text = text.replace(value, f"[{name} redacted]")
    return text


def save_report(exc: BaseException, command: str) -> Path | None:
    """Write the full traceback to a new file readable by this user only; None if that
    failed too (the one-line message still says what happened)."""
    lines = [
        f"publisher {__version__} internal error during '{command}'",
        f"python {platform.python_version()} on {platform.platform()}",
        "",
        *traceback.format_exception(exc),
    ]
    try:
        fd, name = tempfile.mkstemp(prefix="publisher-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(redacted("\n".join(lines)))
    except OSError:
        return None
    return Path(name)


def report_line(exc: BaseException, args: list[str]) -> str:
    """The one line the CLI prints: the command (its name only, never its arguments), the
    kind of error, and where the full report was saved."""
    command = "publisher " + next((a for a in args if not a.startswith("-")), "")
    saved = save_report(exc, command.strip())
    where = f"full report saved to {saved}" if saved else "no report could be saved"
    return f"internal error while running '{command.strip()}' ({type(exc).__name__}); {where}. Please report it."
