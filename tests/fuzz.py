"""Hostile mail made from real mail: seeded mutations of the sample inbox and the corpus.

Each mutation takes a message's bytes and a ``random.Random`` and returns new bytes; a
mutant is one to three of them in a row, so the same seed always gives the same mail.
They reproduce what real mail servers pass along: duplicate and missing headers, broken
MIME boundaries, bad and unknown charsets, encoded-word and header bombs, deep and wide
nested multiparts, NUL bytes, 8-bit garbage, truncated files, huge attachments and
binary junk. (tests/test_fuzz.py runs them through ``triage once``.)
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from helpers import ROOT

Mutation = Callable[[bytes, random.Random], bytes]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"(?im)^(subject|from|to|date|message-id|content-type|in-reply-to|references):[^\r\n]*")


def _split(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) at the first empty line; all header when there is none."""
    match = _HEADER_END.search(raw)
    return (raw[:match.start()], raw[match.end():]) if match else (raw, b"")


def _join(head: bytes, body: bytes) -> bytes:
    return head + b"\n\n" + body


def _words(rng: random.Random, count: int) -> bytes:
    words = [b"refund", b"cancel", b"charged", b"twice", b"still", b"waiting", b"order", b"please", b"help"]
    return b" ".join(rng.choice(words) for _ in range(count))


# -- the mutations ----------------------------------------------------------------------


def duplicate_headers(raw: bytes, rng: random.Random) -> bytes:
    head, body = _split(raw)
    fields = [m.group(0) for m in _FIELD.finditer(head)]
    extra = [rng.choice(fields) if fields else b"Subject: twice" for _ in range(rng.randint(1, 4))]
    extra += [b"Subject: " + _words(rng, 3), b"From: Other <other@example.org>", b"Message-ID: <dup@example.org>"]
    rng.shuffle(extra)
    return _join(head + b"\n" + b"\n".join(extra[:rng.randint(1, len(extra))]), body)


def missing_headers(raw: bytes, rng: random.Random) -> bytes:
    head, body = _split(raw)
    doomed = rng.sample([b"from", b"date", b"message-id", b"subject", b"content-type", b"to", b"mime-version"],
                        rng.randint(1, 5))
    lines = [line for line in re.split(rb"\r?\n(?![ \t])", head)
             if line.split(b":", 1)[0].strip().lower() not in doomed]
    if rng.random() < 0.15:
        lines = []  # no header at all
    return _join(b"\n".join(lines), body) if lines else body


def broken_boundary(raw: bytes, rng: random.Random) -> bytes:
    head, body = _split(raw)
    head = re.sub(rb"(?im)^content-type:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", b"", head)
    declared, used = rng.choice([(b"abc", b"xyz"), (b"", b"x"), (b"b" * 300, b"b" * 300), (b"q", None)])
    kind = rng.choice([b"mixed", b"alternative", b"report; report-type=delivery-status", b"related"])
    parts = body if used is None else (b"--" + used + b"\nContent-Type: text/plain\n\n" + body +
                                       rng.choice([b"", b"\n--" + used, b"\n--" + used + b"--", b"\n--" + used + b"-"]))
    return _join(head + b"\nMIME-Version: 1.0\nContent-Type: multipart/" + kind + b"; boundary=\"" + declared + b"\"",
                 parts)


def bad_charset(raw: bytes, rng: random.Random) -> bytes:
    head, body = _split(raw)
    charset = rng.choice([b"x-no-such-charset", b"utf-7", b"utf-16", b"\"utf-8", b"iso-2022-jp", b"", b"utf-8'en'",
                          b"unicode-1-1-utf-7", b"ebcdic-cp-be", b"gb2312"])
    head = re.sub(rb"(?im)^content-type:[^\r\n]*", b"Content-Type: text/plain; charset=" + charset, head)
    if b"content-type:" not in head.lower():
        head += b"\nContent-Type: text/html; charset=" + charset
    if rng.random() < 0.5:
        head += b"\nSubject: =?" + charset.strip(b'"') + b"?B?" + base64.b64encode(b"\xff\xfe" + _words(rng, 2)) + b"?="
    if rng.random() < 0.5:
        head += b"\nContent-Transfer-Encoding: " + rng.choice([b"base64", b"quoted-printable", b"x-uuencode", b"8bit"])
    return _join(head, body + bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 200))))


def encoded_word_bomb(raw: bytes, rng: random.Random, size: int = 120_000) -> bytes:
    head, body = _split(raw)
    word = rng.choice([b"=?utf-8?q?refund_me?=", b"=?utf-8?B?cmVmdW5k?=", b"=?x-bogus?q?=FF=FE?=", b"=?utf-8?q?"])
    return _join(head + b"\nSubject: " + b" ".join([word] * (size // len(word))), body)


def header_bomb(raw: bytes, rng: random.Random, size: int = 300_000) -> bytes:
    head, body = _split(raw)
    if rng.random() < 0.5:
        bomb = b"".join(b"X-Filler-%d: %s\n" % (i, b"y" * 60) for i in range(size // 75))
    else:  # one enormous folded header
        bomb = b"References: " + b"\n ".join(b"<%d.%d@example.org>" % (i, rng.randrange(10**6))
                                              for i in range(size // 25)) + b"\n"
    return _join(head + b"\n" + bomb.rstrip(b"\n"), body)


def nested_multiparts(raw: bytes, rng: random.Random) -> bytes:
    head, body = _split(raw)
    head = re.sub(rb"(?im)^content-type:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", b"", head)
    if rng.random() < 0.5:  # deep
        depth = rng.randint(30, 300)
        inner = b"Content-Type: text/plain\n\n" + body
        for level in range(depth):
            boundary = b"d%d" % level
            inner = (b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\n\n--" + boundary + b"\n" +
                     inner + b"\n--" + boundary + b"--\n")
        return head + b"\nMIME-Version: 1.0\n" + inner
    width = rng.randint(200, 3000)  # wide
    parts = b"".join(b"--w\nContent-Type: text/plain\n\npart %d\n" % i for i in range(width))
    return _join(head + b"\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"w\"",
                 parts + b"--w\nContent-Type: text/plain\n\n" + body + b"\n--w--\n")


def nul_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 40)):
        data.insert(rng.randrange(len(data) + 1), 0)
    return bytes(data)


def garbage_8bit(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, max(2, len(data) // 20))):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(128, 256)
    return bytes(data)


def truncated(raw: bytes, rng: random.Random) -> bytes:
    return raw[:rng.randrange(len(raw) + 1)] if raw else raw


def huge_attachment(raw: bytes, rng: random.Random, size: int = 2_600_000) -> bytes:
    head, body = _split(raw)
    head = re.sub(rb"(?im)^content-type:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", b"", head)
    blob = base64.encodebytes(rng.randbytes(size * 3 // 4))
    return _join(head + b"\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"att\"",
                 b"--att\nContent-Type: text/plain\n\n" + body + b"\n--att\nContent-Type: application/pdf\n"
                 b"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"invoice.pdf\"\n\n"
                 + blob + b"--att--\n")


def binary_junk(raw: bytes, rng: random.Random) -> bytes:
    junk = rng.randbytes(rng.randint(0, 20_000))
    return rng.choice([junk, b"From: junk@example.org\n\n" + junk, junk + raw, b"\n\n\n", b""])


def line_endings(raw: bytes, rng: random.Random) -> bytes:
    return rng.choice([raw.replace(b"\n", b"\r"), raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\r\n"),
                       raw.replace(b"\n", b"\n\x0b"), raw.replace(b": ", b":", 3)])


MUTATIONS: dict[str, Mutation] = {f.__name__: f for f in (
    duplicate_headers, missing_headers, broken_boundary, bad_charset, encoded_word_bomb, header_bomb,
    nested_multiparts, nul_bytes, garbage_8bit, truncated, huge_attachment, binary_junk, line_endings)}

_COSTLY = {"huge_attachment", "header_bomb", "encoded_word_bomb"}
"""Mutations that make megabytes: drawn less often, so a slice stays quick."""


def originals(corpus_every: int = 40) -> list[bytes]:
    """The sample inbox, and every ``corpus_every``-th message of data/corpus."""
    inbox = sorted(p for p in (ROOT / "samples" / "inbox").rglob("*") if p.is_file())
    corpus = sorted((ROOT / "data" / "corpus").rglob("*.eml"))[::corpus_every]
    return [p.read_bytes() for p in [*inbox, *corpus]]


def mutants(seed: int, count: int, corpus_every: int = 40) -> Iterator[tuple[str, bytes]]:
    """``count`` mutants, as (names of the mutations applied, bytes); the same seed gives
    the same ones. Every mutation occurs; the costly ones about one time in twenty."""
    rng = random.Random(seed)
    sources = originals(corpus_every)
    cheap = [name for name in MUTATIONS if name not in _COSTLY]
    for n in range(count):
        raw = rng.choice(sources)
        if n < len(MUTATIONS):  # each mutation at least once
            names = [list(MUTATIONS)[n]]
        else:
            names = [rng.choice(sorted(_COSTLY)) if rng.random() < 0.05 else rng.choice(cheap)
                     for _ in range(rng.randint(1, 3))]
        for name in names:
            raw = MUTATIONS[name](raw, rng)
        yield "+".join(names), raw


def write_eml_folder(folder: Path, mail: list[tuple[str, bytes]]) -> None:
    """The mutants as ``NNNNN-names.eml`` files, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, (names, raw) in enumerate(mail):
        (folder / f"{n:05d}-{names}.eml").write_bytes(raw)
