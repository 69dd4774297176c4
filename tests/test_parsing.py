from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from triage.errors import MessageParseError
from triage.message import RawMail
from triage.parsing import parse_message
from tests.helpers import fixture


def test_thank_you_keeps_only_newest_words():
    message = parse_message(fixture("thanks_quoting_refund.eml"))
    assert message.newest_text.startswith("Got it, thank you so much!")
    assert "refund" not in message.newest_text.lower()
    assert "Sent from my iPhone" not in message.newest_text
    assert "refund of $84.00" in message.body_text  # the whole body is still there
    assert message.in_reply_to == "<reply-123@larkspur.example>"
    assert message.references == ("<orig-555@mail.gmail.com>", "<reply-123@larkspur.example>")
    assert message.sender == "priya.raman@gmail.com" and message.sender_name == "Priya Raman"


def test_html_only_mail_becomes_text_without_script_or_quote():
    message = parse_message(fixture("html_only.eml"))
    assert "Please cancel my subscription & stop the renewal." in message.newest_text
    assert "alert" not in message.body_text and "color:red" not in message.body_text
    assert "renews on 1 April" not in message.newest_text
    assert message.date == datetime(2026, 3, 11, 17, 2, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("name, expected", [
    ("cp1252_qp.eml", "je voudrais être remboursé des 49,90 € prélevés deux fois – c’est inadmissible."),
    ("latin1_base64.eml", "hiermit kündige ich meinen Vertrag zum nächstmöglichen Zeitpunkt."),
])
def test_legacy_charsets_and_transfer_encodings_decode(name, expected):
    message = parse_message(fixture(name))
    assert expected in message.body_text
    assert message.sender_name in {"Hélène Dupré", "Jürgen Weiß"}


@pytest.mark.parametrize("name, reason", [
    ("out_of_office.eml", "auto-reply"),
    ("bounce.eml", "bounce"),
])
def test_automated_mail_is_recognised(name, reason):
    message = parse_message(fixture(name))
    assert message.automated and message.automated_reason == reason


def test_person_is_not_automated():
    assert not parse_message(fixture("html_only.eml")).automated


@pytest.mark.parametrize("name", ["broken_binary.eml", "empty.eml"])
def test_unparseable_input_raises_a_named_error(name):
    with pytest.raises(MessageParseError, match=name):
        parse_message(fixture(name))


def test_missing_date_and_id_fall_back_to_internaldate_and_a_stable_id():
    mail = fixture("no_date_no_id.eml")
    internal = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    mail = RawMail(mail.raw, mail.mailbox, mail.key, internaldate=internal)
    first, second = parse_message(mail), parse_message(mail)
    assert first.date == internal
    assert first.message_id == second.message_id and first.message_id.endswith("@triage.invalid>")


def test_absurd_date_header_yields_to_internaldate():
    data = b"From: a@b.example\nSubject: hi\nDate: Mon, 1 Jan 1979 00:00:00 +0000\nMessage-ID: <z@b>\n\nhello\n"
    internal = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert parse_message(RawMail(data, "t", "z", internaldate=internal)).date == internal


@pytest.mark.parametrize("year", ["0000", "0001", "0026", "00099"])
def test_a_date_header_of_year_0_is_absurd_not_the_year_2000(year):
    """The standard library reads a year under 100 as two digits, however it is
    written: "1 Jan 0000" became 1 January 2000, a date long before arrival and so
    believed (imported mail), and the message waited 26 years: overdue, escalated to
    P1, first in the queue. A year written in three digits or more is taken as written."""
    data = f"From: a@b.example\nSubject: hi\nDate: Mon, 1 Jan {year} 00:00:00 +0000\nMessage-ID: <y@b>\n\nhi\n"
    internal = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert parse_message(RawMail(data.encode(), "t", "y", internaldate=internal)).date == internal


@pytest.mark.parametrize(("ahead", "believed"), [(0, True), (14, True), (16, False), (7 * 60, False),
                                                 (23 * 60, False)])
def test_a_date_hours_after_arrival_yields_to_the_arrival(ahead, believed):
    """Mail cannot be written after it arrived: a sender whose clock or time zone is set
    wrong by hours dated it after the team's reply, and the answered conversation waited
    on (up to a day ahead was believed). A clock minutes fast is still believed."""
    arrival = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    date = arrival + timedelta(minutes=ahead)
    data = (f"From: a@b.example\nSubject: hi\nDate: {format_datetime(date)}\nMessage-ID: <f@b>\n\nhello\n").encode()
    assert parse_message(RawMail(data, "t", "f", internaldate=arrival)).date == (date if believed else arrival)


@pytest.mark.parametrize("internal", [datetime(1970, 1, 1, tzinfo=timezone.utc),
                                      datetime(2150, 6, 1, tzinfo=timezone.utc)], ids=["epoch", "2150"])
def test_an_absurd_internaldate_does_not_overrule_a_plausible_date_header(internal):
    """A migration that lost INTERNALDATE (0: 1970) made new mail dated today by its
    sender look 56 years old: overdue, first in the queue."""
    data = b"From: a@b.example\nSubject: hi\nDate: Sat, 5 Dec 2026 09:30:00 +0000\nMessage-ID: <i@b>\n\nhello\n"
    assert parse_message(RawMail(data, "t", "i", internaldate=internal)).date == datetime(
        2026, 12, 5, 9, 30, tzinfo=timezone.utc)


def test_a_huge_attachment_is_cut_before_parsing(monkeypatch):
    import base64

    import triage.parsing as parsing

    seen = []
    real = parsing._PARSER.parsebytes
    monkeypatch.setattr(parsing, "_PARSER", type("Spy", (), {
        "parsebytes": staticmethod(lambda data, end=None: seen.append(len(data)) or real(data, end))}))
    attachment = base64.encodebytes(b"\x89PNG" * 2_000_000)  # ~10.8 MB encoded
    data = (b"From: a@b.example\nSubject: invoice\nDate: Mon, 2 Mar 2026 10:00:00 +0000\nMessage-ID: <big@b>\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\n"
            b"please refund me, invoice attached\n--XX\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
            + attachment + b"\n--XX--\n")
    message = parse_message(RawMail(data, "t", "big"))
    assert seen == [parsing.MAX_PARSE_BYTES] and len(data) > 5 * parsing.MAX_PARSE_BYTES
    assert message.newest_text == "please refund me, invoice attached"


def test_header_lookups_answer_as_the_standard_library_does_as_the_headers_change():
    from email.parser import BytesParser
    from email.policy import compat32

    from triage.parsing import _PARSER

    raw = (b"Received: from a\r\nSubject: first\r\nsubject: second\r\nX-Tag: one\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n")
    ours, stdlib = _PARSER.parsebytes(raw), BytesParser(policy=compat32).parsebytes(raw)

    def answers(message):
        return [message.get(name) for name in ("SUBJECT", "subject", "x-tag", "Content-Type", "missing")] + [
            "X-TAG" in message, "missing" in message, message.get_content_type(), message.get_content_charset()]

    assert answers(ours) == answers(stdlib)
    assert ours.get("subject") == "first"  # the first of two fields wins
    for change in (lambda m: m.replace_header("X-Tag", "two"), lambda m: m.__setitem__("X-New", "added"),
                   lambda m: m.__delitem__("Subject"), lambda m: m.set_param("charset", "latin-1"),
                   lambda m: m.set_type("text/html")):  # every way a header list changes
        change(ours)
        change(stdlib)
        assert answers(ours) == answers(stdlib)
    assert ours.get("x-tag") == "two" and ours.get("x-new") == "added" and ours.get("subject") is None
    assert ours.get_content_type() == "text/html" and ours.get_content_charset() == "latin-1"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_a_field_name_with_white_space_before_its_colon_is_read(newline):
    """``Subject :`` (RFC 5322's obsolete syntax, still sent by some old mailers): the
    parser took that line, and every header after it, for the body, so the message was
    triaged without its subject, date and ids. Every field so written is read."""
    head = [b"From : Ann Example <ann@example.net>", b"To: help@example.com", b"Subject : refund please",
            b"Date\t: Mon, 23 Nov 2026 09:30:00 +0000", b"Message-ID : <m1@example.net>",
            b"In-Reply-To  : <r1@example.com>", b"References :", b" <o1@example.com> <r1@example.com>",
            b"Content-Type : text/plain; charset=utf-8"]
    raw = newline.join(head) + newline * 2 + "Where is my refund? Danke schön".encode() + newline
    message = parse_message(RawMail(raw=raw, mailbox="inbox", key="1"))
    assert (message.sender, message.sender_name, message.subject) == ("ann@example.net", "Ann Example",
                                                                      "refund please")
    assert message.date == datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    assert (message.message_id, message.in_reply_to) == ("<m1@example.net>", "<r1@example.com>")
    assert message.references == ("<o1@example.com>", "<r1@example.com>")
    assert message.body_text.strip() == "Where is my refund? Danke schön"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_a_lone_cr_inside_a_field_does_not_end_the_header_block(newline):
    """A lone CR in a Message-ID (hostile or broken mail): the parser ended the line
    there, took what followed for the body, and the message lost its subject and date."""
    raw = newline.join([b"Message-ID: <a\rb@example.net>", b"From: Ann <ann@example.net>", b"Subject: refund please",
                        b"Date: Mon, 23 Nov 2026 09:30:00 +0000"]) + newline * 2 + b"Where is my refund?" + newline
    message = parse_message(RawMail(raw=raw, mailbox="inbox", key="1"))
    assert (message.sender, message.subject) == ("ann@example.net", "refund please")
    assert message.date == datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    assert message.body_text.strip() == "Where is my refund?"
