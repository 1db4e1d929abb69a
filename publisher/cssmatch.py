"""The elements a simple CSS selector matches, found from one pass over the document.

premailer evaluated each rule's selector as its own XPath over the whole email (a third
of a render). email.css rules are mostly `.class`, `tag` or `.a p`: for those, one walk
that files every element under its tag and classes answers all of them. Only such
selectors are answered here, with XPath's exact semantics (cssselect's translation):
class tokens split on XML white space, case-sensitive names, descendants in document
order. Any other selector returns None, and the caller evaluates it as premailer does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from lxml import etree

# A compound of a lowercase tag and/or classes: what cssselect translates without surprises.
COMPOUND_RE = re.compile(r"(?P<tag>[a-z][a-z0-9]*)?(?P<classes>(?:\.-?[_a-zA-Z][_a-zA-Z0-9-]*)*)")
XML_SPACE_RE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() collapses

Compound = tuple[str | None, frozenset[str]]  # tag (None: any), classes it must all have


def parse_selector(selector: str) -> list[Compound] | None:
    """`.a p` -> [(None, {a}), (p, {})]; None when the selector is not that simple."""
    compounds: list[Compound] = []
    for part in selector.split(" "):
        match = COMPOUND_RE.fullmatch(part)
        if not part or match is None:
            return None
        classes = match.group("classes")
        compounds.append((match.group("tag"), frozenset(classes.split(".")[1:])))
    return compounds


def class_tokens(element: etree._Element) -> frozenset[str]:
    value = element.get("class")
    return tokens(value) if value else frozenset()


@lru_cache(maxsize=1024)
def tokens(value: str) -> frozenset[str]:
    """A class attribute's names: an email repeats a few dozen class attributes."""
    if value.isprintable():  # no white space but " ": str.split() splits as XPath does
        return frozenset(value.split())
    return frozenset(XML_SPACE_RE.split(value.strip(" \t\r\n")))


class Document:
    """Every element of a tree, in document order, filed by tag and by class."""

    def __init__(self, tree: etree._ElementTree) -> None:
        self.elements = [e for e in tree.getroot().iter() if isinstance(e.tag, str)]
        self.classes = {id(e): class_tokens(e) for e in self.elements}
        self.by_tag: dict[str, list[etree._Element]] = {}
        self.by_class: dict[str, list[etree._Element]] = {}
        for element in self.elements:
            self.by_tag.setdefault(str(element.tag), []).append(element)
            for name in self.classes[id(element)]:
                self.by_class.setdefault(name, []).append(element)

    def select(self, selector: str) -> list[etree._Element] | None:
        """What the selector matches, in document order; None if it is not a simple one."""
        compounds = parse_selector(selector)
        if compounds is None:
            return None
        first, *rest = compounds
        found = list(self._candidates(first))
        for compound in rest:
            found = self._below(found, compound)
        return found

    def _candidates(self, compound: Compound) -> Iterator[etree._Element]:
        tag, classes = compound
        if classes:
            # The rarest class's elements, already in document order.
            pool = min((self.by_class.get(c, []) for c in classes), key=len)
        else:
            pool = self.by_tag.get(tag or "", []) if tag else self.elements
        return (e for e in pool if self._is(e, compound))

    def _is(self, element: etree._Element, compound: Compound) -> bool:
        tag, classes = compound
        if tag is not None and element.tag != tag:
            return False
        known = self.classes.get(id(element))
        return classes <= (class_tokens(element) if known is None else known)

    def _below(self, tops: list[etree._Element], compound: Compound) -> list[etree._Element]:
        """The descendants of `tops` (in document order) that match, in document order: a
        top inside an earlier one adds nothing new, so the concatenation stays in order."""
        seen: set[int] = set()
        found = []
        for top in tops:
            for element in top.iterdescendants(etree.Element):
                if id(element) not in seen and self._is(element, compound):
                    seen.add(id(element))
                    found.append(element)
        return found
