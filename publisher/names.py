"""The workspace's fixed names, importable without pydantic or Jinja (a no-op build reads them
before anything heavy is imported)."""

from __future__ import annotations

from pathlib import Path

CONFIG_FILE = "config.toml"  # the one name of the settings file
ISSUES_DIR = "issues"


def builtin_templates() -> Path:
    """The default theme: inside the installed package, or the repo's templates/ when run from source."""
    here = Path(__file__).resolve().parent
    packaged = here / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"
