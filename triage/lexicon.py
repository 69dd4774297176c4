"""Lexicon sentiment in one pass: VADER's word list and rules, at a tenth of its cost.

VADER (vaderSentiment) ships a hand-rated lexicon of about 7,500 words and a set of rules
(boosters, negation, "but", capitals, exclamation marks). Its reference implementation
re-lower-cases the whole text for every word it scores, so its cost grows with the square
of the length; on support mail it was the costliest step of reading tone. This module
applies the same lexicon and the same rules, each word looked at once; emoji are read
as VADER reads them, through their descriptions ("😡" is "pouting face"). The handful
of multi-word idioms are left out; on the corpus the scores track VADER's closely
(tests/test_lexicon.py).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import BOOSTER_DICT, C_INCR, N_SCALAR, NEGATE, SentimentIntensityAnalyzer

_NEGATIONS = frozenset(NEGATE)
_BOOSTERS = {word: value for word, value in BOOSTER_DICT.items() if " " not in word}
_PUNCTUATION = string.punctuation
_DAMPING = (1.0, 0.95, 0.9)
"""A booster one, two or three words before a rated word counts this much."""


@dataclass(frozen=True)
class Sentiment:
    """VADER's scores: ``neg``, ``neu`` and ``pos`` shares (summing to 1) and
    ``compound``, the normalised sum from -1 (most negative) to 1 (most positive)."""

    neg: float
    neu: float
    pos: float
    compound: float


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def lexicon() -> dict[str, float]:
    """VADER's lexicon: lower-case word → valence (-4 … 4)."""
    return _vader().lexicon


@lru_cache(maxsize=1)
def _emoji_descriptions() -> dict[int, str]:
    """A str.translate table: each emoji VADER knows → its description, spaced."""
    return {ord(emoji): f" {description} " for emoji, description in _vader().emojis.items() if len(emoji) == 1}


def sentiment(text: str) -> Sentiment:
    """Score ``text`` with VADER's lexicon and rules in one pass over its words."""
    rated = lexicon()
    if not text.isascii():
        text = text.translate(_emoji_descriptions())
    # A word stripped of punctuation, unless that leaves two characters or fewer (emoticons).
    words = [word if len(stripped := word.strip(_PUNCTUATION)) <= 2 else stripped for word in text.split()]
    lower = [w.lower() for w in words]
    # Most words are in no list: only the rated ones are scored (the rest count as neutral).
    scored = [i for i, word in enumerate(lower) if word in rated and word not in _BOOSTERS]
    if not scored:
        return _scores([], len(lower), text)
    capitals = sum(1 for w in words if w.isupper())
    shouting_some = 0 < capitals < len(words)
    but_at = lower.index("but") if "but" in lower else -1
    valences: list[float] = []
    for i in scored:
        word = lower[i]
        valence = rated[word]
        if word == "no" and i + 1 < len(lower) and lower[i + 1] in rated:
            valence = 0.0
        if (i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no"):
            valence *= N_SCALAR
        if shouting_some and words[i].isupper():
            valence += C_INCR if valence > 0 else -C_INCR
        for back in range(1, 4):
            if i < back:
                break
            before = lower[i - back]
            if before in rated:
                continue
            boost = _BOOSTERS.get(before)
            if boost is not None and valence:
                boost = boost if valence > 0 else -boost
                if shouting_some and words[i - back].isupper():
                    boost += C_INCR if valence > 0 else -C_INCR
                valence += boost * _DAMPING[back - 1]
            if before in _NEGATIONS or "n't" in before:
                valence *= N_SCALAR
        if i > 0 and lower[i - 1] == "least" and not (i > 1 and lower[i - 2] in ("at", "very")):
            valence *= N_SCALAR
        if but_at >= 0:
            valence *= 0.5 if i < but_at else 1.5 if i > but_at else 1.0
        valences.append(valence)
    return _scores(valences, len(lower), text)


def _scores(valences: list[float], words: int, text: str) -> Sentiment:
    """VADER's scores from the valences of the scored words among ``words`` (the others
    are neutral)."""
    if not words:
        return Sentiment(0.0, 0.0, 0.0, 0.0)
    emphasis = min(text.count("!"), 4) * 0.292
    questions = text.count("?")
    if questions > 1:
        emphasis += questions * 0.18 if questions <= 3 else 0.96
    total = sum(valences)
    if total:
        total += emphasis if total > 0 else -emphasis
    compound = max(-1.0, min(1.0, total / math.sqrt(total * total + 15)))
    positive = sum(v + 1 for v in valences if v > 0)
    negative = sum(v - 1 for v in valences if v < 0)
    neutral = words - len(valences) + sum(1 for v in valences if v == 0)
    if positive > -negative:
        positive += emphasis
    elif positive < -negative:
        negative -= emphasis
    whole = positive - negative + neutral
    if not whole:
        return Sentiment(0.0, 0.0, 0.0, round(compound, 4))
    return Sentiment(round(-negative / whole, 3), round(neutral / whole, 3), round(positive / whole, 3), round(compound, 4))

