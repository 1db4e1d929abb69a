"""Sections: property tests over random archives, and bad rules reported by `check`."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.config import Match, Section
from publisher.records import Article, Issue
from publisher.rules import SectionIndex, matches, select_section
from tests.conftest import run_cli
from tests.test_related import START, TAGS, archives, entries

patterns = st.lists(st.sampled_from([*TAGS, "region:*", "country:*", "*"]), max_size=2)
match_st = st.builds(
    Match, any=patterns, all=st.lists(st.sampled_from(TAGS), max_size=1),
    none=st.lists(st.sampled_from(["news", "rare"]), max_size=1),
    categories=st.lists(st.sampled_from(["News", "analysis"]), max_size=1),
)  # fmt: skip
section_st = st.builds(
    Section, name=st.just("s"), scope=st.sampled_from(["issue", "archive"]),
    match=st.lists(match_st, min_size=1, max_size=2),
    order=st.sampled_from(["newest", "oldest", "popular", "editorial"]),
    limit=st.integers(0, 4), exclude_issue_articles=st.booleans(),
    max_age_days=st.none() | st.integers(0, 60),
)  # fmt: skip


@st.composite
def with_overrides(draw: st.DrawFn) -> list[Issue]:
    """Issues whose files pin and exclude ids of the archive (some later, some unknown)."""
    issues = draw(archives())
    ids = [a.id for i in issues for a in i.articles] + ["unknown"]
    return [
        i.model_copy(update={
            "pin": {"s": tuple(draw(st.lists(st.sampled_from(ids), max_size=3)))},
            "exclude": tuple(draw(st.lists(st.sampled_from(ids), max_size=3))),
        })
        for i in issues
    ]  # fmt: skip


def visible(issue: Issue, other: Issue) -> bool:
    return other.id == issue.id or (other.is_published and other.sort_key < issue.sort_key)


def allowed(section: Section, issue: Issue, other: Issue, article: Article) -> bool:
    """The rule, spelt out independently of the implementation."""
    own = other.id == issue.id
    oldest = issue.date - timedelta(days=section.max_age_days or 0)
    return (
        visible(issue, other)
        and (own or section.scope == "archive")
        and not (own and section.exclude_issue_articles)
        and article.id not in issue.exclude
        and (section.max_age_days is None or article.published >= oldest)
        and any(matches(article, m) for m in section.matches)
    )


@settings(max_examples=80, deadline=None)
@given(with_overrides(), section_st, st.randoms(use_true_random=False))
def test_sections_keep_every_rule(
    issues: list[Issue], section: Section, rnd: random.Random
) -> None:
    archive = entries(issues)
    where = {a.id: i for i, a in archive}
    index = SectionIndex([section], rnd.sample(archive, len(archive)))
    for issue in issues:
        picked = index.select(section, issue).articles
        assert picked == select_section(section, issue, archive).articles, "input order matters"
        assert len(picked) <= section.limit
        assert len({a.url for a in picked}) == len(picked)
        head = expected_pins(issue, where)[: section.limit]
        rest = list(picked[len(head) :])
        assert [a.id for a in picked[: len(head)]] == head, "pins first, in the file's order"
        assert all(visible(issue, where[a.id]) for a in picked), "never a later issue"
        assert all(allowed(section, issue, where[a.id], a) for a in rest)
        check_order(section, issue, rest, where)
        check_complete(section, issue, archive, picked)


def check_order(
    section: Section, issue: Issue, rest: list[Article], where: dict[str, Issue]
) -> None:
    days = [a.published.toordinal() for a in rest]
    if section.order == "newest":
        assert days == sorted(days, reverse=True)
    elif section.order == "oldest":
        assert days == sorted(days)
    elif section.order == "popular":
        pops = [-1 if a.popularity is None else a.popularity for a in rest]
        assert pops == sorted(pops, reverse=True)
    else:
        own = [where[a.id].id == issue.id for a in rest]
        assert own == sorted(own, reverse=True), "the issue's own articles first"
        order = [a.id for a in issue.articles]
        positions = [order.index(a.id) for a, mine in zip(rest, own, strict=True) if mine]
        assert positions == sorted(positions), "in the issue's order"


def expected_pins(issue: Issue, where: dict[str, Issue]) -> list[str]:
    """Pinned ids that exist and are visible, once each (by id and by URL)."""
    by_id = {a.id: a for i in where.values() for a in i.articles}
    seen: set[str] = set()
    out = []
    for pin in issue.pin["s"]:
        if pin in where and visible(issue, where[pin]) and not {pin, by_id[pin].url} & seen:
            seen |= {pin, by_id[pin].url}
            out.append(pin)
    return out


def check_complete(section: Section, issue: Issue, archive: list, picked: tuple) -> None:
    """Fewer picks than the limit only when no other allowed article (by URL) is left."""
    if len(picked) < section.limit:
        urls = {a.url for a in picked}
        left = [a for i, a in archive if allowed(section, issue, i, a) and a.url not in urls]
        assert not left


@settings(max_examples=40, deadline=None)
@given(with_overrides(), archives(max_issues=3), section_st)
def test_later_issues_never_change_sections(
    issues: list[Issue], later: list[Issue], section: Section
) -> None:
    shift = issues[-1].date - START + timedelta(days=1)
    added = [
        i.model_copy(update={"id": f"z{i.id}", "date": i.date + shift, "articles": tuple(
            a.model_copy(update={"id": f"z{a.id}", "published": a.published + shift}) for a in i.articles)})
        for i in later
    ]  # fmt: skip
    before, after = (
        SectionIndex([section], entries(issues)),
        SectionIndex([section], entries(issues + added)),
    )
    for issue in issues:
        assert before.select(section, issue) == after.select(section, issue)


# --- bad rules, through the real `publisher check` ----------------------------------------


BAD_RULES = [
    (r'^order = "newest"', 'order = "newst"', r"\[\[sections\]\] #1 'editors-choice', field 'order': got 'newst'"),
    (r'^scope = "archive"', 'scope = "site"', r"#1 'editors-choice', field 'scope': got 'site'"),
    (r"^limit = 3$", "limit = -1", r"#2 'popular', field 'limit': must be 0 or more; got -1"),
    (r"^exclude_issue_articles", "exclude_issue_article", r"#1 'editors-choice', field 'exclude_issue_article': is not a known key \(did you mean 'exclude_issue_articles'"),
    (r"match = \{ categories", "match = { categorys", r"#3 'analysis', field 'match.categorys': is not a known key \(did you mean 'categories'"),
    (r'"region:\*" = 0.5', '"region:*" = "heavy"', r"\[related\], field 'weights.region:\*': a weight must be a number"),
    (r"^half_life_days = 365", "half_life_days = -1", r"\[related\], field 'half_life_days'"),
]  # fmt: skip


def test_bad_rules_name_config_and_section(example: Path) -> None:
    """Every mistake at once, each naming config.toml, the section and the key."""
    path = example / "config.toml"
    text = path.read_text()
    for old, new, _ in BAD_RULES:
        assert re.search(old, text, re.M), old
        text = re.sub(old, new, text, count=1, flags=re.M)
    path.write_text(text)
    run = run_cli("check", cwd=example)
    assert run.code == 1
    for _, _, expected in BAD_RULES:
        assert re.search(r"error: config\.toml, .*" + expected, run.stderr), (expected, run.stderr)


def test_bad_pins_are_errors_naming_issue_and_section(example: Path) -> None:
    path = example / "issues" / "2024-16.toml"
    text = path.read_text()
    pins = '[pin]\neditors-choice = ["no-such-article"]\nmissing-section = []\n\n[[articles]]'
    path.write_text(text.replace("[[articles]]", pins, 1))
    run = run_cli("check", cwd=example)
    assert run.code == 1
    assert re.search(
        r"issues/2024-16\.toml, issue, field 'pin\.editors-choice': pinned article 'no-such-article' is not in the archive",
        run.stderr,
    )
    assert "field 'pin.missing-section': no section 'missing-section'" in run.stderr


def test_unmatched_globs_and_empty_sections_warn(example: Path) -> None:
    path = example / "config.toml"
    text = path.read_text().replace('"country:*" = 2.0', '"contry:*" = 2.0')
    path.write_text(text.replace('any = ["editors-choice"]', 'any = ["editors-choise"]'))
    run = run_cli("check", cwd=example)
    assert run.code == 0, run.stderr
    assert (
        "warning: config.toml, [related], field 'weights': 'contry:*' matches nothing" in run.stderr
    )
    assert (
        "[[sections]] #1 'editors-choice', field 'match': 'editors-choise' matches nothing"
        in run.stderr
    )
    assert re.search(
        r"warning: issues/2024-16\.toml, issue: section 'editors-choice' comes out empty",
        run.stderr,
    )


def test_pins_show_first_in_the_built_email(example: Path) -> None:
    """A pin of an older article leads the section in the issue's email."""
    path = example / "issues" / "2024-16.toml"
    pinned = "aral-sea-afforestation-seabed"
    path.write_text(
        path.read_text().replace(
            "[[articles]]", f'[pin]\npopular = ["{pinned}"]\n\n[[articles]]', 1
        )
    )
    run = run_cli("explain", "2024-16", "--json", cwd=example)
    assert run.code == 0, run.stderr

    popular = next(s for s in json.loads(run.stdout)["sections"] if s["name"] == "popular")
    assert popular["articles"][0] == pinned and len(popular["articles"]) == 3
    assert popular["reasons"][pinned] == "pinned in the issue file"
