"""A colleague forwards a customer's mail into the support inbox.

"FW: complaint" from tom@shop.example (the shop's domain listed as the team's) to
support@, the customer's own mail below the header block: taken as the team's mail, it
was recorded as a reply to nobody, and the customers' complaints never waited. It is the
customer's message now — but only when it really is a forward of theirs handed to the
team: a forward marker, a forwarded From outside the team, the colleague's own words a
short note, every recipient the team's, and the sender not the listed support address.
The row's ``from`` stays the colleague (the contract's From), as with form relays.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.helpers import eml, raw
from tests.test_engine import CALM, KeywordModel
from triage.analysis import PARALLEL_FROM
from triage.engine import Engine, Settings
from triage.forwards import MAX_NOTE_CHARS, forwarded_mail, is_forward_subject
from triage.history import History
from triage.sla import Policy
from triage.waiting import waiting_conversations

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
TOM = "Tom Baker <tom@shop.example>"
NOTE = "Can someone pick this up please? I told them we'd look into a refund.\n\nTom"
"""The colleague's note: its "refund" is not what the customers ask."""
CUSTOMERS = [("Ana Ruiz", "ana@example.org", "I was charged twice for order 5512."),
             ("Bo Chen", "bo@example.net", "Please cancel my subscription, it renewed without asking."),
             ("Cy Diaz", "cy@example.com", "My parcel never arrived. Where is it?")]


def outlook_forward(n: int, name: str, address: str, text: str, *, sender: str = TOM,
                    to: str = "support@shop.example", author: str | None = None, note: str = NOTE,
                    subject: str = "FW: complaint", extra: str = "", block_to: str = "Tom Baker <tom@shop.example>"):
    """Outlook's forward: the note, its line of underscores, the header block, the mail."""
    body = (f"{note}\n\n________________________________\n"
            f"From: {author or f'{name} <{address}>'}\nSent: Monday, 30 November 2026 09:00\n"
            f"To: {block_to}\nSubject: complaint\n\n{text}\n\nThanks,\n{name}\n")
    return raw(eml(sender=sender, to=to, subject=subject, body=body, extra=extra,
                   date=f"Mon, 30 Nov 2026 1{n}:00:00 +0000", message_id=f"<fw{n}@shop.example>"), key=f"fw{n}")


def customer_mail(n: int, text: str, date: str, *, subject: str = "complaint", address: str = "ana@example.org"):
    return raw(eml(sender=f"Ana Ruiz <{address}>", to="support@shop.example", subject=subject, body=text,
                   date=date, message_id=f"<c{n}@example.org>"), key=f"c{n}")


def answer(n: int, date: str, *, to: str = "ana@example.org", subject: str = "Re: complaint"):
    return raw(eml(sender="Support <support@shop.example>", to=to, subject=subject, body="Refunded, sorry!",
                   date=date, message_id=f"<t{n}@shop.example>"), key=f"t{n}")


@pytest.fixture
def engine(tmp_path):
    history = History(tmp_path / "state.db")
    yield Engine(KeywordModel(), CALM, history,
                 Settings(support_addresses=frozenset({"@shop.example", "support@shop.example"})), now=NOW)
    history.close()


def test_complaints_a_colleague_forwards_to_the_team_wait_as_their_customers(engine):
    decisions = engine.decide([outlook_forward(n, *c) for n, c in enumerate(CUSTOMERS)])
    assert len(decisions) == 3 and engine.stats.team_replies == 0
    assert len({d.thread_id for d in decisions}) == 3
    assert [d.repeat_count for d in decisions] == [1, 1, 1]
    assert all(d.waiting_hours is not None for d in decisions)
    # the customer's words are classified, not the colleague's note ("… a refund")
    assert [d.categories for d in decisions] == [["fee_dispute"], ["cancellation"], ["other"]]
    # where the contract names the customer: the report's customer and customer_name …
    report = {(c.customer, c.customer_name) for c in waiting_conversations(engine.history, NOW, Policy())}
    assert report == {(address, name) for name, address, _ in CUSTOMERS}
    # … while the row's from is the sender, as for a form relay
    assert [(d.to_json()["from"], d.to_json()["from_name"]) for d in decisions] == [("tom@shop.example", "Tom Baker")] * 3


def test_the_forward_joins_the_customers_conversation_and_counts_as_their_writing_again(engine):
    """Ana wrote to support (recorded), then to Tom, who forwards it: one conversation
    (by the forwarded From and the forwarded mail's subject), her second message without a
    reply; the team's answer to her stops the clock of both."""
    [first] = engine.decide([customer_mail(1, "Where is my refund?", "Sun, 29 Nov 2026 09:00:00 +0000")])
    [forward] = engine.decide([outlook_forward(1, *CUSTOMERS[0], subject="FW: Ana's order - see below")])
    assert forward.thread_id == first.thread_id
    assert forward.repeat_count == 2 and forward.waiting_hours == pytest.approx(99.0)
    [again] = engine.decide([answer(1, "Tue, 01 Dec 2026 09:00:00 +0000"),
                             customer_mail(2, "Thanks, got it - but also cancel my plan", "Wed, 02 Dec 2026 09:00:00 +0000",
                                           subject="Re: complaint")])
    assert again.thread_id == first.thread_id and again.repeat_count == 1
    assert [w.waiting_since.isoformat() for w in engine.history.waiting()] == ["2026-12-02T09:00:00+00:00"]


def test_a_forward_of_mail_the_support_inbox_got_too_is_not_the_customer_writing_again(engine):
    """Ana wrote to support@ with Tom in Cc; Tom forwards it to support@ ("this one is
    urgent"): the inbox has her mail already, and it counts once. Bo wrote to Tom only."""
    engine.decide([customer_mail(1, "I was charged twice for order 5512.", "Mon, 30 Nov 2026 09:00:00 +0000")])
    decisions = engine.decide([
        outlook_forward(1, *CUSTOMERS[0], block_to="support@shop.example; Tom Baker <tom@shop.example>"),
        outlook_forward(2, *CUSTOMERS[1])])
    assert [d.message.key for d in decisions] == ["fw2"]
    report = {c.customer: c.repeat_count for c in waiting_conversations(engine.history, NOW, Policy())}
    assert report == {"ana@example.org": 1, "bo@example.net": 1}


def test_a_forward_replying_to_the_customers_mail_in_the_inbox_is_not_their_writing_again(engine):
    """Gmail keeps a forward in its thread (In-Reply-To the forwarded mail): when that
    mail is the customer's, recorded from the inbox, the forward passes on what the team
    has already, and it counts once. A forward of Bo's mail, which the inbox never got,
    is his message."""
    engine.decide([customer_mail(1, "I was charged twice for order 5512.", "Mon, 30 Nov 2026 09:00:00 +0000")])
    decisions = engine.decide([outlook_forward(1, *CUSTOMERS[0], extra="In-Reply-To: <c1@example.org>"),
                               outlook_forward(2, *CUSTOMERS[1], extra="In-Reply-To: <bo-to-tom@example.net>")])
    assert [d.message.key for d in decisions] == ["fw2"]
    report = {c.customer: c.repeat_count for c in waiting_conversations(engine.history, NOW, Policy())}
    assert report == {"ana@example.org": 1, "bo@example.net": 1}


def test_a_forward_analysed_in_the_worker_processes_is_handed_over_too(tmp_path):
    """A batch big enough for the workers: what the forward carries comes back with its
    analysis (the body is dropped on the way), and is read in the customer's words."""
    others = [raw(eml(sender=f"C{i} <c{i}@example.org>", to="support@shop.example", subject=f"Order {i}",
                      body="Hello", date="Mon, 30 Nov 2026 08:00:00 +0000", message_id=f"<o{i}@example.org>"),
                  key=f"o{i}") for i in range(PARALLEL_FROM)]
    with History(tmp_path / "state.db") as history, Engine(
            KeywordModel(), CALM, history, Settings(support_addresses=frozenset({"@shop.example"})), now=NOW,
            workers=2) as engine:
        decisions = engine.decide([*others, outlook_forward(1, *CUSTOMERS[1])])
        assert engine.analyzer._pool is not None  # (the workers did analyse it)
        [forward] = [d for d in decisions if d.message.key == "fw1"]
        assert forward.categories == ["cancellation"] and forward.waiting_hours is not None


GMAIL = """fyi

---------- Forwarded message ---------
From: *Bo Chen* <bo@example.net>
Date: Mon, 30 Nov 2026 at 09:00
Subject: cancel
To: <tom@shop.example>

Please cancel my plan.

On Sun, 29 Nov 2026 Tom <tom@shop.example> wrote:
> Hi Bo
"""
THUNDERBIRD = """-------- Forwarded Message --------
Subject: \tparcel
Date: \tMon, 30 Nov 2026 09:00:00 +0000
From: \tCy Diaz <cy@example.com>
To: \ttom@shop.example

Where is my parcel? It was charged but never came.
"""


@pytest.mark.parametrize("body", [GMAIL, THUNDERBIRD], ids=["gmail", "thunderbird"])
def test_a_forwarded_message_block_at_the_top_is_a_forward_whatever_the_subject(engine, body):
    """The colleague edited the subject ("Customer issue"): the forwarded-message block
    says what the mail is."""
    mail = raw(eml(sender=TOM, to="support@shop.example", subject="Customer issue", body=body,
                   date="Mon, 30 Nov 2026 12:00:00 +0000", message_id="<fwd@shop.example>"), key="fwd")
    [decision] = engine.decide([mail])
    assert decision.repeat_count == 1 and decision.waiting_hours is not None
    assert {(c.customer, c.subject) for c in waiting_conversations(engine.history, NOW, Policy())} == {
        ("bo@example.net" if body is GMAIL else "cy@example.com", "Customer issue")}


LONG_NOTE = ("Hi all, I spoke to her on the phone this morning and promised we'd refund the duplicate charge and "
             "send a replacement. Finance has already approved it, the ticket is 5512, and the courier says the "
             "parcel was returned to the depot on Friday. Can whoever is on shift today please check the refund "
             "went through, chase the courier for the parcel and then write to her with the tracking number? "
             "I'm out until Monday.\n\nTom")


@pytest.mark.parametrize("kwargs", [
    {"to": "orders@supplier.example"},  # to a vendor: the team's mail
    {"to": "ana@example.org"},  # to the customer: the team writing to her
    {"to": "support@shop.example, orders@supplier.example"},  # the vendor among the recipients
    {"author": "Billing <billing@shop.example>"},  # a team mate's mail
    {"author": "UPS <no-reply@ups.example>"},  # a machine's notice: nobody to answer
    {"author": "Carrier <shipment-tracking@carrier.example>"},
    {"sender": "Support <support@shop.example>"},  # the listed support address: always the team's
    {"note": LONG_NOTE},  # the colleague writing, not passing on
    {"subject": "RE: complaint"},  # Outlook's reply to the team, the customer's mail quoted below
    {"author": "Tom Baker"},  # the first block names nobody's address (Exchange's own users)
], ids=["to a vendor", "to the customer", "cc a vendor", "a team mate's mail", "no-reply", "tracking", "from support@",
        "long note",
        "a reply", "no address"])
def test_a_forward_that_hands_the_team_no_customers_words_stays_the_teams(engine, kwargs):
    """The same batch's forward to the team of a customer's mail is theirs (control)."""
    decisions = engine.decide([outlook_forward(1, *CUSTOMERS[0], **kwargs), outlook_forward(2, *CUSTOMERS[1])])
    assert [d.message.key for d in decisions] == ["fw2"] and engine.stats.team_replies == 1


def test_a_reply_quoting_a_forward_is_no_forward(engine):
    """Jo answers Tom's forward to the team ("On it"): the customer's block is quoted."""
    body = ("On it.\n\nOn Mon, 30 Nov 2026 at 10:00, Tom Baker <tom@shop.example> wrote:\n> fyi\n>\n"
            "> ---------- Forwarded message ---------\n> From: Bo Chen <bo@example.net>\n"
            "> Date: Mon, 30 Nov 2026 at 09:00\n> Subject: cancel\n>\n> Please cancel my plan.\n")
    reply = raw(eml(sender="Jo <jo@shop.example>", to="support@shop.example", subject="Fwd: cancel", body=body,
                    date="Mon, 30 Nov 2026 11:00:00 +0000", message_id="<jo@shop.example>"), key="jo")
    assert engine.decide([reply, outlook_forward(2, *CUSTOMERS[1])])[0].message.key == "fw2"
    assert engine.stats.team_replies == 1


APPLE = """Begin forwarded message:

From: Cy Diaz <cy@example.com>
Subject: parcel
Date: 30 November 2026 at 09:00:00 GMT
To: tom@shop.example

Where is my parcel?
--
Cy
"""
OUTLOOK = """Please handle.

From: Ana Ruiz [mailto:ana@example.org]
Sent: 30 November 2026 09:00
To: Tom
Subject: refund

Refund please.
"""


@pytest.mark.parametrize(("subject", "body", "expected"), [
    ("Fwd: cancel", GMAIL, ("bo@example.net", "Bo Chen", "cancel", "Please cancel my plan.")),
    ("Customer issue", GMAIL, ("bo@example.net", "Bo Chen", "cancel", "Please cancel my plan.")),
    ("Customer issue", APPLE, ("cy@example.com", "Cy Diaz", "parcel", "Where is my parcel?")),
    ("Customer issue", THUNDERBIRD, ("cy@example.com", "Cy Diaz", "parcel",
                                     "Where is my parcel? It was charged but never came.")),
    ("FW: refund", OUTLOOK, ("ana@example.org", "Ana Ruiz", "refund", "Refund please.")),
    ("Customer issue", OUTLOOK, None),  # Outlook's block without a marker: a reply's quote as well
    ("FW: trip", "From: London\nTo: Paris\n\nMy trip.", None),  # no header block of mail
    ("FW: note", "Just a note, nothing forwarded.", None),
    ("FW: x", "x" * (MAX_NOTE_CHARS + 1) + "\n\n" + OUTLOOK, None),  # a long text of the colleague's
    ("FW: x", "> quoted\n\n" + OUTLOOK, None),  # a reply's quote above the block
])
def test_whose_mail_a_forward_carries(subject, body, expected):
    found = forwarded_mail(subject, body)
    assert (found and (found.address, found.name, found.subject, found.text)) == expected


def test_who_the_forwarded_mail_was_sent_to():
    assert forwarded_mail("Fwd: x", GMAIL).addressed == ("tom@shop.example",)
    assert forwarded_mail("FW: x", OUTLOOK).addressed == ()  # "To: Tom": a name only


@pytest.mark.parametrize(("subject", "expected"), [
    ("FW: complaint", True), ("Fwd: refund", True), ("WG: Rückerstattung", True), ("TR: remboursement", True),
    ("RV: reembolso", True), ("Doorst: klacht", True), ("[Ticket 12] Fwd: x", True), ("Re: complaint", False),
    ("RE: FW: complaint", False), ("Forward planning", False), ("Invoice: 12", False), ("I: need help", False)])
def test_forward_subjects(subject, expected):
    assert is_forward_subject(subject) is expected


def attached_forward_mail(n: int, name: str, address: str, text: str, *, note: str = NOTE,
                          subject: str = "FW: complaint", sender: str = TOM, to: str = "support@shop.example",
                          inner_to: str = "Tom Baker <tom@shop.example>", inner_id: str | None = None):
    """Outlook's "Forward as Attachment": the colleague's note, the customer's mail
    attached whole as message/rfc822 (a note of "" leaves the message no text of its own)."""
    inner = (f"From: {name} <{address}>\nTo: {inner_to}\nSubject: complaint\n"
             f"Date: Mon, 30 Nov 2026 09:00:00 +0000\nMessage-ID: {inner_id or f'<in{n}@example.org>'}\n"
             f"Content-Type: text/plain; charset=utf-8\n\n{text}\n\nThanks,\n{name}\n")
    note_part = f"--b{n}\nContent-Type: text/plain; charset=utf-8\n\n{note}\n\n" if note else ""
    body = (f"{note_part}--b{n}\nContent-Type: message/rfc822\nContent-Disposition: attachment; "
            f'filename="complaint.eml"\n\n{inner}\n--b{n}--\n')
    data = (f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: Mon, 30 Nov 2026 1{n}:00:00 +0000\n"
            f"Message-ID: <afw{n}@shop.example>\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/mixed; boundary="b{n}"\n\n{body}').encode()
    return raw(data, key=f"afw{n}")


def test_complaints_a_colleague_forwards_as_attachments_wait_as_their_customers(engine):
    """Outlook's "Forward as Attachment" hands the team a customer's mail as surely as a
    forward inline: it was a team reply to nobody, and the complaints never waited."""
    decisions = engine.decide([attached_forward_mail(n, *c) for n, c in enumerate(CUSTOMERS)])
    assert len(decisions) == 3 and engine.stats.team_replies == 0
    assert [d.repeat_count for d in decisions] == [1, 1, 1]
    assert [d.categories for d in decisions] == [["fee_dispute"], ["cancellation"], ["other"]]
    report = {(c.customer, c.customer_name) for c in waiting_conversations(engine.history, NOW, Policy())}
    assert report == {(address, name) for name, address, _ in CUSTOMERS}


def test_an_attached_forward_without_a_note_is_handed_over_too(engine):
    [decision] = engine.decide([attached_forward_mail(1, *CUSTOMERS[1], note="")])
    assert decision.categories == ["cancellation"] and decision.waiting_hours is not None
    assert {c.customer for c in waiting_conversations(engine.history, NOW, Policy())} == {"bo@example.net"}


def test_an_attached_forward_of_mail_the_inbox_has_counts_once(engine):
    """The attached mail's own Message-ID is the inbox's mail of hers: passed on again,
    not her writing twice. Bo's attached mail the inbox never got is his message."""
    engine.decide([customer_mail(1, "I was charged twice for order 5512.", "Mon, 30 Nov 2026 09:00:00 +0000")])
    decisions = engine.decide([attached_forward_mail(1, *CUSTOMERS[0], inner_id="<c1@example.org>"),
                               attached_forward_mail(2, *CUSTOMERS[1])])
    assert [d.message.key for d in decisions] == ["afw2"]
    report = {c.customer: c.repeat_count for c in waiting_conversations(engine.history, NOW, Policy())}
    assert report == {"ana@example.org": 1, "bo@example.net": 1}


@pytest.mark.parametrize("kwargs", [
    {"subject": "evidence for the Ana case"},  # an attachment is no forward marker
    {"note": LONG_NOTE},  # the colleague writing; the attachment a reference
    {"to": "orders@supplier.example"},  # passed to a vendor
    {"inner_to": "support@shop.example"},  # the inbox got that mail itself
    {"sender": "Support <support@shop.example>"},  # the listed support address
], ids=["no marker", "long note", "to a vendor", "sent to support@ too", "from support@"])
def test_an_attached_forward_that_hands_over_no_customers_mail_stays_the_teams(engine, kwargs):
    decisions = engine.decide([attached_forward_mail(1, *CUSTOMERS[0], **kwargs),
                               attached_forward_mail(2, *CUSTOMERS[1])])
    assert [d.message.key for d in decisions] == ["afw2"] and engine.stats.team_replies == 1


def test_a_bounce_returning_mail_is_no_forward():
    """A delivery report attaches the returned mail too: machine mail, nothing forwarded."""
    from triage.parsing import parse_message
    bounce = attached_forward_mail(1, *CUSTOMERS[0], subject="Fwd: Undelivered Mail Returned to Sender",
                                   sender="MAILER-DAEMON <mailer-daemon@shop.example>")
    assert parse_message(bounce).forwarded is None
    mail = parse_message(attached_forward_mail(2, *CUSTOMERS[0]))
    assert mail.forwarded.address == "ana@example.org" and mail.forwarded.message_id == "<in2@example.org>"
    assert mail.forwarded.text.startswith("I was charged twice")


def test_a_forward_whose_block_names_recipients_without_addresses_of_waiting_mail_counts_once(engine):
    """Ana wrote to support@ with Tom in Cc; Tom forwards it from Outlook on Exchange,
    whose block names the shop's own people without addresses ("To: Support; Tom
    Baker"): nothing in it says the inbox got her mail. Her unanswered mail under that
    subject does: it counted twice, a "2nd message without a reply"."""
    engine.decide([customer_mail(1, "I was charged twice for order 5512.", "Mon, 30 Nov 2026 09:00:00 +0000")])
    decisions = engine.decide([outlook_forward(1, *CUSTOMERS[0], block_to="Support; Tom Baker"),
                               outlook_forward(2, *CUSTOMERS[1], block_to="Support; Tom Baker")])
    assert [d.message.key for d in decisions] == ["fw2"]
    report = {c.customer: c.repeat_count for c in waiting_conversations(engine.history, NOW, Policy())}
    assert report == {"ana@example.org": 1, "bo@example.net": 1}


@pytest.mark.parametrize("answered", [True, False], ids=["her mail answered", "another subject"])
def test_a_names_only_forward_is_the_customers_when_nothing_of_hers_waits_under_its_subject(engine, answered):
    if answered:
        engine.decide([customer_mail(1, "I was charged twice for order 5512.", "Mon, 30 Nov 2026 09:00:00 +0000"),
                       answer(1, "Mon, 30 Nov 2026 10:00:00 +0000")])
    else:
        engine.decide([customer_mail(1, "Where is my parcel?", "Mon, 30 Nov 2026 09:00:00 +0000", subject="parcel")])
    [decision] = engine.decide([outlook_forward(1, *CUSTOMERS[0], block_to="Support; Tom Baker")])
    assert decision.message.key == "fw1" and decision.waiting_hours is not None
