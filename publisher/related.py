"""Related articles: for each article, the archive's articles that share its subject. Pure.

score = decay(age) x sum over shared tags of weight(tag) x rarity(tag), where
rarity = ln(1 + N / df) over the N articles of published issues before the issue, and
decay = 0.5 ** (age in days / half_life_days). Ties: score, then newer, then id.
"""

from __future__ import annotations

import fnmatch
import marshal
import math
import re
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import accumulate, chain
from typing import TYPE_CHECKING, Any

from publisher.config import Related
from publisher.diversity import Diversity
from publisher.lazy import Lazy
from publisher.records import Article, Issue

if TYPE_CHECKING:
    import numpy as np
else:
    np = Lazy("numpy", __name__, "np")

Entry = tuple[Issue, Article]
DECAY_TABLES = 8
Skip = Callable[[Article], str | None]  # why a candidate is shown in the email already, or None


@dataclass(frozen=True)
class Skipped:
    """A candidate passed over because the email shows it already (rules_version 2)."""

    article: Article
    reason: str


@dataclass(frozen=True)
class RelatedPick:
    article: Article
    score: float
    shared_tags: tuple[str, ...]
    contributions: tuple[float, ...] = ()  # weight x rarity of each shared tag
    decay: float = 1.0


class StoredPicks(Mapping[str, tuple[RelatedPick, ...]]):
    """An issue's related picks by article id, as the selection cache stores them: the
    article ids, and every article's picks, (id, score, shared tags, contributions, decay),
    as one compressed marshal blob (a third of the bytes, which a large archive holds for
    every issue), made into RelatedPicks when first read. An edit's build reads the picks
    of the few issues it renders, not the 300,000 of a 5,000-issue archive; the picked
    articles (`shown`, in order) are known without reading any."""

    __slots__ = ("_blob", "_by_id", "_keys", "_made", "_shown")

    def __init__(self, keys: list[str], blob: bytes, shown: list[str], by_id: Mapping[str, Article]) -> None:
        self._keys = keys
        self._blob = blob
        self._shown = shown
        self._by_id = by_id
        self._made: dict[str, tuple[RelatedPick, ...]] | None = None

    @staticmethod
    def pack(related: Mapping[str, Sequence[list[Any]]]) -> list[Any]:
        """What the cache stores of picks given as lists: [ids, blob] (deterministic)."""
        return [list(related), zlib.compress(marshal.dumps(list(related.values()), 2), 1)]

    def _picks(self) -> dict[str, tuple[RelatedPick, ...]]:
        if self._made is None:
            by_id = self._by_id
            self._made = {
                key: tuple(RelatedPick(by_id[a], float(s), tuple(t), tuple(map(float, c)), float(d))
                           for a, s, t, c, d in picks)
                for key, picks in zip(self._keys, marshal.loads(zlib.decompress(self._blob)), strict=True)
            }
        return self._made

    def __getitem__(self, key: str) -> tuple[RelatedPick, ...]:
        return self._picks()[key]

    def forget(self) -> None:
        """Let go of the picks made so far (a render worker, once the issue is rendered: kept,
        they grew it by 40 KB an issue)."""
        self._made = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def articles(self) -> list[Article]:
        """The picked articles, article by article, each one's picks in order."""
        return list(map(self._by_id.__getitem__, self._shown))

    def __reduce__(self) -> tuple[type, tuple[dict[str, tuple[RelatedPick, ...]]]]:
        return dict, (dict(self.items()),)  # to a worker, as the plain dict select_issue makes

    def __repr__(self) -> str:
        return repr(dict(self.items()))


@dataclass(frozen=True)
class Term:
    """One tag of an article, as the scoring sees it for one issue."""

    tag: str
    weight: float
    df: int  # articles before the issue that carry it
    rarity: float
    dropped: str = ""  # why it does not count, if it does not

    @property
    def value(self) -> float:
        return self.weight * self.rarity


def tag_weight(rules: Related, tag: str) -> float:
    """The exact tag's weight, else the most specific matching glob's, else 1."""
    if tag in rules.weights:
        return rules.weights[tag]
    found = [
        (len(pattern.strip("*?")), -n, weight)
        for n, (pattern, weight) in enumerate(rules.weights.items())
        if fnmatchcase(tag, pattern)
    ]
    return max(found)[2] if found else 1.0


def published_in_order(archive: Iterable[Entry]) -> list[tuple[Issue, list[Article]]]:
    """Published issues by (date, id), each with its articles in the order given."""
    groups: dict[str, tuple[Issue, list[Article]]] = {}
    current, articles = None, []
    for issue, article in archive:
        if issue is not current:  # archives come grouped by issue: look up once per run
            current, articles = issue, groups.setdefault(issue.id, (issue, []))[1]
        articles.append(article)
    published = [g for g in groups.values() if g[0].is_published]
    return sorted(published, key=lambda g: g[0].sort_key)


def half_life_decay(rules: Related, issue: Issue, article: Article) -> float:
    if not rules.half_life_days:
        return 1.0
    age = max(0, (issue.date - article.published).days)
    return float(0.5 ** (age / rules.half_life_days))


class RelatedIndex:
    """An inverted index tag -> positions of articles of published issues, in issue order.

    Because positions follow issue order, 'before this issue' is a prefix of every posting
    list: document frequencies and candidates as of any issue come from a bisect, so a
    published issue scores exactly as it did when it went out, whatever is added later.
    """

    def __init__(self, archive: Iterable[Entry], rules: Related) -> None:
        self.rules = rules
        self._weights: dict[str, float] = {}
        self._ignore = [re.compile(fnmatch.translate(p)).match for p in rules.ignore]
        # Most specific glob first, then the first written: the order tag_weight uses.
        self._globs = sorted(
            ((len(p.strip("*?")), -n), w, re.compile(fnmatch.translate(p)).match)
            for n, (p, w) in enumerate(rules.weights.items())
        )[::-1]
        self._decays: dict[int, np.ndarray] = {}  # the last few issue dates' (see decays)
        self._terms: tuple[int, dict[str, Term]] = (-1, {})  # one issue's, by tag: they repeat
        self._diversity: Diversity | None = None  # built on first use
        issues = published_in_order(archive)
        self.keys = [issue.sort_key for issue, _ in issues]
        self.starts = list(accumulate((len(a) for _, a in issues), initial=0))
        self.articles = [a for _, articles in issues for a in articles]
        self.postings = self._postings()
        ordinals = np.fromiter((a.published.toordinal() for a in self.articles), np.int64)
        days, self.day_of = np.unique(ordinals, return_inverse=True)
        self.days = days.tolist()
        self._days = days.astype(np.int64)
        self._day_index = {day: n for n, day in enumerate(self.days)}
        self.minus_day = -ordinals
        self.latest = np.maximum.accumulate(ordinals) if len(ordinals) else ordinals
        self.ordinals = ordinals.tolist()
        by_id = sorted(range(len(self.articles)), key=[a.id for a in self.articles].__getitem__)
        self.id_rank = np.empty(len(by_id), dtype=np.int64)
        self.id_rank[by_id] = np.arange(len(by_id))

    def _postings(self) -> dict[str, np.ndarray]:
        """tag -> ascending positions, built in bulk: one stable sort of (tag, position)."""
        tag_lists = [a.tags for a in self.articles]
        flat = list(chain.from_iterable(tag_lists))
        names = {tag: n for n, tag in enumerate(dict.fromkeys(flat))}
        codes = np.fromiter(map(names.__getitem__, flat), np.int64, len(flat))
        owners = np.repeat(np.arange(len(tag_lists)), list(map(len, tag_lists)))
        # Small integer codes let numpy's stable sort use radix sort.
        small = codes.astype(np.int16) if len(names) < 2**15 else codes
        order = np.argsort(small, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=len(names)))[:-1]
        groups = np.split(owners[order], bounds) if len(names) else []
        return {tag: g for tag, g in zip(names, groups, strict=True) if self.weight(tag)}

    def weight(self, tag: str) -> float:
        """A tag's weight (see tag_weight); 0 when ignored. Cached per tag."""
        if tag not in self._weights:
            if any(match(tag) for match in self._ignore):
                self._weights[tag] = 0.0
            elif tag in self.rules.weights:
                self._weights[tag] = self.rules.weights[tag]
            else:
                found = (w for _, w, match in self._globs if match(tag))
                self._weights[tag] = next(found, 1.0)
        return self._weights[tag]

    def cut(self, issue: Issue) -> int:
        """How many indexed articles belong to published issues before this one."""
        return self.starts[bisect_left(self.keys, issue.sort_key)]

    def terms(self, issue: Issue, article: Article) -> tuple[Term, ...]:
        """The article's tags in a fixed order, each with its weight, rarity and fate."""
        n = self.cut(issue)
        if self._terms[0] != n:
            self._terms = (n, {})
        known = self._terms[1]
        return tuple(known.get(tag) or known.setdefault(tag, self._term(tag, n)) for tag in sorted(article.tags))

    def _term(self, tag: str, n: int) -> Term:
        weight = self.weight(tag)
        postings = self.postings.get(tag)
        df = 0 if postings is None else int(postings.searchsorted(n))
        rarity = math.log1p(n / df) if self.rules.idf and df else 1.0
        dropped = ""
        if not weight:
            dropped = "ignored" if tag_weight(self.rules, tag) else "weight 0"
        elif not df:
            dropped = "no earlier article carries it"
        elif df > max(1.0, self.rules.max_tag_share * n):
            dropped = f"too common: on {df / n:.0%} of the archive > max_tag_share"
        return Term(tag, weight, df, rarity, dropped)

    def related_for(
        self,
        issue: Issue,
        article: Article,
        skip: Skip | None = None,
        skipped: list[Skipped] | None = None,
        limit: int | None = None,
    ) -> tuple[RelatedPick, ...]:
        """The article's related picks in this issue, from the inverted index.

        `skip` (rules_version 2) says why a candidate is shown in the email already; those
        are passed over for the next one, and listed in `skipped`."""
        limit = self.rules.limit if limit is None else limit
        terms = [t for t in self.terms(issue, article) if not t.dropped]
        if not terms or not limit:
            return ()
        found, scores = self.candidates(issue, terms)
        # Most lists fill from the best few; rank everything only if the caps need more.
        few = 4 * limit
        if len(scores) > few:
            kth = -np.partition(-scores, few - 1)[few - 1]
            best = scores >= kth
            passed: list[Skipped] = []
            picks = self.choose_masked(issue, article, found[best], scores[best], terms, skip, passed, limit)
            if len(picks) == limit or best.all():
                if skipped is not None:
                    skipped.extend(passed)
                return picks
        return self.choose_masked(issue, article, found, scores, terms, skip, skipped, limit)

    def choose_masked(
        self, issue: Issue, article: Article, found: np.ndarray, scores: np.ndarray,
        terms: Sequence[Term], skip: Skip | None, skipped: list[Skipped] | None, limit: int,
    ) -> tuple[RelatedPick, ...]:
        """choose() over the ranking, with the caps as array masks (see diversity.py)."""
        if self._diversity is None:
            self._diversity = Diversity(self.articles)
        order = np.lexsort((self.id_rank[found], self.minus_day[found], -scores))

        def passed_over(n: int) -> bool:
            other = self.articles[n]
            if skip and (reason := skip(other)):
                if skipped is not None:
                    skipped.append(Skipped(other, reason))
                return True
            return False

        chosen = self._diversity.picks(article, found[order], self.rules, limit, passed_over)
        return tuple(self.pick(issue, n, terms) for n in chosen)

    def candidates(self, issue: Issue, terms: Sequence[Term]) -> tuple[np.ndarray, np.ndarray]:
        """Positions and decayed scores at or over min_score, from the postings alone.

        Sums are added term by term in the scan's order, so both give bit-identical scores.
        """
        low, cut = self.horizon(issue, terms), self.cut(issue)
        raw = np.zeros(max(0, cut - low))
        for term in terms:
            postings = self.postings[term.tag][: term.df]
            start = int(postings.searchsorted(low))
            raw[postings[start:] - low] += term.value
        # A score is never above its raw sum (decay <= 1): filter before gathering decays.
        found = np.flatnonzero(raw >= max(self.rules.min_score, np.finfo(float).tiny))
        scores = raw[found] * self.decays(issue)[self.day_of[found + low]]
        keep = scores >= self.rules.min_score
        return found[keep] + low, scores[keep]

    def ranked(self, found: np.ndarray, scores: np.ndarray) -> list[int]:
        """Positions by score, then newer, then id."""
        order = np.lexsort((self.id_rank[found], self.minus_day[found], -scores))
        positions: list[int] = found[order].tolist()
        return positions

    def horizon(self, issue: Issue, terms: Sequence[Term]) -> int:
        """The first position that could still reach min_score once decayed.

        Even sharing every counted tag, an article older than half_life x log2(sum /
        min_score) days scores below min_score; positions before the first article
        published after that day are skipped (`latest` is a running maximum).
        """
        best, rules = sum(t.value for t in terms), self.rules
        if not rules.half_life_days or rules.min_score <= 0 or not len(self.latest):
            return 0
        if best < rules.min_score:
            return len(self.latest)
        oldest = (
            issue.date.toordinal()
            - int(rules.half_life_days * math.log2(best / rules.min_score))
            - 1
        )
        return int(self.latest.searchsorted(oldest))

    def scan_related_for(self, issue: Issue, article: Article) -> tuple[RelatedPick, ...]:
        """The same picks by scoring every earlier article: the reference for tests."""
        terms = [t for t in self.terms(issue, article) if not t.dropped]
        decays, scored = self.decays(issue), []
        for n in range(self.cut(issue)):
            tags = self.articles[n].tags
            shared = [t.value for t in terms if t.tag in tags]
            score = sum(shared, 0.0) * float(decays[self.day_of[n]])
            if shared and score >= self.rules.min_score:
                scored.append((-score, -self.ordinals[n], self.articles[n].id, n))
        return self.choose(issue, article, (n for *_, n in sorted(scored)), terms)

    def decays(self, issue: Issue) -> np.ndarray:
        """The decay of every distinct published day, as of the issue's date (cached).

        Every score, index or scan, takes its decay from this one table, so both agree
        to the last bit.
        """
        today = issue.date.toordinal()
        if today not in self._decays:
            ages = np.maximum(0, today - self._days)
            half_life = self.rules.half_life_days
            values = np.power(0.5, ages / half_life) if half_life else np.ones(len(ages))
            # A table per distinct published day: kept for the last few issue dates only
            # (issues are selected in date order), else 5,000 issues hold 1.4 GB of them.
            if len(self._decays) >= DECAY_TABLES:
                del self._decays[next(iter(self._decays))]
            self._decays[today] = values
        return self._decays[today]

    def decay_of(self, issue: Issue, article: Article) -> float:
        """The decay the index itself applies to an article, bit for bit (explain compares
        near-misses with picks by score: two roundings of one score would misorder them)."""
        if article.published.toordinal() in self._day_index:
            return float(self.decays(issue)[self._day_index[article.published.toordinal()]])
        return half_life_decay(self.rules, issue, article)

    def choose(
        self,
        issue: Issue,
        article: Article,
        ranked: Iterable[int],
        terms: Sequence[Term],
        skip: Skip | None = None,
        skipped: list[Skipped] | None = None,
        limit: int | None = None,
    ) -> tuple[RelatedPick, ...]:
        """Walk the ranked positions, skipping what the diversity caps, URLs or `skip` forbid."""
        limit = self.rules.limit if limit is None else limit
        picks: list[RelatedPick] = []
        for n in ranked:
            if len(picks) >= limit:
                break
            other = self.articles[n]
            if self.blocked(article, other, picks) is not None:
                continue
            if skip and (reason := skip(other)):
                if skipped is not None:
                    skipped.append(Skipped(other, reason))
                continue
            picks.append(self.pick(issue, n, terms))
        return tuple(picks)

    def blocked(self, article: Article, other: Article, picks: Sequence[RelatedPick]) -> str | None:
        """Why a candidate may not join the picks so far (same URL, diversity), or None."""
        if other.url == article.url or any(p.article.url == other.url for p in picks):
            return "same URL as " + ("the article" if other.url == article.url else "a pick")
        cap = self.rules.max_per_source
        if cap and sum(p.article.source == other.source for p in picks) >= cap:
            return f"max_per_source = {cap}: source '{other.source}' is full"
        cap = self.rules.max_per_category
        if cap and sum(p.article.category == other.category for p in picks) >= cap:
            return f"max_per_category = {cap}: category '{other.category}' is full"
        return None

    def pick(self, issue: Issue, n: int, terms: Sequence[Term]) -> RelatedPick:
        other = self.articles[n]
        shared = [t for t in terms if t.tag in other.tags]
        decay = float(self.decays(issue)[self.day_of[n]])
        score = sum((t.value for t in shared), 0.0) * decay
        tags, values = tuple(t.tag for t in shared), tuple(t.value for t in shared)
        return RelatedPick(other, score, tags, values, decay)

    def related_for_issue(self, issue: Issue) -> dict[str, tuple[RelatedPick, ...]]:
        return {a.id: self.related_for(issue, a) for a in issue.articles}
