"""Normalise message text before the model reads it, so it learns words, not order numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_MODEL_CHARS = 3000
"""The model reads at most this much of a message: the ask is near the top."""

# Matched against lower-cased text: a case-insensitive pattern is tried at every position
# of every text at about twice the cost.
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_MONEY = re.compile(
    r"(?:[$€£¥]|\b(?:usd|eur|gbp|cad|aud|chf|sek|nok|dkk|pln|brl|mxn|inr)\s?)\s?\d[\d.,]*"
    r"|\b\d[\d.,]*\s?(?:[$€£¥]|\b(?:usd|eur|gbp|euros?|dollars?|pounds?|bucks)\b)"
)
_NUMBER = re.compile(r"\b[#]?[a-z]{0,4}[-#]?\d[\w-]{3,}\b")
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1024)
def normalise(text: str) -> str:
    """Lower-case and replace URLs, addresses, amounts and reference numbers with tokens.

    Cached: the word, character and tone vectorizers each ask for the same text. A
    pattern runs only when the text holds what it needs (a digit, an "@"): this is on
    the path of every message.
    """
    text = text[:MAX_MODEL_CHARS].lower()
    if "http" in text or "www." in text:
        text = _URL.sub(" urltoken ", text)
    if "@" in text:
        text = _EMAIL.sub(" emailtoken ", text)
    if _DIGIT.search(text):
        text = _MONEY.sub(" moneytoken ", text)
        text = _NUMBER.sub(" numtoken ", text)
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class NormalisedHead:
    """A vectorizer preprocessor: the first ``chars`` characters of the normalised text.
    Character n-grams are the costliest features; the first lines carry the ask."""

    chars: int

    def __call__(self, text: str) -> str:
        return normalise(text)[: self.chars]
