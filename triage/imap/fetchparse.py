"""FETCH answers read quickly: the few shapes triage asks for, by regular expression, and
anything else by imapclient's own parser.

Triage fetches two things, over and over: ``UID``, ``RFC822.SIZE``, ``FLAGS`` and
``INTERNALDATE`` of a batch, then ``BODY[]`` (or its start) and ``FLAGS``. imapclient's
parser reads every answer with a general tokenizer written in Python; at 100,000 messages
that was 18.6 % of the main process's CPU (``py-spy --gil``) — the main process that the
whole run waits on. :func:`parse_fetch` reads an answer made only of those items (numbers,
a flag list, a quoted date, a ``BODY[]`` literal) with one regular expression, and hands
any other answer, whole, to :func:`imapclient.response_parser.parse_fetch_response`:
the result is the same either way (tests/test_imap_fetchparse.py compares them).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterator

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_fetch_response

log = logging.getLogger(__name__)

# One attribute and its value: a number, a number in parentheses (MODSEQ: with CONDSTORE
# on, the answers to triage's own STOREs, read among the next FETCH's), a flag list (atoms
# only), a quoted string without escapes, NIL (``BODY[] NIL``: a server with no content to
# give for a message, reported for Exchange). The whole text between the parentheses must be
# made of these.
_ITEM = re.compile(
    rb'(?:\A| )(UID|RFC822\.SIZE|FLAGS|INTERNALDATE|MODSEQ|BODY\[\]) (?:([0-9]+)|\(([0-9]+)\)|\(((?:\\?[A-Za-z$][^\s()"{}\[\]\\%*]*'
    rb'(?: \\?[A-Za-z$][^\s()"{}\[\]\\%*]*)*)?)\)|"([^"\\\r\n]*)"|(NIL))'
)
_NO_DATE = re.compile(rb'(?<![A-Za-z0-9.\[])INTERNALDATE (?!"|NIL[\s)]|\{)(\((?:[^()]|\([^()]*\))*\)|[^\s()]+)')
"""An INTERNALDATE whose value is neither a quoted string, NIL nor a literal: a number, an
atom, a list (imapclient's parser raises AttributeError for it)."""
_RESPONSE = re.compile(rb"([0-9]+) \((.*)\)\Z", re.S)
_WITH_LITERAL = re.compile(rb"([0-9]+) \((?:(.*) )?BODY\[\] \{([0-9]+)\}\Z", re.S)


class _Unusual(Exception):
    """An answer outside the shapes read here: imapclient's parser reads it."""


def parse_fetch(data: list, normalise_times: bool = True, uid_is_key: bool = True) -> dict:
    """imaplib's untagged FETCH data as :func:`~imapclient.response_parser.parse_fetch_response`
    returns it (by UID, or by sequence number when ``uid_is_key`` is false) — but by UID,
    a response without one is left out. It answers no UID command (RFC 3501 6.4.8: their
    answers carry the UID): it is a server telling of another client's flag change,
    ``* 5 FETCH (FLAGS (...))`` (Dovecot does, in the answer to the next command), and
    imapclient took its sequence number for a UID, and those flags for UID 5's."""
    try:
        return _parse_simple(data, normalise_times, uid_is_key)
    except _Unusual:
        data = _without_unreadable_dates(data)
        if not uid_is_key:
            return parse_fetch_response(data, normalise_times, False)
        parsed: defaultdict[int, dict] = defaultdict(dict)
        for one in one_by_one(data):
            for items in parse_fetch_response(one, normalise_times, False).values():
                uid = items.pop(b"UID", None)
                if uid is not None:
                    parsed[uid].update(items)
        return parsed


def one_by_one(data: list) -> Iterator[list]:
    """Split imaplib's untagged FETCH data into single responses: a response is one line
    (bytes), or for each literal in it a (text, literal) pair, closed by the rest of the
    line (bytes)."""
    one: list = []
    for item in data:
        one.append(item)
        if not isinstance(item, tuple):
            yield one
            one = []
    if one:
        yield one


def _without_unreadable_dates(data: list) -> list:
    """``data`` with each INTERNALDATE that is no date (a bare number, an atom, a list:
    imapclient's parser raised AttributeError for it, every pass) made ``NIL``, which
    reads as no INTERNALDATE: the Date header dates the message. One warning says so.
    Only the text around literals is looked at, never a literal (a message's bytes)."""
    found: list[bytes] = []

    def nil(match: re.Match) -> bytes:
        found.append(match[1])
        return b"INTERNALDATE NIL"

    cleaned = [(_NO_DATE.sub(nil, item[0]), *item[1:]) if isinstance(item, tuple) and item
               and isinstance(item[0], bytes) else _NO_DATE.sub(nil, item) if isinstance(item, bytes) else item
               for item in data]
    if not found:
        return data
    log.warning("the server sent %d INTERNALDATE%s that %s no date (%s): the Date header dates %s",
                len(found), "" if len(found) == 1 else "s", "is" if len(found) == 1 else "are",
                found[0][:40].decode("ascii", "replace"), "the message" if len(found) == 1 else "those messages")
    return cleaned


def _parse_simple(data: list, normalise_times: bool, uid_is_key: bool) -> dict:
    if data == [None]:
        return defaultdict()
    parsed: defaultdict[int, dict] = defaultdict(dict)
    position, count = 0, len(data)
    while position < count:
        item = data[position]
        position += 1
        if isinstance(item, tuple):
            if len(item) != 2 or position >= count or not isinstance(data[position], bytes):
                raise _Unusual
            head = _WITH_LITERAL.match(item[0])
            rest = data[position]
            position += 1
            if head is None or len(item[1]) != int(head[3]) or not rest.endswith(b")"):
                raise _Unusual
            seq, text = head[1], (head[2] or b"") + rest[:-1]
            body: bytes | None = item[1]
        elif isinstance(item, bytes):
            whole = _RESPONSE.match(item)
            if whole is None:
                raise _Unusual
            seq, text, body = whole[1], whole[2], None
        else:
            raise _Unusual
        values = _items(text, normalise_times)
        key = int(seq)
        found: dict = {b"SEQ": key}
        uid = values.pop(b"UID", None)
        if uid is None and uid_is_key:
            continue  # no answer to a UID command: another client's change (see parse_fetch)
        if uid is not None:
            if uid_is_key:
                key = uid
            else:
                found[b"UID"] = uid
        found.update(values)
        if body is not None:
            if b"BODY[]" in values:
                raise _Unusual
            found[b"BODY[]"] = body
        parsed[key].update(found)
    return parsed


def _items(text: bytes, normalise_times: bool) -> dict:
    values: dict = {}
    end = 0
    for match in _ITEM.finditer(text):
        if match.start() != end:
            raise _Unusual
        end = match.end()
        name, number, modseq, flags, quoted, nil = match.groups()
        if name in values or (nil is None) != (name != b"BODY[]"):
            raise _Unusual
        if name == b"BODY[]":
            values[name] = None
        elif name == b"MODSEQ":
            if modseq is None:
                raise _Unusual
            values[name] = (int(modseq),)
        elif name == b"FLAGS":
            if flags is None:
                raise _Unusual
            words = tuple(flags.split()) if flags else ()
            if any(word.upper() == b"NIL" for word in words):
                raise _Unusual  # imapclient reads NIL as None
            values[name] = words
        elif name == b"INTERNALDATE":
            if quoted is None:
                raise _Unusual
            try:
                values[name] = parse_to_datetime(quoted, normalise=normalise_times)
            except ValueError:
                values[name] = None
        elif number is None:
            raise _Unusual
        else:
            values[name] = int(number)
    if end != len(text):
        raise _Unusual
    return values
