"""[layout]: how the links layout groups an issue and where its related picks go."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt


class Layout(BaseModel):
    """Used by [email] layout = "links" or "auto"; the stories layout ignores it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Category headings in this order (case-insensitive); the others follow in first-seen order.
    categories: tuple[str, ...] = ()
    # One "Related from the archive" block per issue, or one per category group.
    related: Literal["issue", "group"] = "issue"
    related_limit: NonNegativeInt = 5  # picks per block
    # A compact item's note: the article's `note`, else its summary's first sentence if this short.
    note_chars: PositiveInt = 160
