"""Digests of publisher's own code, for the caches' salts, taken as the modules that use them
are imported (as a command starts): they are those of the code this process runs. Taken
later, from the files as they are then, a process running old code after an upgrade replaced
its files (a preview server left running) would salt like the new code: it would misread the
new code's cache entries, and write its own results under the new code's salt."""

from __future__ import annotations

import hashlib
from contextlib import suppress
from pathlib import Path

HERE = Path(__file__).parent


def digest_of(names: list[str]) -> str:
    """The digest of these files of the package (relative names, as "records.py")."""
    digest = hashlib.sha256()
    for name in names:
        with suppress(OSError):
            digest.update(name.encode() + b"\0" + (HERE / name).read_bytes())
    return digest.hexdigest()


# Every module (rendering and selection depend on any of them): 120 files, a few milliseconds.
ALL = digest_of(sorted(p.relative_to(HERE).as_posix() for p in HERE.rglob("*.py")))
