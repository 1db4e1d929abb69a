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


CLASSED = etree.XPath("//*[@class]")


class Document:
    """A tree's elements filed by class (at once) and by tag (when first asked)."""

    def __init__(self, tree: etree._ElementTree) -> None:
        self.root = tree.getroot()
        self.by_tag: dict[str, list[etree._Element]] = {}
        self.by_class: dict[str, list[etree._Element]] = {}
        for element in CLASSED(tree):
            for name in class_tokens(element):
                self.by_class.setdefault(name, []).append(element)

    def tagged(self, tag: str) -> list[etree._Element]:
        if tag not in self.by_tag:
            self.by_tag[tag] = list(self.root.iter(tag))
        return self.by_tag[tag]

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
            pool = self.tagged(tag or "")  # a compound has a tag or a class
        return (e for e in pool if self._is(e, compound))

    def _is(self, element: etree._Element, compound: Compound) -> bool:
        tag, classes = compound
        return (tag is None or element.tag == tag) and classes <= class_tokens(element)

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
