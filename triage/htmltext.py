"""Turn hostile HTML mail into plain text without executing or trusting any of it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "hr", "section", "article", "header", "footer", "pre", "title",
}
_SKIP_TAGS = {"script", "style", "head", "noscript", "template", "svg"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._quote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "blockquote":
            self._quote_depth += 1
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._skip_depth:
            return
        if self._quote_depth:
            # Quoted history in HTML mail becomes "> " lines so the reply parser drops it.
            data = "\n".join("> " + line for line in data.splitlines() if line.strip())
            self.parts.append("\n" + data + "\n")
        else:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the readable text of an HTML body: tags dropped, entities decoded, scripts
    and styles ignored, ``<blockquote>`` content marked as quoted with ``>``."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this only guards truly pathological input
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(extractor.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
