"""The related lists' diversity caps as array masks: the same picks as walking the ranked
candidates in Python (RelatedIndex.choose, which the naive scan still uses), in a handful of
numpy passes instead of one `blocked` call per candidate.

Walking the ranking, a candidate joins unless its URL is the article's or a pick's, or its
source (category) already has max_per_source (max_per_category) picks. Every pick only
shrinks the allowed set, and every candidate ranked before a pick was refused already, so
the next pick is always the first still-allowed candidate: mask, take it, mask again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from publisher.config import Related
from publisher.lazy import Lazy
from publisher.records import Article

if TYPE_CHECKING:
    import numpy as np
else:
    np = Lazy("numpy", __name__, "np")


def _codes(values: Sequence[str]) -> tuple[np.ndarray, dict[str, int]]:
    known: dict[str, int] = {}
    codes = np.fromiter((known.setdefault(v, len(known)) for v in values), np.int64, len(values))
    return codes, known


class Diversity:
    """Each indexed article's URL, source and category, as small integers."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.url, self.urls = _codes([str(a.url) for a in articles])
        self.source, _ = _codes([a.source for a in articles])
        self.category, _ = _codes([a.category for a in articles])

    def picks(
        self, article: Article, ranked: np.ndarray, rules: Related, limit: int,
        passed_over: Callable[[int], bool] = lambda n: False,
    ) -> list[int]:
        """The positions chosen from `ranked` (best first), at most `limit` of them. A candidate
        the caps allow may still be passed over (shown in the email already): it is then
        refused, and changes no count."""
        urls, sources, categories = self.url[ranked], self.source[ranked], self.category[ranked]
        allowed = urls != self.urls.get(str(article.url), -1)
        chosen: list[int] = []
        per_source: dict[int, int] = {}
        per_category: dict[int, int] = {}
        while len(chosen) < limit:
            at = int(np.argmax(allowed)) if len(allowed) else 0
            if not len(allowed) or not allowed[at]:
                break
            allowed[: at + 1] = False
            if passed_over(int(ranked[at])):
                continue
            chosen.append(int(ranked[at]))
            allowed &= urls != urls[at]
            src, cat = int(sources[at]), int(categories[at])
            per_source[src] = per_source.get(src, 0) + 1
            per_category[cat] = per_category.get(cat, 0) + 1
            if rules.max_per_source and per_source[src] >= rules.max_per_source:
                allowed &= sources != src
            if rules.max_per_category and per_category[cat] >= rules.max_per_category:
                allowed &= categories != cat
        return chosen
