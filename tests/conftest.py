"""Shared fixtures. ``dovecot`` is a private Dovecot server for the whole session (see
tests/dovecot.py); ``mail_folder`` is a fresh, empty folder on it for one test, and
``sent_folder`` its ``Sent`` folder, empty. Tests
that use the server are marked ``imap``, so ``-m "not imap"`` leaves them out."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from dovecot import Dovecot, find_dovecot


@pytest.fixture(autouse=True)
def private_xdg_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own ~/.config/triage/config.toml, state and status must neither steer
    a test nor be written by one: every test gets its own XDG config and state homes."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A running Dovecot; skipped where it is not installed, but a failure in CI."""
    binary = find_dovecot()
    if binary is None:
        message = "Dovecot is not installed (apt-get install dovecot-imapd); the IMAP tests need it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = Dovecot(binary, tls=shutil.which("openssl") is not None)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mail_folder(dovecot: Dovecot) -> str:
    """The name of a new, empty folder of the ``support`` user."""
    folder = f"test-{uuid.uuid4().hex[:10]}"
    dovecot.create_folder(folder)
    return folder


@pytest.fixture
def sent_folder(dovecot: Dovecot) -> Iterator[str]:
    """The ``support`` user's ``Sent`` folder (SPECIAL-USE ``\\Sent``), empty; deleted after."""
    dovecot.recreate_folder("Sent")
    yield "Sent"
    dovecot.delete_folder("Sent")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "dovecot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.imap)
