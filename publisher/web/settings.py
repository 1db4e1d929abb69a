"""[site]: the web archive's extras, each of which can be turned off."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Site(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tag_pages: bool = True  # tags/index.html and tags/<slug>/index.html
    search: bool = True  # search/index.html with a static index (MiniSearch)
    sitemap: bool = True  # sitemap.xml (an index of chunks past 50,000 URLs) and robots.txt
