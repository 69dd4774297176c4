"""Each message's writes run in a savepoint; its sub-journal stays in memory, so a batch
makes no write to a temporary file, while the sweep's scratch table stays on disk."""

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.helpers import eml, raw
from tests.test_engine import CALM, TEAM, KeywordModel
from triage.engine import Engine, Settings
from triage.history import History
from triage.message import RawMail
from triage.sla import Policy
from triage.sweep import record_sweep, sweep_changes

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
PROC_IO = Path("/proc/self/io")


def write_calls() -> int:
    """Write system calls this process has made (Linux)."""
    return next(int(line.split()[1]) for line in PROC_IO.read_text().splitlines() if line.startswith("syscw"))


def batch(start: int, count: int) -> list[RawMail]:
    """``count`` customers' first messages, each with a long subject and body, so the
    rows and index entries of one message span pages."""
    return [RawMail(raw(eml(sender=f"Customer {n} <customer{n}@example{n % 97}.org>", subject=f"Order {n} " + "x" * 300,
                            body=f"Where is my order {n}? " * 40, date="Thu, 19 Mar 2026 09:00:00 +0000",
                            message_id=f"<m{n}-{'y' * 200}@example.org>"), key=f"c{n}").raw, "INBOX", f"k{n}", uid=n)
            for n in range(start, start + count)]


def engine(history: History) -> Engine:
    return Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=NOW)


def temp_store(history: History) -> int:
    return history.db.execute("PRAGMA temp_store").fetchone()[0]


@pytest.mark.skipif(not PROC_IO.exists(), reason="counts write calls in /proc/self/io (Linux)")
def test_a_batch_writes_no_temporary_file_page_by_page(tmp_path):
    with History(tmp_path / "state.db") as history:
        triage = engine(history)
        triage.decide(batch(0, 1500))
        triage.commit()
        before = write_calls()
        decided = triage.decide(batch(1500, 500))  # one transaction, a savepoint a message
        during = write_calls() - before
        triage.commit()
    assert len(decided) == 500
    # With the sub-journal moved to a temporary file, every page a message changed was
    # two write calls: 24,000 here. In memory: the WAL's (~600).
    assert during < 2_000, f"{during} write calls while deciding 500 messages"


def test_the_sweep_scratch_is_on_disk_and_a_batch_after_it_journals_in_memory_again(tmp_path):
    with History(tmp_path / "state.db") as history:
        triage = engine(history)
        assert temp_store(history) == 2  # MEMORY
        triage.decide(batch(0, 30))
        changes = list(sweep_changes(history, NOW, Policy(), "triage/"))
        assert temp_store(history) == 0  # SQLite's default: the scratch table in a file
        record_sweep(history, changes)
        triage.commit()
        assert temp_store(history) == 2
        # a second sweep in the same process (the service's next pass) makes its own table
        triage.decide(batch(30, 5))
        again = list(sweep_changes(history, NOW, Policy(), "triage/"))
        record_sweep(history, again)
        # and a sweep right after another, before any commit (one transaction)
        list(sweep_changes(history, NOW, Policy(), "triage/"))
        triage.commit()
        assert temp_store(history) == 2
