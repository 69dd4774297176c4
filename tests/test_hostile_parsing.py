"""Hostile and odd mail through the parser: every message that has a header is read,
within a budget, and says what it could not read."""

import base64
import time

import pytest

import triage.parsing as parsing
from triage.errors import MessageParseError
from triage.headers import MAX_HEADER_CHARS, codec_for, decode_value
from triage.message import RawMail
from triage.parsing import parse_message


def mail(text: str | bytes, key: str = "m") -> RawMail:
    return RawMail(text.encode() if isinstance(text, str) else text, "t", key)


def test_two_subject_headers_take_the_first_non_empty_one():
    message = parse_message(mail("From: a@b.example\nSubject:\nSubject: Refund please\nSubject: other\n"
                                 "Message-ID: <x@b>\n\nplease refund order 1\n"))
    assert message.subject == "Refund please"
    assert message.sender == "a@b.example"


def test_two_from_headers_and_two_message_ids_do_not_stop_parsing():
    message = parse_message(mail("From: Ann <ann@b.example>\nFrom: Bob <bob@c.example>\nMessage-ID: <1@b>\n"
                                 "Message-ID: <2@b>\nSubject: hi\n\nhello\n"))
    assert (message.sender, message.message_id) == ("ann@b.example", "<1@b>")


def test_an_encoded_word_bomb_is_decoded_within_the_header_budget():
    bomb = " ".join(["=?utf-8?q?refund_me?="] * 90_000)  # ~2 MB of encoded words
    started = time.process_time()
    message = parse_message(mail(f"From: a@b.example\nSubject: {bomb}\nMessage-ID: <bomb@b>\n\nhi\n"))
    assert time.process_time() - started < 5  # the standard library's decoder took 40 s on this
    assert message.subject.startswith("refund merefund me") and len(message.subject) <= MAX_HEADER_CHARS


def test_a_giant_header_block_is_cut_and_the_body_still_read():
    filler = "".join(f"X-Filler-{i}: {'y' * 70}\n" for i in range(6_000))  # ~500 KB of headers
    message = parse_message(mail(f"From: a@b.example\nSubject: cancel\nMessage-ID: <h@b>\n{filler}\n"
                                 "please cancel my plan\n"))
    assert message.newest_text == "please cancel my plan"
    assert any("headers over" in note for note in message.notes)


def test_a_multipart_report_without_its_boundary_is_read_not_skipped():
    # mail-parser raised AttributeError on this shape (no start boundary, no epilogue).
    message = parse_message(mail(
        "From: MAILER-DAEMON@mx.example\nTo: support@shop.example\nSubject: Undelivered Mail\n"
        "Message-ID: <dsn@mx>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"never-used\"\n\n"
        "This is the mail system at host mx.example. Your message could not be delivered.\n"))
    assert message.automated and message.automated_reason == "bounce"
    assert "could not be delivered" in message.body_text


def test_a_customer_multipart_without_its_boundary_keeps_the_words():
    message = parse_message(mail("From: c@d.example\nSubject: order\nMessage-ID: <nb@d>\nMIME-Version: 1.0\n"
                                 "Content-Type: multipart/mixed; boundary=zzz\n\nI want a refund for order 55\n"))
    assert "refund for order 55" in message.newest_text


def test_8bit_utf8_headers_are_read_as_utf8():
    message = parse_message(mail("From: Jürgen Weiß <j@x.de>\nSubject: Kündigung café\nMessage-ID: <u@x>\n\nhi\n"
                                 .encode("utf-8")))
    assert (message.sender_name, message.subject) == ("Jürgen Weiß", "Kündigung café")


def test_8bit_latin1_headers_fall_back_to_windows_1252():
    message = parse_message(mail("From: a@b.example\nSubject: Café crème\nMessage-ID: <l@b>\n\nhi\n".encode("latin-1")))
    assert message.subject == "Café crème"


@pytest.mark.parametrize("charset", ["x-no-such-charset", "utf-7-broken", "", "utf\x00-8",
                                     # codecs Python knows that are not character sets
                                     "rot13", "zlib", "hex", "base64", "bz2", "uu", "quopri", "undefined",
                                     "punycode", "PunyCode"])
def test_unknown_charsets_never_raise(charset):
    body = "Zwrot pieniędzy proszę".encode("utf-8")
    message = parse_message(mail(b"From: a@b.example\nSubject: =?" + charset.encode() + b"?q?zwrot?=\n"
                                 b"Content-Type: text/plain; charset=" + charset.encode() + b"\n"
                                 b"Content-Transfer-Encoding: base64\nMessage-ID: <c@b>\n\n"
                                 + base64.encodebytes(body)))
    assert "Zwrot pieni" in message.body_text
    assert not message.notes  # read as a whole, not pieced together from the raw text
    assert message.subject == ("zwrot" if charset else "=??q?zwrot?=")  # no charset: not an encoded word


def test_text_in_a_charset_nobody_knew_that_is_no_utf8_reads_as_windows_1252():
    """``unknown-8bit`` (RFC 1428; Python's email package writes it for 8-bit bytes it
    could not place) and labels Python does not know were read as UTF-8 and the rest
    replaced: "J\ufffdrg", and a German refund request without its words."""
    assert decode_value("=?unknown-8bit?Q?J=F6rg?= <j@x>") == "Jörg <j@x>"
    assert decode_value("=?x-mac-roman-ce?Q?Caf=E9?=") == "Café"
    assert decode_value("=?unknown-8bit?Q?J=C3=B6rg?=") == "Jörg"  # UTF-8 first
    assert decode_value("=?utf-8?Q?J=F6rg?=") == "J\ufffdrg"  # a known charset's broken bytes stay broken
    body = "Ich möchte eine Rückerstattung für meine Bestellung.".encode("latin-1")
    message = parse_message(mail(b"From: a@b.example\nSubject: Erstattung\nMessage-ID: <u@b>\n"
                                 b"Content-Type: text/plain; charset=unknown-8bit\nContent-Transfer-Encoding: 8bit\n\n"
                                 + body))
    assert "Rückerstattung für" in message.body_text


def test_a_character_split_between_two_encoded_words_is_read_whole():
    """Mailers that cut a long Subject by bytes split a character between two encoded
    words (RFC 2047 says not to); each half alone was U+FFFD: "R\ufffd\ufffdckerstattung"."""
    assert decode_value("=?utf-8?B?UsM=?=\r\n =?utf-8?B?vGNrZXJzdGF0dHVuZw==?=") == "Rückerstattung"
    assert decode_value("Re: =?UTF-8?Q?R=C3?= =?utf-8?Q?=BCckerstattung?= now") == "Re: Rückerstattung now"
    assert decode_value("=?iso-2022-jp?B?GyRCJVElOSVvITwlSRsoQg==?=") == "パスワード"
    assert decode_value("=?utf-8?Q?R=C3?= x =?utf-8?Q?=BC?=") == "R\ufffd x \ufffd"  # not adjacent: apart


def test_nested_multipart_bomb_reads_at_most_max_parts():
    parts = "".join(f"--b\nContent-Type: application/octet-stream\n\n{i}\n" for i in range(parsing.MAX_PARTS * 3))
    message = parse_message(mail("From: a@b.example\nSubject: many\nMessage-ID: <p@b>\nMIME-Version: 1.0\n"
                                 "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
                                 f"the words\n{parts}--b--\n"))
    assert message.newest_text == "the words"
    assert any("MIME parts" in note for note in message.notes)


def test_a_flood_of_tiny_parts_is_parsed_up_to_max_delimiters(monkeypatch):
    """300,000 empty parts in 1.5 MB (``--b`` and two line ends each) took the parser 4 s and
    120 MB, a part object each, of which triage reads the first :data:`MAX_PARTS`."""
    trees = []
    parse = parsing._PARSER.parsebytes
    monkeypatch.setattr(parsing._PARSER, "parsebytes", lambda *args: trees.append(parse(*args)) or trees[-1])
    flood = "--b\n\n" * 300_000
    message = parse_message(mail("From: a@b.example\nSubject: parts\nMessage-ID: <t@b>\nMIME-Version: 1.0\n"
                                 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
                                 f"please refund order 12\n{flood}--b--\n"))
    assert message.newest_text == "please refund order 12"
    assert any("MIME delimiter lines" in note for note in message.notes)
    assert sum(1 for _ in trees[0].walk()) <= parsing.MAX_DELIMITERS + 1


def test_a_thousand_parts_are_all_parsed():
    """Up to :data:`MAX_DELIMITERS` nothing is cut, however many lines start with "--"."""
    parts = "".join(f"--b\nContent-Type: text/plain\n\n--{i}\n" for i in range(parsing.MAX_DELIMITERS - 1))
    message = parse_message(mail("From: a@b.example\nSubject: parts\nMessage-ID: <t@b>\nMIME-Version: 1.0\n"
                                 f'Content-Type: multipart/mixed; boundary="b"\n\n{parts}--b--\n'))
    assert not any("MIME delimiter lines" in note for note in message.notes)
    assert message.body_text.startswith("--0\n")


def test_nul_bytes_and_8bit_garbage_in_the_body_are_read_around():
    message = parse_message(mail(b"From: a@b.example\nSubject: x\nMessage-ID: <n@b>\n\nrefund\x00 \xff\xfe please\n"))
    assert "refund" in message.body_text and "please" in message.body_text


def test_the_parser_failing_falls_back_to_the_raw_text(monkeypatch):
    class Exploding:
        @staticmethod
        def parsebytes(data):
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parsing, "_PARSER", Exploding)
    message = parse_message(mail("From: Ann <ann@b.example>\nSubject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <r@b>\n\n"
                                 "<html><div>please cancel</div></html>\n"))
    assert (message.sender, message.subject, message.newest_text) == ("ann@b.example", "café", "please cancel")
    assert message.notes == ("MIME structure unreadable: read as plain text",)


@pytest.mark.parametrize("data", [b"\x00\x01\x02garbage with no header\n" * 10, b"   \n\n", b""])
def test_only_bytes_without_any_header_are_unreadable(data):
    with pytest.raises(MessageParseError):
        parse_message(mail(data))


def test_decode_value_is_linear_and_merges_adjacent_encoded_words():
    assert decode_value("=?utf-8?q?J=C3=BCrgen?= =?utf-8?b?V2Vpw58=?= <j@x>") == "JürgenWeiß <j@x>"
    assert decode_value("Re: =?iso-8859-1?q?caf=E9?= ok") == "Re: café ok"
    assert decode_value("a\x1b]0;title\x07b") == "a]0;titleb"


HTML_TRAPS = {
    "tags never closed": "<a" * 200_000,
    "comments never closed": "<!--" * 100_000,
    "a quoted '>' in every tag": "<a x='>'" * 50_000,
    "an unknown marked section, then only '<'": "<![x[" + "<" * 400_000,
    "processing instructions never closed": "<?" * 200_000,
}


@pytest.mark.parametrize("trap", HTML_TRAPS, ids=list(HTML_TRAPS))
def test_html_that_never_closes_what_it_opens_is_read_in_linear_time(trap):
    """Each of these (400 KB of HTML-only mail) took the standard library's HTML parser
    from 10 s to hours: it rescans the rest of the text for every construct left open."""
    html = f"<p>Please refund order 4471, it arrived broken.</p>{HTML_TRAPS[trap]}"
    started = time.process_time()
    message = parse_message(mail(f"From: a@b.example\nSubject: broken\nMessage-ID: <h@b>\nMIME-Version: 1.0\n"
                                 f"Content-Type: text/html; charset=utf-8\n\n{html}\n"))
    assert time.process_time() - started < 3
    assert message.newest_text.startswith("Please refund order 4471, it arrived broken.")


def test_text_labelled_punycode_is_not_decoded_as_punycode():
    """Punycode is no charset of mail, and Python's decoder is quadratic: 800 KB of text
    labelled ``charset=punycode`` (the most of a part that is decoded) took 9-24 s."""
    text = "refunds-" + "a" * 800_000  # every letter a punycode digit, as a decoder reads it
    started = time.process_time()
    message = parse_message(mail("From: a@b.example\nSubject: =?punycode?q?refund-?=\nMessage-ID: <p@b>\n"
                                 f"MIME-Version: 1.0\nContent-Type: text/plain; charset=punycode\n\n{text}\n"))
    assert time.process_time() - started < 3
    assert message.body_text.startswith("refunds-aaa") and message.subject == "refund-"
    assert codec_for("punycode") == "utf-8" and codec_for("idna") == "idna"


def test_a_content_type_of_quoted_semicolons_is_read_within_budget():
    """The standard library's parameter splitter counts quotes from the start at every
    ';': a 200 KB field of them took 20 s, wherever the parser asked for a charset,
    boundary or file name. Only the start of such a field is read for parameters."""
    hostile = 'text/plain; charset="' + ";" * 200_000 + '"'
    started = time.process_time()
    message = parse_message(mail("From: a@b.example\nSubject: semicolons\nMessage-ID: <s@b>\nMIME-Version: 1.0\n"
                                 "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                                 f"Content-Type: {hostile}\n\nplease refund order 12\n--b\n"
                                 f'Content-Type: text/plain\nContent-Disposition: attachment; filename="'
                                 f'{";" * 200_000}"\n\nx\n--b--\n'))
    assert time.process_time() - started < 3
    assert message.newest_text == "please refund order 12"


def test_hundreds_of_nested_multiparts_over_many_lines_are_read_within_budget():
    """The parser tests every line against every enclosing boundary: 900 nested
    multiparts over 950,000 short lines took 75 s. Past :data:`MAX_MULTIPARTS`
    boundaries the message is read up to the next one, and says so."""
    nested = "".join(f"--b{i - 1}\nContent-Type: multipart/mixed; BOUNDARY=b{i}\n\n" for i in range(1, 900))
    started = time.process_time()
    message = parse_message(mail("From: a@b.example\nSubject: deep\nMessage-ID: <d@b>\nMIME-Version: 1.0\n"
                                 "Content-Type: multipart/mixed; boundary=b0\n\n--b0\nContent-Type: text/plain\n\n"
                                 f"please refund order 12\n{nested}" + "-\n" * 400_000))
    assert time.process_time() - started < 3
    assert message.newest_text == "please refund order 12"
    assert any("multipart boundaries" in note for note in message.notes)


def test_dozens_of_nested_multiparts_do_not_test_every_line_against_every_boundary(monkeypatch):
    """The parser tests each line of a part against the boundary of every multipart around
    it: 49 nested multiparts (under :data:`MAX_MULTIPARTS`) over 2 MB of short lines took
    4.7 s. A line that is no delimiter of any of them is no longer tested against each."""
    from triage.boundaries import BoundaryMatcher

    tests = []
    match = BoundaryMatcher.match
    monkeypatch.setattr(BoundaryMatcher, "match", lambda self, line: tests.append(1) or match(self, line))
    nested = "".join(f"--b{i - 1}\nContent-Type: multipart/mixed; boundary=b{i}\n\n" for i in range(1, 50))
    message = parse_message(mail("From: a@b.example\nSubject: deep\nMessage-ID: <d@b>\nMIME-Version: 1.0\n"
                                 f"Content-Type: multipart/mixed; boundary=b0\n\n{nested}--b49\n"
                                 "Content-Type: text/plain\n\nplease refund order 12\n" + "x\n--\n--b0x\n" * 50_000))
    assert message.newest_text.startswith("please refund order 12")
    assert len(tests) < 5_000  # each of the 150,000 lines against 49 boundaries: 7.3 million


def test_a_few_dozen_multiparts_are_all_parsed():
    """Under :data:`MAX_MULTIPARTS`, nothing is cut: the last part's words are read."""
    nested = "".join(f"--b{i - 1}\nContent-Type: multipart/mixed; boundary=b{i}\n\n" for i in range(1, 20))
    message = parse_message(mail("From: a@b.example\nSubject: forwards\nMessage-ID: <f@b>\nMIME-Version: 1.0\n"
                                 f"Content-Type: multipart/mixed; boundary=b0\n\n{nested}--b19\n"
                                 "Content-Type: text/plain\n\nplease cancel my plan\n--b19--\n"))
    assert message.newest_text == "please cancel my plan" and not message.notes


SURROGATES = {
    "a UTF-7 encoded word": "Subject: =?utf-7?Q?refund+2AA-?=\n",
    "a UTF-7 name": "From: =?unicode-1-1-utf-7?B?QW5uKzJBQS0=?= <ann@b.example>\n",
    "a body in unicode_escape": "Content-Type: text/plain; charset=unicode_escape\n",
    "a body in raw_unicode_escape": "Content-Type: text/plain; charset=raw-unicode-escape\n",
    "a body in UTF-7": "Content-Type: text/plain; charset=utf-7\n",
}


@pytest.mark.parametrize("header", SURROGATES.values(), ids=list(SURROGATES))
def test_charsets_that_decode_to_lone_surrogates_give_text(header, tmp_path, capsys):
    """UTF-7's ``+2AA-`` and an escaped ``\\ud800`` decode to a lone surrogate, which no
    UTF-8 writer takes: the row (and SQLite, the state) raised UnicodeEncodeError, a
    traceback ending the pass. Now U+FFFD, and a row like any other."""
    import json

    from triage.cli import main

    raw = ("From: ann@b.example\nSubject: refund\n" if "From:" not in header else "Subject: refund\n") + header + (
        "Date: Mon, 23 Nov 2026 09:00:00 +0000\nMessage-ID: <s@b.example>\n\nrefund please \\ud800 +2AA- now\n")
    message = parse_message(mail(raw.replace("Subject: refund\nSubject:", "Subject:")))
    for text in (message.subject, message.sender_name, message.body_text):
        text.encode("utf-8")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_text(raw.replace("Subject: refund\nSubject:", "Subject:"))
    assert main(["once", str(folder), "--format", "jsonl", "--state", str(tmp_path / "s.db"),
                 "--now", "2026-11-24T12:00:00Z"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["message_id"] == "<s@b.example>" and row["labels"] != ["triage/unreadable"]
    if "Content-Type" not in header:
        assert "\ufffd" in row["subject"] + row["from_name"]


@pytest.mark.parametrize("bulk", [
    "<style>" + ".c{color:red}\n" * 32_000 + "</style>",
    "<script>" + "var a = '<b>';\n" * 30_000 + "</script>",
    '<p><img src="data:image/png;base64,' + base64.b64encode(bytes(range(256)) * 1_800).decode() + '"></p>',
])
def test_html_bulk_before_the_words_does_not_cost_the_words(bulk):
    """HTML mail whose words come after 450 KB of style sheet or script, or a pasted
    screenshot inline as a ``data:`` URI: the text was cut to its budget before those
    were taken out, so the message had no text at all, or 200,000 characters of base64
    to be classified by. What is never shown is now taken out before the cut."""
    html = f"<html><head></head><body><p>Hello,</p>{bulk}<p>I want a refund for order 123.</p></body></html>"
    started = time.process_time()
    message = parse_message(mail(f"From: a@b.example\nSubject: order\nMessage-ID: <h@b>\n"
                                 f"Content-Type: text/html; charset=utf-8\n\n{html}\n"))
    assert time.process_time() - started < 2
    assert message.body_text == "Hello,\n\nI want a refund for order 123."


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_a_forward_of_a_forward_each_as_an_attachment_keeps_the_words(depth):
    """A message with no words of its own is read from the message it attaches: one
    level only, so a forward (as an attachment) of a forward as an attachment had no
    text at all, and was classified as nothing."""
    raw = b"From: c@x.example\nSubject: refund\nContent-Type: text/plain\n\nI want a refund for order 5.\n"
    for level in range(depth):
        raw = (b"From: a@b.example\nSubject: Fwd: refund\nMIME-Version: 1.0\n"
               b"Content-Type: multipart/mixed; boundary=w%d\n\n--w%d\nContent-Type: message/rfc822\n\n"
               % (level, level) + raw + b"\n--w%d--\n" % level)
    assert parse_message(mail(raw)).body_text.strip() == "I want a refund for order 5."
