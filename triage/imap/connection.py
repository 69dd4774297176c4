"""Open an authenticated IMAP connection from :class:`~triage.config.ImapConfig`.

``imap.security`` decides the transport: ``tls`` (implicit TLS; the certificate is
verified unless ``verify_certificate = false``, against ``ca_file`` when given),
``starttls``, or ``plain``, which is refused unless the host is a loopback address.
Every socket gets ``timeout_seconds``, so a frozen server raises instead of hanging.

The secret comes from ``password_command`` or ``password_env`` (``auth = "password"``), or
from ``oauth2_token_command`` (``auth = "oauth2"``, XOAUTH2). It is never logged and never
put in an error message; imapclient's own debug log already redacts LOGIN and
AUTHENTICATE lines. Commands run without a shell, so their text is never interpreted.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import shlex
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imap_utf7 import decode as decode_utf7

from triage import __version__
from triage.config import ImapConfig, is_loopback
from triage.errors import ImapError, UsageError
from triage.logs import register_secret

log = logging.getLogger(__name__)

CLIENT_ID = {"name": "triage", "version": __version__}
"""What triage tells a server that supports the ID command (RFC 2971)."""

COMMAND_TIMEOUT_SECONDS = 60.0
"""How long a password or token command may run (it may wait for a gpg-agent)."""


class ImapConnectionError(ImapError):
    """Raised when the server cannot be reached or the connection broke (refused, reset,
    timed out, TLS failed mid-way): unlike a refused command, trying again later may work."""


class FetchLost(ImapConnectionError):
    """The connection broke while the server was sending ``uids`` of ``folder``. Once may
    be the network; again and again, a message the server cannot read (Dovecot drops the
    session over a Maildir file whose size is not the one in its name): see
    :func:`triage.imap.lostfetch.remember_lost_fetch`."""

    def __init__(self, message: str, folder: str, uidvalidity: int, uids: Sequence[int]):
        super().__init__(message)
        self.folder = folder
        self.uidvalidity = uidvalidity
        self.uids = tuple(uids)


class IdleRefused(ImapError):
    """The server answered NO or BAD to IDLE although it advertises it (a proxy or a
    load balancer in front of it, often): the connection is fine and in its normal
    state, and the mail can be polled for on it (:func:`start_idle`)."""


class LoginRefused(ImapError):
    """Raised when the server refuses the login itself: a wrong or expired password or
    token. Trying again with the same secret only gets the account locked or throttled
    (Gmail, Microsoft 365), so it exits with status 2, which systemd does not restart."""

    exit_status = 2


TEMPORARY_REFUSALS = ("[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]", "[LIMIT]")
"""RFC 5530 response codes of a refused login that are the server's trouble, not the
secret's (Dovecot's "[UNAVAILABLE] Temporary authentication failure"): tried again later.
A refused FETCH with one of them is tried again too (:func:`~triage.imap.mailbox.refusal_kind`)."""


MESSAGE_BUGS = ("[SERVERBUG]",)
"""Codes among those that may be one message's trouble as well as the server's: Dovecot
answers ``NO [SERVERBUG] Internal error occurred`` for a message file it cannot read or
change (a file restored with the wrong owner, a broken compressed one), every time.
Taken for the server's passing trouble, that one message failed every pass, for good,
and no mail after it was triaged or labelled. A FETCH or a write refused so is tried
message by message, and is the server's trouble only when every message is refused
(:func:`~triage.imap.mailbox.refusal_kind`, :meth:`~triage.imap.labeler.Labeler._isolate`)."""


TEMPORARY_REFUSAL_WORDS = ("TOO MANY SIMULTANEOUS CONNECTIONS", "EXCEEDED COMMAND OR BANDWIDTH LIMITS")
"""Gmail's words for a login it refuses for now, with no RFC 5530 code (``NO [ALERT] Too
many simultaneous connections. (Failure)``: the team's phones and clients took the 15
connections an account may have; ``… Account exceeded command or bandwidth limits``: a
big first run). Counted as refusals of the password, three in a row stopped the
service with exit status 2, which systemd does not restart: triage stayed down until
someone noticed, for a colleague's extra mail client."""


def is_temporary_refusal(reason: str) -> bool:
    """True when the server's words for a refused login say the failure is temporary."""
    upper = reason.upper()
    return any(code in upper for code in TEMPORARY_REFUSALS) or any(w in upper for w in TEMPORARY_REFUSAL_WORDS)


@contextmanager
def imap_errors(action: str) -> Iterator[None]:
    """Turn imapclient and socket errors raised while doing ``action`` into
    :class:`ImapConnectionError` (connection broke) or :class:`ImapError` (server said
    NO/BAD, or answered what imapclient cannot read)."""
    try:
        yield
    except (IMAPClientAbortError, OSError) as exc:  # OSError covers socket.timeout and ssl.SSLError
        raise ImapConnectionError(f"{action}: connection lost ({describe(exc)})") from exc
    except IMAPClientError as exc:
        raise ImapError(f"{action}: {describe(exc)}") from exc
    except ValueError as exc:  # imapclient's parsers, on an answer no server should send ("* SEARCH 1 abc")
        raise ImapError(f"{action}: the server's answer could not be read ({exc})") from exc


def start_idle(client: IMAPClient) -> None:
    """Put the connection into IDLE; raise :class:`IdleRefused` when the server answered
    the command with NO or BAD instead of going into it.

    imapclient raises a bare ``IMAPClientError("Unexpected IDLE response: …")`` for any
    answer but the continuation, a refusal and an untimely untagged line alike; imaplib
    has filed a tagged answer under the command's tag, which tells a refusal (the
    connection is out of IDLE and usable) from the rest (it is not: the caller drops it)."""
    try:
        client.idle()
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        answered = client._imap.tagged_commands.pop(getattr(client, "_idle_tag", None), None)
        if answered and answered[0] in ("NO", "BAD"):
            words = b" ".join(answered[1]).decode("utf-8", "replace") if answered[1] and answered[1][0] else ""
            client._idle_tag = None
            raise IdleRefused(f"{answered[0]} {words}".strip()) from exc
        raise


def describe(exc: BaseException) -> str:
    """The server's or the OS's words for ``exc``, without imapclient's ``b'...'`` wrapping."""
    if isinstance(exc, OSError) and exc.strerror:  # args[0] is the bare errno: "111"
        return exc.strerror
    text = exc.args[0] if exc.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    wrapped = re.fullmatch(r"b(['\"])(.*)\1", text, re.DOTALL)
    if wrapped:
        text = wrapped.group(2)
    return text.strip() or type(exc).__name__


class Credentials:
    """The secret of one account, fetched when first needed and kept for reconnects.

    A secret that came from a command (password or OAuth2 token) is fetched again only
    after the server refused the kept one, e.g. because the token expired.
    """

    def __init__(self, config: ImapConfig) -> None:
        self._config = config
        self._secret: str | None = None

    def __repr__(self) -> str:  # never the secret
        return f"Credentials(username={self._config.username!r}, auth={self._config.auth!r})"

    @property
    def _command(self) -> tuple[str, str]:
        """(command, config key) the secret comes from; the command is empty for password_env."""
        if self._config.auth == "oauth2":
            return self._config.oauth2_token_command, "imap.oauth2_token_command"
        return self._config.password_command, "imap.password_command"

    @property
    def source(self) -> str:
        """Where the secret comes from, for messages: the config key (and variable)."""
        command, key = self._command
        return key if command else f"imap.password_env {self._config.password_env}"

    @property
    def refreshable(self) -> bool:
        """True when a kept secret came from a command, so running it again may help."""
        return self._secret is not None and bool(self._command[0])

    def secret(self) -> str:
        """The password or token, from the cache, the command or the environment. It is
        masked in every log line from the moment it is known, before it is ever sent."""
        if self._secret is None:
            command, key = self._command
            if command:
                self._secret = run_secret_command(command, key)
            else:
                self._secret = self._from_environment()
            register_secret(self._secret)
        return self._secret

    def forget(self) -> None:
        """Drop the kept secret: the next :meth:`secret` fetches it again."""
        self._secret = None

    def _from_environment(self) -> str:
        name = self._config.password_env
        if not name:
            raise UsageError("no IMAP password source: set imap.password_env or imap.password_command")
        value = os.environ.get(name, "").rstrip("\r\n")  # (a file saved with Windows line ends)
        if not value:
            raise UsageError(f"environment variable {name} (imap.password_env) is not set or empty")
        if any(c in value for c in "\r\n\0"):
            raise UsageError(f"environment variable {name} (imap.password_env) holds a line break or a NUL, "
                             "which no IMAP login can send")
        return value


def run_secret_command(command: str, key: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
    """Run ``command`` (split like a shell would, but run without one) and return the
    first line it prints, stripped. Errors name the program and quote the first line of
    its stderr, where tools explain a failure, but never anything from its stdout."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{key}: cannot split the command: {exc}") from None
    if not argv:
        raise UsageError(f"{key} is empty")
    program = argv[0]
    try:
        done = _run_until_exit(argv, timeout)
    except FileNotFoundError:
        raise ImapError(f"{key}: {program}: command not found") from None
    except subprocess.TimeoutExpired:
        raise ImapError(f"{key}: {program} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise ImapError(f"{key}: cannot run {program}: {exc.strerror}") from None
    if done.returncode != 0:
        detail = next(iter(done.stderr.decode("utf-8", "replace").strip().splitlines()), "")[:200]
        raise ImapError(f"{key}: {program} exited with status {done.returncode}" + (f": {detail}" if detail else ""))
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise ImapError(f"{key}: {program} printed nothing")
    return secret


_OUTPUT_KEPT = 1 << 20
"""Of what a secret command prints on each stream, the bytes kept (the rest is read and dropped)."""


def _run_until_exit(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``argv`` without a shell or standard input; what it printed, once it has
    exited, not once its output pipes close (``subprocess.run`` waits for that): a helper
    it starts and leaves behind (an agent, ``sleep 300 &`` in a wrapper script) keeps
    them open, and a command that had printed the password and exited at once "did not
    finish within 60 s", at every reconnect. Raises ``subprocess.TimeoutExpired`` when
    it runs past ``timeout`` (it is killed)."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.stdout.fileno(), process.stderr.fileno()
    printed = {out: bytearray(), err: bytearray()}
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            for fd in printed:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                exited = process.poll() is not None
                left = deadline - time.monotonic()
                if left <= 0:
                    if exited:
                        break  # it exited; what its helpers still print is not its answer
                    raise subprocess.TimeoutExpired(argv, timeout)  # (killed below)
                ready = selector.select(timeout=0 if exited else min(left, 0.1))
                if exited and not ready:
                    break  # all it wrote before it exited is read
                for key, _ in ready:
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fd)
                    elif len(printed[key.fd]) < _OUTPUT_KEPT:
                        printed[key.fd] += chunk
    except BaseException:  # a stop (SIGTERM) mid-command: no orphan left behind
        process.kill()
        process.wait()
        raise
    finally:
        process.stdout.close()
        process.stderr.close()
    return subprocess.CompletedProcess(argv, process.wait(), bytes(printed[out]), bytes(printed[err]))


def connect(config: ImapConfig, credentials: Credentials | None = None) -> IMAPClient:
    """Open, secure and log in a connection; send ID when the server supports it.

    Pass the same ``credentials`` on every reconnect so a command's secret is reused.
    The caller logs out. Raises UsageError for a config that cannot work, LoginRefused
    when the server refuses the secret (after running its command once more, if it came
    from one: a token may have expired), ImapError when it refuses for a reason of its
    own, ImapConnectionError when it cannot be reached. A server that greets with
    ``PREAUTH`` (RFC 3501 7.1.4: it authenticated the connection by other means, such as
    an SSH tunnel to its imapd) gets no login: imaplib refuses LOGIN then, and that was
    taken for a refused password.
    """
    check_config(config)
    credentials = credentials or Credentials(config)
    refreshable = credentials.refreshable
    secret = credentials.secret()
    client = _open(config)
    try:
        if preauthenticated(client):
            log.info("%s: the connection is already authenticated (PREAUTH); no login sent", config.host)
            _send_id(client)
            return client
        refusal = _authenticate(client, config, secret)
        if refusal and refreshable:
            log.info("%s refused the kept %s; running the command again", config.host, config.auth)
            credentials.forget()
            disconnect(client)
            client = _open(config)
            refusal = _authenticate(client, config, credentials.secret())
        if refusal and is_temporary_refusal(refusal):
            raise ImapError(f"{config.host}: login as {config.username} failed for now: {refusal}")
        if refusal:
            raise LoginRefused(f"{config.host}: login as {config.username} refused by the server: check the "
                               f"password / token ({credentials.source}); the server said: {refusal}")
        _send_id(client)
    except BaseException:
        disconnect(client)
        raise
    return client


def preauthenticated(client: IMAPClient) -> bool:
    """True when the server's greeting was ``* PREAUTH``: the session starts logged in."""
    return client._imap.state == "AUTH"


def check_config(config: ImapConfig) -> None:
    """Raise UsageError for settings no connection can work with."""
    if not config.host:
        raise UsageError("imap.host is not set")
    if not config.username:
        raise UsageError("imap.username is not set")
    if config.security == "plain" and not is_loopback(config.host):
        raise UsageError(f"imap.security = plain sends the password in clear text; refused for {config.host}")
    if config.timeout_seconds <= 0:
        raise UsageError("imap.timeout_seconds must be greater than 0")
    if config.auth == "oauth2" and not config.oauth2_token_command:
        raise UsageError("imap.auth = oauth2 needs imap.oauth2_token_command")


def tls_context(config: ImapConfig) -> ssl.SSLContext:
    """A client TLS context: system CAs or ``ca_file``; no checks if verification is off."""
    cafile = os.path.expanduser(config.ca_file) if config.ca_file else None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"imap.ca_file {config.ca_file}: cannot load: {exc}") from None
    if not config.verify_certificate:
        log.warning("imap.verify_certificate = false: anyone between here and %s can read the mail", config.host)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def read_any_folder_name(client: IMAPClient) -> None:
    """Make ``client`` read folder names no modified UTF-7 decoder takes.

    A server that stores names as a client sent them lists a folder "R&D" or "Q&A/2025"
    as it is, and imapclient's decoder raised UnicodeDecodeError for the whole LIST:
    every pass looks for the Sent folder in one, so every pass failed, for good, over a
    folder triage never touches. Such a name is read as UTF-8 instead (:func:`folder_name`)."""
    listed_by_imapclient = client._proc_folder_list

    def listed(folder_data):
        if not client.folder_encode:
            return listed_by_imapclient(folder_data)
        client.folder_encode = False
        try:
            found = listed_by_imapclient(folder_data)
        finally:
            client.folder_encode = True
        return [(flags, delimiter, folder_name(name)) for flags, delimiter, name in found]

    client._proc_folder_list = listed


def folder_name(name: bytes | str) -> str:
    """A folder name as a LIST answer gives it: modified UTF-7 decoded, else (a name the
    server stored as sent) UTF-8, U+FFFD for what is neither."""
    if isinstance(name, str):
        return name
    try:
        return decode_utf7(name)
    except ValueError:  # UnicodeDecodeError and binascii.Error both
        return name.decode("utf-8", "replace")


def _open(config: ImapConfig) -> IMAPClient:
    where = f"{config.host}:{config.port}"
    context = None if config.security == "plain" else tls_context(config)
    try:
        client = IMAPClient(
            config.host,
            config.port,
            ssl=config.security == "tls",
            ssl_context=context,
            timeout=config.timeout_seconds,
        )
    except ssl.SSLCertVerificationError as exc:
        raise _untrusted(where, exc) from None
    except (OSError, IMAPClientError) as exc:
        raise ImapConnectionError(f"cannot connect to {where}: {describe(exc)}") from None
    quiet_wire(client)
    read_any_folder_name(client)
    if config.security == "starttls":
        try:
            with imap_errors(f"STARTTLS with {where}"):
                if not client.has_capability("STARTTLS"):
                    raise ImapError(f"{where} does not offer STARTTLS; try imap.security = \"tls\"")
                try:
                    client.starttls(context)
                except ssl.SSLCertVerificationError as exc:
                    raise _untrusted(where, exc) from None
        except BaseException:
            disconnect(client)
            raise
    return client


def _untrusted(where: str, exc: ssl.SSLCertVerificationError) -> ImapError:
    return ImapError(f"{where}: TLS certificate not trusted ({exc.verify_message}); see imap.ca_file")


def _authenticate(client: IMAPClient, config: ImapConfig, secret: str) -> str | None:
    """Log in; return the server's reason when it refuses, None when logged in.

    A user name or password with characters beyond ASCII (``pässwort``) goes by
    AUTHENTICATE PLAIN, whose SASL string is UTF-8 (RFC 4616): LOGIN's strings are ASCII
    only, and imaplib raised UnicodeEncodeError for them, a traceback (and under
    systemd a restart every 30 seconds for ever). A connection lost meanwhile raises
    ImapConnectionError: it is no refusal. A server that advertises LOGINDISABLED is sent
    no password: a UsageError says to use TLS."""
    plain = config.auth != "oauth2" and not (config.username.isascii() and secret.isascii())
    if config.auth != "oauth2" and "LOGINDISABLED" in {c.upper() for c in _capabilities(client, config)}:
        # RFC 3501 6.2.3: no LOGIN then; the password went out in clear all the same, and
        # its refusal read as a wrong password
        raise UsageError(f"{config.host}: the server accepts no login without TLS on this connection "
                         "(LOGINDISABLED): set imap.security = \"starttls\" (or \"tls\" on its TLS port)")
    if plain and "AUTH=PLAIN" not in {c.upper() for c in _capabilities(client, config)}:
        raise UsageError(f"{config.host}: the password or user name holds characters beyond ASCII, which IMAP "
                         "LOGIN cannot send, and the server offers no AUTHENTICATE PLAIN")
    with imap_errors(f"logging in to {config.host}"):
        try:
            if config.auth == "oauth2":
                client.oauth2_login(config.username, secret)
            elif plain:
                client.plain_login(config.username, secret)
            else:
                client.login(config.username, secret)
        except LoginError as exc:
            if isinstance(exc.__context__, (IMAPClientAbortError, OSError)):
                # imapclient makes a connection lost during the login a LoginError too: it
                # was taken for a refused secret (exit 2, for good, under systemd)
                raise exc.__context__ from None
            return describe(exc)
    return None


def _capabilities(client: IMAPClient, config: ImapConfig) -> list[str]:
    with imap_errors(f"asking {config.host} for its capabilities"):
        return [c.decode("ascii", "replace") if isinstance(c, bytes) else c for c in client.capabilities()]


def _send_id(client: IMAPClient) -> None:
    """Tell the server who we are (it shows in its logs); a refusal is harmless."""
    with imap_errors("ID"):
        if not client.has_capability("ID"):
            return
        try:
            client.id_(CLIENT_ID)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            log.debug("server refused ID: %s", describe(exc))


def quiet_wire(client: IMAPClient) -> None:
    """Stop imaplib writing up the wire when nobody reads it. imapclient sets imaplib's
    debug level to 5 to send it to the ``imapclient.imaplib`` logger, and imaplib then
    formats the ``repr`` of every response before the logger can drop it: every message
    body twice, 18 % of the main process's CPU in a backlog pass. With ``-vv`` that
    logger is on and the wire is logged as before."""
    client._imap.debug = 5 if logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG) else 0


def disconnect(client: IMAPClient) -> None:
    """Log out, or at least drop the socket; a dead connection is not an error here."""
    with suppress(Exception):
        client.logout()
        return
    drop(client)


def drop(client: IMAPClient) -> None:
    """Close the socket without a word to the server: for a conversation abandoned
    mid-command (a stop, an error), where a LOGOUT could wait for a late answer."""
    with suppress(Exception):
        client.shutdown()
