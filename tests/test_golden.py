"""The example's whole build output against a golden copy, regenerated only on purpose:

    PUBLISHER_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from tests.conftest import copy_example, run_cli, tree_bytes

GOLDEN = Path(__file__).parent / "golden" / "example-build"


def test_example_build_matches_the_golden_copy(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    result = run_cli("build", cwd=ws)
    assert result.code == 0, result.stderr
    built = tree_bytes(ws / "build")
    if os.environ.get("PUBLISHER_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(ws / "build", GOLDEN, ignore=shutil.ignore_patterns(".cache"))
    golden = tree_bytes(GOLDEN)
    assert sorted(built) == sorted(golden), "the set of output files changed"
    for name, data in built.items():
        if data != golden[name]:
            diff = difflib.unified_diff(
                golden[name].decode(errors="replace").splitlines(),
                data.decode(errors="replace").splitlines(),
                f"golden/{name}", f"build/{name}", lineterm="", n=1,
            )
            raise AssertionError("\n".join(list(diff)[:40]))
