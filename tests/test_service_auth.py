"""A refused login is not a network failure: ``triage run`` gives up after
``service.max_refused_logins`` refusals in a row with exit status 2 (which systemd's
``RestartPreventExitStatus=2`` does not restart), says why in words a person can act on,
and still runs a password or token command once more after a refusal (a token that
expired is refreshed). Network trouble keeps the backoff, however long it lasts.

The services run as real subprocesses against the test Dovecot (tests/test_imap_service.py).
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot, free_ports
from imapproxy import ImapProxy
from test_imap_service import Box, box, message, password_env, services, write_config  # noqa: F401  (fixtures)

from triage.cli import main
from triage.imap.connection import LoginRefused, connect, is_temporary_refusal

WRONG_ENV = "TRIAGE_TEST_WRONG_PASSWORD"
ADVICE = "login as support refused by the server: check the password / token"


def counting_command(tmp_path: Path, *secrets: str) -> tuple[str, Path]:
    """A password command printing ``secrets`` one per run (the last one from then on),
    and the file where each run leaves an ``x``."""
    runs = tmp_path / "runs"
    script = tmp_path / "secret.py"
    script.write_text(
        "from pathlib import Path\n"
        f"runs = Path({str(runs)!r})\n"
        "count = len(runs.read_text()) if runs.exists() else 0\n"
        "runs.write_text('x' * (count + 1))\n"
        f"secrets = {list(secrets)!r}\n"
        "print(secrets[min(count, len(secrets) - 1)])\n"
    )
    return shlex.join([sys.executable, str(script)]), runs


def test_refusal_codes_that_mean_try_again_later() -> None:
    assert is_temporary_refusal("[UNAVAILABLE] Temporary authentication failure. [host:2026-11-23]")
    assert is_temporary_refusal("[inuse] mailbox locked")
    # Gmail's, with no code: 15 connections in use, or a first run over its bandwidth limit
    assert is_temporary_refusal("[ALERT] Too many simultaneous connections. (Failure)")
    assert is_temporary_refusal("[ALERT] Account exceeded command or bandwidth limits. (Failure)")
    assert not is_temporary_refusal("[ALERT] Application-specific password required: https://support.google.com/")
    assert not is_temporary_refusal("[AUTHENTICATIONFAILED] Authentication failed.")
    assert not is_temporary_refusal("Invalid credentials (Failure)")
    assert LoginRefused.exit_status == 2


def test_a_wrong_password_stops_the_service_with_status_2_after_three_refusals(
        box: Box, services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WRONG_ENV, "not-the-password")
    config = write_config(box.config, box.dovecot, box.folder, imap={"password_env": WRONG_ENV})
    service = services(config)

    assert service.process.wait(30) == 2

    service.stop()  # collects the log; asserts no stray output (tracebacks)
    messages = service.messages()
    refusals = [m for m in messages if ADVICE in m]
    assert len(refusals) == 3, messages  # two warnings with a reconnect, then the error
    assert f"({'imap.password_env'} {WRONG_ENV})" in refusals[-1]
    assert "giving up after 3 refused login(s) in a row" in refusals[-1]
    assert sum("reconnecting in" in m for m in messages) == 2
    assert "not-the-password" not in "\n".join(messages)
    assert box.dovecot.log_path.read_text().count("auth failed") >= 3


def test_once_with_a_wrong_password_exits_2_with_the_advice(box: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WRONG_ENV, "not-the-password")
    config = write_config(box.config, box.dovecot, box.folder, imap={"password_env": WRONG_ENV})

    assert main(["once", "--config", str(config)]) == 2
    assert ADVICE in box.capsys.readouterr().err


def test_a_password_command_runs_once_more_after_each_refusal_then_the_service_gives_up(
        box: Box, services, tmp_path: Path) -> None:
    command, runs = counting_command(tmp_path, "wrong-secret")
    config = write_config(box.config, box.dovecot, box.folder,
                          imap={"password_command": command}, service={"max_refused_logins": 2})
    service = services(config)

    assert service.process.wait(30) == 2
    service.stop()
    # Attempt 1 fetches the secret (refused: a fresh secret is not fetched again at once);
    # attempt 2 tries the kept one, is refused, runs the command again, is refused: 2 in a row.
    assert runs.read_text() == "xx"
    assert "imap.password_command" in next(m for m in service.messages() if "giving up" in m)


def test_a_token_refreshed_after_a_refusal_keeps_the_service_running(box: Box, services, tmp_path: Path) -> None:
    command, runs = counting_command(tmp_path, "expired-token", PASSWORD)
    config = write_config(box.config, box.dovecot, box.folder, imap={"password_command": command})
    service = services(config)
    service.wait_for_log("idling on")
    uid = box.append(message("after-refresh")[1])
    service.wait_until(lambda: any(row["uid"] == uid for row in service.rows), "the new mail triaged")

    assert service.stop() == 0
    assert runs.read_text() == "xx"
    assert sum(ADVICE in m for m in service.messages()) == 1  # the expired token, once


def test_network_errors_keep_the_backoff_past_the_refusal_limit(dovecot: Dovecot, tmp_path: Path, services,
                                                               password_env: None) -> None:
    (closed,) = free_ports(1)
    config = write_config(tmp_path / "triage.toml", dovecot, "INBOX", port=closed,
                          service={"max_refused_logins": 1, "reconnect_min_seconds": 0.05,
                                   "reconnect_max_seconds": 0.1})
    service = services(config)
    service.wait_until(lambda: sum("reconnecting in" in m for m in service.messages()) >= 5,
                       "five reconnect attempts")

    assert service.process.poll() is None
    assert service.stop() == 0


def test_a_password_beyond_ascii_logs_in_and_stays_out_of_the_wire_log(box: Box) -> None:
    """LOGIN carries ASCII only: imaplib raised UnicodeEncodeError for "pässwört", a
    traceback with exit status 1 that systemd restarted every 30 seconds for ever. Such a
    password goes by AUTHENTICATE PLAIN (UTF-8), and -vv's wire log shows neither it nor
    its base64 form."""
    secret = "Grüße pässwört €"
    box.dovecot.set_password("oauth", secret)
    try:
        config = write_config(box.config, box.dovecot, "INBOX", user="oauth",
                              imap={"password_env": "TRIAGE_TEST_UTF8_PASSWORD"})
        done = subprocess.run([sys.executable, "-m", "triage", "once", "--config", str(config), "-vv"],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "TRIAGE_TEST_UTF8_PASSWORD": secret})
    finally:
        box.dovecot.set_password("oauth", PASSWORD)
    err = done.stderr
    assert done.returncode == 0, err
    assert " AUTHENTICATE " in err and "OK Logged in" in err  # the wire was logged
    encoded = base64.b64encode(f"\0oauth\0{secret}".encode()).decode()
    assert secret not in err and encoded not in err and "pässwört" not in err


def cutting_logins(times: int):
    """A client hook: the connection is closed when the client sends LOGIN or
    AUTHENTICATE, the first ``times`` times (the server never sees them)."""
    left = [times]

    def hook(connection, line: bytes) -> bytes | None:
        if left[0] and b" LOGIN " in line.upper() or left[0] and b" AUTHENTICATE " in line.upper():
            left[0] -= 1
            connection.close()
            return None
        return line
    return hook


def test_once_whose_connection_drops_at_the_login_is_a_network_failure(box: Box, dovecot: Dovecot) -> None:
    """imapclient turns a connection lost during LOGIN into a LoginError: it was taken
    for a refused password, exit 2 with the advice to check it."""
    box.append(message("ann")[1])
    with ImapProxy(dovecot.port, from_client=cutting_logins(1)) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code = main(["once", "--config", str(box.config)])
    err = box.capsys.readouterr().err
    assert code == 1, err
    assert ADVICE not in err and err.startswith(f"triage: error: logging in to {dovecot.host}: connection lost")
    assert len(err.strip().splitlines()) == 1


def test_a_service_whose_connection_drops_at_every_login_keeps_trying(box: Box, dovecot: Dovecot, services) -> None:
    """A connection lost at the login three times in a row (a server restarting, a
    firewall) counted as three refused logins: the service exited 2, which systemd does
    not restart, for good. It is network trouble: the backoff, then the mail."""
    uid = box.append(message("ann")[1])
    with ImapProxy(dovecot.port, from_client=cutting_logins(4)) as proxy:
        config = write_config(box.config, dovecot, box.folder, port=proxy.port,
                              service={"max_refused_logins": 2, "reconnect_min_seconds": 0.05,
                                       "reconnect_max_seconds": 0.1})
        service = services(config)
        service.wait_until(lambda: any(row["uid"] == uid for row in service.rows), "the mail triaged")
        assert service.stop() == 0
    messages = service.messages()
    assert not any(ADVICE in m for m in messages), messages
    assert sum("connection lost" in m and "reconnecting in" in m for m in messages) == 4, messages


def preauthenticating(user: str = "support", password: str = PASSWORD):
    """A server hook: the connection is logged in before the client says a word, and the
    greeting says so (``* PREAUTH``, RFC 3501 7.1.4), as a server reached through an
    SSH tunnel to its imapd, or behind a proxy that authenticated the client, greets.
    The proxy logs in to Dovecot itself and turns its answer into the greeting."""
    def hook(connection, line: bytes) -> bytes | None:
        if line.startswith(b"* OK ") and b"ready" in line:
            quoted = [b'"' + text.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
                      for text in (user, password)]
            connection.upstream.sendall(b"pre LOGIN %s %s\r\n" % tuple(quoted))
            return None
        if line.startswith(b"pre OK "):
            return b"* PREAUTH " + line[len(b"pre OK "):].replace(b"Logged in", b"Logged in already")
        return line
    return hook


def test_a_server_that_greets_with_preauth_is_used_without_a_login(box: Box, dovecot: Dovecot) -> None:
    """imaplib refuses LOGIN in the authenticated state, and imapclient calls that a
    LoginError: a connection the server had authenticated already was a refused
    password (exit 2, "check the password"), for good. It is used as it is."""
    uid = box.append(message("ann")[1])
    with ImapProxy(dovecot.port, from_server=preauthenticating()) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once("-v")
    assert (code, [row["uid"] for row in rows]) == (0, [uid]), err
    assert "already authenticated (PREAUTH)" in err


def test_a_server_that_disables_login_without_tls_gets_no_password_and_a_clear_error(box: Box,
                                                                                      dovecot: Dovecot) -> None:
    """A server that advertises LOGINDISABLED (RFC 3501: no LOGIN before STARTTLS) was sent
    the password in clear all the same, refused it, and the advice was to check the
    password. Now nothing is sent, and the error says what to change."""
    box.append(message("ann")[1])
    logins = []

    def no_login(connection, line: bytes) -> bytes | None:
        if re.match(rb"^\S+ (LOGIN|AUTHENTICATE) ", line, re.I):
            logins.append(line)
            connection.to_client(line.split(b" ", 1)[0] + b" NO [PRIVACYREQUIRED] Plaintext authentication "
                                 b"disallowed on non-secure (SSL/TLS) connections.\r\n")
            return None
        return line

    with ImapProxy(dovecot.port, from_client=no_login,
                   from_server=lambda connection, line: line.replace(b" AUTH=PLAIN", b" LOGINDISABLED")) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert (code, rows, logins) == (2, [], []), err
    assert err.strip().splitlines() == [
        f"triage: error: {dovecot.host}: the server accepts no login without TLS on this connection "
        "(LOGINDISABLED): set imap.security = \"starttls\" (or \"tls\" on its TLS port)"]


def test_after_starttls_a_server_that_disabled_login_before_it_is_logged_in_to(dovecot: Dovecot,
                                                                                 password_env: None) -> None:
    """LOGINDISABLED is a word of the connection before TLS: after STARTTLS the login goes on."""
    if dovecot.ca_file is None:
        pytest.skip("openssl is not installed, so the test Dovecot has no TLS")
    with ImapProxy(dovecot.port, from_server=lambda connection, line: line.replace(b" AUTH=PLAIN", b" LOGINDISABLED")) \
            as proxy:
        client = connect(dovecot.imap_config(security="starttls", ca_file=str(dovecot.ca_file), port=proxy.port))
        try:
            assert client.socket().version().startswith("TLS")
        finally:
            client.logout()


def test_a_password_variable_ending_in_a_line_break_logs_in(box: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment file saved with Windows line ends (a Docker env_file, a systemd
    EnvironmentFile) gives the variable a trailing CR: it went into LOGIN's quoted
    string, the server answered BAD, and the error said to check the password. A line
    break inside is no password IMAP can send: said, and nothing sent."""
    uid = box.append(message("ann")[1])
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD + "\r\n")
    code, rows, err = box.once()
    assert (code, [row["uid"] for row in rows]) == (0, [uid]), err
    monkeypatch.setenv(PASSWORD_ENV, "first line\nsecond line")
    code, rows, err = box.once()
    assert (code, rows) == (2, [])
    assert err.strip().splitlines() == [f"triage: error: environment variable {PASSWORD_ENV} (imap.password_env) "
                                        "holds a line break or a NUL, which no IMAP login can send"]
