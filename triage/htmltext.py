"""Turn hostile HTML mail into plain text without executing or trusting any of it.

A tokenizer of its own, not the standard library's ``html.parser``: that one rescans the
rest of the text for every construct left open (``<a<a<a…``, ``<!--`` with no ``-->``,
``<a x='>'`` repeated), so one 400 KB message took from a minute to hours. Here every
step moves forward: a tag is ``<`` + name + anything but ``<`` and ``>`` + ``>``, a
comment runs to the next ``-->``, a script or style to its end tag, and a ``<`` that
opens none of these is text. (A ``>`` inside a quoted attribute value ends the tag
early; the rest of the value shows as text — rare in mail, and harmless.)
"""

from __future__ import annotations

import re
from html import unescape

_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "hr", "section", "article", "header", "footer", "pre", "title",
}
_SKIP_TAGS = {"script", "style", "head", "noscript", "template", "svg"}
_RAW_TEXT_TAGS = {"script", "style"}
"""Their content is not HTML: it runs to their end tag, whatever it holds."""

_MARKUP = re.compile(r"<(?:(!--)|(/?)([a-zA-Z][^\s/<>]*)([^<>]*)>|[!?][^<>]*>)")
"""A comment's start (group 1); a start or end tag (2: ``/``, 3: name, 4: the rest); a
declaration, marked section or processing instruction (no group: dropped)."""

_RAW_TEXT_END = {tag: re.compile(rf"</{tag}[^<>]*>", re.IGNORECASE) for tag in _RAW_TEXT_TAGS}
_RAW_TEXT_START = re.compile(r"<(script|style)(?=[\s/>])[^<>]*>", re.IGNORECASE)
_DATA_URI = re.compile(r"data:[\w.+/-]{0,100}(?:;[\w.+=-]{0,100}){0,5},[A-Za-z0-9+/=%\r\n]{200,}")
"""An inline image or file (``<img src="data:image/png;base64,…">``): hundreds of KB that
are never text."""
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Text:
    """The text found so far, and where in the markup it is (skipped, quoted)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.skip_depth = 0
        self.quote_depth = 0

    def start(self, tag: str, self_closing: bool) -> None:
        if self_closing:
            if tag in _BLOCK_TAGS:
                self.parts.append("\n")
        elif tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag == "blockquote":
            self.quote_depth += 1
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def data(self, raw: str) -> None:
        if not raw or self.skip_depth:
            return
        data = unescape(raw)
        if self.quote_depth:
            # Quoted history in HTML mail becomes "> " lines so the reply parser drops it.
            data = "\n".join("> " + line for line in data.splitlines() if line.strip())
            self.parts.append("\n" + data + "\n")
        else:
            self.parts.append(data)


def without_bulk(html: str) -> str:
    """``html`` without what :func:`html_to_text` would never show that can be large: the
    content of scripts and styles (their tags kept, empty; one never closed runs to the
    end, as there) and inline ``data:`` files. Done before the text is cut to its budget,
    else a 500 KB style sheet or a pasted screenshot before the customer's words left
    the message without them (no text, or 200,000 characters of base64). Linear."""
    if "data:" not in html and _RAW_TEXT_START.search(html) is None:
        return html
    kept, pos = [], 0
    while (found := _RAW_TEXT_START.search(html, pos)) is not None:
        kept.append(html[pos:found.end()])
        closing = _RAW_TEXT_END[found.group(1).lower()].search(html, found.end())
        if closing is None:
            pos = len(html)
            break
        pos = closing.start()
    kept.append(html[pos:])
    return _DATA_URI.sub("data:,", "".join(kept))


def html_to_text(html: str) -> str:
    """Return the readable text of an HTML body: tags dropped, entities decoded, scripts
    and styles ignored, ``<blockquote>`` content marked as quoted with ``>``. Linear in
    the length of ``html``, whatever it holds (see the module docstring)."""
    text = _Text()
    pos, end = 0, len(html)
    comments_close = True  # False once a comment was found with no "-->" after it
    while pos < end:
        found = _MARKUP.search(html, pos)
        if found is None:
            break
        text.data(html[pos:found.start()])
        pos = found.end()
        if found.group(1):
            close = html.find("-->", pos) if comments_close else -1
            if close < 0:  # not a comment after all: the "<!--" is text
                comments_close = False
                text.data(found.group(0))
            else:
                pos = close + 3
            continue
        tag = (found.group(3) or "").lower()
        if not tag:
            continue
        if found.group(2):
            text.end(tag)
        elif tag in _RAW_TEXT_TAGS and not found.group(4).endswith("/"):
            closing = _RAW_TEXT_END[tag].search(html, pos)
            pos = closing.end() if closing else end
        else:
            text.start(tag, self_closing=found.group(4).endswith("/"))
    text.data(html[pos:])
    joined = "".join(text.parts).replace("\xa0", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in joined.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
