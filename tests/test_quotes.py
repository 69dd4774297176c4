import pytest

from helpers import corpus_bodies
from triage.quotes import newest_words


@pytest.mark.parametrize("body, kept, dropped", [
    ("please cancel my account\n\n-----Original Message-----\nFrom: Acme <s@a.com>\nSent: Monday\nSubject: refund\n\nwe refunded you",
     "please cancel my account", "refunded"),
    ("Danke!\n\nAm 3. März 2026 um 10:14 schrieb Support <s@a.de>:\n> Ihre Erstattung ist unterwegs", "Danke!", "Erstattung"),
    ("ok thanks\n--\nJane Doe | Acme Ltd | +44 20 7946 0000", "ok thanks", "Acme Ltd"),
    ("still waiting\n\nSent from my Galaxy", "still waiting", "Galaxy"),
])
def test_newest_words_drop_quotes_and_signatures(body, kept, dropped):
    result = newest_words(body)
    assert kept in result and dropped not in result


def test_a_bare_forward_is_read_rather_than_emptied():
    body = "> I asked for a refund on 3 March and heard nothing.\n> Order 5531"
    assert "refund on 3 March" in newest_words(body)


def test_a_sentence_starting_with_from_is_not_a_quote_header():
    body = "Hi,\nFrom: what I can see you charged me twice.\nPlease fix it."
    assert "charged me twice" in newest_words(body)


CRAFTED = [
    "Hi\n\nOn Mon, 3 Mar 2026 at 10:14, Support <s@a.com> wrote:\n> we refunded you",
    "From: Support <s@a.com>\nSent: Monday\nTo: me\nSubject: Re: refund\n\nforwarded complaint below",
    "Merci\n\nLe 3 mars 2026 à 10:14, Support <s@a.fr> a écrit :\n> votre remboursement",
    "Gracias\n\nEl 3 mar 2026, Soporte <s@a.es> escribió:\n> su reembolso",
    "no header here: just a colon, 10:30 and a ratio 3:1",
    "Refund please\n______________________________________\nFrom: Acme\nSent: today\nold text",
    "> > From: nested\n> > Date: yesterday\n> > quoted",
]


def test_latest_reply_cuts_exactly_where_mail_parser_reply_does():
    """The fast path (no library call when no reply header can be present) gives the
    library's own answer, on the corpus and on headers of each language."""
    from mailparser_reply import EmailReplyParser

    from triage.quotes import _LANGUAGES, latest_reply

    library = EmailReplyParser(languages=list(_LANGUAGES))
    bodies = corpus_bodies() + CRAFTED
    assert len(bodies) > 500
    differing = [body[:80] for body in bodies if latest_reply(body) != (library.parse_reply(body) or "")]
    assert differing == []
