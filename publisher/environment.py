"""PUBLISHER_<SECTION>__<KEY> overrides: known names only, JSON where a value is a list or
a table, and every problem blamed on the variable that caused it, not on config.toml.

The known names come from the Config model itself, so a section another module adds is
known the moment it is added. Values are never echoed: a variable may hold a secret.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from publisher.errors import Problem

PREFIX = "PUBLISHER_"
DELIMITER = "__"
# Our variables that are not settings: the serve/send secret, the golden-copy switch of the
# tests, test-only services, the SMTP password wherever the send module reads it, and the
# workspace of `uvicorn --factory publisher.serve.app:app_factory`.
NOT_SETTINGS = frozenset(
    {"PUBLISHER_SECRET", "PUBLISHER_UPDATE_GOLDEN", "PUBLISHER_SMTP_PASSWORD", "PUBLISHER_ROOT"}
)
NOT_SETTINGS_PREFIXES = ("PUBLISHER_TEST_",)


def overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The PUBLISHER_ variables meant as settings, by name as written (matched in any case)."""
    found = {}
    for name, value in environ.items():
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in NOT_SETTINGS:
            continue
        if upper.startswith(NOT_SETTINGS_PREFIXES):
            continue
        found[name] = value
    return found


def location(name: str) -> tuple[str, ...]:
    """PUBLISHER_FEEDS__FORMATS -> ('feeds', 'formats'), as pydantic-settings reads it."""
    return tuple(name[len(PREFIX) :].lower().split(DELIMITER))


def _unwrap(annotation: Any) -> Any:
    """The type under Annotated[...] and Optional[...]."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_complex(annotation: Any) -> bool:
    """A value pydantic-settings parses as JSON: a model, a list, a tuple or a table."""
    return _is_model(annotation) or get_origin(annotation) in (list, tuple, dict, set, frozenset)


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return _unwrap(info.annotation)
    return None


def target(model: type[BaseModel], loc: tuple[str, ...]) -> tuple[bool, Any]:
    """(known, annotation) of the setting a variable names; below a table, any key is known."""
    annotation: Any = model
    for key in loc:
        if not _is_model(annotation):
            return get_origin(annotation) is dict, None
        annotation = _field(annotation, key)
        if annotation is None:
            return False, None
    return True, annotation


def known_names(model: type[BaseModel]) -> list[str]:
    """Every PUBLISHER_ name of a setting, sections and their keys, for "did you mean"."""
    names = []
    for name, info in model.model_fields.items():
        section = PREFIX + (info.alias or name).upper()
        names.append(section)
        sub = _unwrap(info.annotation)
        if _is_model(sub):
            for key, field in sub.model_fields.items():
                names += [f"{section}{DELIMITER}{k.upper()}" for k in {key, field.alias} if k]
    return names


def problems(model: type[BaseModel], environ: Mapping[str, str]) -> list[Problem]:
    """Unknown variables, and lists or tables that are not JSON."""
    found = []
    for name, value in sorted(overrides(environ).items()):
        known, annotation = target(model, location(name))
        if not known:
            found.append(_unknown(model, name))
        elif _is_complex(annotation) and not _is_json(value):
            found.append(_not_json(name, annotation))
    return found


def _unknown(model: type[BaseModel], name: str) -> Problem:
    close = difflib.get_close_matches(name.upper(), known_names(model), n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}?" if close else "see the Configuration section of the README"
    return Problem(
        file=name,
        message="is not a setting: no key of config.toml has this name, so it would be ignored",
        hint=hint,
    )


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _not_json(name: str, annotation: Any) -> Problem:
    table = _is_model(annotation) or get_origin(annotation) is dict
    of_tables = any(_is_model(_unwrap(a)) for a in get_args(annotation))
    example = '\'{"key": "value"}\'' if table else '\'["rss", "atom"]\''
    example = '\'[{"name": "popular", "limit": 3}]\'' if of_tables else example
    kind = "a table" if table else ("a list of tables" if of_tables else "a list")
    return Problem(
        file=name,
        record=_record(location(name)),
        field=".".join(location(name)[1:]),
        message=f"this setting is {kind}, written in JSON, and the value is not valid JSON",
        hint=f"e.g. {name}={example}",
    )


def _record(loc: tuple[str, ...]) -> str:
    return f"[{loc[0]}]" if loc else ""


def blame(environ: Mapping[str, str], loc: tuple[int | str, ...]) -> str | None:
    """The variable that set the value at loc (the longest matching name), if any."""
    keys = tuple(str(p).lower() for p in loc)
    best: tuple[int, str] | None = None
    for name in overrides(environ):
        prefix = location(name)
        if keys[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
            best = (len(prefix), name)
    return best[1] if best else None
