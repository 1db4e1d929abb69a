"""A module imported on first use: numpy alone is a tenth of a rebuild's start-up, and a
build that selects nothing again (only feeds or pages changed) never needs it."""

from __future__ import annotations

import importlib
import sys
from typing import Any


class Lazy:
    """Stands for module `name` in module `owner`'s globals until first used, then puts the
    real module there (so later uses in `owner` cost what a plain import costs)."""

    def __init__(self, name: str, owner: str, alias: str) -> None:
        self._name, self._owner, self._alias = name, owner, alias

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._name)
        setattr(sys.modules[self._owner], self._alias, module)
        return getattr(module, attr)
