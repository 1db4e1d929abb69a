"""Near-misses at archive scale: which articles of the whole archive score best against
one article, without a Python loop over 100,000 of them. Pure.

explain's near-misses are every article of the archive (later, unpublished and same-issue
ones too, each then told why it could not be picked) that shares a counted tag. The scores
are summed per position with numpy, term by term in the terms' order and times the very
decay the index applies, so they equal score_miss's bit for bit; only the few that can
reach the top are then scored and explained one by one as before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from publisher.lazy import Lazy
from publisher.records import Article, Issue
from publisher.related import RelatedIndex, Term
from publisher.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np
else:
    np = Lazy("numpy", __name__, "np")

Entry = tuple[Issue, Article]


class ArchiveScores:
    """The whole archive, in workspace order, as seen from one issue."""

    def __init__(self, workspace: Workspace, index: RelatedIndex, issue: Issue) -> None:
        self.entries = workspace.articles
        self.index = index
        sizes = np.fromiter((len(i.articles) for i in workspace.issues), np.int64, len(workspace.issues))
        published = np.fromiter((i.is_published for i in workspace.issues), bool, len(workspace.issues))
        self.mask = mask = np.repeat(published, sizes)
        # Where each article of the index (published issues, in issue order) sits here.
        self.published_at = np.flatnonzero(mask)
        self.aligned = len(self.published_at) == len(index.articles) and all(
            self.entries[n][1] is a for n, a in zip(self.published_at.tolist(), index.articles, strict=True)
        )
        self.drafts: dict[str, list[int]] = {}
        for n in np.flatnonzero(~mask).tolist():
            for tag in self.entries[n][1].tags:
                self.drafts.setdefault(tag, []).append(n)
        self.decay = self._decays(issue)
        self._positions: dict[str, np.ndarray] = {}

    def _decays(self, issue: Issue) -> np.ndarray:
        """index.decay_of(issue, article) of every article: the index's own table for what it
        holds, decay_of itself for the rest (drafts)."""
        decay = np.zeros(len(self.entries))
        rest: Iterable[int]
        if self.aligned:
            decay[self.published_at] = self.index.decays(issue)[self.index.day_of]
            rest = np.flatnonzero(~self.mask).tolist()
        else:
            rest = range(len(self.entries))
        for n in rest:
            decay[n] = self.index.decay_of(issue, self.entries[n][1])
        return decay

    def positions(self, tag: str) -> np.ndarray:
        """The archive positions of the articles carrying a counted tag."""
        if tag not in self._positions:
            postings = self.index.postings.get(tag, np.zeros(0, np.int64))
            own = np.asarray(self.drafts.get(tag, []), dtype=np.int64)
            self._positions[tag] = np.concatenate((self.published_at[postings], own))
        return self._positions[tag]

    def best(
        self, article: Article, terms: Sequence[Term], exclude: Collection[str], misses: int
    ) -> list[Entry]:
        """The entries that may be among the `misses` best-scoring (ties kept), `exclude`
        (ids) left out; every one shares a counted tag. All of them if not aligned."""
        counted = [t for t in terms if not t.dropped]
        if not counted or misses <= 0:
            return []
        if not self.aligned:  # an archive not in issue order: score everything (the reference)
            return [e for e in self.entries if e[1].id not in exclude]
        raw, hit = np.zeros(len(self.entries)), np.zeros(len(self.entries), dtype=bool)
        for term in counted:
            found = self.positions(term.tag)
            raw[found] += term.value  # positions are distinct: one addition each, in order
            hit[found] = True
        candidates = np.flatnonzero(hit)
        scores = raw[candidates] * self.decay[candidates]
        keep = misses + len(exclude)  # enough to be left with `misses` once `exclude` is out
        if len(scores) > keep:
            kth = np.partition(scores, len(scores) - keep)[len(scores) - keep]
            candidates = candidates[scores >= kth]
        chosen = (self.entries[n] for n in candidates.tolist())
        return [e for e in chosen if e[1].id not in exclude]
