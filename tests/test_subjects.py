import pytest

from triage.subjects import subject_key, without_prefixes


@pytest.mark.parametrize("subject, key", [
    ("RE: Fwd: [Ticket #12] Refund  please", "refund please"),
    ("AW: Kündigung", "kündigung"),
    ("Re[2]: order late", "order late"),
    ("", ""),
])
def test_subject_key_strips_prefixes_and_case(subject, key):
    assert subject_key(subject) == key


def test_the_classifier_reads_the_subject_without_reply_prefixes():
    """A "Re:" says the message is a reply, not that the customer chases anything."""
    from triage.message import Message
    from datetime import datetime, timezone

    message = Message("<a@b>", "a@b", "", (), "RE: Fwd: [Ticket 12] Refund please", datetime.now(timezone.utc),
                      None, (), "thanks", "thanks", False, None)
    assert message.classifier_text == "Refund please\nthanks"
    assert without_prefixes("Reply needed") == "Reply needed" and without_prefixes("AW: Kündigung") == "Kündigung"
