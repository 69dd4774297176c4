"""Alternations of phrases built for Python's regex engine, which tries the branches of an
alternation one by one: :func:`expand` writes ``(?:a|b)c`` as ``ac|bc`` so that each
branch starts with a plain character, and :func:`factor` groups branches by that
character, so a word that starts no phrase is rejected after a test per distinct first
character instead of one per phrase. :func:`spaces` lets a phrase's spaces match wrapped
text. Used by :mod:`triage.rules` and the tone cues (:mod:`triage.tone`).
"""

from __future__ import annotations

import re

REGEX_META = frozenset("\\.^$*+?{}[]|()")
_QUANTIFIERS = frozenset("?*+{")


def spaces(pattern: str) -> str:
    """The pattern with each space matching any run of white space (mail is wrapped
    mid-phrase): " " becomes ``\\s+``, " ?" and " *" optional white space; inside a
    character class a space becomes ``\\s``."""
    out: list[str] = []
    in_class = escaped = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(r"\s" if char == " " else char)
            in_class = char != "]"
        elif char == "[":
            out.append(char)
            in_class = True
        elif char == " " and pattern[i + 1:i + 2] in ("?", "*"):
            out.append(r"\s" + pattern[i + 1])
            i += 1
        elif char == " ":
            out.append(r"\s+")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _structure(pattern: str):
    """(index, character, groups open after it) of each character of ``pattern`` outside
    escapes and character classes: the one scan :func:`top_level` and
    :func:`_group_end` read."""
    depth = 0
    in_class = escaped = False
    for index, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        else:
            depth += (char == "(") - (char == ")")
            yield index, char, depth


def top_level(pattern: str) -> list[str]:
    """The pattern's top-level alternatives (split on ``|`` outside groups and classes)."""
    cuts = [index for index, char, depth in _structure(pattern) if char == "|" and depth == 0]
    return [pattern[start + 1:end] for start, end in zip([-1, *cuts], [*cuts, len(pattern)])]


def _group_end(pattern: str) -> int:
    """Where the group that opens the pattern closes (the index after its ``)``)."""
    for index, char, depth in _structure(pattern):
        if char == ")" and depth == 0:
            return index + 1
    raise ValueError(f"unbalanced pattern: {pattern!r}")


def expand(alternative: str, limit: int = 64) -> list[str]:
    """Equivalent alternatives that each start with a plain character where possible:
    ``(?:a|b)c`` is ``ac|bc`` and ``(?:a )?b`` is ``a b|b``."""
    if not alternative.startswith("(?:"):
        return [alternative]
    end = _group_end(alternative)
    inner, rest = alternative[3:end - 1], alternative[end:]
    optional = rest[:1] == "?"
    if optional:
        rest = rest[1:]
    if rest[:1] in _QUANTIFIERS:
        return [alternative]
    candidates = [branch + rest for branch in top_level(inner)] + ([rest] if optional else [])
    expanded = [piece for candidate in candidates for piece in expand(candidate, limit)]
    return expanded if len(expanded) <= limit else [alternative]


_ATOMS = (r"\s+", r"\s?", r"\s*", r"\b")


def _first_atom(alternative: str) -> str | None:
    """The alternative's first plain character or white-space/boundary escape, if it is
    one that no quantifier follows (those can be shared between branches)."""
    for atom in _ATOMS:
        if alternative.startswith(atom) and alternative[len(atom):len(atom) + 1] not in _QUANTIFIERS:
            return atom
    head = alternative[:1]
    if head and head not in REGEX_META and alternative[1:2] not in _QUANTIFIERS:
        return head
    return None


def factor(alternatives: list[str], depth: int = 8) -> str:
    """One alternation with branches that share a first character grouped under it
    (``abc|abd|x`` is ``ab(?:c|d)|x``): the regex engine tries branches one by one, so a
    grouped alternation rejects a word after one test per distinct first character."""
    groups: dict[str, list[str]] = {}
    others: list[str] = []
    for alternative in alternatives:
        atom = _first_atom(alternative)
        if atom is None:
            others.append(alternative)
        else:
            groups.setdefault(atom, []).append(alternative[len(atom):])
    parts = []
    for atom, tails in groups.items():
        tails = list(dict.fromkeys(tails))
        if len(tails) == 1:
            tail = tails[0]
            parts.append(atom + (tail if len(top_level(tail)) == 1 else f"(?:{tail})"))
        elif "" in tails:
            rest = [tail for tail in tails if tail]
            inner = factor(rest, depth - 1) if depth > 1 else "|".join(rest)
            parts.append(f"{atom}(?:{inner}|)")
        else:
            inner = factor(tails, depth - 1) if depth > 1 else "|".join(tails)
            parts.append(f"{atom}(?:{inner})")
    return "|".join(parts + others)


def word_start(pattern: str) -> re.Pattern[str]:
    """``\\b(?:pattern)`` compiled to find the same matches, faster: its branches expanded
    and factored, behind a look ahead for their first characters. Every branch must
    start with a word character (ValueError if not). The tone cues run five of these
    over every message; plain, they cost twice as much."""
    alternatives = [piece.removeprefix(r"\b") for branch in top_level(pattern) for piece in expand(branch)]
    for alternative in alternatives:
        if not re.fullmatch(r"\w", alternative[:1]) or alternative[1:2] in _QUANTIFIERS:
            raise ValueError(f"a branch must start with a word character: {alternative!r}")
    heads = "".join(sorted({alternative[0] for alternative in alternatives}))
    return re.compile(r"\b(?=[" + heads + "])(?:" + factor(alternatives) + ")")
