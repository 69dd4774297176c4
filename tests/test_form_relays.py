"""Web forms and shop apps relay many customers' words from one mailbox.

Taken at its From, every submission of a "Website Contact Form <noreply@shop>" was one
customer writing again: one conversation, "4th message without a reply", follow_up, P1
and frustration rising for four strangers — and with the shop's own domain listed as
the team's, a form on it was the team's own mail and never triaged. The customer is who
the Reply-To names (or the form's e-mail field); From still says who sent it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.helpers import eml, raw
from tests.test_engine import CALM, KeywordModel
from triage.engine import Engine, Settings
from triage.history import History
from triage.parsing import answer_address, parse_message

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
FORM = "Website Contact Form <noreply@shop.example>"
CUSTOMERS = [("Ana Ruiz", "ana@example.org", "I was charged twice for order 5512, please refund one of them."),
             ("Bo Chen", "bo@example.net", "Please cancel my subscription."),
             ("Cy Diaz", "cy@example.com", "I want a refund for the broken lamp."),
             ("Di Ek", "di@example.com", "How do I change my delivery address?")]


def submission(n: int, name: str, address: str, text: str, *, reply_to: bool = True, sender: str = FORM):
    extra = f"Reply-To: {name} <{address}>" if reply_to else ""
    return raw(eml(sender=sender, to="support@shop.example", subject="New contact form submission",
                   body=f"Name: {name}\nEmail: {address}\nMessage: {text}", date=f"Mon, 30 Nov 2026 1{n}:00:00 +0000",
                   message_id=f"<form{n}@shop.example>", extra=extra), key=f"f{n}")


@pytest.fixture(params=["support@shop.example", "@shop.example"])
def engine(tmp_path, request):
    history = History(tmp_path / "state.db")
    yield Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({request.param})), now=NOW)
    history.close()


@pytest.mark.parametrize("reply_to", [True, False], ids=["reply-to", "email field"])
def test_four_customers_writing_through_one_form_are_four_conversations(engine, reply_to):
    """Named by Reply-To or only in the form's fields, each customer has a conversation
    of their own, a first message each; with the shop's domain listed as the team's, the
    form on it is still the customer's mail."""
    decisions = engine.decide([submission(n, *c, reply_to=reply_to) for n, c in enumerate(CUSTOMERS)])
    assert len(decisions) == 4
    assert len({d.thread_id for d in decisions}) == 4
    assert [d.repeat_count for d in decisions] == [1, 1, 1, 1]
    assert all("follow_up" not in d.categories for d in decisions)
    customers = {row["customer"] for row in engine.history.db.execute("SELECT customer FROM threads")}
    assert customers == {address for _, address, _ in CUSTOMERS}
    assert [d.to_json()["from"] for d in decisions] == ["noreply@shop.example"] * 4  # the contract's From


def test_mail_from_a_listed_support_address_stays_the_teams_whatever_its_reply_to(tmp_path):
    """The contract: mail from a ``--support-address`` is the team's reply, never a row —
    even with a Reply-To naming the customer (a helpdesk that sets it so). Only an
    address matched by a listed ``@domain`` can be a form relaying a customer."""
    with History(tmp_path / "state.db") as history:
        engine = Engine(KeywordModel(), CALM, history,
                        Settings(support_addresses=frozenset({"noreply@shop.example"})), now=NOW)
        assert engine.decide([submission(1, *CUSTOMERS[0])]) == []
        assert engine.stats.team_replies == 1


def test_a_customer_writing_twice_through_the_form_is_one_customer_writing_again(engine):
    first = submission(1, "Ana Ruiz", "ana@example.org", "I want a refund for order 5512.")
    again = submission(2, "Ana Ruiz", "ana@example.org", "Still no refund for order 5512? Second time asking.")
    decisions = engine.decide([first, again])
    assert [d.repeat_count for d in decisions] == [1, 2]


@pytest.mark.parametrize(("reply_to", "sender", "body", "expected"), [
    ("Ana <ana@example.org>", "noreply@shop.example", "", ("Ana", "ana@example.org")),
    ("Ana <ana@example.org>", "ana.work@example.com", "", ("Ana", "ana@example.org")),  # who the answer goes to
    ("ana@example.org", "ana@example.org", "", ("", "")),  # the same address: nothing to say
    ("a@example.org, b@example.org", "noreply@shop.example", "Email: c@example.org", ("", "")),  # not one person
    ("", "noreply@shop.example", "Name: Bo\nE-mail: <Bo@Example.NET>\nMessage: hi", ("", "bo@example.net")),
    ("", "ana@example.org", "Email: other@example.org", ("", "")),  # a person's mail naming an address
    ("", "noreply@shop.example", "Your order shipped.", ("", "")),
])
def test_the_address_a_customer_is_answered_at(reply_to, sender, body, expected):
    assert answer_address(reply_to, sender, "", "Order", body) == expected


def test_a_form_named_by_its_display_name_is_read_for_its_email_field():
    message = parse_message(submission(1, "Di Ek", "di@example.com", "hello", reply_to=False,
                                       sender="Contact form <wordpress@shop.example>"))
    assert (message.sender, message.answer_to) == ("wordpress@shop.example", "di@example.com")
