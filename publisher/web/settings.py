"""[site]: the web archive's extras, each of which can be turned off."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Site(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tag_pages: bool = True  # tags/index.html and tags/<slug>/index.html
    # A tag page lists this many articles, newest first; older ones on tags/<slug>/page/2/ …
    # (at least 10: a reader should not have to page through a handful at a time).
    tag_page_size: int = Field(default=100, ge=10)
    search: bool = True  # search/index.html with a static index (MiniSearch)
    sitemap: bool = True  # sitemap.xml (an index of chunks past 50,000 URLs) and robots.txt
