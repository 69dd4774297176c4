import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from triage.lexicon import sentiment
from helpers import corpus_bodies
from test_quotes import CRAFTED


def test_negation_boosters_capitals_and_but_move_the_score_the_way_vader_does():
    assert sentiment("this is good").compound > 0
    assert sentiment("this is not good").compound < 0
    assert sentiment("this is very bad").compound < sentiment("this is bad").compound
    assert sentiment("this is BAD and I am calm").compound < sentiment("this is bad and i am calm").compound
    assert sentiment("the app is great but the billing is terrible").compound < 0 < sentiment(
        "the app is great and the billing is terrible").compound
    assert sentiment("terrible!!!").compound < sentiment("terrible").compound


def test_the_shares_add_up_and_empty_text_is_neutral():
    scored = sentiment("I love the product but hate the billing")
    assert abs(scored.neg + scored.neu + scored.pos - 1) < 0.01
    assert sentiment("").compound == 0.0 and sentiment("   ").neg == 0.0


def test_scores_track_vader_on_support_mail():
    """The one-pass scorer is a faster VADER, not a different lexicon: on the corpus its
    compound and negative share correlate with the reference implementation's."""
    vader = SentimentIntensityAnalyzer()
    texts = [body[:600] for body in corpus_bodies() + CRAFTED]
    ours = [sentiment(text) for text in texts]
    reference = [vader.polarity_scores(text) for text in texts]
    for field in ("compound", "neg", "pos"):
        a = np.array([getattr(s, field) for s in ours])
        b = np.array([r[field] for r in reference])
        assert np.corrcoef(a, b)[0, 1] > 0.99, field
        assert np.mean(np.abs(a - b)) < 0.01, field
