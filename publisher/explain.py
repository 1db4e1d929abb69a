"""Why each pick was made: sections' rules, related scores, and the near-misses. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from publisher.config import Section
from publisher.digest.picks import Picks, choose_picks, rules_version
from publisher.errors import Problem, UsageError
from publisher.misses import ArchiveScores
from publisher.records import Article, Issue
from publisher.related import RelatedIndex, RelatedPick, Skipped, Term
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
    skipped: tuple[Skipped, ...] = ()  # passed over: the email shows them already


@dataclass(frozen=True)
class BlockTrace:
    """A "Related from the archive" block: its picks, the article each was picked for, skips."""

    heading: str  # the group's category; "" for the issue's one block
    picks: tuple[RelatedPick, ...]
    sources: dict[str, str]
    skipped: tuple[Skipped, ...]


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
    blocks: tuple[BlockTrace, ...] = ()
    rules_version: int = 1
    repeated: tuple[Skipped, ...] = ()  # the issue's own articles shown once, not twice


def explain(
    workspace: Workspace, issue_id: str, article_id: str | None = None, misses: int = 3
) -> Explanation:
    """Trace every section and every article's related picks of one issue, as the email
    chooses them (in display order: under rules_version 2 an article is shown once)."""
    issue = workspace.issue(issue_id)
    articles = [a for a in issue.articles if article_id in (None, a.id)]
    if not articles:
        known = ", ".join(a.id for a in issue.articles)
        problem = Problem(f"issues/{issue.id}.toml", f"no article '{article_id}' (known: {known})")
        raise UsageError(problem)
    config = workspace.config
    sections = SectionIndex(config.sections, section_archive(workspace, issue))
    index = RelatedIndex(workspace.articles, config.related)
    picks = choose_picks(config, index, sections, issue, misses)
    archive = ArchiveScores(workspace, index, issue)
    return Explanation(
        issue,
        tuple(section_trace(s, issue, picks.walks[s.name]) for s in config.sections),
        tuple(related_trace(workspace, index, issue, a, misses, picks, archive) for a in articles),
        block_traces(picks),
        rules_version(issue, config.email.layout),
        tuple(picks.skipped.get("issue", ())),
    )


def section_archive(workspace: Workspace, issue: Issue) -> list[tuple[Issue, Article]]:
    """The part of the archive the issue's sections can show, for a SectionIndex that walks
    exactly as one of the whole archive would (tests/test_explain_scale.py compares them):
    articles of published issues before it, from the oldest day that max_age_days lets in
    (every day if one archive-scope section has no max_age_days), and what it pins. A
    section shows nothing newer, and subsets keep every order (ranks, days, ids)."""
    ages = [s.max_age_days for s in workspace.config.sections if s.scope != "issue"]
    oldest = -1 if ages else None  # scope = issue only: no other issue's articles at all
    if ages and None not in ages:
        try:
            oldest = min((issue.date - timedelta(days=age)).toordinal() for age in ages if age is not None)
        except OverflowError:  # before year 1: every day
            oldest = -1
    pinned = {a for ids in issue.pin.values() for a in ids}
    return [
        (other_issue, other)
        for other_issue, other in workspace.articles
        if other_issue.is_published
        and (other.id in pinned or (oldest is not None and other_issue.sort_key < issue.sort_key
                                    and other.published.toordinal() >= oldest))
    ]


def section_trace(section: Section, issue: Issue, walked: tuple[Verdict, ...]) -> SectionTrace:
    picks = tuple(
        Verdict(v.article, v.issue, pick_reason(section, issue, v.article))
        for v in walked
        if v.picked
    )
    return SectionTrace(section, picks, tuple(v for v in walked if not v.picked))


def block_traces(picks: Picks) -> tuple[BlockTrace, ...]:
    """The links layout's "Related from the archive" blocks: picks and what they passed over."""
    blocks = [("block", "", picks.block)]
    blocks += [(f"block:{g.heading}", g.heading, g.related) for g in picks.groups]
    return tuple(
        BlockTrace(heading, chosen, picks.sources.get(name, {}), tuple(picks.skipped.get(name, ())))
        for name, heading, chosen in blocks
        if name in picks.skipped
    )


def pick_reason(section: Section, issue: Issue, article: Article) -> str:
    if article.id in issue.pin.get(section.name, ()):
        return "pinned in the issue file"
    rule = matching_rule(article, section) or 1
    return f"matches #{rule} ({describe_match(section.matches[rule - 1])}), order {section.order}"


def related_trace(
    workspace: Workspace,
    index: RelatedIndex,
    issue: Issue,
    article: Article,
    misses: int,
    chosen: Picks,
    archive: ArchiveScores | None = None,
) -> RelatedTrace:
    """The picks, every candidate passed over as shown already, and the best-scoring
    articles that lost, with the reason they lost."""
    terms = index.terms(issue, article)
    picks = chosen.related.get(article.id, ())
    skipped = tuple(chosen.skipped.get(article.id, ()))
    passed = {p.article.id for p in picks} | {s.article.id for s in skipped}
    archive = archive or ArchiveScores(workspace, index, issue)
    best = archive.best(article, terms, passed | {article.id}, misses)
    found = [m for e in best if (m := score_miss(index, issue, article, terms, e, picks))]
    found.sort(key=lambda m: (-m.score, -m.article.published.toordinal(), m.article.id))
    return RelatedTrace(article, terms, picks, tuple(found[:misses]), skipped)


def scan_misses(
    workspace: Workspace, index: RelatedIndex, issue: Issue, article: Article, misses: int,
    chosen: Picks,
) -> tuple[Miss, ...]:
    """The near-misses by scoring every article of the archive: the reference for tests."""
    terms = index.terms(issue, article)
    picks = chosen.related.get(article.id, ())
    passed = {p.article.id for p in picks} | {s.article.id for s in chosen.skipped.get(article.id, ())}
    found = []
    for other_issue, other in workspace.articles:
        if other.id == article.id or other.id in passed:
            continue
        if miss := score_miss(index, issue, article, terms, (other_issue, other), picks):
            found.append(miss)
    found.sort(key=lambda m: (-m.score, -m.article.published.toordinal(), m.article.id))
    return tuple(found[:misses])


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
        "rules_version": ex.rules_version,
        "sections": [section_json(t) for t in ex.sections],
        "related": {t.article.id: [pick_json(p) for p in t.picks] for t in ex.related},
        "skipped": {t.article.id: [skip_json(s) for s in t.skipped] for t in ex.related},
        "blocks": [block_json(b) for b in ex.blocks],
        "repeated": [skip_json(s) for s in ex.repeated],
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


def skip_json(skip: Skipped) -> dict[str, Any]:
    return {"id": skip.article.id, "reason": skip.reason}


def block_json(block: BlockTrace) -> dict[str, Any]:
    return {
        "group": block.heading,
        "articles": [p.article.id for p in block.picks],
        "picked_for": {p.article.id: block.sources.get(p.article.id, "") for p in block.picks},
        "skipped": [skip_json(s) for s in block.skipped],
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
    head = f"Issue {ex.issue.id}: {ex.issue.title} ({ex.issue.date}, {ex.issue.status})"
    lines = [head, f"rules_version {ex.rules_version}: {VERSIONS[ex.rules_version >= 2]}"]
    lines += [f"  - {s.article.id} is not shown: its link is {s.reason}" for s in ex.repeated]
    for section in ex.sections:
        lines += section_lines(section)
    for related in ex.related:
        lines += related_lines(related)
    for block in ex.blocks:
        lines += block_lines(block)
    return lines


VERSIONS = (
    "every list chosen on its own (as published)",
    "an article is shown once per email; later lists take their next match",
)


def block_lines(block: BlockTrace) -> list[str]:
    where = f" under '{block.heading or 'Other'}'" if block.heading else ""
    lines = ["", f"'Related from the archive'{where}: {len(block.picks)} picks"]
    lines += [
        f"  {n}. {p.article.id}: picked for '{block.sources.get(p.article.id, '')}'"
        for n, p in enumerate(block.picks, 1)
    ]
    return lines + [f"  - skipped {s.article.id}: {s.reason}" for s in block.skipped]


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
    lines += [f"  - skipped {s.article.id}: {s.reason}" for s in trace.skipped]
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
