"""Typed errors. Nothing below the CLI prints or exits; it raises these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


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
        return text + (f" ({self.hint})" if self.hint else "")

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
