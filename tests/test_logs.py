"""Log redaction: every shape of secret is masked, and the sentences people need stay readable."""

from __future__ import annotations

import logging

import pytest

from triage.logs import redact, register_secret, setup_logging

PASSWORD = 'c0rrect horse "battery"'


@pytest.mark.parametrize("line, secret", [
    ("password=hunter2 accepted", "hunter2"),
    ("password: hunter2", "hunter2"),
    ("PASSWD = hunter2", "hunter2"),
    ('{"password": "two words"}', "two words"),
    ("token=ya29.a0AfH6", "ya29.a0AfH6"),
    ("refresh_token: 1//0gLq", "1//0gLq"),
    ("client_secret=GOCSPX-abc", "GOCSPX-abc"),
    ("api_key=AKIA1234", "AKIA1234"),
    ("secret: s3cr3t!", "s3cr3t!"),
    ("Authorization: Bearer ya29.a0AfH6", "ya29.a0AfH6"),
    ("authorization: opaque-credential", "opaque-credential"),
    ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("user=support@example.com\x01auth=Bearer ya29.token\x01\x01", "ya29.token"),  # the XOAUTH2 string
    ("> b'KDPJ3 LOGIN support hunter2'", "hunter2"),
    ('> b\'KDPJ3 LOGIN support "c0rrect horse \\"battery\\""\'', "battery"),  # quoted, spaces and all
    ('KDPJ3 LOGIN "sup port" hunter2', "hunter2"),
    ("KDPJ4 AUTHENTICATE XOAUTH2 dXNlcj1zdXBwb3J0", "dXNlcj1zdXBwb3J0"),
])
def test_secrets_in_every_shape_are_masked(line: str, secret: str) -> None:
    masked = redact(line)
    assert secret not in masked and "***" in masked


def test_a_registered_secret_is_masked_wherever_it_appears() -> None:
    register_secret("Tr0ub4dor&3")
    assert redact("the server echoed Tr0ub4dor&3 back") == "the server echoed *** back"


@pytest.mark.parametrize("line", [
    "127.0.0.1: login as support refused by the server: check the password / token "
    "(imap.password_env TRIAGE_IMAP_PASSWORD)",
    "imap.password_command: pass exited with status 1: gpg: decryption failed",
    "the password is wrong, or the token expired",
    "connected to imap.example.com:993 as support@example.com; watching INBOX (labels: keywords)",
    "Basic plan customers get a refund within 14 days",
])
def test_sentences_about_logins_and_passwords_stay_readable(line: str) -> None:
    assert redact(line) == line


def test_the_log_handler_redacts_messages_and_tracebacks(capsys) -> None:
    setup_logging("text", 0)
    log = logging.getLogger("triage.test")
    try:
        raise RuntimeError("password=hunter2")
    except RuntimeError:
        log.exception("login as %s refused; token: %s", "support", "ya29.abc")
    err = capsys.readouterr().err
    assert "login as support refused; token: ***" in err
    assert "hunter2" not in err and "ya29.abc" not in err and "RuntimeError: password=***" in err
