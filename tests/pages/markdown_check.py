"""What a browser would make of the Markdown a page sent: its links and images.

Streamlit renders ``st.markdown``, ``st.caption``, alerts, headings, and widget labels and help as
GitHub-flavoured Markdown (react-markdown with remark-gfm), so ``[text](url)`` is a link,
``![x](url)`` an image the browser fetches, and a bare ``http://...``, ``www....`` or e-mail
address becomes a link too (remark-gfm's autolink literals, found in text but not in code). This
module parses the Markdown with markdown-it-py (CommonMark, linkify) and adds GFM's autolink
literal patterns on the text outside code, so a test can say which links and images an element
would show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt

#: remark-gfm's autolink literals: a protocol or ``www.`` link, and an e-mail address.
GFM_AUTOLINK = re.compile(r"(https?://|www(?=\.))[-.\w]+", re.IGNORECASE)
GFM_EMAIL = re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+")
#: Raw HTML that would link or fetch (only where a Markdown element allows HTML).
HTML_LINK = re.compile(r"<\s*(?:a|img|image|iframe|script|link|source|video|audio)\b", re.IGNORECASE)

_PARSERS = {html: MarkdownIt("gfm-like", {"html": html}) for html in (False, True)}


def links(markdown: str, *, allow_html: bool = False) -> list[str]:
    """Every link target and image source ``markdown`` would render (autolinks included).

    Example
    -------
    >>> links("see [x](http://a.invalid) and ` [y](http://b.invalid) `")
    ['link http://a.invalid']
    """
    found: list[str] = []
    for token in _PARSERS[allow_html].parse(markdown):
        if token.type in ("html_block",) and HTML_LINK.search(token.content):
            found.append(f"html {token.content}")
        for child in token.children or ():
            if child.type == "link_open":
                found.append(f"link {child.attrGet('href')}")
            elif child.type == "image":
                found.append(f"image {child.attrGet('src')}")
            elif child.type == "html_inline" and HTML_LINK.search(child.content):
                found.append(f"html {child.content}")
            elif child.type == "text":
                found += [f"autolink {m.group(0)}" for m in GFM_AUTOLINK.finditer(child.content)]
                found += [f"email {m.group(0)}" for m in GFM_EMAIL.finditer(child.content)]
    return found


def _nodes(node) -> Iterator[object]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


#: Proto fields that Streamlit renders as Markdown (bodies of text elements, labels, help).
MARKDOWN_FIELDS = ("body", "label", "help", "placeholder")


def page_links(at) -> list[tuple[str, str]]:
    """``(element type, link)`` for every link or image any element of an AppTest page would
    render: Markdown bodies, alerts, headings, captions, widget labels and help, and ``st.html``."""
    found: list[tuple[str, str]] = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", type(node).__name__)
        if proto is None:
            continue
        if kind == "html":
            if HTML_LINK.search(proto.body):
                found.append((kind, proto.body))
            continue
        allow_html = bool(getattr(proto, "allow_html", False))
        for field in MARKDOWN_FIELDS:
            try:
                value = getattr(proto, field)
            except AttributeError:
                continue
            if isinstance(value, str) and value:
                found += [(kind, link) for link in links(value, allow_html=allow_html)]
    return found
