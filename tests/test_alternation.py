"""Alternations rewritten for speed find exactly what the plain patterns find."""

import random
import re

import pytest

from triage.alternation import word_start
from triage.tone import _CUE_PATTERNS, tone_features


def fuzz_texts(pattern: str, count: int, seed: int) -> list[str]:
    """Texts of the pattern's own words run together with spaces, punctuation, word
    characters and suffixes, where a rewrite that moved a word boundary or a branch's
    order would count differently."""
    words = sorted(set(re.findall(r"[^\W_]+'?[^\W_]*", pattern.replace("(?:", " "))))
    joints = [" ", "  ", "\n", "-", "?", "??", "!", ".", ",", "'", "_", "é", "x", "1", "", "(", "s", "ing", "ed "]
    rnd = random.Random(seed)
    return ["".join(rnd.choice(words) + rnd.choice(joints) for _ in range(rnd.randint(1, 8))) for _ in range(count)]


@pytest.mark.parametrize("name", sorted(_CUE_PATTERNS))
def test_each_tone_cue_counts_what_its_plain_pattern_counts(name):
    pattern = _CUE_PATTERNS[name]
    plain, fast = re.compile(r"\b(?:" + pattern + ")"), word_start(pattern)
    texts = fuzz_texts(pattern, 20000, seed=len(name))
    assert sum(len(plain.findall(t)) for t in texts) > 1000  # the fuzz hits the cues
    assert [len(fast.findall(t)) for t in texts] == [len(plain.findall(t)) for t in texts]


def test_word_start_groups_branches_behind_their_first_characters():
    fast = word_start(r"(?:call|contact)(?:ing)? my bank|court|\bbbb\b")
    assert fast.pattern.startswith(r"\b(?=[bc])")
    assert [m.group() for m in fast.finditer("calling my bank; the bbb; a courtyard; escourt")] == \
        ["calling my bank", "bbb", "court"]


@pytest.mark.parametrize("pattern", [r"\d+ days", r"(?:a|b)+c", r"'quoted'"])
def test_word_start_refuses_branches_that_start_with_no_word_character(pattern):
    with pytest.raises(ValueError, match="must start with a word character"):
        word_start(pattern)


def test_tone_features_count_the_cues_at_word_starts_only():
    angry = tone_features("This is ridiculous. Still waiting, third email! I will call my bank. Chargeback.")
    issue = tone_features("An issue with the replying form, sent to the antifraud team in tissue paper.")
    cue = {name: 3 + i for i, name in enumerate(("waiting", "anger", "threat", "polite", "urgent"))}
    assert [angry[cue[n]] for n in ("waiting", "anger", "threat")] == [2, 1, 2]
    assert [issue[cue[n]] for n in ("waiting", "anger", "threat")] == [0, 0, 0]
