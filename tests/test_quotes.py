import pytest

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
