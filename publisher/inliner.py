"""premailer, subclassed so that what is the same for every email is done once per process.

Imported on first use (premailer brings requests and cssutils, a third of a second).
transform() is premailer's own, step for step, for a tree and the options inline.py passes
(see PREMAILER_OPTIONS); tests compare it with premailer's, byte for byte. What differs is
only where the work is done:
- each stylesheet is parsed once per process, not once per email;
- a simple selector is answered from one walk of the document (cssmatch), not one XPath
  evaluation per rule; any other is premailer's XPath;
- the merge of an element's existing style with the rules it matches, and the
  presentational attributes premailer derives from it, are worked out once per distinct
  (style, rules) and remembered: most elements of an email share a handful;
- a link made absolute is remembered (an email's links recur in later issues).
"""

from __future__ import annotations

import operator
import warnings
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlparse

from lxml import etree
from premailer import Premailer
from premailer.merge_style import csstext_to_pairs, merge_styles
from premailer.premailer import FILTER_PSEUDOSELECTORS, _create_cssselector, get_or_create_head

from publisher.cssmatch import Document
from publisher.inline import PREMAILER_OPTIONS

Rule = tuple[Any, str, str]  # premailer's (specificity, selector, declarations)
Applied = tuple[tuple[str, str], ...]  # (declarations, pseudo-class) of each rule, in order


class Inliner(Premailer):  # type: ignore[misc]
    """premailer with inline.PREMAILER_OPTIONS, the only options transform() implements."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url=base_url, **PREMAILER_OPTIONS)

    def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list[Any], list[Any]]:
        rules, leftover = _style_rules(css_body, ruleset_index)
        return list(rules), list(leftover)

    def transform(self, html: etree._Element, pretty_print: bool = True, **kwargs: Any) -> Any:
        """premailer's transform of an lxml tree, in place (it returns the tree)."""
        root = html.getroottree()
        get_or_create_head(root)
        rules = sorted(self._style_elements(root), key=operator.itemgetter(0))
        document = Document(root)
        for element, applied in _matched(root, document, rules).items():
            style, attributes = _merge(element.attrib.get("style", ""), tuple(applied))
            if style:
                element.attrib["style"] = style
            for name, value in attributes:
                element.attrib[name] = value
        if self.base_url:
            if not urlparse(self.base_url).scheme:
                raise ValueError("Base URL must have a scheme")
            _absolute_links(root, self.base_url)
        return root

    def _style_elements(self, root: etree._ElementTree) -> list[Rule]:
        """The rules of each <style> premailer inlines; each is removed, or keeps only its
        leftover rules (`data-premailer="ignore"` ones stay as they are, the mark removed)."""
        rules: list[Rule] = []
        index = 0
        for element in _create_cssselector("style")(root):
            media = element.attrib.get("media")
            if media and media not in ("all", "screen"):
                continue
            mark = element.attrib.get(self.attribute_name)
            if mark == "ignore":
                del element.attrib[self.attribute_name]
                continue
            if mark:
                warnings.warn(f"Unrecognized {self.attribute_name} attribute ({mark!r})", stacklevel=2)
            these, leftover = self._parse_style_rules(element.text, index)
            index += 1
            rules.extend(these)
            if leftover:
                element.text = self._css_rules_to_string(leftover)
            else:
                element.getparent().remove(element)
        return rules


def _matched(root: etree._ElementTree, document: Document, rules: list[Rule]) -> dict[Any, list[tuple[str, str]]]:
    """Each element any rule matches -> the (declarations, pseudo-class) of those rules, in
    the rules' order; elements first matched first, as premailer collects them."""
    elements: dict[Any, list[tuple[str, str]]] = {}
    for _, selector, style in rules:
        selector, pseudo = _split_pseudo(selector)
        assert selector
        found = document.select(selector)
        for element in _create_cssselector(selector)(root) if found is None else found:
            elements.setdefault(element, []).append((style, pseudo))
    return elements


def _split_pseudo(selector: str) -> tuple[str, str]:
    """premailer's: a:hover -> (a, :hover); filter pseudo-classes stay in the selector."""
    if ":" not in selector:
        return selector, ""
    plain, pseudo = selector.split(":", 1)
    pseudo = f":{pseudo}"
    if pseudo in FILTER_PSEUDOSELECTORS or pseudo.startswith(":nth-child"):
        return selector, ""
    return plain, pseudo


LINKED = {attr: etree.XPath(f"//*[@{attr}]") for attr in ("href", "src")}


def _absolute_links(root: etree._ElementTree, base_url: str) -> None:
    """Every href and src joined with base_url, as premailer does (tel: and cid: kept)."""
    for attr, linked in LINKED.items():
        for element in linked(root):
            url = element.get(attr)
            if attr == "href" and url.startswith("tel:"):
                continue
            if attr == "src" and url.startswith("cid:"):  # preserve_inline_attachments
                continue
            if (joined := _joined(base_url, url)) != url:
                element.set(attr, joined)


@lru_cache(maxsize=1)
def _reference() -> Premailer:
    return Premailer(**PREMAILER_OPTIONS)


@lru_cache(maxsize=32)
def _style_rules(css_body: str, ruleset_index: int) -> tuple[list[Any], list[Any]]:
    # Pure data for a given stylesheet and options; re-serialising it was half of inlining.
    parsed: tuple[list[Any], list[Any]] = Premailer._parse_style_rules(_reference(), css_body, ruleset_index)
    return parsed


@lru_cache(maxsize=4096)
def _merge(existing: str, applied: Applied) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An element's final style, and the attributes premailer derives from it (bgcolor,
    align...), in the order it sets them."""
    reference = _reference()
    styles = [csstext_to_pairs(style, validate=not reference.disable_validation) for style, _ in applied]
    final: str = merge_styles(existing, styles, [pseudo for _, pseudo in applied],
                              remove_unset_properties=reference.remove_unset_properties)
    probe = etree.Element("probe")
    reference._style_to_basic_html_attributes(probe, final, force=True)
    return final, tuple(probe.attrib.items())


@lru_cache(maxsize=8192)
def _joined(base: str, url: str) -> str:
    return urljoin(base, url)
