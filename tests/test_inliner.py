"""The subclassed premailer (publisher/inliner.py) against premailer's own transform, byte for
byte, and cssmatch's selector answers against lxml's cssselect XPath."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree, html
from lxml.cssselect import CSSSelector
from premailer import Premailer

from publisher.cssmatch import Document, parse_selector
from publisher.email import email_document
from publisher.inline import PREMAILER_OPTIONS
from publisher.inliner import Inliner
from publisher.render import Theme
from publisher.selection import select_all
from publisher.workspace import load_workspace

BASE = "https://news.example/"

TRICKY = """<!DOCTYPE html>
<html><head><title>t</title>
<style>
body { margin: 0 }
.a .b p { color: red }
td.content { padding: 4px; background-color: #abc; text-align: center }
.x.y { font-weight: bold }
P { color: blue }
div > p { margin: 1px }
#main { width: 10px; vertical-align: top }
li:first-child { color: green }
a:hover { color: pink }
* { box-sizing: border-box }
.b { color: navy !important }
span { background-color: transparent }
.un { color: unset }
@media (max-width: 600px) { .a { color: black } }
</style>
<style media="print">.a { color: gray }</style>
<style data-premailer="ignore">.b { color: olive }</style>
</head>
<body class="body">
<div class="a"><div class="b"><p class="x y">one</p><p style="color: purple; margin: 2px">two</p></div></div>
<div class=" b&#9;x
 y "><p>three</p></div>
<table><tr><td class="content" id="main"><a href="/relative">r</a> <a href="#top">#</a>
<a href="tel:123">t</a> <a href="mailto:x@example.org">m</a> <img src="cid:logo"> <img src="pic.png"></td></tr></table>
<ul><li>first</li><li class="un">second</li></ul>
<div class="A"><p>case</p></div>
<!-- a comment --><span>s</span>
</body></html>
"""


def premailers_own(document: str) -> bytes:
    tree = html.document_fromstring(document)
    Premailer(base_url=BASE, **PREMAILER_OPTIONS).transform(tree)
    return bytes(etree.tostring(tree, method="html", encoding="utf-8"))


def ours(document: str) -> bytes:
    tree = html.document_fromstring(document)
    Inliner(BASE).transform(tree)
    return bytes(etree.tostring(tree, method="html", encoding="utf-8"))


def test_tricky_selectors_inline_as_premailer_inlines_them() -> None:
    inlined = ours(TRICKY)
    assert inlined == premailers_own(TRICKY)
    # Each path was taken: cssmatch (.x.y, descendants), XPath (#main, div > p, :first-child),
    # the derived attributes, the links made absolute, the leftover and ignored <style>s.
    assert b'<p class="x y" style="margin:1px; font-weight:bold; color:red">' in inlined
    assert b'width:10px; vertical-align:top" bgcolor="#aabbcc" align="center" valign="top"' in inlined
    assert b'<li style="color:green">first</li>' in inlined
    assert b'href="https://news.example/relative"' in inlined and b'src="cid:logo"' in inlined
    assert b"a:hover {color:pink !important}" in inlined and b"<style>.b { color: olive }" in inlined


def test_every_example_email_inlines_as_premailer_inlines_it(example: Path) -> None:
    workspace = load_workspace(example)
    env = Theme(example / "templates", dict(workspace.config.email.utm)).environment()
    views = select_all(workspace, [i for i in workspace.issues if i.articles])
    assert views
    for view in views:
        document = email_document(env, view)
        assert ours(document) == premailers_own(document), view.issue.id


SIMPLE = ["p", ".a", ".a .b p", "td.content", ".x.y", "div p", ".b p", "li", ".A p", "span", "html",
          ".missing", ".a .missing", "table td", ".y"]


@pytest.mark.parametrize("selector", SIMPLE)
def test_simple_selectors_match_what_xpath_matches(selector: str) -> None:
    tree = html.document_fromstring(TRICKY).getroottree()
    found = Document(tree).select(selector)
    assert found is not None
    assert found == CSSSelector(selector)(tree)


@pytest.mark.parametrize("selector", ["P", "div > p", "#main", "li:first-child", "*", "a[href]", "", ".1a", "a  b"])
def test_other_selectors_are_left_to_xpath(selector: str) -> None:
    assert parse_selector(selector) is None
