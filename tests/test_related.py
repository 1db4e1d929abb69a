"""Related picks: property tests over random archives, and a realism test on real records."""

from __future__ import annotations

import gzip
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.config import Related
from publisher.records import Article, Issue, slugify
from publisher.related import RelatedIndex, RelatedPick

# Vendored: the public-domain gov-tech records, slimmed to the fields used (tests/data/README.md).
DATA = Path(__file__).resolve().parent / "data" / "gov-tech-articles.jsonl.gz"
TAGS = ["region:asia", "region:europe", "country:am", "country:az", "country:ge", "topic:peace",
        "topic:trade", "topic:climate", "climate", "editors-choice", "news", "rare"]  # fmt: skip
START = date(2024, 1, 5)


@st.composite
def archives(draw: st.DrawFn, max_issues: int = 7) -> list[Issue]:
    """Issues with overlapping tags, shared dates, drafts, repeated URLs and sources."""
    issues, serial, day = [], 0, START
    for n in range(draw(st.integers(1, max_issues))):
        day += timedelta(days=draw(st.sampled_from([0, 3, 7, 30, 200])))
        articles = []
        for _ in range(draw(st.integers(1, 5))):
            serial += 1
            url_no = draw(st.integers(0, 3)) if draw(st.booleans()) else serial + 10
            articles.append(
                Article(
                    id=f"a{serial}",
                    title=f"Article {serial}",
                    url=f"https://news.example/{url_no}",
                    published=day - timedelta(days=draw(st.integers(0, 20))),
                    category=draw(st.sampled_from(["News", "Analysis", ""])),
                    source=draw(st.sampled_from(["one.example", "two.example", "three.example"])),
                    tags=draw(st.lists(st.sampled_from(TAGS), max_size=5)),
                    popularity=draw(st.none() | st.integers(0, 50)),
                )
            )
        status = draw(st.sampled_from(["published", "published", "published", "draft"]))
        issue_id = f"i{draw(st.integers(0, 99)):02d}-{n}"
        issues.append(
            Issue(id=issue_id, title=issue_id, date=day, status=status, articles=articles)
        )
    return sorted(issues, key=lambda i: i.sort_key)


rules_st = st.builds(
    Related,
    limit=st.integers(0, 4),
    min_score=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
    weights=st.sampled_from([{"*": 1.0}, {"region:*": 0.5, "country:*": 2.0, "*": 1.0}, {"topic:*": 3.0, "*": 0}]),
    ignore=st.sampled_from([(), ("editors-choice", "news")]),
    idf=st.booleans(),
    half_life_days=st.sampled_from([0, 30, 365]),
    max_tag_share=st.sampled_from([0.2, 0.5, 1.0]),
    max_per_source=st.none() | st.integers(1, 2),
    max_per_category=st.none() | st.integers(1, 2),
)  # fmt: skip


def entries(issues: list[Issue]) -> list[tuple[Issue, Article]]:
    return [(i, a) for i in issues for a in i.articles]


def summary(picks: tuple[RelatedPick, ...]) -> list[tuple[str, float, tuple[str, ...]]]:
    return [(p.article.id, p.score, p.shared_tags) for p in picks]


@settings(max_examples=60, deadline=None)
@given(archives(), rules_st, st.randoms(use_true_random=False))
def test_picks_keep_every_rule(issues: list[Issue], rules: Related, rnd: random.Random) -> None:
    archive = entries(issues)
    index = RelatedIndex(archive, rules)
    shuffled = RelatedIndex(rnd.sample(archive, len(archive)), rules)
    where = {a.id: i for i, a in archive}
    for issue in issues:
        for article in issue.articles:
            picks = index.related_for(issue, article)
            # The inverted index and the all-pairs scan agree; input order does not matter.
            assert summary(picks) == summary(index.scan_related_for(issue, article))
            assert summary(picks) == summary(shuffled.related_for(issue, article))
            check_picks(rules, issue, article, picks, where)


def check_picks(
    rules: Related,
    issue: Issue,
    article: Article,
    picks: tuple[RelatedPick, ...],
    where: dict[str, Issue],
) -> None:
    """Every constraint a list of related picks must keep."""
    assert len(picks) <= rules.limit
    keys = [(-p.score, -p.article.published.toordinal(), p.article.id) for p in picks]
    assert keys == sorted(keys), "score, then newer, then id"
    assert len({p.article.url for p in picks} | {article.url}) == len(picks) + 1
    for pick in picks:
        other_issue = where[pick.article.id]
        assert other_issue.is_published and other_issue.sort_key < issue.sort_key
        assert set(pick.shared_tags) <= set(article.tags) & set(pick.article.tags)
        assert pick.shared_tags and not set(pick.shared_tags) & set(rules.ignore)
        assert pick.score >= rules.min_score
        assert abs(pick.score - sum(pick.contributions) * pick.decay) < 1e-9
    for cap, field in ((rules.max_per_source, "source"), (rules.max_per_category, "category")):
        values = [getattr(p.article, field) for p in picks]
        assert not cap or all(values.count(v) <= cap for v in values)


@settings(max_examples=40, deadline=None)
@given(archives(), archives(max_issues=3), rules_st)
def test_later_issues_never_change_picks(
    issues: list[Issue], later: list[Issue], rules: Related
) -> None:
    """A published issue renders the same forever: later issues and drafts change nothing."""
    last = issues[-1]
    shift = last.date - START + timedelta(days=1)
    added = [i.model_copy(update={"id": f"z{i.id}", "date": i.date + shift}) for i in later]
    renamed = [
        i.model_copy(update={"articles": tuple(a.model_copy(update={"id": f"z{a.id}"}) for a in i.articles)})
        for i in added
    ]  # fmt: skip
    before = RelatedIndex(entries(issues), rules)
    after = RelatedIndex(entries(issues + renamed), rules)
    for issue in issues:
        for article in issue.articles:
            assert summary(before.related_for(issue, article)) == summary(
                after.related_for(issue, article)
            )


def test_weights_rarity_and_decay_order_the_picks() -> None:
    """A rare shared tag beats a common one; a fresh article beats an old twin."""

    def art(n: int, tags: list[str], published: date) -> Article:
        return Article(
            id=f"x{n}", title="t", url=f"https://e.example/{n}", published=published, tags=tags
        )

    old, new = date(2023, 7, 1), date(2024, 1, 1)
    commons = [art(n, ["common"], new) for n in range(10, 16)]
    earlier = Issue(id="e", title="e", date=new, status="published", articles=[
        art(1, ["rare", "common"], new), art(2, ["common", "other"], new),
        art(3, ["rare", "common"], old), *commons])  # fmt: skip
    query = art(4, ["rare", "common"], new)
    issue = Issue(id="q", title="q", date=date(2024, 1, 8), articles=[query])
    rules = Related(limit=3, min_score=0.1, half_life_days=365, max_tag_share=1.0)
    picks = RelatedIndex(entries([earlier, issue]), rules).related_for(issue, query)
    assert [p.article.id for p in picks][:2] == ["x1", "x3"]
    assert (
        picks[0].contributions[picks[0].shared_tags.index("rare")] > picks[0].contributions[0] / 2
    )
    assert picks[1].decay < picks[0].decay
    dropped = Related(limit=3, min_score=0.1, max_tag_share=0.5)
    terms = RelatedIndex(entries([earlier, issue]), dropped).terms(issue, query)
    assert [t.tag for t in terms if t.dropped] == ["common"]


# --- realism: 2,928 real records with messy tags and four date formats ---------------------

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def parse_date(text: str) -> date:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unknown date format: {text!r}")


def gov_tech_issues() -> list[Issue]:
    """The records grouped into weekly published issues (Fridays), tags normalised on load."""
    weeks: dict[date, list[Article]] = {}
    for line in gzip.decompress(DATA.read_bytes()).decode("utf-8").splitlines():
        raw = json.loads(line)
        published = parse_date(raw["date"])
        article = Article(
            # One record has no title: fall back to its URL's last segment, as an importer would.
            title=raw["title"] or raw["url"].rstrip("/").rsplit("/", 1)[-1].replace("-", " "),
            id=slugify(raw["id"]), url=raw["url"], published=published,
            category=raw["category"] or "", source=raw["source"] or "", tags=raw["tags"],
        )  # fmt: skip
        friday = published + timedelta(days=(4 - published.weekday()) % 7)
        weeks.setdefault(friday, []).append(article)
    return [
        Issue(id=f"w{d:%Y%m%d}", title=f"Week of {d}", date=d, status="published", articles=a)
        for d, a in sorted(weeks.items())
    ]


GOV_RULES = Related(limit=3, min_score=1.0, ignore=("how-we-work", "news"), half_life_days=730,
                    max_per_source=2)  # fmt: skip


def test_gov_tech_archive_gives_sensible_picks() -> None:
    issues = gov_tech_issues()
    archive = entries(issues)
    assert len(archive) == 2928
    tags = {t for _, a in archive for t in a.tags}
    assert "open-source" in tags and "open source" not in tags and "analytics" in tags
    index = RelatedIndex(archive, GOV_RULES)
    where = {a.id: i for i, a in archive}
    picked = 0
    for issue in issues[-30:]:
        for article in issue.articles:
            picks = index.related_for(issue, article)
            assert summary(picks) == summary(index.scan_related_for(issue, article))
            check_picks(GOV_RULES, issue, article, picks, where)
            picked += bool(picks)
    # Most articles with tags find related reading in a 15-year archive.
    tagged = sum(bool(a.tags) for i in issues[-30:] for a in i.articles)
    assert picked >= 0.7 * tagged
