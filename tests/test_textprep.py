"""normalise: what it replaces, and that its faster searches replace exactly what one
pass of each pattern over the whole text did."""

import random
import re

from triage.textprep import _EMAIL, _NUMBER, _URL, MAX_MODEL_CHARS, normalise

# The money pattern as it was before its look-ahead: the reference.
_PLAIN_MONEY = re.compile(
    r"(?:[$€£¥]|\b(?:usd|eur|gbp|cad|aud|chf|sek|nok|dkk|pln|brl|mxn|inr)\s?)\s?\d[\d.,]*"
    r"|\b\d[\d.,]*\s?(?:[$€£¥]|\b(?:usd|eur|gbp|euros?|dollars?|pounds?|bucks)\b)"
)


def _whole_text(text: str) -> str:
    """normalise as one ``sub`` of each pattern over the whole text, ungated."""
    text = text[:MAX_MODEL_CHARS].lower()
    text = _URL.sub(" urltoken ", text)
    text = _EMAIL.sub(" emailtoken ", text)
    text = _PLAIN_MONEY.sub(" moneytoken ", text)
    text = _NUMBER.sub(" numtoken ", text)
    return " ".join(text.split())


def test_replaces_addresses_amounts_and_reference_numbers():
    text = "Order #AB-12345 for €49.99 (or 50 USD), mail me at Jo.Doe+x@mail.example.com now"
    assert normalise(text) == ("order # numtoken for moneytoken (or moneytoken ), mail me at emailtoken now")


def test_words_next_to_white_space_of_every_kind():
    for space in (" ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2003", "\u3000"):
        text = f"ref{space}ab-1234{space}x@y.zz{space}#9876-q{space}12,50{space}eur"
        assert normalise(text) == _whole_text(text), repr(space)


def test_equal_to_whole_text_passes_on_hostile_strings():
    rng = random.Random(12)
    pieces = list("ab#-@.+_ \n\t\r\x0b\x1c\x85\xa0\u2003$€£¥,0123456789٣:/") + [
        "usd", "eur", "dollars", "pound", "bucks", " 12", " #a12-b", "foo@bar.com", "x@y", "1,000.50",
        "€5", "5€", "é", "ß", "İ", "www.", "http://", "-#", "abcd-", "mxn ", "  "]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert normalise(text) == _whole_text(text), repr(text)


def test_a_long_text_is_cut_before_anything_is_replaced():
    text = "a" * (MAX_MODEL_CHARS - 3) + " 123456 x@y.zz"
    assert normalise(text) == _whole_text(text) == "a" * (MAX_MODEL_CHARS - 3) + " 12"
