"""triage.imap.connection against the test Dovecot: transports, secrets, errors."""

from __future__ import annotations

import logging
import shlex
import socket
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot

from triage.config import ImapConfig, config_from_dict
from triage.errors import ConfigError, ImapError, UsageError
from triage.imap.connection import Credentials, ImapConnectionError, connect, imap_errors, run_secret_command

@pytest.fixture
def password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def script(tmp_path: Path, body: str) -> str:
    """A password/token command: this Python ``body`` run by the test's interpreter."""
    path = tmp_path / "secret.py"
    path.write_text(body)
    return shlex.join([sys.executable, str(path)])


def test_plain_loopback_login_sends_id_and_sets_timeout(dovecot: Dovecot, password_env: None) -> None:
    client = connect(dovecot.imap_config(timeout_seconds=7.5))
    try:
        assert client.socket().gettimeout() == 7.5
        assert client.select_folder("INBOX")[b"UIDVALIDITY"]
    finally:
        client.logout()
    assert "ID sent: name=triage" in dovecot.log_path.read_text()


def test_plain_to_a_remote_host_is_refused_by_config_and_by_connect() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        config_from_dict({"imap": {"host": "imap.example.com", "port": 143, "security": "plain"}})
    with pytest.raises(UsageError, match="clear text"):
        connect(ImapConfig(host="imap.example.com", port=143, security="plain", username="x"))


def test_wrong_password_is_a_clear_error_without_the_password(dovecot: Dovecot, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(ImapError, match="login as support refused") as caught:
        connect(dovecot.imap_config())
    assert "not-the-password" not in str(caught.value)


def test_missing_password_variable_is_a_usage_error(dovecot: Dovecot, monkeypatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(UsageError, match=PASSWORD_ENV):
        connect(dovecot.imap_config())


def test_password_command_wins_over_the_environment(dovecot: Dovecot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "stale")
    command = script(tmp_path, f"print({PASSWORD!r})\nprint('url: https://example.com')\n")
    connect(dovecot.imap_config(password_command=command)).logout()


def test_secret_command_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "injected"
    secret = run_secret_command(f"echo pw; touch {marker}", "imap.password_command")
    assert secret == f"pw; touch {marker}"
    assert not marker.exists()


def test_failing_secret_command_names_the_program_not_its_output(tmp_path: Path) -> None:
    command = script(tmp_path, "import sys\nprint('leaked-secret')\nsys.exit('gpg: decryption failed')\n")
    with pytest.raises(ImapError, match="exited with status 1: gpg: decryption failed") as caught:
        run_secret_command(command, "imap.password_command")
    assert "leaked-secret" not in str(caught.value)
    with pytest.raises(ImapError, match="command not found"):
        run_secret_command("/nonexistent/pass show x", "imap.password_command")
    with pytest.raises(ImapError, match="printed nothing"):
        run_secret_command("true", "imap.password_command")


def test_a_secret_command_that_leaves_a_helper_holding_its_output_is_read_when_it_exits() -> None:
    """A wrapper script that starts an agent in the background (here ``sleep 4 &``)
    exits at once, the password printed; the agent holds the output pipe open, and triage
    waited for it to close: "did not finish within 60 s", at every reconnect."""
    import time

    started = time.monotonic()
    secret = run_secret_command("sh -c 'echo s3cret; echo warming up >&2; sleep 4 &'", "imap.password_command",
                                timeout=3)
    assert secret == "s3cret" and time.monotonic() - started < 2
    with pytest.raises(ImapError, match="did not finish within 0.5 s"):
        run_secret_command("sh -c 'echo s3cret; sleep 3'", "imap.password_command", timeout=0.5)
    with pytest.raises(ImapError, match="exited with status 3: warming up$"):
        run_secret_command("sh -c 'echo s3cret; echo warming up >&2; sleep 4 & exit 3'", "imap.password_command",
                           timeout=3)


def test_xoauth2_token_is_kept_and_fetched_again_when_refused(dovecot: Dovecot, tmp_path: Path) -> None:
    token_file, runs = tmp_path / "token", tmp_path / "runs"
    token_file.write_text(PASSWORD)
    command = script(
        tmp_path,
        "from pathlib import Path\n"
        f"with open({str(runs)!r}, 'a') as f: f.write('x')\n"
        f"print(Path({str(token_file)!r}).read_text())\n",
    )
    config = dovecot.imap_config(user="oauth", auth="oauth2", oauth2_token_command=command)
    credentials = Credentials(config)
    try:
        connect(config, credentials).logout()
        connect(config, credentials).logout()
        assert runs.read_text() == "x"  # the token was kept for the reconnect

        dovecot.set_password("oauth", "rotated-token")  # the kept token "expires"
        token_file.write_text("rotated-token")
        connect(config, credentials).logout()
        assert runs.read_text() == "xx"  # fetched once more, and accepted
    finally:
        dovecot.set_password("oauth", PASSWORD)


def test_refused_fresh_token_is_not_fetched_again(dovecot: Dovecot, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    command = script(tmp_path, f"with open({str(runs)!r}, 'a') as f: f.write('x')\nprint('bad-token')\n")
    config = dovecot.imap_config(user="oauth", auth="oauth2", oauth2_token_command=command)
    with pytest.raises(ImapError, match="refused"):
        connect(config)
    assert runs.read_text() == "x"


def test_secrets_never_reach_the_log(dovecot: Dovecot, password_env: None, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="imapclient")  # the CLI quiets it; an earlier test may have run the CLI
    connect(dovecot.imap_config()).logout()
    config = dovecot.imap_config(user="oauth", auth="oauth2", oauth2_token_command=f"echo {shlex.quote(PASSWORD)}")
    credentials = Credentials(config)
    connect(config, credentials).logout()
    assert "LOGIN" in caplog.text and "AUTHENTICATE" in caplog.text  # imapclient did log the commands
    assert PASSWORD not in caplog.text
    assert "battery" not in caplog.text
    assert "battery" not in repr(credentials)


def _fetch_logging_the_wire(dovecot: Dovecot, folder: str) -> list[str]:
    """What imaplib writes up about the wire while a message body is fetched."""
    uid = dovecot.append(folder, b"From: a@example.com\r\nSubject: wire\r\n\r\nthe body of the message\r\n")
    client = connect(dovecot.imap_config())
    written: list[str] = []
    client._imap._mesg = lambda text, *args: written.append(str(text))
    try:
        client.select_folder(folder)
        assert b"the body" in client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    finally:
        client.logout()
    return written


def test_the_wire_is_written_up_only_when_its_log_is_on(dovecot: Dovecot, mail_folder: str, password_env: None) -> None:
    # imapclient turns imaplib's wire log on for every connection, and imaplib then
    # formats each response (whole message bodies) even when the log drops it.
    logger = logging.getLogger("imapclient.imaplib")
    level = logger.level
    try:
        logger.setLevel(logging.WARNING)
        assert _fetch_logging_the_wire(dovecot, mail_folder) == []
        logger.setLevel(logging.DEBUG)  # -vv
        assert any("the body of the message" in line for line in _fetch_logging_the_wire(dovecot, mail_folder))
    finally:
        logger.setLevel(level)


def test_tls_verifies_the_certificate(dovecot: Dovecot, password_env: None) -> None:
    if dovecot.ca_file is None:
        pytest.skip("openssl is not installed, so the test Dovecot has no TLS")
    tls = dovecot.imap_config(security="tls", port=dovecot.tls_port)
    with pytest.raises(ImapError, match="certificate not trusted"):
        connect(tls)
    connect(replace(tls, ca_file=str(dovecot.ca_file))).logout()
    connect(replace(tls, verify_certificate=False)).logout()


def test_starttls_upgrades_the_plain_port(dovecot: Dovecot, password_env: None) -> None:
    if dovecot.ca_file is None:
        pytest.skip("openssl is not installed, so the test Dovecot has no TLS")
    client = connect(dovecot.imap_config(security="starttls", ca_file=str(dovecot.ca_file)))
    try:
        assert client.socket().version().startswith("TLS")
    finally:
        client.logout()


def test_unreachable_server_is_a_connection_error(password_env: None) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ImapConnectionError, match=f"cannot connect to 127.0.0.1:{port}"):
        connect(ImapConfig(host="127.0.0.1", port=port, security="plain", username="x", password_env=PASSWORD_ENV))


def test_frozen_server_times_out_instead_of_hanging(password_env: None) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    port = listener.getsockname()[1]
    config = ImapConfig(
        host="127.0.0.1", port=port, security="plain", username="x", password_env=PASSWORD_ENV, timeout_seconds=0.5
    )
    started = time.monotonic()
    try:
        with pytest.raises(ImapConnectionError):
            connect(config)
        assert time.monotonic() - started < 5
    finally:
        for sock in [listener, *accepted]:
            sock.close()


def test_after_a_restart_the_old_connection_fails_and_a_fresh_one_works(dovecot: Dovecot, password_env: None) -> None:
    config = dovecot.imap_config()
    old = connect(config)
    old.select_folder("INBOX")
    dovecot.restart()
    with pytest.raises(ImapConnectionError), imap_errors("NOOP"):
        old.noop()
    fresh = connect(config)
    try:
        assert fresh.select_folder("INBOX")[b"UIDVALIDITY"]
    finally:
        fresh.logout()
