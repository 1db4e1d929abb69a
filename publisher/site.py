"""The web: one page per issue and the archive index, with an ordinary <style>."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment

from publisher.config import Config
from publisher.selection import IssueView
from publisher.web.meta import index_meta, issue_meta


def render_issue_page(env: Environment, view: IssueView) -> str:
    page = issue_meta(view)
    return env.get_template("issue.html").render(view=view, config=view.config, page=page)


def render_index(env: Environment, config: Config, views: Sequence[IssueView]) -> str:
    page = index_meta(config)
    return env.get_template("index.html").render(views=views, config=config, page=page)
