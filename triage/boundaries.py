"""Multipart boundaries found without compiling a regular expression for every message.

The standard library's MIME parser (``email.feedparser``) compiles a new pattern for each
multipart boundary it meets::

    (?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$

Boundaries are unique per message, so Python's pattern cache never helps, and compiling
costs more than the rest of reading a part: on mail like real mail (a third of it HTML
or with attachments) about a tenth of triage's per-message analysis. :func:`install`
gives the parser a ``compile`` that answers that one pattern shape with
:class:`BoundaryMatcher`, plain string tests with the same results (every other pattern
goes to :func:`re.compile`), so each message is parsed exactly as before.

The parser also tests every line of a part against the boundary of every multipart
around it, most nested first: 49 nested multiparts over 2 MB of short lines took 4.7 s.
:class:`GatedSubFile`, the parser's line buffer, first asks whether a line could be a
delimiter of any of them at all (one set lookup), and runs those tests only when it
could: the same answers, a line costing what it costs under one multipart.
"""

from __future__ import annotations

import email.feedparser
import re
from types import SimpleNamespace

_PREFIX = "(?P<sep>"
_SUFFIX = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_LINE_ENDS = ("\r\n", "\r", "\n")


class BoundaryMatch:
    """The match of a boundary line: the groups ``email.feedparser`` reads."""

    __slots__ = ("_groups",)

    def __init__(self, line: str, sep: str, end: str | None, ws: str, linesep: str | None) -> None:
        self._groups = {0: line, "sep": sep, "end": end, "ws": ws, "linesep": linesep}

    def group(self, name: int | str = 0) -> str | None:
        try:
            return self._groups[name]
        except KeyError:
            raise IndexError("no such group") from None


class BoundaryMatcher:
    """``re.compile`` of the boundary pattern above, for one separator ("--" + boundary),
    as string tests: ``match(line)`` gives what the pattern's ``match`` would."""

    __slots__ = ("separator", "pattern")

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self.pattern = _PREFIX + re.escape(separator) + _SUFFIX

    def match(self, line: str) -> BoundaryMatch | None:
        if not line.startswith(self.separator):
            return None
        rest = line[len(self.separator):]
        end = None
        if rest.startswith("--"):  # the pattern's "--" is greedy, and without it a "-" cannot match
            end, rest = "--", rest[2:]
        after = rest.lstrip(" \t")
        ws = rest[:len(rest) - len(after)]
        # The optional line end, longest first, then "$": the end, or before a last "\n".
        for linesep in (*(ending for ending in _LINE_ENDS if after.startswith(ending)), None):
            left = after[len(linesep or ""):]
            if left in ("", "\n"):
                return BoundaryMatch(line[:len(line) - len(left)], self.separator, end, ws, linesep)
        return None


class GatedSubFile(email.feedparser.BufferedSubFile):
    """``email.feedparser.BufferedSubFile`` whose ``readline`` returns a line that is no
    delimiter of any enclosing multipart without testing it against each: while every
    matcher on its stack is a :class:`BoundaryMatcher`, their separators are kept in a
    set, and only a line that :func:`may_delimit` for that set is tested (as before)."""

    def __init__(self) -> None:
        super().__init__()
        self._separators: frozenset[str] | None = frozenset()
        """The separators of the matchers on the stack; None when one is not a
        :class:`BoundaryMatcher` (the lines are then all tested)."""

    def push_eof_matcher(self, pred) -> None:
        super().push_eof_matcher(pred)
        self._separators = _separators(self._eofstack)

    def pop_eof_matcher(self):
        pred = super().pop_eof_matcher()
        self._separators = _separators(self._eofstack)
        return pred

    def readline(self):
        separators, lines = self._separators, self._lines
        if separators is not None and lines and not may_delimit(lines[0], separators):
            return lines.popleft()
        return super().readline()


def _separators(matchers: list) -> frozenset[str] | None:
    """The separators of ``matchers`` (bound ``match`` methods), or None when one of them
    is not a :class:`BoundaryMatcher`'s or its separator does not start with ``--``."""
    separators = set()
    for match in matchers:
        matcher = getattr(match, "__self__", None)
        if not isinstance(matcher, BoundaryMatcher) or not matcher.separator.startswith("--"):
            return None
        separators.add(matcher.separator)
    return frozenset(separators)


def may_delimit(line: str, separators: frozenset[str]) -> bool:
    """False when ``line`` matches no :class:`BoundaryMatcher` of ``separators`` (each
    starting with ``--``): a delimiter line is a separator, perhaps ``--``, blanks and
    the line end, and a separator never ends in a blank (the parser strips the boundary)."""
    if not line.startswith("--"):
        return False
    core = line.rstrip("\r\n").rstrip(" \t")
    return core in separators or (core.endswith("--") and core[:-2] in separators)


def boundary_compile(pattern, flags: int = 0):
    """:func:`re.compile`, but the boundary pattern of ``email.feedparser`` becomes a
    :class:`BoundaryMatcher` (only when the separator reads back exactly)."""
    if (not flags and isinstance(pattern, str) and pattern.startswith(_PREFIX) and pattern.endswith(_SUFFIX)):
        escaped = pattern[len(_PREFIX):-len(_SUFFIX)]
        separator = re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL)
        if re.escape(separator) == escaped:
            return BoundaryMatcher(separator)
    return re.compile(pattern, flags)


def install() -> bool:
    """Give ``email.feedparser`` :func:`boundary_compile` and :class:`GatedSubFile`
    (idempotent). Returns whether the parser is one this was written for: it reaches the
    ``re`` module by that name (the line buffer is replaced only where it is the class
    :class:`GatedSubFile` extends, with the attributes it reads)."""
    if not hasattr(email.feedparser, "re"):
        return False
    current = email.feedparser.re
    if getattr(current, "compile", None) is not boundary_compile:
        names = {name: getattr(re, name) for name in dir(re) if not name.startswith("__")}
        email.feedparser.re = SimpleNamespace(**{**names, "compile": boundary_compile})
    buffer = getattr(email.feedparser, "BufferedSubFile", None)
    if buffer is GatedSubFile.__base__ and all(hasattr(buffer(), name) for name in ("_lines", "_eofstack")):
        email.feedparser.BufferedSubFile = GatedSubFile
    return True
