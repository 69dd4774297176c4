"""The proving ground, part 1 (issue 11, finding 10): hostile mail through ``triage once``.

Seeded mutants of the sample inbox and a slice of the corpus (tests/fuzz.py) go through
``triage once`` over local mail — in-process through ``triage.cli.main`` and as a
subprocess — and over Dovecot (APPENDed, then ``once``). Whatever the mail, the run
exits 0 without a traceback, and every message is accounted for: a JSON Lines row each
(unreadable ones labelled ``triage/unreadable``, on the server too) and a row in the
state, none missing and none twice; over IMAP the labels on each message are the ones
the state says it carries, and none is marked ``\\Seen``.

The quick slice runs by default; the ``slow`` ones are ten times bigger.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fuzz import MUTATIONS, mutants, write_eml_folder
from helpers import ROOT
from test_imap_service import Box, box, password_env  # noqa: F401  (fixtures)

from triage.cli import main
from triage.history import History
from triage.imap.labeler import keyword_for

UNREADABLE = "triage/unreadable"
QUICK, BIG = 150, 1500
QUICK_IMAP, BIG_IMAP = 60, 400


def check_rows(rows: list[dict], expected: int) -> None:
    """One row per message; an unreadable one says why and carries the label, and the
    why is the mail's fault, never triage's ("triage failed on it" is a bug caught)."""
    assert len(rows) == expected
    for row in rows:
        unreadable = any(reason.startswith("unreadable") for reason in row["reasons"])
        assert unreadable == (UNREADABLE in row["labels"]), row
        assert not any("triage failed on it" in reason for reason in row["reasons"]), row["reasons"]
        assert row["priority"] in (1, 2, 3, 4) and row["categories"]


def check_state(state: Path, hashes: set[str]) -> None:
    """The state holds each message once, by content (local mail's identity)."""
    with History(state) as history:
        stored = Counter(row[0] for row in history.db.execute("SELECT content_hash FROM messages"))
    assert set(stored) == hashes and max(stored.values()) == 1


def local_fuzz(tmp_path: Path, seed: int, count: int) -> tuple[Path, set[str]]:
    mail = list(mutants(seed, count))
    assert {name for names, _ in mail for name in names.split("+")} == set(MUTATIONS)
    folder = tmp_path / "fuzz"
    write_eml_folder(folder, mail)
    return folder, {hashlib.sha256(raw).hexdigest() for _, raw in mail}


def run_in_process(folder: Path, state: Path, capsys) -> tuple[int, list[dict], str]:
    capsys.readouterr()
    code = main(["once", str(folder), "--format", "jsonl", "--state", str(state)])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


@pytest.mark.parametrize("seed, count", [(11, QUICK), pytest.param(12, BIG, marks=pytest.mark.slow)])
def test_local_fuzz_in_process_every_message_is_a_row(tmp_path: Path, capsys, seed: int, count: int) -> None:
    folder, hashes = local_fuzz(tmp_path, seed, count)

    code, rows, err = run_in_process(folder, tmp_path / "state.db", capsys)

    assert code == 0 and "Traceback" not in err
    check_rows(rows, len(hashes))
    check_state(tmp_path / "state.db", hashes)
    assert run_in_process(folder, tmp_path / "state.db", capsys)[1] == []  # nothing twice


@pytest.mark.parametrize("seed, count", [(21, QUICK), pytest.param(22, BIG, marks=pytest.mark.slow)])
def test_local_fuzz_as_a_subprocess_every_message_is_a_row(tmp_path: Path, seed: int, count: int) -> None:
    folder, hashes = local_fuzz(tmp_path, seed, count)

    done = subprocess.run([sys.executable, "-m", "triage", "once", str(folder), "--format", "jsonl",
                           "--state", str(tmp_path / "state.db")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)

    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    check_rows([json.loads(line) for line in done.stdout.splitlines()], len(hashes))
    check_state(tmp_path / "state.db", hashes)


@pytest.mark.parametrize("seed, count", [(31, QUICK_IMAP), pytest.param(32, BIG_IMAP, marks=pytest.mark.slow)])
def test_imap_fuzz_every_appended_message_is_a_row_and_labelled(box: Box, seed: int, count: int) -> None:
    appended: dict[int, bytes] = {}
    refused = []
    with box.dovecot.client() as client:
        for names, raw in mutants(seed, count):
            try:
                answer = client.append(box.folder, raw)
            except Exception as exc:  # the server may refuse some (NUL bytes, no header at all)
                refused.append((names, str(exc)))
                continue
            appended[int(re.search(rb"APPENDUID \d+ (\d+)", answer).group(1))] = raw
    assert len(appended) >= count * 0.7, refused

    code, rows, err = box.once()

    assert code == 0 and "Traceback" not in err
    check_rows(rows, len(appended))
    assert sorted(row["uid"] for row in rows) == sorted(appended)
    with History(box.state) as history:
        stored = history.db.execute("SELECT uid, labels FROM messages WHERE mailbox = ?", (box.folder,)).fetchall()
    per_uid = Counter(uid for uid, _ in stored)
    assert set(per_uid) == set(appended) and max(per_uid.values()) == 1
    with box.dovecot.client() as client:
        client.select_folder(box.folder, readonly=True)
        flags = {uid: {f.decode().lower() for f in data[b"FLAGS"]} for uid, data in
                 client.fetch(sorted(appended), ["FLAGS"]).items()}
    for uid, labels in stored:  # the labels the state says a message carries (the sweep may have moved some)
        assert {flag for flag in flags[uid] if flag.startswith("triage_")} == \
            {keyword_for(label) for label in json.loads(labels)}, uid
        assert "\\seen" not in flags[uid]
    for row in rows:
        if UNREADABLE in row["labels"]:
            assert keyword_for(UNREADABLE) in flags[row["uid"]]
    assert box.once()[1] == []  # nothing twice
