"""Header values as text, within a budget: RFC 2047 decoding in one linear pass, and caps
that keep a hostile header from costing more than a normal one.

The standard library's ``email.header.decode_header`` is quadratic in the number of
encoded words (a 2 MB Subject of encoded words took 40 s of CPU); this decoder walks the
value once, and every value is cut to :data:`MAX_HEADER_CHARS` before it is decoded.
Unknown or broken charsets never raise: the bytes are decoded as well as they can be.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

MAX_HEADER_CHARS = 4_000
"""A header value is read up to this many characters (a Subject, a From, a Date never
need more; References are capped separately)."""

MAX_REFERENCES_CHARS = 16_000
"""References of a long thread: the newest ids are at the end, so the end is kept."""

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,40})\?([QqBb])\?([^?\s]*)\?=")
_SPACE_BETWEEN_WORDS = re.compile(r"[ \t\r\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "ks_c_5601-1987": "cp949", "x-sjis": "shift_jis",
    "shift-jis": "shift_jis", "unknown-8bit": "utf-8", "x-unknown": "utf-8", "8bit": "utf-8", "utf8": "utf-8",
    "x-mac-roman": "mac_roman", "iso-2022-jp-ms": "iso-2022-jp",
}
"""Labels mail uses for charsets Python calls otherwise, or supersets that decode what
senders really meant (mail labelled iso-8859-1 is usually windows-1252; gb2312 is gb18030)."""

_NOT_CHARSETS = frozenset({"punycode"})
"""Text codecs that are no character set of mail: punycode encodes host names (IDNA), and
Python's decoder takes time with the square of the length (a part of 800 KB of letters
labelled ``charset=punycode`` took 40 s)."""


def codec_for(charset: str | None) -> str:
    """A codec name Python knows for a MIME charset label; utf-8 when it knows none, or
    when the label names a codec that is not a character set (``rot13``, ``zlib``,
    ``base64``, ``hex``…: Python refuses them for decoding text; ``punycode``:
    :data:`_NOT_CHARSETS`) or ``undefined`` (which refuses everything)."""
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return "utf-8"
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return "utf-8"
    if not getattr(codec, "_is_text_encoding", True) or codec.name == "undefined" or codec.name in _NOT_CHARSETS:
        return "utf-8"
    return codec.name


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_CODECS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape"})
"""Codecs that decode to lone surrogates (``+2AA-`` in UTF-7, ``\\ud800`` escaped):
no text, and no UTF-8 encoder takes them. A subject of ``=?utf-7?Q?+2AA-?=`` was a
UnicodeEncodeError when its row was printed or stored: a traceback, and the pass lost."""


_UNKNOWN_LABELS = frozenset({"unknown-8bit", "x-unknown", "8bit", "unknown", "x-user-defined"})
"""Labels that say the sender did not know the charset (``unknown-8bit``: RFC 1428, and what
Python's own email package writes for 8-bit bytes it could not place)."""


def unknown_charset(charset: str | None) -> bool:
    """True when ``charset`` is a label saying the charset is unknown, or one Python does
    not know (``x-mac-roman-ce``): the bytes may be in any charset."""
    name = (charset or "").strip().strip('"').lower()
    if name in _UNKNOWN_LABELS:
        return True
    try:
        codecs.lookup(_CHARSET_ALIASES.get(name, name))
    except (LookupError, ValueError):
        return bool(name)
    return False


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of ``data`` in ``charset``; never raises. Bytes that are not valid in the
    declared charset are tried as UTF-8 and then replaced (mail often lies about charsets),
    as are lone surrogates (:data:`_SURROGATE_CODECS`). Under a charset nobody knew
    (:func:`unknown_charset`) bytes that are no UTF-8 are read as windows-1252, the
    commonest of the rest: ``=?unknown-8bit?Q?J=F6rg?=`` is Jörg, not J\ufffdrg."""
    codec = codec_for(charset)
    text = _decode(data, codec, legacy=unknown_charset(charset))
    if codec in _SURROGATE_CODECS and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def _decode(data: bytes, codec: str, legacy: bool = False) -> str:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):  # UnicodeError: also a codec that cannot decode at all
        pass
    if legacy:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:  # (five bytes cp1252 leaves undefined)
            pass
    if codec != "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        try:
            return data.decode(codec, errors="replace")
        except (UnicodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace")


def decode_value(value: str | bytes | None, limit: int = MAX_HEADER_CHARS) -> str:
    """A header value as text: cut to ``limit`` characters, RFC 2047 encoded words
    decoded (whitespace between two encoded words dropped, as the RFC says), folding
    undone and control characters removed. Linear in ``limit``."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = decode_bytes(value[: limit * 4], "utf-8")
    elif not isinstance(value, str):
        value = str(value)  # email.header.Header from a message built in Python
    value = value[:limit]
    if "=?" in value:
        value = _decode_encoded_words(value)
    return _CONTROL.sub("", _SPACE_BETWEEN_WORDS.sub(" ", value)).strip()


def _decode_encoded_words(value: str) -> str:
    """Adjacent encoded words of one charset are decoded as one run of bytes: mailers
    that cut a long header by bytes split a character between two words (RFC 2047 says
    not to), and each half alone decoded to U+FFFD ("R\ufffd\ufffdckerstattung")."""
    parts: list[str] = []
    run: list[bytes] = []
    run_charset: str | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position:match.start()]
        charset = match[1].split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*en?Q?...?=
        adjacent = position > 0 and not between.strip()  # whitespace between two encoded words is dropped
        if run and not (adjacent and charset.lower() == run_charset):
            parts.append(decode_bytes(b"".join(run), run_charset))
            run = []
        if not adjacent:
            parts.append(between)
        data = _word_bytes(match[2], match[3])
        if data is None:  # (broken base64: the word as it is)
            if run:
                parts.append(decode_bytes(b"".join(run), run_charset))
                run = []
            parts.append(match[3])
        else:
            run.append(data)
            run_charset = charset.lower()
        position = match.end()
    if run:
        parts.append(decode_bytes(b"".join(run), run_charset))
    parts.append(value[position:])
    return "".join(parts)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes of an encoded word's text (None: base64 that is none)."""
    if encoding in "Bb":
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
    return _q_decode(text)


_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _q_decode(text: str) -> bytes:
    raw = text.replace("_", " ").encode("ascii", errors="replace")
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
