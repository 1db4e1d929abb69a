"""CSS inlining for email: premailer, configured knowingly, and the repairs it needs."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree, html
from markupsafe import Markup

# cssutils logs every property it does not know (color-scheme, mso-*) at WARNING, on stderr.
logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)

COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)
# Presentational attributes premailer copies from CSS, and the elements where HTML allows them.
BASIC_ATTRIBUTES = {
    "bgcolor": {"body", "table", "tr", "td", "th"},
    "align": {"table", "tr", "td", "th", "div", "p", "img", "h1", "h2", "h3", "h4", "hr"},
    "valign": {"tr", "td", "th", "tbody", "thead", "tfoot"},
}


@dataclass(frozen=True)
class EmailCss:
    """email.css split three ways: rules premailer inlines, @media rules (phones, dark mode),
    and client hacks. The hacks get a <style> of their own: a client that rejects one
    (Gmail drops a whole block it dislikes) must not take the media queries with it."""

    inlined: Markup
    media: Markup
    hacks: Markup
    kept: Markup = field(default_factory=Markup)  # email-kept.css: never inlined


@lru_cache(maxsize=8)
def split_css(css: str) -> EmailCss:
    """Plain rules are inlined; @media, @font-face, pseudo-classes and attribute selectors
    ([data-ogsc] for Outlook.com dark mode) cannot be, and premailer would drop or mangle some."""
    parts: dict[str, list[str]] = {"inlined": [], "media": [], "hacks": []}
    for block in _top_level_blocks(COMMENT_RE.sub("", css)):
        selector = block.split("{", 1)[0]
        if selector.lstrip().startswith("@media"):
            parts["media"].append(block)
        else:
            parts["hacks" if any(c in selector for c in "@:[*") else "inlined"].append(block)
    return EmailCss(**{name: Markup("\n".join(blocks)) for name, blocks in parts.items()})


def _top_level_blocks(css: str) -> list[str]:
    blocks: list[str] = []
    depth = start = 0
    for pos, char in enumerate(css):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                blocks.append(css[start : pos + 1].strip())
                start = pos + 1
    return blocks


# premailer, configured knowingly (its defaults break email: see each comment).
PREMAILER_OPTIONS: dict[str, Any] = {
    "allow_network": False,  # never fetch a stylesheet while building
    "strip_important": False,  # a media query's !important is what makes it win
    "keep_style_tags": False,
    "remove_classes": False,  # the kept media queries select by class
    "disable_basic_attributes": ["width", "height"],  # the template's own sizes are right
    "disable_validation": True,  # cssutils would drop properties it does not know
    "align_floating_images": False,  # nothing floats; it re-parses every image's style (slow)
    "cssutils_logging_level": logging.CRITICAL,
}


def inline_css(document: str, base_url: str) -> str:
    """Move the plain rules into style attributes; <style data-premailer="ignore"> stays as is."""
    tree = html.document_fromstring(document)
    from publisher.inliner import Inliner  # premailer, imported on first use

    Inliner(base_url).transform(tree)
    _repair(tree)
    return _serialise(tree, document)


# premailer writes "margin:0; color:#595959; font-family:Helvetica, Arial, sans-serif".
SPACE_RE = re.compile(r"\s*([;,])\s*")


def _repair(tree: html.HtmlElement) -> None:
    """premailer adds bgcolor to <a>, align to <span>...: not HTML, so they go. And its
    styles get their shortest equivalent form (_tight)."""
    for element in PRESENTATIONAL(tree):
        for name in _not_allowed(element.tag):
            if element.get(name) is not None:
                del element.attrib[name]
    for element in STYLED(tree):
        if style := element.get("style"):
            element.set("style", _tight(style))


PRESENTATIONAL = etree.XPath("//*[" + " or ".join(f"@{name}" for name in BASIC_ATTRIBUTES) + "]")
STYLED = etree.XPath("//*[@style]")


@lru_cache(maxsize=256)
def _not_allowed(tag: str) -> tuple[str, ...]:
    return tuple(name for name, allowed in BASIC_ATTRIBUTES.items() if tag not in allowed)


@lru_cache(maxsize=4096)
def _tight(style: str) -> str:
    """No space after ';' or ',', no final ';'. Values here never hold ';' or ',' inside
    quotes (font names are the only quotes). Most elements share a few styles: remembered."""
    return SPACE_RE.sub(r"\1", style).strip().rstrip(";")


def _serialise(tree: html.HtmlElement, document: str) -> str:
    doctype = "<!DOCTYPE html>\n" if document.lstrip().lower().startswith("<!doctype") else ""
    body: str = etree.tostring(tree, method="html", encoding="unicode")
    return doctype + body + "\n"
