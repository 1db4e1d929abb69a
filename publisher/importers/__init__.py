"""Importers: article records from RSS/Atom feeds, JSON and CSV exports, into a draft issue."""

from publisher.importers.run import ImportReport, Options, import_into
from publisher.importers.sources import SourceError

__all__ = ["ImportReport", "Options", "SourceError", "import_into"]
