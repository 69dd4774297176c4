import pytest

from triage.frustration import frustration_score, history_pressure
from triage.labels import labels_for
from triage.priority import Facts, mentions_threat, ordinal, prioritize
from triage.rules import acknowledgement


def facts(text: str = "Hello, a question about my account.", **overrides) -> Facts:
    """Facts about a message saying ``text`` (its threat read by the rules, as the engine does)."""
    base = dict(categories=[], frustration=0.1, frustrated=False, automated=False, automated_reason=None,
                repeat_count=1, threat=mentions_threat(text))
    return Facts(**{**base, **overrides})


def test_automated_mail_is_last():
    priority, reasons = prioritize(facts(automated=True, automated_reason="auto-reply", categories=["refund"]))
    assert priority == 4 and reasons == ["automated (auto-reply)"]


def test_frustrated_repeat_sender_is_first_with_reasons():
    priority, reasons = prioritize(facts(categories=["refund", "follow_up"], frustration=0.8, frustrated=True,
                                         repeat_count=3))
    assert priority == 1
    assert "3rd message without a reply" in reasons and "frustrated (0.80)" in reasons
    assert "asks for a refund" in reasons


def test_chargeback_threat_is_urgent_even_on_first_contact():
    priority, reasons = prioritize(facts(categories=["fee_dispute"], text="Fix this or I file a chargeback."))
    assert priority == 1 and "threatens a chargeback" in reasons


@pytest.mark.parametrize("text", [
    "My brother's friend Sue recommended your shop, can I change my order?",
    "Shareholders sue PayPal over fees - saw it in the news. Anyway, where is my parcel?",
    "I'm a former clerk for Supreme Court Justice Hale; I'd like a copy of my invoice.",
    "What stores can I sue my card?",
    "Remortgage with us! Our attorney-backed advice saves you thousands",
])
def test_words_that_only_look_like_threats_are_not_urgent(text):
    """The misfires of issue 9: each was P1 "mentions a chargeback/legal threat"."""
    assert prioritize(facts(text=text)) == (3, ["needs a reply"])


def test_plain_refund_request_is_today_not_now():
    assert prioritize(facts(categories=["refund"]))[0] == 2


def test_a_question_alone_is_normal_and_frustration_with_a_repeat_is_urgent():
    """How long they waited is not a fact here: triage.sla ages priorities (tests/test_sla.py)."""
    assert prioritize(facts()) == (3, ["needs a reply"])
    assert prioritize(facts(frustrated=True, frustration=0.7))[0] == 2
    assert prioritize(facts(frustrated=True, frustration=0.7, repeat_count=2))[0] == 1


def test_waiting_alone_does_not_make_a_second_message_urgent():
    """History already raised the frustration score; it must not count twice."""
    assert prioritize(facts(frustrated=True, frustration=0.6, repeat_count=2, angry_words=False))[0] == 2
    assert prioritize(facts(frustrated=True, frustration=0.6, repeat_count=2, angry_words=True))[0] == 1


def test_mail_that_asks_nothing_needs_no_action_whatever_it_says():
    assert prioritize(facts(asks_nothing="a thank-you or acknowledgement", categories=["refund"],
                            text="Fix it or I file a chargeback")) == (4, ["a thank-you or acknowledgement"])


@pytest.mark.parametrize("text, thanks", [
    ("Got it, thanks so much!", True),
    ("thanks, got it! money is on my account today", True),
    ("Merci beaucoup, bien reçu", True),
    ("Thanks! Could you also send the invoice?", False),
    ("Thanks, but I still have not been refunded", False),
    ("thanks for nothing. cancel my account", False),
    ("Thanks for the quick reply. " * 20, False),  # a note that long says more than thanks
])
def test_what_counts_as_a_thank_you(text, thanks):
    assert acknowledgement(text) is thanks


def test_threat_detector():
    assert mentions_threat("I have contacted my lawyer about this.")
    assert mentions_threat("the court of appeal is a nice restaurant name") is None
    assert mentions_threat("please help") is None


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (22, "22nd")])
def test_ordinal(n, text):
    assert ordinal(n) == text


def test_history_raises_frustration_but_automated_mail_is_never_frustrated():
    calm = frustration_score(0.2, repeat_count=1, waited_hours=None, automated=False)
    chased = frustration_score(0.2, repeat_count=3, waited_hours=8 * 24, automated=False)
    assert calm == 0.2 and chased >= 0.6
    assert frustration_score(0.99, repeat_count=5, waited_hours=500, automated=True) == 0.0
    assert history_pressure(10, 1000) == 0.6


def test_labels_are_prefixed_and_small():
    assert labels_for(["refund", "follow_up"], True, 1, "triage/") == [
        "triage/refund", "triage/follow_up", "triage/priority-1", "triage/frustrated"]
    assert labels_for([], False, 4, "t-") == ["t-priority-4"]
    assert labels_for(["refund"], False, 2, "t-", overdue=True) == ["t-refund", "t-priority-2", "t-overdue"]


def test_an_answered_message_carries_its_categories_only():
    assert labels_for(["refund"], True, 1, "triage/", overdue=True, answered=True) == ["triage/refund"]


def test_threats_are_whole_words_not_parts_of_others():
    assert mentions_threat("I will take you to Court.")
    assert mentions_threat("Shipped to 4 Harcourt Street; reissue the invoice please") is None
