"""Read whether a message forwards someone's mail: whose, under which subject, and its words.

A colleague who forwards a customer's complaint into the support inbox ("FW: complaint"
from tom@, the customer's own mail below a header block) hands the team a customer's
message; the colleague's note above it ("can someone pick this up?") is not what the
customer asks. Only what really is such a forward is read as one:

- **a forward marker**: the subject starts with FW:/Fwd:/WG:/TR:/RV:/Doorst: (after a
  list tag at most), or a forwarded-message line ("---------- Forwarded message
  ---------", "Begin forwarded message:", and their kin in other languages) stands
  above the header block. Outlook's line of underscores and "-----Original Message-----"
  are no marker: a reply quotes the customer's mail below the same block;
- **the header block at the top**: the first thing below the colleague's words, unquoted
  (a ``>`` line above it makes the message a reply), naming its author's address;
- **the colleague's own words a note**: at most :data:`MAX_NOTE_CHARS` characters once a
  signature or disclaimer is cut (a paragraph or more is the colleague writing).

:meth:`triage.engine.Settings.handed_over` decides whether such a forward hands the team a
customer's message (it knows who the team is); this module only reads it. Pure, and line
by line like :mod:`triage.quotes` (no expression runs over the body); it reads at most
:data:`MAX_TOP_CHARS` characters before giving up on finding a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triage.quote_vocabulary import (
    FORWARD_INTROS,
    HEADER_KEYS,
    HEADER_KEYS_FROM,
    HEADER_KEYS_SUBJECT,
    SEPARATOR_MARKERS,
)
from triage.quotes import is_header_block, newest_words

MAX_NOTE_CHARS = 400
"""The colleague's own words above the forwarded mail, at most (signature and disclaimer
cut, white space collapsed): "Can someone pick this up? They called me too." with a name
fits several times over; a message of a paragraph or more is the colleague writing (to
the team, about the case), not passing a customer's mail on."""

MAX_TOP_CHARS = 4000
"""Characters of a body searched for the forwarded header block: the note, a signature and
a disclaimer fit; a block further down is no forward's."""

TEXT_LIMIT = 20_000
"""Characters of a body read in all (the forwarded mail's words, as :mod:`triage.quotes`)."""

MAX_FIELD_CHARS = 1000
"""Characters of a forwarded header line read: a header is one line (a To of a dozen
recipients fits), and a bound keeps the address pattern's work small on any line hostile
mail holds."""

FORWARD_SEPARATORS = frozenset({
    "forwarded message", "weitergeleitete nachricht", "message transféré", "message transmis",
    "mensaje reenviado", "messaggio inoltrato", "doorgestuurd bericht", "mensagem encaminhada",
    "mensagem reencaminhada", "wiadomość przekazana", "przekazana wiadomość",
    "vidarebefordrat meddelande", "videresendt meddelelse", "videresendt melding", "přeposlaná zpráva",
    "転送されたメッセージ", "转发的邮件", "轉寄郵件",
})
"""What stands between dashes on a line that says forwarded mail follows (Gmail's
"---------- Forwarded message ---------", Thunderbird's "-------- Forwarded Message
--------"): the forward kin of :data:`triage.quote_vocabulary.SEPARATOR_MARKERS`."""

_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[[^\]]{1,40}\]\s*)?(?:fwd?|wg|tr|rv|doorst)\s*[:：]", re.IGNORECASE)
"""A subject of forwarded mail: "FW:", "Fwd:", "WG:" (de), "TR:" (fr), "RV:" (es), "Doorst:" (nl)."""
_ADDRESS = re.compile(r"[^\s<>\[\]()\"',;:]+@[^\s<>\[\]()\"',;:]+\.[a-z]{2,}", re.IGNORECASE)
"""An address within one header line ("Ana <ana@x.example>", "Ana [mailto:ana@x.example]")."""
_HEADER_KEY_REACH = 24
_BLOCK_CHARS = 2000
"""Characters past :data:`MAX_TOP_CHARS` split into lines: a header block found at its end
is read whole (its fields, up to 18 lines: :func:`triage.quotes.is_header_block`)."""


@dataclass(frozen=True)
class Forwarded:
    """The mail a forward carries."""

    address: str
    """Its author's address, lower-cased."""
    name: str
    """Its author's display name ("" when the header gives none)."""
    subject: str
    """Its subject as the header block gives it ("" when it gives none)."""
    addressed: tuple[str, ...]
    """The addresses its other fields name (To, Cc: who it was sent to), lower-cased."""
    text: str
    """Its author's newest words (its own quoted history and signature cut)."""
    message_id: str = ""
    """Its own Message-ID when the forward attaches it whole ("" for a header block,
    which gives none)."""


def is_forward_subject(subject: str) -> bool:
    """Whether ``subject`` says the message forwards another ("FW: …", "Fwd: …", "WG: …"):
    by its first prefix, so "RE: FW: …" is a reply."""
    return bool(_FORWARD_SUBJECT.match(subject or ""))


def forwarded_mail(subject: str, body: str) -> Forwarded | None:
    """The author, subject and words of the mail ``body`` forwards, when the message
    (``subject``, ``body``) is a forward by the rules of the module docstring; else None."""
    # Only the top is split into lines (a block's fields run a few lines past it): most
    # mail is no forward, and splitting all of it cost every message.
    lines = body[:MAX_TOP_CHARS + _BLOCK_CHARS].replace("\r\n", "\n").split("\n")
    marked = is_forward_subject(subject)
    read = 0
    for index, line in enumerate(lines):
        read += len(line) + 1
        if read > MAX_TOP_CHARS:
            return None
        stripped = line.strip()
        if not stripped:
            continue
        first = stripped[0]
        if first == ">":
            return None  # quoted history above any forwarded mail: a reply
        if first in "-_" or stripped[-1] in ":：":
            if _is_forward_line(stripped):
                marked = True
                continue
        if (stripped.find(":", 1, _HEADER_KEY_REACH) > 0 or stripped.find("：", 1, _HEADER_KEY_REACH) > 0) and (
                _field_key(stripped) in HEADER_KEYS and is_header_block(lines, index)):
            if not marked or not _is_note(lines[:index]):
                return None
            return _forwarded(lines, index, body)
    return None


def attached_forward(subject: str, note: str, name: str, address: str, attached_subject: str,
                     addressed: tuple[str, ...], message_id: str, text: str) -> Forwarded | None:
    """The mail a forward carries as an attachment ("Forward as Attachment": the message
    whose subject is ``subject`` holds the colleague's ``note`` and attaches a message
    from ``name`` <``address``>, with ``attached_subject``, sent to ``addressed``,
    identified by ``message_id``, whose text is ``text``); None when it is no forward by
    the rules of the module docstring: a forward subject (an attachment alone is no
    marker: a bounce, a digest, a message kept as evidence), an author's address, the
    note no longer than :data:`MAX_NOTE_CHARS` (a paragraph or more is the colleague
    writing, the attachment a reference)."""
    if not is_forward_subject(subject) or "@" not in address:
        return None
    if not _is_note(note.replace("\r\n", "\n").split("\n")):
        return None
    return Forwarded(address.lower(), name, attached_subject, tuple(a.lower() for a in addressed),
                     newest_words(text[:TEXT_LIMIT]), message_id)


def _is_forward_line(line: str) -> bool:
    """"---------- Forwarded message ---------", "Begin forwarded message:"."""
    if line[0] == "-":
        return line.strip("- ").lower() in FORWARD_SEPARATORS
    return line[-1] in ":：" and line.rstrip(":： ").lower() in FORWARD_INTROS


def _is_reply_separator(line: str) -> bool:
    """Outlook's line of underscores, "-----Original Message-----" and its kin."""
    if line[0] == "_":
        return not line.strip("_")
    return line[0] == "-" and line.strip("- ").lower() in SEPARATOR_MARKERS


def _is_separator(line: str) -> bool:
    return bool(line) and (_is_forward_line(line) or _is_reply_separator(line))


def _is_note(lines: list[str]) -> bool:
    """Whether the colleague's own words in ``lines`` (those above the forwarded mail)
    are a note: at most :data:`MAX_NOTE_CHARS` once separator lines are left out,
    signature and disclaimer cut by :func:`triage.quotes.newest_words` and white space
    collapsed."""
    note = "\n".join(line for line in lines if not _is_separator(line.strip()))
    return not note.strip() or len(" ".join(newest_words(note).split())) <= MAX_NOTE_CHARS


def _forwarded(lines: list[str], start: int, body: str) -> Forwarded | None:
    """The mail whose header block starts at ``lines[start]``: its From (None when that
    names no address), its Subject and the words below the block. The block ends at a
    blank line, or at a line that is no field and no field's wrapped continuation (the
    text began without a blank line)."""
    address = name = subject = ""
    addressed: list[str] = []
    end = start
    while end < len(lines) and lines[end].strip():
        stripped = lines[end].strip()
        key = _field_key(stripped)
        if key not in HEADER_KEYS and not lines[end][:1].isspace():
            break
        value = _field_value(stripped)[:MAX_FIELD_CHARS]
        if key in HEADER_KEYS_FROM and not address:
            address, name = _author(value)
            if not address:
                return None
        elif key in HEADER_KEYS_SUBJECT and not subject:
            subject = value.strip()
        else:
            addressed += (found.lower() for found in _ADDRESS.findall(value))
        end += 1
    if not address:
        return None
    below = body[:TEXT_LIMIT].replace("\r\n", "\n")[sum(len(line) + 1 for line in lines[:end]):]
    return Forwarded(address, name, subject, tuple(addressed), newest_words(below))


def _colon(line: str) -> int:
    """Where a header line's key ends: its first colon (ASCII or full-width) near the start, else -1."""
    colon = line.find(":", 1, _HEADER_KEY_REACH)
    return colon if colon >= 0 else line.find("：", 1, _HEADER_KEY_REACH)


def _field_key(line: str) -> str:
    colon = _colon(line)
    return line[:colon].strip(" *\t").lower() if colon > 0 else ""


def _field_value(line: str) -> str:
    return line[_colon(line) + 1:]


def _author(value: str) -> tuple[str, str]:
    """(address, name) of a forwarded header's From value: "Ana Ruiz <ana@x.example>",
    "Ana Ruiz [mailto:ana@x.example]", "*Ana Ruiz* <ana@x.example>", "ana@x.example";
    ("", "") when it names no address ("Tom Baker", as Exchange shows its own users)."""
    found = _ADDRESS.search(value)
    if not found:
        return "", ""
    name = value[:found.start()].strip().removesuffix("mailto:").strip(" *\t\"'<[(")
    return found.group(0).lower(), "" if "@" in name else name
