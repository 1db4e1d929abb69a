"""kill -9 at random moments during builds of a 150-issue archive, where the old and the new
build differ in many files: the public folder is always exactly the old build or the new one,
with no temporary file in it, and the next build succeeds and equals a clean build.

KILL_TEST_SEED=N replays a run; the seed is in every failure message."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from publisher.build import build
from tests.archive import make_archive, reword
from tests.trees import public_tree, temp_names

ISSUES = 150
KILLS = 30
EVERY = 3  # a third of the issues change between the two versions, and the feeds with them
VERSIONS = ("This week", "A different week")


def start_build(ws: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "publisher", "build"], cwd=ws,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_writing(ws: Path, proc: subprocess.Popen[bytes], number: int) -> bool:
    """Until the build starts writing generation `number` (or ends); True if it did."""
    folder = ws / ".build.generations" / str(number)
    while proc.poll() is None:
        if folder.exists():
            return True
        time.sleep(0.002)
    return False


def generation(ws: Path) -> int:
    return int(os.readlink(ws / "build").rsplit("/", 1)[1])


def test_kill_9_never_leaves_a_mixed_site(tmp_path: Path) -> None:
    seed = int(os.environ.get("KILL_TEST_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    ws = make_archive(tmp_path / "ws", ISSUES)
    clean = {}
    for n, words in enumerate(VERSIONS):  # clean builds, each into a folder of its own
        reword(ws, EVERY, words)
        build(ws, out=tmp_path / f"clean-{n}")
        clean[words] = public_tree(tmp_path / f"clean-{n}")
        build(ws)  # and into build/, warming its cache
    old, new = clean.values()
    differ = [rel for rel in old if old[rel] != new[rel]]
    assert len(differ) > 200 and set(old) == set(new), len(differ)
    started = time.monotonic()
    build(ws, out=tmp_path / "timing")
    duration = time.monotonic() - started + 0.6  # a cached build, and the interpreter's start
    shown, outcomes = VERSIONS[1], {"old": 0, "new": 0, "while writing": 0}
    for kill in range(KILLS):
        target = VERSIONS[kill % 2]
        reword(ws, EVERY, target)
        before = generation(ws)
        proc = start_build(ws)
        if kill % 3 == 0:  # anywhere in the build: loading, rendering, writing, swapping
            time.sleep(rng.uniform(0, 1.2 * duration))
        elif wait_for_writing(ws, proc, before + 1):  # somewhere in the write phase
            # Short: the generation folder appears once the recycled one is emptied, and
            # only the changed files are left to write (a few hundred, tens of milliseconds).
            time.sleep(rng.uniform(0, 0.04))
            outcomes["while writing"] += proc.poll() is None
        proc.kill()
        proc.wait()
        public = public_tree(ws / "build")
        context = f"kill {kill} (seed {seed})"
        assert not temp_names(public), (context, temp_names(public))
        assert public in (clean[shown], clean[target]), f"{context}: a mixed site"
        outcomes["new" if public == clean[target] else "old"] += 1
        build(ws)  # the next build
        assert public_tree(ws / "build") == clean[target], f"{context}: the next build differs"
        shown = target
    numbered = [p.name for p in (ws / ".build.generations").iterdir() if p.name.isdigit()]
    assert len(numbered) == 2, numbered  # killed builds' half-written generations are gone
    assert outcomes["while writing"] >= KILLS // 4, outcomes
    assert outcomes["old"] >= 5, outcomes
