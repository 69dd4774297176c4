"""A throwaway Dovecot IMAP server for integration tests.

Dovecot runs in the foreground as a child of the test process, on 127.0.0.1 and a free
port, with its own configuration, sockets, logs and Maildirs in one temporary directory;
nothing of the system's Dovecot is read or touched. A folder named ``Sent`` is marked
SPECIAL-USE ``\\Sent`` (see :meth:`Dovecot.recreate_folder`). Three users exist:

- ``support`` — an ordinary mailbox where custom keywords are allowed
  (``PERMANENTFLAGS`` contains ``\\*``);
- ``nokw`` — its INBOX carries an ACL without the ``w`` right, so Dovecot announces
  ``PERMANENTFLAGS (\\Seen \\Deleted)``: no custom keywords and no ``\\Flagged``, like a
  server that refuses keywords. Folders it creates itself get full rights.
- ``oauth`` — for tests that change its password (:meth:`Dovecot.set_password`).

All log in with :data:`PASSWORD`, via LOGIN or XOAUTH2 (Dovecot checks the bearer
token against the passdb like a password, so the password doubles as a token).

Dovecot refuses mail access to uid 0, so when the tests run as root the mail processes
run as ``nobody`` and the Maildirs belong to that user; as an ordinary user everything
runs as that user.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from imapclient import IMAPClient

from triage.config import ImapConfig

PASSWORD = 'c0rrect horse "battery"'
"""The password of every test user: a space and quotes prove LOGIN quotes it."""

PASSWORD_ENV = "TRIAGE_TEST_IMAP_PASSWORD"
"""The environment variable :meth:`Dovecot.imap_config` tells triage to read."""

USERS = ("support", "nokw", "oauth")

_STARTUP_SECONDS = 15.0

MAIL_FORMATS = ("maildir", "sdbox", "mdbox")
"""The storage formats a :class:`Dovecot` can keep its mail in (tests use Maildir; the
benchmarks also measure the dbox formats, whose flag changes touch no file names)."""
_INDEX_FILES = ("dovecot-uidlist", "dovecot.index", "dovecot.index.log", "dovecot.index.cache", "dovecot.index.log.2")


def find_dovecot() -> str | None:
    """The Dovecot binary, or None when the package is not installed."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def sample_message(
    message_id: str, subject: str = "Where is my refund?", body: str = "I am still waiting for my refund.\n"
) -> bytes:
    """A small, plausible customer message with CRLF line ends, as servers store them."""
    text = (
        "From: Ann Customer <ann@example.net>\n"
        "To: support@example.com\n"
        f"Subject: {subject}\n"
        "Date: Mon, 23 Nov 2026 09:30:00 +0000\n"
        f"Message-ID: {message_id}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n" + body
    )
    return text.replace("\n", "\r\n").encode("utf-8")


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nobody listens on right now."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


class Dovecot:
    """One private Dovecot instance; call :meth:`start`, and :meth:`close` at the end."""

    host = "127.0.0.1"

    def __init__(self, binary: str, *, tls: bool = False, mail_format: str = "maildir") -> None:
        if mail_format not in MAIL_FORMATS:
            raise ValueError(f"mail_format {mail_format!r}: one of {', '.join(MAIL_FORMATS)}")
        self.binary = binary
        self.mail_format = mail_format
        self.root = Path(tempfile.mkdtemp(prefix="triage-dovecot-"))
        self.root.chmod(0o755)  # the mail user must be able to reach its home below
        self.port, self.tls_port = free_ports(2) if tls else (*free_ports(1), None)
        self.ca_file: Path | None = None
        self.log_path = self.root / "dovecot.log"
        self._process: subprocess.Popen | None = None
        self._passwords = dict.fromkeys(USERS, PASSWORD)
        self._mail_uid, self._mail_gid, self._internal_user = self._accounts()
        if tls:
            self.ca_file = self._make_certificate()
        self._write_config()
        self._write_users()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start Dovecot and wait until it listens on its port(s)."""
        (self.root / "run" / "master.pid").unlink(missing_ok=True)  # left by a killed master
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + _STARTUP_SECONDS
        for port in filter(None, (self.port, self.tls_port)):
            while not self._listening(port):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Dovecot did not start on port {port}; its log:\n{self.log_tail()}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop Dovecot at once, like a crash: SIGKILL to every process of the instance.

        (A polite SIGTERM takes Dovecot 2.3 one to six seconds, and its master leaves
        logged-in ``imap`` processes running, still serving their connections.)
        Idempotent; Maildirs and indexes survive, as they survive a real crash."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        # The children are gone too (init reaps their zombies later); wait for the ports.
        deadline = time.monotonic() + 5
        while any(map(self._listening, filter(None, (self.port, self.tls_port)))) and time.monotonic() < deadline:
            time.sleep(0.01)

    def restart(self) -> None:
        """Crash and start again on the same port with the same mail: connections drop."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop Dovecot and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- what tests use ----------------------------------------------------------------

    def imap_config(self, user: str = "support", **overrides) -> ImapConfig:
        """An :class:`ImapConfig` for this server (plain IMAP on loopback, password from
        :data:`PASSWORD_ENV`, which the caller must set, e.g. with monkeypatch)."""
        values = dict(host=self.host, port=self.port, security="plain", username=user, password_env=PASSWORD_ENV)
        return ImapConfig(**{**values, "timeout_seconds": 10.0, **overrides})

    @contextlib.contextmanager
    def client(self, user: str = "support") -> Iterator[IMAPClient]:
        """A logged-in IMAPClient for setting up and inspecting test data."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            client.login(user, PASSWORD)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def create_folder(self, folder: str, user: str = "support") -> None:
        """Create ``folder`` (no error when it exists)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)

    def recreate_folder(self, folder: str, user: str = "support") -> None:
        """Delete ``folder`` with everything in it, if it exists, and create it empty
        (for a folder with a fixed name, such as ``Sent``, that tests share)."""
        self.delete_folder(folder, user)
        self.create_folder(folder, user)

    def delete_folder(self, folder: str, user: str = "support") -> None:
        """Delete ``folder`` with everything in it (no error when it does not exist)."""
        with self.client(user) as client:
            if client.folder_exists(folder):
                client.delete_folder(folder)

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = (), user: str = "support") -> int:
        """APPEND one message and return its UID (from Dovecot's APPENDUID answer)."""
        with self.client(user) as client:
            answer = client.append(folder, raw, flags=tuple(flags))
        match = re.search(rb"APPENDUID \d+ (\d+)", answer)
        if not match:
            raise RuntimeError(f"no APPENDUID in {answer!r}")
        return int(match.group(1))

    def deliver(self, folder: str, raws: Iterable[bytes], user: str = "support") -> int:
        """Drop messages straight into ``folder``'s Maildir (``new/``), as a local delivery
        agent does: thousands a second, where APPEND manages about two hundred. Dovecot
        gives them UIDs when it next looks at the folder. Returns how many."""
        directory = self.maildir(folder, user) / "new"
        count = 0
        for count, raw in enumerate(raws, 1):
            path = directory / f"{time.time_ns()}.M{count}P{os.getpid()}.triage-tests"
            path.write_bytes(raw)
            os.chown(path, self._mail_uid, self._mail_gid)
        return count

    def flags(self, folder: str, uid: int, user: str = "support") -> set[str]:
        """The flags and keywords of one message, read without changing anything
        (``\\Recent``, which depends on the session, left out)."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            answer = client.fetch([uid], ["FLAGS"])
        if uid not in answer:
            raise KeyError(f"no UID {uid} in {folder}")
        return {flag.decode() for flag in answer[uid][b"FLAGS"]} - {"\\Recent"}

    def set_password(self, user: str, password: str) -> None:
        """Change a user's password (and so its XOAUTH2 token). Dovecot stats its passwd-file
        at most once a second, so this waits a second for the change to count."""
        self._passwords[user] = password
        self._write_passwd()
        time.sleep(1.1)

    def uids(self, folder: str, user: str = "support") -> list[int]:
        """Every UID in ``folder``."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def uidvalidity(self, folder: str, user: str = "support") -> int:
        with self.client(user) as client:
            return client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]

    def reset_uidvalidity(self, folder: str, user: str = "support") -> int:
        """Make Dovecot forget ``folder``'s UIDs, as after a server migration: it gives the
        folder a new UIDVALIDITY and renumbers its messages. Returns the new UIDVALIDITY.

        Its index files are deleted under Dovecot's feet, so a connection that had the
        folder selected gets ``[SERVERBUG]`` on its next SELECT of it: use a new one."""
        old = self.uidvalidity(folder, user)
        directory = self.maildir(folder, user)
        for name in _INDEX_FILES:
            (directory / name).unlink(missing_ok=True)
        new = self.uidvalidity(folder, user)
        if new == old:
            raise RuntimeError(f"UIDVALIDITY of {folder} stayed {old}")
        return new

    def renumber_keeping_uidvalidity(self, folder: str, user: str = "support") -> None:
        """Make Dovecot number ``folder``'s messages from 1 again under the UIDVALIDITY it
        had, as a restore from a backup or a migration tool that kept UIDVALIDITY does
        (which RFC 3501 forbids): UIDs go back, and the old ones name other messages."""
        old = self.uidvalidity(folder, user)
        self.reset_uidvalidity(folder, user)
        directory = self.maildir(folder, user)
        for name in _INDEX_FILES[1:]:
            (directory / name).unlink(missing_ok=True)
        uidlist = directory / "dovecot-uidlist"
        uidlist.write_text(re.sub(r"^(\d+) V\d+", lambda m: f"{m[1]} V{old}", uidlist.read_text(), count=1))
        if self.uidvalidity(folder, user) != old:
            raise RuntimeError(f"UIDVALIDITY of {folder} did not go back to {old}")

    def maildir(self, folder: str, user: str = "support") -> Path:
        """The Maildir++ directory of ``folder`` (ASCII names; hierarchy separator ``.``)."""
        if self.mail_format != "maildir":
            raise ValueError(f"this Dovecot keeps its mail in {self.mail_format}, not in Maildirs")
        home = self.root / "home" / user / "Maildir"
        return home if folder.upper() == "INBOX" else home / f".{folder}"

    # -- setup ---------------------------------------------------------------------

    def _accounts(self) -> tuple[int, int, str]:
        """(mail uid, mail gid, internal user): ``nobody`` and ``dovecot`` under root."""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return nobody.pw_uid, nobody.pw_gid, "dovecot"
        return os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name

    def _write_config(self) -> None:
        root, internal_user = self.root, self._internal_user
        as_root = os.geteuid() == 0
        login_user = "dovenull" if as_root else internal_user
        internal_group = "dovecot" if as_root else grp.getgrgid(os.getgid()).gr_name
        chroot = "" if as_root else "\n  chroot ="
        tls = (
            f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n"
            if self.tls_port
            else "ssl = no\n"
        )
        imaps = f"inet_listener imaps {{\n    address = {self.host}\n    port = {self.tls_port or 0}\n  }}"
        (root / "run").mkdir()
        (root / "state").mkdir()
        (root / "dovecot.conf").write_text(
            f"""# Generated by tests/dovecot.py for one test session.
base_dir = {root}/run
state_dir = {root}/state
instance_name = triage-test-{self.port}
log_path = {self.log_path}
protocols = imap
listen = {self.host}
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
# No slowdown after the failed logins some tests make on purpose (with anvil's
# penalty socket closed, the auth process turns the per-IP penalty off).
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_uid = {self._mail_uid}
mail_gid = {self._mail_gid}
first_valid_uid = {min(self._mail_uid, 500)}
first_valid_gid = 0
mail_location = {self.mail_format}:~/{"Maildir" if self.mail_format == "maildir" else self.mail_format}
# The benchmarks' folders hold 100,000+ messages; a session re-reading such a Maildir's
# UID list needs more than the default 256 MB of address space (it failed there).
default_vsz_limit = 1G
# The personal namespace, as Dovecot makes it implicitly, plus a Sent folder marked
# SPECIAL-USE \\Sent (RFC 6154) whenever a test creates one (not created by itself).
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  {imaps}{chroot}
}}
service anvil {{{chroot}
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 200
  imap_id_log = *
}}
"""
        )

    def _write_users(self) -> None:
        for user in USERS:
            home = self.root / "home" / user
            (home / "Maildir").mkdir(parents=True)
            if user == "nokw":
                # ACL on INBOX without "w" (write flags other than \Seen and \Deleted).
                (home / "Maildir" / "dovecot-acl").write_text("owner lrsteikxa\n")
            for path in [home, *home.rglob("*")]:
                os.chown(path, self._mail_uid, self._mail_gid)
        self._write_passwd()

    def _write_passwd(self) -> None:
        lines = []
        for user, password in self._passwords.items():
            extra = "userdb_mail_plugins=acl userdb_acl=vfile" if user == "nokw" else ""
            lines.append(f"{user}:{{PLAIN}}{password}::::{self.root / 'home' / user}::{extra}")
        passwd = self.root / "passwd"
        passwd.touch(mode=0o600)
        passwd.write_text("\n".join(lines) + "\n")
        internal = pwd.getpwnam(self._internal_user)  # Dovecot's auth process reads it as this user
        os.chown(passwd, internal.pw_uid, internal.pw_gid)

    def _make_certificate(self) -> Path:
        """A self-signed certificate for 127.0.0.1; the certificate doubles as the CA file."""
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.root / "cert.pem"),
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        return self.root / "cert.pem"

    @staticmethod
    def _listening(port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        return False
