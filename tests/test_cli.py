"""The command line, in-process through main(argv) and once as a real subprocess."""

import email
import json
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main

ROOT = Path(__file__).parent.parent
INBOX = ROOT / "samples" / "inbox"
NOW = "2026-11-24T12:00:00+00:00"
TEAM = "help@larkspur.example"
CONTRACT = {"message_id", "uid", "mailbox", "from", "subject", "date", "thread_id", "categories", "scores",
            "frustration", "frustrated", "automated", "repeat_count", "waiting_hours", "priority", "reasons", "labels"}


def run_jsonl(capsys, *extra):
    code = main(["once", str(INBOX), "--format", "jsonl", "--now", NOW, "--support-address", TEAM, *extra])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def inbox_messages():
    return [p for sub in ("cur", "new") for p in (INBOX / sub).iterdir() if p.is_file()]


def test_once_jsonl_emits_the_contract_for_every_inbound_message(tmp_path, capsys):
    code, rows, err = run_jsonl(capsys, "--state", str(tmp_path / "s.db"))
    assert code == 0
    senders = [email.message_from_bytes(p.read_bytes()).get("From") for p in inbox_messages()]
    team = [s for s in senders if s and TEAM in s]
    broken = [s for s in senders if s is None]
    assert len(team) >= 5 and len(broken) == 1
    assert len(rows) == len(senders) - len(team)  # the unreadable one is a row too, never dropped
    [unreadable] = [row for row in rows if row["labels"] == ["triage/unreadable"]]
    assert unreadable["reasons"][0].startswith("unreadable: ") and unreadable["categories"] == ["other"]
    assert "1 message could not be read" in err
    for row in rows:
        assert CONTRACT <= set(row)
        assert row["from"] != TEAM
        assert row["categories"] and set(row["categories"]) <= {"refund", "cancellation", "fee_dispute", "follow_up", "other"}
        assert 1 <= row["priority"] <= 4 and 0 <= row["frustration"] <= 1 and row["repeat_count"] >= 1
        assert row["uid"] is None and row["mailbox"] == "inbox"
        assert row["frustrated"] == (row["frustration"] >= 0.5)
        assert not (row["automated"] and (row["frustrated"] or row["waiting_hours"] is not None))


def test_second_run_triages_nothing_twice(tmp_path, capsys):
    state = str(tmp_path / "s.db")
    _, first, _ = run_jsonl(capsys, "--state", state)
    code, second, _ = run_jsonl(capsys, "--state", state)
    assert first and code == 0 and second == []


def test_dry_run_remembers_nothing(tmp_path, capsys):
    state = str(tmp_path / "s.db")
    _, first, _ = run_jsonl(capsys, "--state", state, "--dry-run")
    _, second, _ = run_jsonl(capsys, "--state", state)
    assert len(first) == len(second) > 0


def queue_rows(out: str) -> list[list[str]]:
    """The rows of the queue table: lines that start with a priority digit."""
    return [line.split() for line in out.splitlines() if line[:2] in {"1 ", "2 ", "3 ", "4 "}]


def test_the_table_is_the_queue_of_conversations_most_urgent_first(tmp_path, capsys):
    state = str(tmp_path / "s.db")
    assert main(["once", str(INBOX), "--now", NOW, "--support-address", TEAM, "--state", state]) == 0
    out = capsys.readouterr().out
    rows = queue_rows(out)
    priorities = [row[0] for row in rows]
    assert priorities and priorities == sorted(priorities)
    # Marcus is one conversation of three messages, waiting since his first one (15 days).
    [marcus] = [row for row in rows if row[4] == "Marcus"]
    assert marcus[1:4] == ["15d", "15d", "3"]
    assert sum(p == "1" for p in priorities) <= 0.2 * len(rows)  # P1 is scarce
    assert f"{len(rows)} conversations waiting for the team" in out
    assert "already answered" in out and "automated" in out and "unreadable" in out
    # The report, on the same state, counts the same conversations with the same priorities.
    assert main(["report", "--format", "json", "--state", state, "--now", NOW]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(r["priority"] for r in report) == sorted(int(p) for p in priorities)
    # Answered conversations are not waiting, in any view (they were P1 "overdue by 4 days"):
    # of Helen and Daniel only the messages they sent after the team's answer wait.
    subjects = {r["customer_name"]: r["subject"] for r in report}
    assert subjects["Helen Fairbrother"] == "RE: Cancel Larkspur Plus"
    assert subjects["Daniel Okafor"].startswith("Re: Re: order 4471")


def test_jsonl_rows_agree_with_the_queue(tmp_path, capsys):
    _, rows, _ = run_jsonl(capsys, "--state", str(tmp_path / "s.db"))
    for row in rows:
        waiting_labels = {label for label in row["labels"] if label.split("/")[1].startswith(("priority-1", "priority-2",
                                                                                             "priority-3", "overdue"))}
        if row["waiting_hours"] is None:
            assert not waiting_labels  # answered or asking nothing: never overdue, no waiting labels
        if "answered by the team" in row["reasons"]:
            assert row["priority"] == 4 and row["waiting_hours"] is None
    by_thread = {}
    for row in rows:
        if row["waiting_hours"] is not None:
            by_thread.setdefault(row["thread_id"], set()).add((row["priority"], row["waiting_hours"]))
    assert all(len(values) == 1 for values in by_thread.values())  # one conversation, one standing
    with_priority_labels = [r for r in rows if any(label.startswith("triage/priority-") for label in r["labels"])
                            and r["waiting_hours"] is not None]
    assert len(with_priority_labels) == len(by_thread)  # only the latest message of each wait carries them


def test_report_lists_the_waiting_conversations(tmp_path, capsys):
    state = str(tmp_path / "s.db")
    _, rows, _ = run_jsonl(capsys, "--state", state)
    assert main(["report", "--format", "json", "--state", state, "--now", NOW]) == 0
    report = json.loads(capsys.readouterr().out)
    waiting_threads = {r["thread_id"] for r in rows if r["waiting_hours"] is not None}
    assert {r["thread_id"] for r in report} == waiting_threads
    keys = [(r["priority"], -r["waiting_hours"]) for r in report]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    for r in report:
        assert {"thread_id", "customer", "subject", "categories", "waiting_since", "waiting_hours", "repeat_count",
                "frustrated", "priority", "reasons", "last_message_id"} <= set(r)


@pytest.mark.parametrize("argv, words", [
    (["once", "/nonexistent/mail"], "no such file"),
    (["once", str(INBOX), "--now", "yesterday"], "ISO-8601"),
    (["once", str(INBOX), "--format", "xml"], "invalid choice"),
])
def test_bad_usage_exits_2(argv, words, capsys, tmp_path):
    assert main([*argv, "--state", str(tmp_path / "s.db")]) == 2
    assert words in capsys.readouterr().err


def test_bad_config_exits_2_and_names_file_and_key(tmp_path, capsys):
    config = tmp_path / "triage.toml"
    config.write_text("[imap]\nport = 'nine'\n")
    assert main(["once", str(INBOX), "--config", str(config)]) == 2
    assert f"{config}: [imap.port]" in capsys.readouterr().err


def test_python_dash_m_runs_as_a_subprocess(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "triage", "once", str(INBOX), "--format", "jsonl", "--now", NOW,
         "--support-address", TEAM, "--state", str(tmp_path / "s.db")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) > 20 and all(CONTRACT <= set(r) for r in rows)


def test_once_with_nothing_new_reads_no_model_and_loads_no_numpy(tmp_path):
    """A start is mostly the model and numpy; a run that finds no mail needs neither."""
    script = (
        "import sys\n"
        "from triage.cli import main\n"
        "args = ['once', sys.argv[1], '--state', sys.argv[2], '--format', 'jsonl']\n"
        "assert main(args) == 0\n"
        "print('numpy' in sys.modules)\n"
    )
    empty = tmp_path / "empty"
    for sub in ("cur", "new", "tmp"):
        (empty / sub).mkdir(parents=True)
    state = str(tmp_path / "s.db")
    runs = [subprocess.run([sys.executable, "-c", script, str(folder), state], capture_output=True, text=True,
                           timeout=120) for folder in (empty, INBOX)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    assert [r.stdout.splitlines()[-1] for r in runs] == ["False", "True"]
    assert len(runs[0].stdout.splitlines()) == 1 and len(runs[1].stdout.splitlines()) > 20


def test_config_is_found_where_users_look(tmp_path, monkeypatch, capsys):
    home = tmp_path / "xdg"
    (home / "triage").mkdir(parents=True)
    (home / "triage" / "config.toml").write_text('[imap]\nhost = "imap.xdg.example"\n')
    explicit = tmp_path / "env.toml"
    explicit.write_text('[imap]\nhost = "imap.env.example"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert 'host = "imap.xdg.example"' in out and f"# config file: {home / 'triage' / 'config.toml'}" in out
    assert f"# state file: {tmp_path / 'state' / 'triage' / 'state.db'}" in out
    monkeypatch.setenv("TRIAGE_CONFIG", str(explicit))
    assert main(["config", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["imap"]["host"] == "imap.env.example" and shown["in_use"]["config_file"] == str(explicit)
    assert main(["config", "--config", str(home / "triage" / "config.toml"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["imap"]["host"] == "imap.xdg.example"  # --config wins


def test_config_masks_what_looks_like_a_secret(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[imap]\npassword_command = "echo password=hunter22"\n')
    assert main(["config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "hunter22" not in out and "password_command" in out


def test_a_closed_pipe_ends_quietly_with_status_0(tmp_path):
    pipeline = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m triage once {INBOX} --format jsonl --now {NOW} --state {tmp_path / 's.db'}"
                       " | head -1; exit ${PIPESTATUS[0]}"], capture_output=True, text=True, timeout=120)
    assert pipeline.returncode == 0, pipeline.stderr
    assert len(pipeline.stdout.splitlines()) == 1 and "Traceback" not in pipeline.stderr


def test_with_json_logs_every_stderr_line_is_json(tmp_path, capsys):
    assert main(["once", str(INBOX), "--format", "jsonl", "--now", NOW, "--state", str(tmp_path / "s.db"),
                 "--log-format", "json", "-v"]) == 0
    err = capsys.readouterr().err
    assert err and all(json.loads(line)["level"] for line in err.splitlines())
    assert main(["once", "/nonexistent/mail", "--log-format", "json", "--state", str(tmp_path / "t.db")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["level"] == "error" and "no such file" in json.loads(line)["message"]


def test_local_once_takes_the_lock_of_its_state(tmp_path, capsys):
    """Run beside the service on the same state, it crashed it ('database is locked')."""
    from triage.lock import InstanceLock, lock_path_for

    state = tmp_path / "s.db"
    with InstanceLock(lock_path_for(state)):
        assert main(["once", str(INBOX), "--state", str(state)]) == 2
    assert "already working on this mailbox" in capsys.readouterr().err
    assert main(["once", str(INBOX), "--state", str(state), "--format", "jsonl", "--now", NOW]) == 0
    assert oct(state.stat().st_mode & 0o777) == "0o600"  # who wrote about what: the owner's only


def test_a_dry_run_creates_no_state_file_and_no_lock(tmp_path, capsys):
    state = tmp_path / "nested" / "s.db"
    assert main(["once", str(INBOX), "--state", str(state), "--dry-run", "--now", NOW]) == 0
    assert not (tmp_path / "nested").exists()


def test_escape_sequences_from_mail_never_reach_the_terminal(tmp_path, capsys):
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "1.eml").write_bytes(
        b"From: =?utf-8?q?Eve=1B]0;owned=07?= <eve@example.org>\nSubject: refund \x1b[2J\x1b[H now \xe2\x80\xae"
        b"gnp.exe\nDate: Mon, 23 Nov 2026 09:00:00 +0000\nMessage-ID: <e@x>\n\nrefund me please \x1b[31mnow\n")
    assert main(["once", str(evil), "--state", str(tmp_path / "s.db"), "--now", NOW, "--addresses"]) == 0
    out = capsys.readouterr().out
    assert "refund" in out and "Eve" in out
    assert not any(ch in out for ch in "\x1b\x07\u202e")


def test_jsonl_rows_escape_what_json_leaves_raw(tmp_path, capsys):
    # C1 controls (a NEL splits lines for some readers) and U+2028/9 (line breaks in
    # JavaScript) are escaped; the rest of the text stays readable UTF-8.
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "1.eml").write_bytes(
        "From: Zoë <zoe@example.org>\nSubject: refund\u0085now\u2028please\u2029 café\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0000\nMessage-ID: <z@x>\n\nrefund me please\n".encode())
    assert main(["once", str(odd), "--state", str(tmp_path / "s.db"), "--now", NOW, "--format", "jsonl"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and out.count("\n") == 1
    assert not any(ch in out for ch in "\u0085\u2028\u2029")
    assert "\\u0085" in out and "\\u2028" in out and "\\u2029" in out
    row = json.loads(out)
    assert row["subject"].startswith("refund\u0085now\u2028please") and "café" in row["subject"]
    assert row["from_name"] == "Zoë"


def test_a_state_file_that_is_no_database_is_one_error_line_naming_it_and_exits_2(tmp_path, capsys):
    # Running again unchanged cannot work: exit 2, which systemd does not restart on.
    state = tmp_path / "s.db"
    state.write_bytes(b"not sqlite\n" * 200)
    code, rows, err = run_jsonl(capsys, "--state", str(state))
    assert (code, rows) == (2, [])
    assert err.strip() == (f"triage: error: state file {state} is not a database triage can read (file is not a "
                           "database): move it aside, and triage starts a new one")


def test_a_state_path_that_is_a_directory_is_one_error_line_naming_it_and_exits_2(tmp_path, capsys):
    state = tmp_path / "s.db"
    state.mkdir()
    code, rows, err = run_jsonl(capsys, "--state", str(state))
    assert (code, rows) == (2, [])
    assert err.strip() == (f"triage: error: state file {state} is a directory: move it aside, or point --state "
                           "or [state] path at a file")


@pytest.mark.parametrize("command", ["status", "report", "run"])
@pytest.mark.parametrize("kind", ["garbage", "directory", "truncated"])
def test_every_command_reading_the_state_exits_2_on_one_it_cannot_use(tmp_path, capsys, command, kind):
    state = tmp_path / "s.db"
    if kind == "directory":
        state.mkdir()
    elif kind == "garbage":
        state.write_bytes(b"not sqlite\n" * 200)
    else:  # a copy cut short: the header says SQLite, the pages are gone
        assert main(["once", str(INBOX), "--state", str(state), "--now", NOW]) == 0
        capsys.readouterr()
        whole = state.read_bytes()
        state.write_bytes(whole[:len(whole) // 3])
    assert main([command, "--state", str(state), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"triage: error: state file {state} ") and "move it aside" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", ["once", "status", "report", "run"])
@pytest.mark.parametrize("version", ["99", "seven", "-3"])
def test_a_state_file_of_a_newer_triage_or_an_unreadable_version_exits_2_untouched(tmp_path, capsys, command,
                                                                                    version):
    """A state file a newer triage wrote (the package rolled back) was stamped back to
    this version and used as if it were one; a version that is no number was a
    ValueError traceback. Now one line, exit 2, and the file as it was."""
    import sqlite3

    state = tmp_path / "s.db"
    assert main(["once", str(INBOX), "--state", str(state), "--now", NOW]) == 0
    capsys.readouterr()
    with sqlite3.connect(state) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    db.close()
    argv = [command, "--state", str(state), "--now", NOW] + ([str(INBOX)] if command == "once" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"triage: error: state file {state} ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    if version == "99":
        assert "was written by a newer triage (schema 99; this one knows up to " in err
    else:
        assert f"records a schema version triage cannot read ('{version}')" in err
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == version
    db.close()


FIRST_STATES = {
    # triage's first state file (61e3d66): no version stamped, no awaits_reply, no answered_flag
    "first": """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE messages(message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, mailbox TEXT NOT NULL,
            uid INTEGER, direction TEXT NOT NULL, customer TEXT NOT NULL, subject TEXT NOT NULL, date TEXT NOT NULL,
            automated INTEGER NOT NULL DEFAULT 0, categories TEXT, frustration REAL, frustrated INTEGER,
            priority INTEGER, reasons TEXT, labels TEXT);
        CREATE INDEX messages_customer ON messages(customer, direction, date);
        CREATE TABLE refs(message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL);
        CREATE TABLE threads(thread_id TEXT PRIMARY KEY, customer TEXT NOT NULL, subject TEXT NOT NULL,
            subject_key TEXT NOT NULL);
        CREATE TABLE cursors(mailbox TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL);
        INSERT INTO messages VALUES ('<ann@x>', '<ann@x>', 'INBOX', 7, 'in', 'ann@example.net', 'Refund',
            '2026-11-20T10:00:00+00:00', 0, '["refund"]', 0.2, 0, 2, '[]', '["triage/refund"]');
        INSERT INTO messages VALUES ('<news@x>', '<news@x>', 'INBOX', 8, 'in', 'news@shop.example', 'Sale',
            '2026-11-20T11:00:00+00:00', 1, '[]', 0, 0, 4, '[]', '["triage/priority-4"]');
        INSERT INTO threads VALUES ('<ann@x>', 'ann@example.net', 'Refund', 'refund');
        INSERT INTO threads VALUES ('<news@x>', 'news@shop.example', 'Sale', 'sale');
        INSERT INTO cursors VALUES ('INBOX', 1, 8);
    """,
    # schema 3 as 6165045 wrote it: stamped 3, before kind, run, customer_name and the
    # conversations' dirty and due were added without raising the version
    "3, early": """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '3');
        CREATE TABLE messages(id INTEGER PRIMARY KEY, message_id TEXT NOT NULL, content_hash TEXT NOT NULL DEFAULT '',
            thread_id TEXT NOT NULL, mailbox TEXT NOT NULL, uid INTEGER, direction TEXT NOT NULL, customer TEXT NOT NULL,
            subject TEXT NOT NULL, date TEXT NOT NULL, automated INTEGER NOT NULL DEFAULT 0,
            awaits_reply INTEGER NOT NULL DEFAULT 1, categories TEXT, frustration REAL, frustrated INTEGER,
            priority INTEGER, reasons TEXT, labels TEXT, answered_flag INTEGER NOT NULL DEFAULT 0, unreadable TEXT);
        CREATE INDEX messages_out_customer ON messages(direction, customer, date);
        CREATE TABLE refs(message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL);
        CREATE TABLE threads(thread_id TEXT PRIMARY KEY, customer TEXT NOT NULL, subject TEXT NOT NULL,
            subject_key TEXT NOT NULL);
        CREATE TABLE cursors(mailbox TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL);
        CREATE TABLE modseqs(mailbox TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, modseq INTEGER NOT NULL);
        INSERT INTO messages(message_id, thread_id, mailbox, uid, direction, customer, subject, date, automated,
            awaits_reply, categories, frustration, frustrated, priority, reasons, labels) VALUES
            ('<ann@x>', '<ann@x>', 'INBOX', 7, 'in', 'ann@example.net', 'Refund', '2026-11-20T10:00:00+00:00', 0, 1,
             '["refund"]', 0.2, 0, 2, '[]', '["triage/refund"]'),
            ('<news@x>', '<news@x>', 'INBOX', 8, 'in', 'news@shop.example', 'Sale', '2026-11-20T11:00:00+00:00', 1, 0,
             '[]', 0, 0, 4, '[]', '["triage/priority-4"]');
        INSERT INTO threads VALUES ('<ann@x>', 'ann@example.net', 'Refund', 'refund');
        INSERT INTO threads VALUES ('<news@x>', 'news@shop.example', 'Sale', 'sale');
        INSERT INTO cursors VALUES ('INBOX', 1, 8);
    """,
}


@pytest.mark.parametrize("schema", sorted(FIRST_STATES))
def test_a_state_file_of_an_early_triage_is_brought_up_to_date(tmp_path, capsys, schema):
    """The first triage's state file (no awaits_reply) failed the migration to schema 3
    ("no such column: awaits_reply"), and a schema-3 file from before columns were added
    without raising the version failed every start ("no such column: dirty"): exit 1,
    which a service manager restarts for ever. Both are brought up to date, their
    conversations kept: the customer waits, the newsletter does not, the cursor stays."""
    import sqlite3

    from triage.history import History

    state = tmp_path / "old.db"
    with sqlite3.connect(state) as db:
        db.executescript(FIRST_STATES[schema])
    db.close()

    assert main(["report", "--state", str(state), "--now", NOW, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert [row["customer"] for row in json.loads(out)] == ["ann@example.net"], err
    assert main(["once", str(INBOX), "--state", str(state), "--now", NOW]) == 0, capsys.readouterr().err
    with History(state) as history:
        assert history.get_cursor("INBOX") == (1, 8)
        kinds = dict(history.db.execute("SELECT customer, kind FROM messages WHERE mailbox = 'INBOX'").fetchall())
    assert kinds == {"ann@example.net": "customer", "news@shop.example": "automated"}


def test_a_state_file_found_damaged_mid_run_exits_2_too(tmp_path, capsys, monkeypatch):
    import sqlite3

    from triage import history

    def damaged(*args, **kwargs):
        error = sqlite3.DatabaseError("database disk image is malformed")
        error.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
        raise error

    monkeypatch.setattr(history.History, "begin_run", damaged)
    state = tmp_path / "s.db"
    code, rows, err = run_jsonl(capsys, "--state", str(state))
    assert (code, rows) == (2, [])
    assert err.strip() == (f"triage: error: state file {state} is not a database triage can read (database disk "
                           "image is malformed): move it aside, and triage starts a new one")


def test_a_locked_state_file_stays_a_runtime_failure(tmp_path, capsys, monkeypatch):
    # "database is locked" (another process mid-write past the timeout) may pass: exit 1.
    import sqlite3

    from triage import history

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(history.History, "_migrate", locked)
    code, rows, err = run_jsonl(capsys, "--state", str(tmp_path / "s.db"))
    assert (code, rows) == (1, [])
    assert err.strip() == f"triage: error: state file {tmp_path / 's.db'}: database is locked"


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_now_outside_the_years_utc_can_hold_is_bad_usage(tmp_path, capsys, now):
    """An OverflowError traceback mid-run (exit 1), after the state file was made."""
    assert main(["once", str(INBOX), "--state", str(tmp_path / "s.db"), "--now", now]) == 2
    err = capsys.readouterr().err
    assert f"out of range in UTC: '{now}'" in err and "Traceback" not in err


def test_a_first_run_on_a_clock_in_the_future_does_not_stop_escalation_for_good(tmp_path, capsys):
    """The first run fixes when triage started watching: only waits that began since
    are raised to P1 by age (the backlog found is not). A first run whose clock was in
    the future (--now 2030, a clock set wrong) fixed that moment for ever: once the clock
    came back, no wait escalated until 2030. Watching starts no later than any run's now."""
    mail = tmp_path / "mail"
    mail.mkdir()

    def refund_request(tag: str, day: str) -> None:
        (mail / f"{tag}.eml").write_text(
            f"From: {tag}@example.net\nTo: help@shop.example\nSubject: refund for order {tag}\n"
            f"Date: {day} 09:00:00 +0000\nMessage-ID: <{tag}@example.net>\n\n"
            f"Hello, I would like a refund for order {tag} please. Thanks.\n")

    def once(now: str) -> list[dict]:
        main(["once", str(mail), "--state", str(tmp_path / "s.db"), "--now", now, "--format", "jsonl",
              "--support-address", "help@shop.example"])
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    refund_request("ann", "Tue, 10 Nov 2026")
    once("2030-01-01T00:00:00Z")
    refund_request("bob", "Tue, 1 Dec 2026")
    [bob] = once("2026-12-07T09:00:00Z")  # six days, five targets late: P1
    assert (bob["from"], bob["priority"]) == ("bob@example.net", 1), bob["reasons"]


def test_an_answered_customer_whose_clock_runs_hours_ahead_waits_no_more(tmp_path, capsys):
    """A customer's phone with its time zone set wrong dates mail seven hours ahead: it
    arrived at 10:00 and says 17:00, the team answered at 11:00, and the reply, "before"
    the message, answered nothing: the conversation waited on, overdue three days later.
    The message is dated by its arrival now, and the reply answers it."""
    import os
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    maildir = tmp_path / "md"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    arrival = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)

    def put(name: str, headers: str, date: datetime, arrived: datetime, body: str) -> None:
        path = maildir / "new" / name
        path.write_text(f"{headers}\nDate: {format_datetime(date)}\nContent-Type: text/plain\n\n{body}\n")
        os.utime(path, (arrived.timestamp(), arrived.timestamp()))

    put("1.eml", "From: Kim <kim@example.org>\nTo: help@larkspur.example\nSubject: Broken lamp\n"
        "Message-ID: <kim1@example.org>", arrival + timedelta(hours=7), arrival,
        "Please refund order 5512, the lamp arrived broken.")
    put("2.eml", f"From: Dana <{TEAM}>\nTo: kim@example.org\nSubject: Re: Broken lamp\n"
        "Message-ID: <re1@larkspur.example>\nIn-Reply-To: <kim1@example.org>", arrival + timedelta(hours=1),
        arrival + timedelta(hours=1), "Refunded today, sorry!")
    state = str(tmp_path / "s.db")

    assert main(["once", str(maildir), "--format", "jsonl", "--now", "2026-11-24T12:00:00Z", "--support-address",
                 TEAM, "--state", state]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["date"] == "2026-11-24T10:00:00+00:00" and row["waiting_hours"] is None and row["priority"] == 4
    assert main(["report", "--format", "json", "--now", "2026-11-27T12:00:00Z", "--state", state]) == 0
    assert json.loads(capsys.readouterr().out) == []
