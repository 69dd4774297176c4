"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path

from triage.message import RawMail

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


def fixture(name: str) -> RawMail:
    """A fixture .eml as the local source would hand it over."""
    path = FIXTURES / name
    return RawMail(raw=path.read_bytes(), mailbox="fixtures", key=name)


def eml(*, sender: str, subject: str, body: str, date: str, message_id: str, to: str = "help@larkspur.example",
        in_reply_to: str | None = None, references: str | None = None, extra: str = "") -> bytes:
    """A minimal plain-text message."""
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}", f"Message-ID: {message_id}"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    if extra:
        headers.append(extra)
    headers.append("Content-Type: text/plain; charset=utf-8")
    return ("\n".join(headers) + "\n\n" + body + "\n").encode()


def raw(data: bytes, key: str = "m", mailbox: str = "test") -> RawMail:
    return RawMail(raw=data, mailbox=mailbox, key=key)


def corpus_bodies(every: int = 3, holdout: bool = True) -> list[str]:
    """Plain-text bodies (first 20,000 characters) of every ``every``-th corpus message and
    of the sample inbox: real-looking mail to check text functions against a reference.
    ``holdout=False`` leaves data/holdout out, for tests whose failures print bodies."""
    from triage.errors import MessageParseError
    from triage.parsing import parse_message

    folders = [ROOT / "data" / "corpus", *([ROOT / "data" / "holdout"] if holdout else [])]
    files = sorted(path for folder in folders for path in folder.rglob("*.eml"))[::every] + sorted(
        p for p in (ROOT / "samples").rglob("*") if p.is_file())
    bodies = []
    for path in files:
        try:
            bodies.append(parse_message(RawMail(path.read_bytes(), "corpus", path.name)).body_text[:20_000])
        except MessageParseError:  # the sample inbox holds a broken file on purpose
            continue
    return bodies


def repository_mail(every: int) -> list[bytes]:
    """The repository's mail as bytes: every ``every``-th corpus message, every held-out,
    non-customer and fixture message, and the sample inbox's files."""
    files = [*sorted((ROOT / "data" / "corpus").rglob("*.eml"))[::every],
             *(p for name in ("holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7",
                              "holdout8", "holdout9", "holdout10", "noncustomer")
               for p in (ROOT / "data" / name).rglob("*.eml")),
             *(ROOT / "tests" / "fixtures").glob("*.eml"), *(p for p in (ROOT / "samples").rglob("*") if p.is_file())]
    return [p.read_bytes() for p in files]
