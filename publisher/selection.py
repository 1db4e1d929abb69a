"""The select stage: for each issue, its number, sections, related articles and addresses."""

from __future__ import annotations

from dataclasses import dataclass

from publisher.config import Config
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
    related: dict[str, tuple[RelatedPick, ...]]
    config: Config

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
    sections = sections or SectionIndex(workspace.config.sections, workspace.articles)
    return IssueView(
        issue=issue,
        number=issue_number(workspace, issue),
        sections=tuple(sections.select(s, issue) for s in workspace.config.sections),
        related=index.related_for_issue(issue),
        config=workspace.config,
    )


def select_all(workspace: Workspace, issues: list[Issue]) -> list[IssueView]:
    """Views of the issues; both indexes hold published issues only, so drafts never leak."""
    index = RelatedIndex(workspace.articles, workspace.config.related)
    sections = SectionIndex(workspace.config.sections, workspace.articles)
    return [select_issue(workspace, issue, index, sections) for issue in issues]
