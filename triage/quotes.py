"""Find the sender's newest words: drop quoted history, forwards and the signature.

One pass over the lines of the body, cheapest test first: most lines are ordinary text,
and for them the pass looks at the first and last character and for a colon near the
start, nothing more. The words end at the first of

- a reply header ("On … wrote:", "Am … schrieb …:", "Le … a écrit :", "W dniu … pisze:",
  "…さんは書きました：", "在 …，… 写道："), also when a client wrapped it over two lines;
- a header block of quoted or forwarded mail ("From: …" / "Sent: …" / "To: …",
  "Von: …" / "Gesendet: …", "差出人: …"), a "-----Original Message-----" or
  "---------- Forwarded message ---------" line, or "Begin forwarded message:";
- a ``>`` quoted line (HTML blockquotes arrive as such from :mod:`triage.htmltext`);
- a signature: "-- ", a line of underscores, "Sent from my iPhone" and its kin in other
  languages, "Get Outlook for iOS";
- a corporate disclaimer ("CONFIDENTIALITY NOTICE: …", "This email and any attachments
  are confidential …"), on its own or after a delimiter line.

Each of these counts only after some of the sender's own text. Mail that opens with
quoted lines is a reply written below or between the quotes: its newest words are the
lines that are not quoted. A body with no words of its own (a bare forward) is returned
whole, so a forwarded complaint is still read.

No regular expression runs over the body (one, without nested repeats, may look at a
candidate reply-header line), so no input can make the pass backtrack; its cost grows
with the number of lines read, and reading stops at the first cut.
"""

from __future__ import annotations

import enum
import re

from triage.quote_vocabulary import (
    DISCLAIMER_OPENERS,
    DISCLAIMER_OPENERS_STRONG,
    DISCLAIMER_WORDS,
    FORWARD_INTROS,
    HEADER_KEYS,
    HEADER_KEYS_DATE,
    HEADER_KEYS_FROM,
    HEADER_KEYS_SUBJECT,
    QUOTING_OPENERS,
    REPLY_OPENERS,
    REPLY_VERBS,
    SEPARATOR_MARKERS,
    SIGNATURE_PREFIXES,
    SIGNATURE_SUFFIXES,
    STRONG_REPLY_VERBS,
)

_MAX_INPUT_CHARS = 20_000
"""Beyond this the rest of a body is pasted logs or history; reading it costs time only."""

_MAX_HEADER_LINE = 300
"""A reply header is one line (two when wrapped); a longer line ending in a colon is prose."""

_MAX_SIGNATURE_LINE = 64
"""Phone footers are short lines; a longer one that starts "Sent from" is a sentence."""

_HEADER_KEY_REACH = 24
"""How far into a line the colon of a header field name may be ("Enviado el:", "发送时间:")."""

_HEADER_BLOCK_REACH = 6
"""In how many non-blank lines from its first field a header block's other fields are looked for."""

_DELIMITER_CHARS = frozenset("-_=*~")

_DATED = re.compile(r"\d{4}|\d:\d\d|@")
"""A year, a time or an address: what every client's reply header holds and a sentence
such as "On Monday your agent wrote:" does not. Run on one short line only."""

_CJK = "\u2e7f"
"""Characters above this are East Asian scripts, whose lines the cheap gate lets through."""

_OPENINGS = frozenset(
    phrase[:4] for phrase in (*SIGNATURE_PREFIXES, *DISCLAIMER_OPENERS_STRONG, *DISCLAIMER_OPENERS)
)
"""The first four letters of every footer and disclaimer opening: a line starting
otherwise is neither."""


class _Cut(enum.Enum):
    """A kind of line the newest words end at."""

    REPLY_HEADER = "a reply header"
    REPLY_HEADER_TAIL = "a reply header without its opening words, or their second line"
    QUOTED_MAIL = "a header block, separator or forward line"
    SIGNATURE = "a signature or disclaimer"


def newest_words(text: str) -> str:
    """Return the newest part of a plain-text body: what the sender wrote this time,
    without quoted history, forwarded mail, signature or disclaimer.

    A body that is entirely a quote (a bare forward) is returned whole rather than as
    nothing, so a forwarded complaint is still read. Lines come back stripped of
    surrounding whitespace.
    """
    text = text[:_MAX_INPUT_CHARS].replace("\r\n", "\n")
    lines = text.split("\n")
    kept: list[str] = []
    own_lines = 0  # non-blank lines of the sender's own text in ``kept``
    below_quotes = False  # the mail opened with quoted text: the reply is written below it
    paragraph_start = True
    keep, delimiters, openings, cjk = kept.append, _DELIMITER_CHARS, _OPENINGS, _CJK  # (read for every line)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            kept.append("")
            paragraph_start = True
            continue
        first, last = stripped[0], stripped[-1]
        if first == ">":
            if own_lines and not below_quotes:
                break
            below_quotes = paragraph_start = True
            continue
        # The cheap gate: an ordinary line has none of these, and most lines are ordinary:
        # they are the sender's words, and nothing else is asked of them.
        if not (last == ":" or first in delimiters or stripped[:4].lower() in openings
                or stripped.find(":", 1, _HEADER_KEY_REACH) > 0 or first > cjk or last > cjk):
            keep(stripped)
            own_lines += 1
            paragraph_start = False
            continue
        cut = _boundary(stripped, lines, index, paragraph_start)
        paragraph_start = False
        if cut is _Cut.REPLY_HEADER_TAIL:
            if kept and kept[-1] and lines[index - 1].strip() == kept[-1] and _is_reply_header(kept[-1], stripped):
                kept.pop()  # the first half of a wrapped reply header
                own_lines -= 1
                cut = _Cut.REPLY_HEADER
            elif "@" in stripped or (first.isdigit() and _DATED.search(stripped)):
                cut = _Cut.REPLY_HEADER  # "Ann <a@b.example> wrote:", "3/4/25 10:14, Ann wrote:"
            else:
                cut = None  # a sentence such as "Here is what your agent wrote:"
        if cut is None or (cut is _Cut.SIGNATURE and not own_lines and not below_quotes):
            kept.append(stripped)
            own_lines += 1
        elif cut is _Cut.REPLY_HEADER and (below_quotes or not own_lines):
            below_quotes = True  # the attribution line of quoted text the reply is written below
        elif own_lines:
            break
        else:
            return _whole(text)
    reply = "\n".join(kept).strip()
    return reply or _whole(text)


def _boundary(line: str, lines: list[str], index: int, paragraph_start: bool) -> _Cut | None:
    """What kind of cut ``line`` (``lines[index]`` stripped, not a ``>`` line) is, or
    None for ordinary text. ``paragraph_start``: the line follows a blank one."""
    first, last = line[0], line[-1]
    if last == ":" or last == "：":
        kind = _colon_line(line)
        if kind is not None:
            return kind
    if first in _DELIMITER_CHARS:
        kind = _delimiter_line(line, first, lines, index)
        if kind is not None:
            return kind
    colon = line.find(":", 1, _HEADER_KEY_REACH)
    if colon < 0 and first > _CJK:
        colon = line.find("：", 1, _HEADER_KEY_REACH)
    if colon > 0 and _field_name(line[:colon]) in HEADER_KEYS and _is_header_block(lines, index):
        return _Cut.QUOTED_MAIL
    if len(line) <= _MAX_SIGNATURE_LINE and _is_phone_footer(line.lower()):
        return _Cut.SIGNATURE
    if (paragraph_start or first.isupper()) and _is_disclaimer(line, paragraph_start):
        return _Cut.SIGNATURE
    return None


def _colon_line(line: str) -> _Cut | None:
    """A reply header or a forward line, both of which end in a colon."""
    if len(line) > _MAX_HEADER_LINE:
        return None
    lower = line.lower()
    if lower.rstrip(":： ") in FORWARD_INTROS:
        return _Cut.QUOTED_MAIL
    if any(verb in lower for verb in STRONG_REPLY_VERBS):
        return _Cut.REPLY_HEADER
    if any(verb in lower for verb in REPLY_VERBS):
        if not lower.startswith(REPLY_OPENERS):
            return _Cut.REPLY_HEADER_TAIL
        return _Cut.REPLY_HEADER if _DATED.search(lower) else None  # not "On Monday your agent wrote:"
    if "@" in lower and (lower.startswith(QUOTING_OPENERS) or (lower[0].isdigit() and "年" in lower)):
        # "Quoting Ann <a@b.example>:"; Gmail in Japanese: "2025年3月4日(火) 16:05 Ann <a@b.example>:"
        return _Cut.REPLY_HEADER
    return None


def _is_reply_header(first_half: str, second_half: str) -> bool:
    """Whether two lines are a reply header a client wrapped ("On Mon, 3 Mar 2025 at
    10:14, Ann <" / "a@b.example> wrote:"); the second holds the verb."""
    lower = first_half.lower()
    return (len(lower) <= _MAX_HEADER_LINE and (lower.startswith(REPLY_OPENERS) or lower[0].isdigit())
            and _DATED.search(f"{first_half} {second_half}") is not None)


def _delimiter_line(line: str, first: str, lines: list[str], index: int) -> _Cut | None:
    """A line of dashes, underscores and the like: a signature, a separator of quoted
    mail, or the start of a disclaimer."""
    if line == "--":
        return _Cut.SIGNATURE
    if first == "_" and not line.strip("_"):
        return _Cut.QUOTED_MAIL  # Outlook's line of underscores above quoted mail
    if first == "-" and line.strip("- ").lower() in SEPARATOR_MARKERS:
        return _Cut.QUOTED_MAIL
    if len(line) >= 3 and not line.strip(first + " "):
        following = _next_text_line(lines, index)
        if following is not None and _is_disclaimer(following, paragraph_start=True):
            return _Cut.SIGNATURE
    return None


def _field_name(text: str) -> str:
    """"*From*" -> "from", "Objet " -> "objet"."""
    return text.strip(" *\t").lower()


def _is_header_block(lines: list[str], index: int) -> bool:
    """Whether the field at ``lines[index]`` opens the header block of quoted or
    forwarded mail: another field follows within a few lines, one of them names the
    sender, and there is a date, a subject or an address too. "From: London" over
    "To: Paris" in an itinerary is not one, nor a web form's "Subject: …" and "Date: …"."""
    keys: list[str] = []
    has_address = False
    seen = 0
    for line in lines[index:index + 3 * _HEADER_BLOCK_REACH]:
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if seen > _HEADER_BLOCK_REACH:
            break
        colon = stripped.find(":", 1, _HEADER_KEY_REACH)
        if colon < 0:
            colon = stripped.find("：", 1, _HEADER_KEY_REACH)
        key = _field_name(stripped[:colon]) if colon > 0 else ""
        if key in HEADER_KEYS:
            keys.append(key)
            if key in HEADER_KEYS_FROM and "@" in stripped:
                has_address = True
        elif seen == 1:
            return False
    if len(keys) < 2 or not any(key in HEADER_KEYS_FROM for key in keys):
        return False
    return has_address or any(key in HEADER_KEYS_DATE or key in HEADER_KEYS_SUBJECT for key in keys)


def is_header_block(lines: list[str], index: int) -> bool:
    """Whether ``lines[index]`` opens the header block of quoted or forwarded mail (see
    :func:`_is_header_block`): :mod:`triage.forwards` reads whose mail a forward carries."""
    return _is_header_block(lines, index)


def _is_phone_footer(lower: str) -> bool:
    return lower.startswith(SIGNATURE_PREFIXES) or lower.endswith(SIGNATURE_SUFFIXES)


def _is_disclaimer(line: str, paragraph_start: bool) -> bool:
    """Whether ``line`` opens a corporate disclaimer: it starts with a notice's title, or
    like "This email and any attachments …" and speaks of confidentiality or addressees
    (twice when it does not start a paragraph, as in a signature block)."""
    head = line[:40].lower()
    if head.startswith(DISCLAIMER_OPENERS_STRONG):
        return True
    if head.startswith(DISCLAIMER_OPENERS):
        lower = line[:200].lower()
        return sum(word in lower for word in DISCLAIMER_WORDS) >= (1 if paragraph_start else 2)
    return False


def _next_text_line(lines: list[str], index: int) -> str | None:
    for line in lines[index + 1:index + 4]:
        if line.strip():
            return line.strip()
    return None


def _whole(text: str) -> str:
    """The body with its quote marks removed: what a bare forward says."""
    return "\n".join(line.lstrip("> ") for line in text.split("\n")).strip()
