"""A bounce of the team's reply: the customer never got the answer.

The team answers, the customer's server refuses it ("550 5.1.1 User unknown"), and a
delivery failure report comes back to the support inbox. The reply was counted as the
answer all the same: the conversation left the queue, and nobody waited for a customer
who had heard nothing. A report of a failed delivery of a team message now takes that
message's answer back; a delay warning does not.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.helpers import eml, raw
from tests.test_engine import CALM, KeywordModel
from triage.bounces import failed_delivery_of
from triage.engine import Engine, Settings
from triage.headblock import header_end
from triage.history import History

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def report(action: str = "failed", returned: str = "<t1@shop.example>", *, key: str = "dsn") -> bytes:
    return f"""From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)
To: support@shop.example
Subject: Undelivered Mail Returned to Sender
Date: Sat, 28 Nov 2026 12:01:00 +0000
Message-ID: <{key}@mx.shop.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<ana@example.org>: host mx.example.org said: 550 5.1.1 User unknown

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example

Final-Recipient: rfc822; ana@example.org
Action: {action}
Status: 5.1.1

--B
Content-Type: text/rfc822-headers

From: Support <support@shop.example>
To: ana@example.org
Subject: Re: Refund
Message-ID: {returned}

--B--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def engine(tmp_path):
    history = History(tmp_path / "state.db")
    yield Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({"support@shop.example"})),
                 now=NOW)
    history.close()


def conversation(engine):
    engine.decide([
        raw(eml(sender="Ana <ana@example.org>", subject="Refund", body="I want a refund for order 5512.",
                date="Sat, 28 Nov 2026 09:00:00 +0000", message_id="<a1@example.org>"), key="a1"),
        raw(eml(sender="Support <support@shop.example>", to="ana@example.org", subject="Re: Refund",
                body="Refunded!", date="Sat, 28 Nov 2026 12:00:00 +0000", message_id="<t1@shop.example>",
                in_reply_to="<a1@example.org>"), key="t1")])
    engine.commit()
    assert engine.history.waiting() == []


def test_a_bounced_reply_leaves_the_customer_waiting(engine):
    conversation(engine)
    [bounce] = engine.decide([raw(report(), key="dsn")])
    assert bounce.message.automated and bounce.priority == 4  # the report itself asks nothing
    [waiting] = engine.history.waiting()
    assert (waiting.customer, waiting.last_message_id) == ("ana@example.org", "<a1@example.org>")
    assert engine.history.unanswered_from_customer("ana@example.org", NOW)[0] == 1


@pytest.mark.parametrize("case", ["a delay warning", "another message bounced"])
def test_a_reply_that_did_not_bounce_still_answers(engine, case):
    conversation(engine)
    mail = report("delayed") if case == "a delay warning" else report(returned="<newsletter@shop.example>")
    engine.decide([raw(mail, key="dsn")])
    assert engine.history.waiting() == []


@pytest.mark.parametrize(("mail", "expected"), [
    (report(), "<t1@shop.example>"),
    (report("delayed"), None),
    (b"From: a@b.example\r\nX-Failed-Recipients: ana@example.org\r\nSubject: Mail delivery failed\r\n\r\n"
     b"------ This is a copy of the message, including all the headers. ------\r\n"
     b"Message-ID: <t9@shop.example>\r\nFrom: support@shop.example\r\n", "<t9@shop.example>"),  # Exim
    (b"From: ana@example.org\r\nMessage-ID: <own@example.org>\r\nSubject: hi\r\n\r\nAction: failed?\r\n", None),
])
def test_which_message_a_report_says_was_not_delivered(mail, expected):
    assert failed_delivery_of(mail, header_end(mail)) == expected


_RETURNED = b"\r\n\r\nMessage-ID: <t7@shop.example>\r\n"


@pytest.mark.parametrize(("body", "failed"), [
    (b"Action: failed" + _RETURNED, True),  # the body's first line
    (b"Reporting-MTA: dns; mx.example\r\nACTION :\tFailed" + _RETURNED, True),
    (b"Status: 5.1.1\nAction: failed" + _RETURNED, True),  # LF line ends
    (b"Status: 5.1.1\rAction: failed" + _RETURNED, False),  # a lone CR ends no line
    (b"Status: 5.1.1 Action: failed" + _RETURNED, False),  # not at a line's start
    (b"Action: failedover" + _RETURNED, False),
    (b"Action: delayed" + _RETURNED, False),
])
def test_the_failed_action_counts_at_a_line_start_only(body, failed):
    mail = b"From: mailer-daemon@mx.example\r\nSubject: report\r\n\r\n" + body
    assert failed_delivery_of(mail, header_end(mail)) == ("<t7@shop.example>" if failed else None)


@pytest.mark.parametrize(("field", "failed"), [
    (b"X-Failed-Recipients: ana@example.org\r\n", True),
    (b"x-ms-exchange-message-is-ndr :\r\n", True),
    (b"X-Note: X-Failed-Recipients: ana@example.org\r\n", False),
])
def test_a_failure_header_counts_at_a_line_start_only(field, failed):
    mail = b"From: postmaster@mx.example\r\n" + field + b"Subject: report\r\n" + _RETURNED
    assert failed_delivery_of(mail, header_end(mail)) == ("<t7@shop.example>" if failed else None)
