"""Logging to stderr as text or JSON lines, with secrets redacted before anything is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

_WORD = r""""(?:[^"\\]|\\.)*"|'[^']*'|\S+"""
"""A value as it is written: a double-quoted string (escapes and spaces included), a
single-quoted one, or a word."""

_SECRET_PATTERNS = [
    # A secret named as such and given a value: password=…, "token": "…", client_secret: …
    re.compile(rf"""(?i)(\b\w*(?:password|passwd|token|secret|api_?key)["']?\s*[=:]\s*)({_WORD})"""),
    # Credentials after an auth scheme: Authorization: Bearer …, auth=Bearer … (XOAUTH2), Basic …
    re.compile(rf"(?i)(\bbearer\s+)({_WORD})"),
    re.compile(r"(?i)(\bbasic\s+)([A-Za-z0-9+/]{8,}={0,2})"),
    re.compile(rf"""(?i)(\bauthorization["']?\s*[=:]\s*)(?!(?:bearer|basic)\s)({_WORD})"""),
    # The IMAP commands that carry one: "TAG LOGIN user password" (LOGIN in capitals, as on
    # the wire, so "login as support" in a sentence is none) and "AUTHENTICATE XOAUTH2 …".
    re.compile(rf"(\bLOGIN\s+(?:{_WORD})\s+)({_WORD})"),
    re.compile(r"(?i)(\bAUTHENTICATE\s+[\w-]+\s+)(\S+)"),
]
"""Each pattern's last group is the secret; what comes before it stays readable. A word is
masked only where it is given as a value, so prose such as "check the password / token"
reads as written."""
_registered_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret (a password or token) so it is masked wherever it would appear."""
    if value and len(value) >= 4:
        _registered_secrets.add(value)


def redact(text: str) -> str:
    """Mask registered secrets and anything shaped like ``password=…`` in a log line."""
    for secret in _registered_secrets:
        text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(0)[: m.start(m.lastindex) - m.start(0)] + "***", text)
    return text


class _RedactingFormatter(logging.Formatter):
    def __init__(self, as_json: bool):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        if record.exc_info:
            message += "\n" + redact(self.formatException(record.exc_info))
        if self.as_json:
            return json.dumps({
                "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": message,
            }, ensure_ascii=False)
        return f"{self.formatTime(record)} {record.levelname} {record.name}: {message}"


_as_json = False


def logging_as_json() -> bool:
    """True when :func:`setup_logging` made stderr JSON lines."""
    return _as_json


def setup_logging(log_format: str = "text", verbose: int = 0, service: bool = False) -> None:
    """Send triage's logs to stderr; ``verbose`` (the count of ``-v``) 0 = warnings,
    1 = info, 2 = debug with the IMAP conversation. A ``service`` logs one step more
    (info without ``-v``: its log is how it is watched; debug with one), and the IMAP
    conversation still only at ``-vv``."""
    global _as_json
    _as_json = log_format == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(_as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = verbose + service
    root.setLevel(logging.DEBUG if level >= 2 else logging.INFO if level == 1 else logging.WARNING)
    if verbose < 2:
        logging.getLogger("imapclient").setLevel(logging.WARNING)
