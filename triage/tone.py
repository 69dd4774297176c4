"""How upset a message sounds, from its words alone: a score from 0 (calm) to 1 (furious).

The features are a sentiment lexicon (VADER's, scored in one pass by
:mod:`triage.lexicon`) and cues specific to support mail: waiting and repeating ("still
waiting", "third time"), anger ("unacceptable", "scam"), threats (chargeback, lawyer,
regulator, bad reviews), shouting and punctuation. A logistic regression fitted on the
annotated corpus weighs them, blended with a word model fitted on the same annotations
(:class:`ToneModel`). The word model reads the category model's own features, so a
message is vectorised once for both. Everything here is numpy and the standard library:
the fitting is in :mod:`triage.training`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from triage.alternation import word_start
from triage.features import FeatureRows, Features
from triage.heads import LinearHeads
from triage.lexicon import sentiment

MAX_TONE_CHARS = 600
"""The tone of a message is set in its first lines; the cues cost time per character."""

# Matched against lower-cased text without re.IGNORECASE, and only from the start of a
# word ("\\b" before the alternation): each is twice as fast that way, and "sue" no longer
# matches inside "issue", nor "lying" inside "replying". Compiled by word_start, which
# finds the same matches in half the time again.
_CUE_PATTERNS: dict[str, str] = {
    "waiting": (
        r"still (?:waiting|haven'?t|have not|no)|no (?:response|reply|answer|one (?:has )?(?:got|gotten|replied))|nobody"
        r"|never (?:heard|got|received)|(?:third|3rd|fourth|4th|fifth|second|2nd) (?:time|email|e-mail|message|request|attempt)"
        r"|(?:weeks?|months?) (?:now|later|ago|and)|ignor(?:ed|ing)|keep (?:asking|writing|emailing)|again and again"
        r"|how many (?:times|more)|(?:yet|once) again|for the last time|radio silence|hello\?{2,}|anyone\?"
    ),
    "anger": (
        r"ridiculous|unacceptable|outrageous|disgust|appall|scam|fraud|rip[- ]?off|theft|steal|stole|joke"
        r"|fed up|sick (?:and tired|of)|pathetic|worst|never again|incompeten|useless|shameful|shocking|furious"
        r"|livid|angry|absurd|insane|terrible|horrible|awful|a disgrace|beyond frustrat|so frustrat|frustrat"
        r"|wtf|bs\b|bullshit|crap|damn|hell\b|unbelievable|lying|liars?|dishonest|criminal"
        r"|inaceptable|vergonzoso|estafa|unverschämt|inakzeptabel|frechheit|betrug|scandale|inadmissible"
        r"|honteux|arnaque|vergogna|truffa|inaccettabile|oplichting|schandalig|absurdo|golpe"
    ),
    "threat": (
        r"charge ?back|dispute (?:it |this |the charge )?with my (?:bank|card)|(?:call|contact)(?:ing)? my bank|lawyer|attorney"
        r"|solicitor|legal action|sue\b|suing|small claims|court|better business bureau|\bbbb\b|trading standards"
        r"|ombudsman|regulator|consumer (?:protection|rights|affairs)|ftc\b|cfpb|attorney general|report (?:you|this)"
        r"|(?:bad|negative|1[- ]star|one[- ]star) review|trustpilot|yelp|social media|twitter|tell everyone|go public"
        r"|cancel (?:my|the) card|block (?:the|your) (?:payment|charges)"
    ),
    "polite": (
        r"\bplease\b|thank|appreciate|kind regards|best regards|many thanks|grateful|no rush|no worries|when you get a chance"
        r"|hope you(?:'| a)re well|sorry to bother|if possible|would you mind|cheers"
        r"|bitte|danke|mit freundlichen|por favor|gracias|saludos|atentamente|cordialement|merci|remerci|s'il vous pla[iî]t"
        r"|veuillez|grazie|per favore|cordiali saluti|obrigad|atenciosamente|bedankt|alstublieft|vriendelijke groet"
    ),
    "urgent": r"(?:asap|immediately|right now|urgent(?:ly)?|at once|today|within 24 hours|demand)\b",
}
_CUES = {name: word_start(pattern) for name, pattern in _CUE_PATTERNS.items()}
FEATURES = ("neg", "pos", "compound", *(f"cue_{name}" for name in _CUES), "shouting", "exclaim", "question_burst", "length")


def tone_features(text: str) -> list[float]:
    """The feature vector of one text, in the order of ``FEATURES``."""
    text = text[:MAX_TONE_CHARS]
    lexical = sentiment(text)
    words = re.findall(r"[A-Za-z]{3,}", text)
    shouting = sum(1 for w in words if w.isupper()) / max(len(words), 1)
    lowered = text.lower()
    cues = [min(len(pattern.findall(lowered)), 3) for pattern in _CUES.values()]
    return [
        lexical.neg,
        lexical.pos,
        lexical.compound,
        *cues,
        min(shouting * 3, 1.0) if len(words) >= 3 else 0.0,
        min(text.count("!"), 5) / 5,
        1.0 if re.search(r"\?{2,}|[?!]{3,}", text) else 0.0,
        math.log1p(len(text)) / 8,
    ]


@dataclass(frozen=True)
class CueWeights:
    """Logistic weights over ``FEATURES`` (lexicon and cues)."""

    weights: tuple[float, ...]
    intercept: float

    def score(self, text: str) -> float:
        """Probability the text reads as frustrated, from lexicon and cues alone."""
        z = self.intercept + sum(w * x for w, x in zip(self.weights, tone_features(text)))
        return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))

    def as_dict(self) -> dict:
        """The weights keyed by feature name (for the model card)."""
        return {"features": {n: round(w, 4) for n, w in zip(FEATURES, self.weights)}, "intercept": round(self.intercept, 4)}


WORD_SHARE = 0.8
"""How much of the tone score is the word model's (the rest is the lexicon and cues')."""


def blend(word_scores: Sequence[float], cue_scores: Sequence[float], word_share: float) -> list[float]:
    """The tone score: ``word_share`` of the word model's probability, the rest the cues'
    (rounded to the four decimals scores are shown with)."""
    return [round(float(word_share * w + (1 - word_share) * c), 4) for w, c in zip(word_scores, cue_scores)]


@dataclass
class ToneModel:
    """How frustrated a text sounds: a word model (a logistic head over TF-IDF words and
    character n-grams, which learned the corpus's many ways of being fed up) blended with
    the lexicon-and-cues model (which knows VADER's 7,500 words the corpus may never use).

    When the tone model is trained alongside a category model, its ``features`` *are*
    that model's (:meth:`shares_features_with`), and callers holding the rows already
    pass them to :meth:`scores` instead of paying for a second vectorisation.

    Measured on the held-out set, the blend scores as well as the word model alone and
    far better than the cues alone (docs/model_selection.md); the cues are kept for mail
    unlike the corpus.
    """

    features: Features
    words: LinearHeads
    cues: CueWeights
    word_share: float = WORD_SHARE

    def scores(self, texts: Sequence[str], rows: FeatureRows | None = None) -> list[float]:
        """Frustration from words alone (0..1) for each text; ``rows`` are ``texts`` as
        :attr:`features` already transformed them."""
        if not texts:
            return []
        if rows is None:
            rows = self.features.transform(texts)
        return self.blended(texts, self.words.probabilities(rows)[:, 0])

    def blended(self, texts: Sequence[str], word_scores: Sequence[float]) -> list[float]:
        """The tone of ``texts`` given the word model's probabilities for them."""
        return blend(word_scores, [self.cues.score(t) for t in texts], self.word_share)

    def score(self, text: str) -> float:
        """:meth:`scores` for one text."""
        return self.scores([text])[0]

    def shares_features_with(self, features: Features) -> bool:
        """True when the word model reads exactly ``features`` (the same object)."""
        return self.features is features
