"""Why each pick was made: sections' rules, related scores, and the near-misses. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from publisher.config import Section
from publisher.errors import Problem, UsageError
from publisher.records import Article, Issue
from publisher.related import RelatedIndex, RelatedPick, Term
from publisher.rules import SectionIndex, Verdict, describe_match, matching_rule
from publisher.workspace import Workspace


@dataclass(frozen=True)
class Miss:
    """An article that shares counted tags but was not picked, and why."""

    article: Article
    issue: Issue
    score: float
    shared_tags: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class RelatedTrace:
    article: Article
    terms: tuple[Term, ...]
    picks: tuple[RelatedPick, ...]
    misses: tuple[Miss, ...]


@dataclass(frozen=True)
class SectionTrace:
    section: Section
    picks: tuple[Verdict, ...]
    misses: tuple[Verdict, ...]


@dataclass(frozen=True)
class Explanation:
    issue: Issue
    sections: tuple[SectionTrace, ...]
    related: tuple[RelatedTrace, ...]


def explain(
    workspace: Workspace, issue_id: str, article_id: str | None = None, misses: int = 3
) -> Explanation:
    """Trace every section and every article's related picks of one issue."""
    issue = workspace.issue(issue_id)
    articles = [a for a in issue.articles if article_id in (None, a.id)]
    if not articles:
        known = ", ".join(a.id for a in issue.articles)
        problem = Problem(f"issues/{issue.id}.toml", f"no article '{article_id}' (known: {known})")
        raise UsageError(problem)
    sections = SectionIndex(workspace.config.sections, workspace.articles)
    index = RelatedIndex(workspace.articles, workspace.config.related)
    return Explanation(
        issue,
        tuple(section_trace(sections, s, issue, misses) for s in workspace.config.sections),
        tuple(related_trace(workspace, index, issue, a, misses) for a in articles),
    )


def section_trace(index: SectionIndex, section: Section, issue: Issue, misses: int) -> SectionTrace:
    walked = list(index.walk(section, issue, misses))
    picks = tuple(
        Verdict(v.article, v.issue, pick_reason(section, issue, v.article))
        for v in walked
        if v.picked
    )
    return SectionTrace(section, picks, tuple(v for v in walked if not v.picked))


def pick_reason(section: Section, issue: Issue, article: Article) -> str:
    if article.id in issue.pin.get(section.name, ()):
        return "pinned in the issue file"
    rule = matching_rule(article, section) or 1
    return f"matches #{rule} ({describe_match(section.matches[rule - 1])}), order {section.order}"


def related_trace(
    workspace: Workspace, index: RelatedIndex, issue: Issue, article: Article, misses: int
) -> RelatedTrace:
    """The picks, and the best-scoring articles that lost, with the reason they lost."""
    terms = index.terms(issue, article)
    picks = index.related_for(issue, article)
    picked = {p.article.id for p in picks}
    found = []
    for other_issue, other in workspace.articles:
        if other.id == article.id or other.id in picked:
            continue
        if miss := score_miss(index, issue, article, terms, (other_issue, other), picks):
            found.append(miss)
    found.sort(key=lambda m: (-m.score, -m.article.published.toordinal(), m.article.id))
    return RelatedTrace(article, terms, picks, tuple(found[:misses]))


def score_miss(
    index: RelatedIndex,
    issue: Issue,
    article: Article,
    terms: tuple[Term, ...],
    entry: tuple[Issue, Article],
    picks: tuple[RelatedPick, ...],
) -> Miss | None:
    other_issue, other = entry
    shared = [t for t in terms if not t.dropped and t.tag in other.tags]
    if not shared:
        return None
    score = sum((t.value for t in shared), 0.0) * index.decay_of(issue, other)
    reason = miss_reason(index, issue, article, entry, score, picks)
    return Miss(other, other_issue, score, tuple(t.tag for t in shared), reason)


def miss_reason(
    index: RelatedIndex,
    issue: Issue,
    article: Article,
    entry: tuple[Issue, Article],
    score: float,
    picks: tuple[RelatedPick, ...],
) -> str:
    other_issue, other = entry
    if other_issue.id == issue.id:
        return "in the same issue"
    if other_issue.sort_key > issue.sort_key:
        return f"from a later issue ({other_issue.id})"
    if not other_issue.is_published:
        return f"from an unpublished issue ({other_issue.id})"
    if score < index.rules.min_score:
        return f"below min_score ({score:.3f} < {index.rules.min_score:g})"
    key = (-score, -other.published.toordinal(), other.id)
    ahead = [p for p in picks if (-p.score, -p.article.published.toordinal(), p.article.id) < key]
    if blocked := index.blocked(article, other, ahead):
        return blocked
    return f"outranked: the limit of {index.rules.limit} was reached"


def to_json(explanation: Explanation) -> dict[str, Any]:
    """The machine-readable explanation (`explain --json`)."""
    ex = explanation
    return {
        "issue": ex.issue.id,
        "sections": [section_json(t) for t in ex.sections],
        "related": {t.article.id: [pick_json(p) for p in t.picks] for t in ex.related},
        "near_misses": {t.article.id: [miss_json(m) for m in t.misses] for t in ex.related},
        "terms": {t.article.id: [term_json(x) for x in t.terms] for t in ex.related},
    }


def section_json(trace: SectionTrace) -> dict[str, Any]:
    s = trace.section
    return {
        "name": s.name,
        "title": s.title or s.name.replace("-", " ").capitalize(),
        "articles": [v.article.id for v in trace.picks],
        "reasons": {v.article.id: v.reason for v in trace.picks},
        "near_misses": [{"id": v.article.id, "reason": v.reason} for v in trace.misses],
    }


def pick_json(pick: RelatedPick) -> dict[str, Any]:
    return {
        "id": pick.article.id,
        "score": round(pick.score, 6),
        "shared_tags": list(pick.shared_tags),
        "contributions": {
            t: round(v, 6) for t, v in zip(pick.shared_tags, pick.contributions, strict=True)
        },
        "decay": round(pick.decay, 6),
    }


def miss_json(miss: Miss) -> dict[str, Any]:
    return {
        "id": miss.article.id,
        "issue": miss.issue.id,
        "score": round(miss.score, 6),
        "shared_tags": list(miss.shared_tags),
        "reason": miss.reason,
    }


def term_json(term: Term) -> dict[str, Any]:
    return {
        "tag": term.tag,
        "weight": term.weight,
        "df": term.df,
        "rarity": round(term.rarity, 6),
        "counted": not term.dropped,
        "dropped": term.dropped,
    }


def to_text(explanation: Explanation) -> list[str]:
    """The human explanation, one line per item."""
    ex = explanation
    lines = [f"Issue {ex.issue.id}: {ex.issue.title} ({ex.issue.date}, {ex.issue.status})"]
    for section in ex.sections:
        lines += section_lines(section)
    for related in ex.related:
        lines += related_lines(related)
    return lines


def section_lines(trace: SectionTrace) -> list[str]:
    s = trace.section
    head = f"scope {s.scope}, order {s.order}, limit {s.limit}"
    lines = ["", f"Section '{s.name}' ({head}): {len(trace.picks)} picks"]
    lines += [
        f"  {n}. {v.article.id} ({v.issue.id}): {v.reason}" for n, v in enumerate(trace.picks, 1)
    ]
    lines += [f"  - not {v.article.id} ({v.issue.id}): {v.reason}" for v in trace.misses]
    return lines


def related_lines(trace: RelatedTrace) -> list[str]:
    lines = ["", f"Related to '{trace.article.id}': {len(trace.picks)} picks"]
    lines.append("  tags: " + "; ".join(term_text(t) for t in trace.terms))
    for n, pick in enumerate(trace.picks, 1):
        parts = " + ".join(
            f"{tag} {value:.3f}"
            for tag, value in zip(pick.shared_tags, pick.contributions, strict=True)
        )
        lines.append(
            f"  {n}. {pick.article.id}: ({parts}) x decay {pick.decay:.3f} = {pick.score:.3f}"
        )
    lines += [
        f"  - not {m.article.id} ({m.issue.id}, score {m.score:.3f}, shares "
        f"{', '.join(m.shared_tags)}): {m.reason}"
        for m in trace.misses
    ]
    return lines


def term_text(term: Term) -> str:
    if term.dropped:
        return f"{term.tag} not counted ({term.dropped})"
    return f"{term.tag} = weight {term.weight:g} x rarity {term.rarity:.3f} (on {term.df})"
