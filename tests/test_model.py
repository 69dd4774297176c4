"""The shipped model: it loads only when its card vouches for it, and it behaves."""

import shutil

import pytest

from triage.errors import ModelError
from triage.model import load_model
from triage.modelfile import card_path
from triage.modelstore import DEFAULT_MODEL, load_shipped, resolve_model


@pytest.fixture(scope="module")
def model():
    return resolve_model(None)[0]


@pytest.fixture
def model_copy(tmp_path):
    target = tmp_path / "m.npz"
    shutil.copy(DEFAULT_MODEL, target)
    shutil.copy(card_path(DEFAULT_MODEL), card_path(target))
    return target


def test_the_shipped_model_is_the_one_compiled_into_the_package():
    _, card = load_shipped()
    assert card["file"] == DEFAULT_MODEL.name == "default.npz"


def test_a_changed_model_file_is_refused(model_copy):
    with model_copy.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(model_copy)


def test_a_model_without_a_card_is_refused(model_copy):
    card_path(model_copy).unlink()
    with pytest.raises(ModelError, match="no model card"):
        load_model(model_copy)


def test_a_model_the_user_names_loads_by_its_card(model_copy):
    """``--model FILE``: the user's own choice of file, checked against its card."""
    assert resolve_model(model_copy)[1]["sha256"] == load_shipped()[1]["sha256"]


@pytest.mark.parametrize("text, expected", [
    ("Refund please\nI returned the boots last week. Please refund the $89 to my card.", {"refund"}),
    ("cancel\nPlease cancel my subscription, I don't use it anymore.", {"cancellation"}),
    ("Wrong charge\nWhy did you charge me a $15 late fee? I paid on time. Remove it.", {"fee_dispute"}),
    ("Re: my order\nI emailed you last week and nobody has replied. Following up again.", {"follow_up"}),
    ("Question\nDo you ship to Canada, and how long does it take?", set()),
    # The issue's own example: three things at once.
    ("Charged after cancelling\nI cancelled and you still charged me: refund it.", {"cancellation", "fee_dispute", "refund"}),
])
def test_the_shipped_model_reads_what_customers_ask(model, text, expected):
    [scores] = model.scores([text])
    assert set(model.decide(scores)) == expected, scores


def test_tone_separates_calm_from_furious(model):
    calm, furious = model.tone.scores([
        "Hi, could you tell me when my order will ship? Thanks a lot!",
        "THIS IS THE THIRD TIME I WRITE. Still no refund. Unacceptable. I am calling my bank for a chargeback.",
    ])
    assert calm < 0.3 < 0.7 < furious


def test_the_shipped_tone_model_reads_the_category_features_and_one_pass_gives_both(model):
    """One vectorisation serves categories and tone (the costliest step of the hot path),
    and gives the same numbers as asking each model on its own."""
    assert model.tone.shares_features_with(model.features)
    texts = ["I want my money back, this is the third time I write!!!", "Please cancel my plan, thanks.",
             "Delivery Status Notification (Failure)"]
    scores, tones = model.scores_and_tone(texts, [True, True, False])
    assert scores == model.scores(texts)
    assert tones[:2] == model.tone.scores(texts[:2]) and tones[2] == 0.0
    assert tones[0] > 0.5 > tones[1]


SWEDISH_REFUND = """From: Karin <karin@example.se>
To: help@larkspur.example
Subject: Återbetalning
Message-ID: <sv-1@example.se>
Content-Type: text/plain; charset=utf-8

Hej,

Jag skickade tillbaka jackan (order 55120) den 3 maj och posten har bekräftat att ni tagit
emot den. Jag har fortfarande inte fått tillbaka pengarna, 1 299 kr. Kan ni göra en refund
till mitt kort?

Med vänliga hälsningar
Karin
"""

SWEDISH_QUESTION = """From: Olle <olle@example.se>
To: help@larkspur.example
Subject: Fråga
Message-ID: <sv-2@example.se>
Content-Type: text/plain; charset=utf-8

Hej, skickar ni till Finland och vad kostar frakten? Jag vill beställa tre lampor.
"""


def test_in_an_uncovered_latin_script_language_the_models_sure_answer_stands(model):
    """Swedish is no language of the model's (too little training mail), but a refund it
    is sure of is scored, in the eval as in the engine; a question stays without one."""
    from triage.evaluation import evaluate
    from triage.labeled import build_labeled
    from triage.message import RawMail

    assert not model.covers("sv")
    labeled = build_labeled([("refund", [RawMail(SWEDISH_REFUND.encode(), "refund", "1")]),
                             ("other", [RawMail(SWEDISH_QUESTION.encode(), "other", "2")])])
    metrics = evaluate(model, labeled)
    assert metrics["labels"]["refund"]["recall"] == 1.0
    assert metrics["labels"]["refund"]["precision"] == 1.0
