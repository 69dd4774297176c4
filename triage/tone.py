"""How upset a message sounds, from its words alone: a score from 0 (calm) to 1 (furious).

The features are a sentiment lexicon (VADER, which ships its lexicon in the package) and
cues specific to support mail: waiting and repeating ("still waiting", "third time"),
anger ("unacceptable", "scam"), threats (chargeback, lawyer, regulator, bad reviews),
shouting and punctuation. A logistic regression fitted on the annotated corpus weighs
them; its weights are data (``models/tone.json``), not a pickle.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

TONE_WEIGHTS = Path(__file__).parent / "models" / "tone.json"
MAX_TONE_CHARS = 2000

_CUES: dict[str, re.Pattern] = {
    "waiting": re.compile(
        r"still (waiting|haven'?t|have not|no)|no (response|reply|answer|one (has )?(got|gotten|replied))|nobody"
        r"|never (heard|got|received)|(third|3rd|fourth|4th|fifth|second|2nd) (time|email|e-mail|message|request|attempt)"
        r"|(weeks?|months?) (now|later|ago|and)|ignor(ed|ing)|keep (asking|writing|emailing)|again and again"
        r"|how many (times|more)|(yet|once) again|for the last time|radio silence|hello\?{2,}|anyone\?",
        re.IGNORECASE),
    "anger": re.compile(
        r"ridiculous|unacceptable|outrageous|disgust|appall|scam|fraud|rip[- ]?off|theft|steal|stole|joke"
        r"|fed up|sick (and tired|of)|pathetic|worst|never again|incompeten|useless|shameful|shocking|furious"
        r"|livid|angry|absurd|insane|terrible|horrible|awful|a disgrace|beyond frustrat|so frustrat|frustrat"
        r"|wtf|bs\b|bullshit|crap|damn|hell\b|unbelievable|lying|liars?|dishonest|criminal"
        r"|inaceptable|vergonzoso|estafa|unverschämt|inakzeptabel|frechheit|betrug|scandale|inadmissible"
        r"|honteux|arnaque|vergogna|truffa|inaccettabile|oplichting|schandalig|absurdo|golpe",
        re.IGNORECASE),
    "threat": re.compile(
        r"charge ?back|dispute (it |this |the charge )?with my (bank|card)|(call|contact)(ing)? my bank|lawyer|attorney"
        r"|solicitor|legal action|sue\b|suing|small claims|court|better business bureau|\bbbb\b|trading standards"
        r"|ombudsman|regulator|consumer (protection|rights|affairs)|ftc\b|cfpb|attorney general|report (you|this)"
        r"|(bad|negative|1[- ]star|one[- ]star) review|trustpilot|yelp|social media|twitter|tell everyone|go public"
        r"|cancel (my|the) card|block (the|your) (payment|charges)",
        re.IGNORECASE),
    "polite": re.compile(
        r"\bplease\b|thank|appreciate|kind regards|best regards|many thanks|grateful|no rush|no worries|when you get a chance"
        r"|hope you('| a)re well|sorry to bother|if possible|would you mind|cheers",
        re.IGNORECASE),
    "urgent": re.compile(r"\b(asap|immediately|right now|urgent(ly)?|at once|today|within 24 hours|demand)\b", re.IGNORECASE),
}
FEATURES = ("neg", "pos", "compound", *(f"cue_{name}" for name in _CUES), "shouting", "exclaim", "question_burst", "length")


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def tone_features(text: str) -> list[float]:
    """The feature vector of one text, in the order of ``FEATURES``."""
    text = text[:MAX_TONE_CHARS]
    sentiment = _analyzer().polarity_scores(text)
    words = re.findall(r"[A-Za-z]{3,}", text)
    shouting = sum(1 for w in words if w.isupper()) / max(len(words), 1)
    cues = [min(len(pattern.findall(text)), 3) for pattern in _CUES.values()]
    return [
        sentiment["neg"],
        sentiment["pos"],
        sentiment["compound"],
        *cues,
        min(shouting * 3, 1.0) if len(words) >= 3 else 0.0,
        min(text.count("!"), 5) / 5,
        1.0 if re.search(r"\?{2,}|[?!]{3,}", text) else 0.0,
        math.log1p(len(text)) / 8,
    ]


@dataclass(frozen=True)
class ToneModel:
    """Logistic weights over ``FEATURES``; ``score`` maps a text to 0..1."""

    weights: tuple[float, ...]
    intercept: float

    def score(self, text: str) -> float:
        """Probability the text reads as frustrated, from its words alone."""
        z = self.intercept + sum(w * x for w, x in zip(self.weights, tone_features(text)))
        return 1 / (1 + math.exp(-z))

    def to_json(self) -> dict:
        """The weights as a JSON-able dict, keyed by feature name."""
        return {"features": dict(zip(FEATURES, self.weights)), "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict) -> ToneModel:
        """Inverse of :meth:`to_json`; a feature missing from the file weighs 0."""
        return cls(tuple(float(data["features"].get(name, 0.0)) for name in FEATURES), float(data["intercept"]))


def load_tone(path: str | Path = TONE_WEIGHTS) -> ToneModel:
    """The shipped tone weights."""
    return ToneModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
