"""Typed errors. Nothing below the CLI prints or exits; it raises these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
# Characters that never reach an output: C0 (but tab and line ends) and C1 controls, DEL,
# the XML non-characters (a feed or an email holding one is broken), Unicode line and
# paragraph separators (parsers split headers at them), and the bidirectional embeddings,
# overrides and isolates, which make "Invoice \u202egnp.exe" display as "Invoice exe.png".
# Records drop them (publisher.records), settings refuse them (publisher.values).
CONTROL_CHARS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff"
)
_INVISIBLE_RE = re.compile(f"[{CONTROL_CHARS}\r]")


def visible(text: str) -> str:
    """Invisible characters quoted from bad input, written as \\u escapes: a message never
    moves the cursor, colours the terminal, reverses text or breaks its own line."""
    return _INVISIBLE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what is wrong, and how to fix it."""

    file: str
    message: str
    record: str = ""
    field: str = ""
    hint: str = ""
    severity: Severity = "error"
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.record:
            parts.append(self.record)
        if self.field:
            parts.append(f"field '{self.field}'")
        text = ", ".join(parts) + f": {self.message}"
        return visible(text + (f" ({self.hint})" if self.hint else ""))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class PublisherError(Exception):
    """Base of every error the CLI turns into a message and a non-zero exit."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = Problem(file="", message=problems)
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(PublisherError):
    """config.toml is missing, malformed or holds an invalid value."""


class RecordError(PublisherError):
    """One or more issue files hold invalid records."""


class BuildError(PublisherError):
    """Rendering or writing the outputs failed."""


class UsageError(PublisherError):
    """The command was called wrongly (exit code 2)."""


class LedgerError(PublisherError):
    """The subscriber database cannot be opened, read or written (locked, read-only, corrupt, down)."""
