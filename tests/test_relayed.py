"""A customer's complaint relayed by a portal or regulator from a no-reply mailbox is a
customer's words (triage/relayed.py, wired in triage/parsing.py); notifications that
really are automated stay automated."""

from __future__ import annotations

import pytest

from triage.message import RawMail
from triage.parsing import parse_message
from triage.relayed import relayed_complaint


def parse(sender: str, subject: str, body: str, extra: str = ""):
    text = (f"From: {sender}\nTo: complaints@shop.example\nSubject: {subject}\n"
            f"Message-ID: <r-1@portal.example>\n{extra}Content-Type: text/plain; charset=utf-8\n\n{body}")
    return parse_message(RawMail(text.encode("utf-8"), "INBOX", "r"))


ACCOUNT = """I bought a washing machine from your store in March for {$499.00}. It stopped
spinning after two weeks. I called three times and each time I was promised an engineer
who never came. My money is tied up in a machine I cannot use.
"""

RELAYS = [
    ("Resolve Portal <no-reply@resolve-portal.example>", "Complaint 2207-XXXX sent to your business",
     f"The following complaint was submitted by a consumer via Resolve.\n\nNarrative:\n{ACCOUNT}\n"
     "Desired resolution: a refund of the full price."),
    ("Trading Standards <notifications@fairtrade-board.example>", "New case opened",
     f"A new complaint against your company has been received.\n\n{ACCOUNT}"),
    ("Ombudsman <donotreply@ombudsman.example>", "Case reference OB-55120",
     f"Case number: OB-55120\nPlease respond by 14 March.\n\nThe consumer states:\n{ACCOUNT}"),
    ("Consumer Desk <no-reply@consumerdesk.example>", "Case OB-99812 requires your response",
     f"Case ID: OB-99812\nPlease respond within 15 days.\n\n{ACCOUNT}"),
]


@pytest.mark.parametrize(("sender", "subject", "body"), RELAYS)
def test_a_relayed_complaint_is_a_customers_words(sender, subject, body):
    message = parse(sender, subject, body)
    assert not message.automated, message.automated_reason


def test_a_relayed_complaint_written_for_a_relative_counts_we_and_our():
    body = ("A consumer complaint has been filed.\n\nMy mother was charged twice for her plan. We called and we "
            "were told to wait. Our bank says the charge is yours.\n\nDesired resolution: refund both charges.")
    assert relayed_complaint(body)
    assert not parse("Portal <no-reply@portal.example>", "Complaint XXXX", body).automated


NOTIFICATIONS = [  # (sender, subject, body): automated, whatever the case numbers and deadlines
    ("Payvia <notifications@payvia.example>", "Action required: a payment was disputed",
     "A cardholder has disputed a payment.\nDispute ID: DP-2201\nRespond by: 2 October\n\n"
     "Submit evidence in your dashboard. We will withdraw the amount from your balance."),
    ("Parcels <no-reply@parcels.example>", "Your parcel has been delivered",
     "Your parcel 99812 was delivered at 10:14. We hope you enjoy your order."),
    ("Helpdesk <no-reply@helpdesk.example>", "Your complaint has been received",
     "Thank you. Your complaint has been received and we will reply within 5 days. Case number: 4410."),
    ("Accounts <no-reply@bank.example>", "Reset your password",
     "We received a request to reset your password. If it was not you, contact us."),
]


@pytest.mark.parametrize(("sender", "subject", "body"), NOTIFICATIONS)
def test_notifications_stay_automated(sender, subject, body):
    assert parse(sender, subject, body).automated


def test_a_case_number_and_deadline_without_a_persons_account_is_no_relay():
    assert not relayed_complaint("Case number: 4471\nPlease respond by Friday.\nWe have opened a case for you.")


def test_header_evidence_is_never_overruled_by_a_relayed_account():
    body = f"The following complaint was submitted by a consumer.\n\n{ACCOUNT}"
    assert parse("Portal <no-reply@portal.example>", "Digest", body, "List-Unsubscribe: <https://x.example/u>\n"
                 ).automated_reason == "bulk mail"
    assert parse("Mail Delivery System <mailer-daemon@mx.example>", "Returned", body).automated_reason == "bounce"
