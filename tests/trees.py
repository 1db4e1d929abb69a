"""Whole-tree snapshots, to assert that a build changed nothing, or exactly what it should."""

from __future__ import annotations

import os
from pathlib import Path

Entry = tuple[str, bytes]


def snapshot(root: Path) -> dict[str, Entry]:
    """Every file, folder and symbolic link under root, without following links: what a
    refused build must leave exactly as it was (the workspace, its build, the generations)."""
    found: dict[str, Entry] = {}
    for top, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(top) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                found[rel] = ("dir", b"")
            elif path.is_file():
                found[rel] = ("file", path.read_bytes())
            else:  # a pipe or a socket: reading would block
                found[rel] = ("special", b"")
    return found


def public_tree(output: Path) -> dict[str, bytes]:
    """What a web server or rsync reads through the output path: every file, hidden ones too."""
    folder = output.resolve()
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def temp_names(tree: dict[str, bytes]) -> list[str]:
    return [rel for rel in tree if any(part.startswith(".") for part in rel.split("/"))]
