"""Find the sender's newest words: drop quoted history and the signature.

Quote stripping is done by mail-parser-reply (a maintained port of GitHub's
email_reply_parser with Outlook and multi-language reply headers); on top of it we trim
the signature and mobile footers it leaves in place.

Of the library we use its text normalisation and its reply-header expression, and cut
where it would (:func:`latest_reply`); its signature and disclaimer expressions, which
its ``parse_reply`` also runs over every fragment, are not needed for that, and most
mail has no reply header at all, which a cheap test rules out first.
"""

from __future__ import annotations

import re
from itertools import chain

from mailparser_reply.parser import EmailMessage

_LANGUAGES = ["en", "de", "fr", "es"]
"""The library's cost grows with each language (9 languages run at a third of the speed of
4); Italian, Dutch and Portuguese reply headers are caught by ``_QUOTE_HEADER`` instead."""

_MAYBE_REPLY_HEADER = re.compile(
    r"wrote:|schrieb|a écrit|escribió:|original message"
    r"|^[>* ]*(?:from|sent|to|subject|date|cc|organi[sz]ation|organización|von|gesendet|an|betreff|datum"
    r"|de|envoyé|à|objet|enviado|para|asunto|fecha) ?:",
    re.IGNORECASE | re.MULTILINE,
)
"""Every branch of the library's reply-header expression needs one of these; text
without any has no reply header (tests/test_quotes.py checks this on the corpus)."""

_MAX_INPUT_CHARS = 20_000
"""Beyond this the rest of a body is pasted logs or history; reading it costs time only."""

_SIGNATURE_START = re.compile(
    r"^(--\s*|__+|sent from my .*|sent from (outlook|mail|yahoo|gmail).*|get outlook for .*"
    r"|enviado desde mi .*|von meinem .* gesendet|envoyé de mon .*|inviato da .*"
    r"|verzonden vanaf mijn .*)$",
    re.IGNORECASE,
)
_QUOTE_HEADER = re.compile(
    r"^(on .{4,200}wrote:|le .{4,200}a écrit\s?:|am .{4,200}schrieb .*:|el .{4,200}escribió:"
    r"|il .{4,200}ha scritto:|op .{4,200}schreef .*:|em .{4,200}escreveu:|-{2,}\s*messaggio originale\s*-{2,}"
    r"|-{2,}\s*original message\s*-{2,}|-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:"
    r"|from:\s.+|de\s?:\s.+|von:\s.+)$",
    re.IGNORECASE,
)


def newest_words(text: str) -> str:
    """Return the newest part of a plain-text body: what the sender wrote this time.

    A body that is entirely a quote (a bare forward) is returned whole rather than as
    nothing, so a forwarded complaint is still read.
    """
    text = text[:_MAX_INPUT_CHARS].replace("\r\n", "\n")
    try:
        reply = latest_reply(text)
    except Exception:  # the library is regex-based; never let one body stop a run
        reply = text
    reply = _cut_at_quote_header(reply)
    reply = _cut_signature(reply).strip()
    if not reply:
        return _unquote(text).strip()
    return reply


def latest_reply(text: str) -> str:
    """What mail-parser-reply's ``EmailReplyParser(languages=...).parse_reply`` returns
    (as text, "" for None): the normalised text up to its first reply header, or from
    the first header to the next when the text opens with one."""
    message = EmailMessage(text=text, languages=list(_LANGUAGES))
    body = message.text
    if not _MAYBE_REPLY_HEADER.search(body):
        return body.strip()
    headers = [header for header in chain.from_iterable(message.HEADER_REGEX.findall(body)) if header]
    current = 0
    for header in headers:
        position = body.find(header, current + 1 if current > 0 else current)
        content = body[current:position].strip()
        current = position if position >= 0 else 0
        if content:
            return content
    return body[current:].strip()


def _cut_at_quote_header(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index > 0 and (_QUOTE_HEADER.match(stripped) or stripped.startswith(">")):
            # Only cut at a "From:" line when a header block follows, not a sentence.
            if stripped.lower().startswith(("from:", "de:", "von:", "de :")) and not _looks_like_header_block(lines[index:index + 5]):
                continue
            return "\n".join(lines[:index])
    return text


def _looks_like_header_block(lines: list[str]) -> bool:
    keys = ("sent:", "to:", "subject:", "date:", "envoyé :", "gesendet:", "an:", "betreff:", "enviado:", "para:", "asunto:", "objet :", "à :")
    return sum(1 for line in lines[1:] if line.strip().lower().startswith(keys)) >= 1


def _cut_signature(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if index > 0 and _SIGNATURE_START.match(line.strip()):
            return "\n".join(lines[:index])
    return text


def _unquote(text: str) -> str:
    return "\n".join(line.lstrip("> ") for line in text.split("\n"))

