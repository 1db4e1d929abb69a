"""The select stage: for each issue, its number, sections, related articles and addresses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from publisher.config import Config
from publisher.digest.groups import Group
from publisher.digest.picks import choose_picks
from publisher.records import Issue
from publisher.related import RelatedIndex, RelatedPick
from publisher.rules import SectionIndex, SectionPicks
from publisher.workspace import Workspace


@dataclass(frozen=True)
class IssueView:
    """Everything a template needs to render one issue."""

    issue: Issue
    number: int
    sections: tuple[SectionPicks, ...]
    related: Mapping[str, tuple[RelatedPick, ...]]  # a StoredPicks when from the cache
    config: Config
    # The links and auto layouts: category groups, and the issue's "Related from the archive".
    groups: tuple[Group, ...] = ()
    block: tuple[RelatedPick, ...] = ()

    @property
    def layout(self) -> str:
        return self.config.email.layout

    @property
    def web_url(self) -> str:
        return issue_url(self.config, self.issue.id)

    @property
    def preheader(self) -> str:
        from publisher.markup import first_sentence

        return self.issue.preheader or first_sentence(self.issue.intro or self.issue.title)


def issue_url(config: Config, issue_id: str) -> str:
    return f"{config.newsletter.url}issues/{issue_id}/"


def issue_number(workspace: Workspace, issue: Issue) -> int:
    return issue.number or workspace.positions[issue.id]  # once per workspace, not O(n) per issue


def select_issue(
    workspace: Workspace, issue: Issue, index: RelatedIndex, sections: SectionIndex | None = None
) -> IssueView:
    config = workspace.config
    sections = sections or SectionIndex(config.sections, workspace.articles)
    picks = choose_picks(config, index, sections, issue)
    return IssueView(
        issue=issue,
        number=issue_number(workspace, issue),
        sections=picks.sections(config),
        related=picks.related,
        config=config,
        groups=picks.groups,
        block=picks.block,
    )


def select_all(workspace: Workspace, issues: list[Issue]) -> list[IssueView]:
    """Views of the issues; both indexes hold published issues only, so drafts never leak."""
    index = RelatedIndex(workspace.articles, workspace.config.related)
    sections = SectionIndex(workspace.config.sections, workspace.articles)
    return [select_issue(workspace, issue, index, sections) for issue in issues]
