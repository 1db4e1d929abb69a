"""explain's shortcuts at archive scale explain exactly what the plain way does: sections
walked over the part of the archive they can show, near-misses scored with numpy, and
section matching decided per distinct tag (publisher/misses.py, explain.section_archive,
rules.matched_positions), on generated archives nobody tuned them to."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.config import Match
from publisher.digest.picks import choose_picks
from publisher.explain import related_trace, scan_misses, section_archive
from publisher.related import RelatedIndex
from publisher.rules import SectionIndex, matched_positions, matching_rule
from publisher.workspace import load_workspace
from tests.test_explain import REGIONS, TOPICS, write_workspace

PATTERNS = [*TOPICS[:6], "topic:*", "region:*", "region:n*", "editors-choice", "*", "nothing"]
CATEGORIES = ["News", "analysis", "Opin*", "Explainer"]


def a_match(rnd: random.Random) -> dict[str, Any]:
    match: dict[str, Any] = {}
    for key in ("any", "all", "none"):
        if rnd.random() < 0.5:
            match[key] = rnd.sample(PATTERNS, rnd.randint(1, 3))
    if rnd.random() < 0.3:
        match["categories"] = rnd.sample(CATEGORIES, rnd.randint(1, 2))
    return match


def a_section(rnd: random.Random, n: int) -> dict[str, Any]:
    section: dict[str, Any] = {
        "name": f"s{n}", "scope": rnd.choice(["issue", "archive", "archive"]),
        "order": rnd.choice(["newest", "oldest", "popular", "editorial"]),
        "limit": rnd.randint(0, 4), "exclude_issue_articles": rnd.random() < 0.5,
        "match": [a_match(rnd) for _ in range(rnd.randint(1, 2))],
    }  # fmt: skip
    if rnd.random() < 0.7:
        section["max_age_days"] = rnd.randint(1, 120)
    return section


def generate(root: Path, seed: int, issues: int, per_issue: int) -> None:
    """tests/test_explain's archive with random sections and pins of any article (older than
    any window, from later issues, from drafts)."""
    rnd = random.Random(seed)
    written = write_workspace(root, issues, per_issue, seed, drafts=rnd.randint(1, 2))
    config = tomlkit.parse((root / "config.toml").read_text())
    config["sections"] = [a_section(rnd, n) for n in range(rnd.randint(1, 3))]
    (root / "config.toml").write_text(tomlkit.dumps(config))
    ids = [a["id"] for issue in written for a in issue["articles"]]
    for issue in written:
        if rnd.random() < 0.4:
            path = root / "issues" / f"{issue['id']}.toml"
            doc = tomlkit.parse(path.read_text())
            doc["pin"] = {f"s{rnd.randint(0, 2)}": rnd.sample(ids, 2)}
            path.write_text(tomlkit.dumps(doc))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 14), st.integers(1, 6))
def test_shortcuts_explain_what_the_whole_archive_does(seed: int, issues: int, per_issue: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), seed, issues, per_issue)
        workspace = load_workspace(Path(tmp))
        config = workspace.config
        index = RelatedIndex(workspace.articles, config.related)
        whole = SectionIndex(config.sections, workspace.articles)
        for issue in workspace.issues:
            part = SectionIndex(config.sections, section_archive(workspace, issue))
            for section in config.sections:
                assert list(part.walk(section, issue, 4)) == list(whole.walk(section, issue, 4))
            picks = choose_picks(config, index, whole, issue, 3)
            assert choose_picks(config, index, part, issue, 3).walks == picks.walks
            for article in issue.articles:
                for misses in (0, 1, 3, 8):
                    found = related_trace(workspace, index, issue, article, misses, picks).misses
                    assert found == scan_misses(workspace, index, issue, article, misses, picks)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_matched_positions_are_matching_rule(seed: int) -> None:
    from publisher.config import Section
    from publisher.records import Article

    rnd = random.Random(seed)
    articles = [
        Article(
            id=f"a{n}", title="t", url=f"https://x.example/{n}", published="2024-01-01",
            category=rnd.choice(["News", "Analysis", "Opinion", "", "OPINION piece"]),
            tags=rnd.sample([*TOPICS, *REGIONS, "editors-choice", "Topic:T1"], rnd.randint(0, 4)),
        )
        for n in range(60)
    ]  # fmt: skip
    section = Section.model_validate(a_section(rnd, 0))
    assert all(isinstance(m, Match) for m in section.matches)
    expected = [n for n, a in enumerate(articles) if matching_rule(a, section)]
    assert matched_positions(section, articles) == expected
