"""Standard output as the world hands it to triage: closed, not UTF-8, failing. Real
subprocesses, as the descriptors and the locale are the process's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
INBOX = ROOT / "samples" / "inbox"
NOW = "2026-11-24T12:00:00+00:00"


def triage(*args: str, env: dict | None = None, stdout=subprocess.PIPE, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "triage", *args], stdout=stdout, stderr=subprocess.PIPE,
                          timeout=120, cwd=ROOT, env={**os.environ, **(env or {})}, **kwargs)


def non_ascii_inbox(tmp_path: Path) -> Path:
    """A folder of one .eml whose sender's name and subject are beyond ASCII."""
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes("From: Zoë Ångström <zoe@example.net>\nTo: help@example.com\n"
                                   "Subject: Réfund — still waiting…\nDate: Mon, 23 Nov 2026 09:30:00 +0000\n"
                                   "Message-ID: <z1@example.net>\n\nWhere is my refund?\n".encode())
    return folder


ASCII = {"PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"}
"""An environment whose standard output is ASCII (as a Latin-1 or C locale without UTF-8 mode)."""


def test_jsonl_rows_are_utf8_json_whatever_the_locale(tmp_path: Path) -> None:
    """Under an ASCII stdout the first "é" was a UnicodeEncodeError traceback (exit 1)."""
    done = triage("once", str(non_ascii_inbox(tmp_path)), "--format", "jsonl", "--now", NOW, "--state",
                  str(tmp_path / "s.db"), env=ASCII)
    assert done.returncode == 0, done.stderr.decode()
    [row] = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert row["from_name"] == "Zoë Ångström" and row["subject"] == "Réfund — still waiting…"
    report = triage("report", "--format", "json", "--now", NOW, "--state", str(tmp_path / "s.db"), env=ASCII)
    assert report.returncode == 0, report.stderr.decode()
    assert json.loads(report.stdout.decode("utf-8"))[0]["customer_name"] == "Zoë Ångström"


@pytest.mark.parametrize("command", [("once", "{mail}"), ("report",), ("status",)])
def test_text_for_people_under_an_ascii_locale_is_printed_not_a_traceback(tmp_path: Path, command) -> None:
    mail = non_ascii_inbox(tmp_path)
    state = str(tmp_path / "s.db")
    assert triage("once", str(mail), "--now", NOW, "--state", state, "--dry-run").returncode == 0
    if command[0] != "once":
        assert triage("once", str(mail), "--now", NOW, "--state", state).returncode == 0
    done = triage(*[part.format(mail=mail) for part in command], "--now", NOW, "--state", state, env=ASCII)
    assert b"Traceback" not in done.stderr and done.returncode in (0, 1), done.stderr.decode()
    assert done.stdout.isascii() and done.stdout.strip()
    assert b"Zo?" in done.stdout or command[0] == "status"


def test_a_closed_stdout_is_one_error_line_and_nothing_done(tmp_path: Path) -> None:
    """`triage once >&-`: an AttributeError traceback after the first batch was decided."""
    state = tmp_path / "s.db"
    done = triage("once", str(INBOX), "--format", "jsonl", "--now", NOW, "--state", str(state), stdout=None,
                  preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "triage: error: standard output is closed: give it somewhere to go (> FILE, or > /dev/null to discard "
        "what triage prints)"]
    assert not state.exists()
    again = triage("once", str(INBOX), "--format", "jsonl", "--now", NOW, "--state", str(state))
    assert again.returncode == 0 and len(again.stdout.splitlines()) > 20


def test_a_report_to_a_file_needs_no_stdout(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = triage("report", "--format", "json", "--out", str(out), "--state", str(tmp_path / "s.db"),
                  stdout=None, preexec_fn=lambda: os.close(1))
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(out.read_text()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_on_a_full_disk_is_one_error_line_and_the_rows_come_next_run(tmp_path: Path) -> None:
    """`> /dev/full`: an OSError traceback. Now one line, exit 1, and the rows not
    printed are printed by the next run."""
    state = str(tmp_path / "s.db")
    with open("/dev/full", "w") as full:
        done = triage("once", str(INBOX), "--format", "jsonl", "--now", NOW, "--state", state, stdout=full)
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines()[-1] == \
        "triage: error: cannot write to standard output: No space left on device"
    again = triage("once", str(INBOX), "--format", "jsonl", "--now", NOW, "--state", state)
    assert again.returncode == 0 and len(again.stdout.splitlines()) > 20
