"""An operable service: the status file, the verdict of `triage status`, the log line per
pass and the heartbeat while idle. (Over IMAP end to end: tests/test_imap_service.py.)"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import ROOT

from triage.cli import main
from triage.config import Config, ServiceConfig
from triage.errors import UsageError
from triage.history import History
from triage.imap.connection import ImapConnectionError
from triage.imap.service import SWEEP_MAX_DEFERRAL_SECONDS, Service
from triage.imap.sync import CORRECTIONS, HOUSEKEEPING, SWEEP
from triage.status import PassReport, StatusFile, assess, read_status, status_path_for

NOW = datetime(2026, 12, 5, 14, 0, tzinfo=timezone.utc)


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def service_status(**fields) -> dict:
    base = {"mode": "service", "pid": 812, "state": "watching", "heartbeat_at": at(1), "last_success_at": at(3),
            "failing_since": None, "errors_in_a_row": 0, "last_error": None}
    return {**base, **fields}


# -- the verdict ----------------------------------------------------------------------


def test_a_service_that_beats_and_passes_is_healthy() -> None:
    assert assess(service_status(), NOW).healthy


def test_no_status_file_is_unhealthy_and_says_triage_never_ran() -> None:
    health = assess(None, NOW)
    assert not health.healthy and "has not run" in health.problems[0]


def test_a_silent_service_is_unhealthy_after_max_age() -> None:
    assert assess(service_status(heartbeat_at=at(14)), NOW).healthy
    health = assess(service_status(heartbeat_at=at(16)), NOW)
    assert not health.healthy and "no heartbeat for 16 min" in health.problems[0]
    assert assess(service_status(heartbeat_at=at(16)), NOW, max_age=3600).healthy


def test_a_short_outage_is_ridden_out_a_long_one_is_a_problem() -> None:
    error = {"at": at(1), "message": "cannot connect to imap.example.com:993: Connection refused"}
    blip = service_status(state="reconnecting", failing_since=at(2), errors_in_a_row=3, last_error=error)
    assert assess(blip, NOW).healthy
    long = service_status(state="reconnecting", failing_since=at(40), errors_in_a_row=9, last_error=error)
    health = assess(long, NOW)
    assert not health.healthy
    assert health.problems == ["failing for 40 min (9 attempts): cannot connect to imap.example.com:993: "
                               "Connection refused"]


def test_a_stopped_service_is_unhealthy_and_says_why() -> None:
    stopped = service_status(state="stopped", heartbeat_at=at(2),
                             stopped={"at": at(2), "reason": "refused logins", "exit_status": 2})
    health = assess(stopped, NOW)
    assert not health.healthy and health.problems == ["the service stopped 2 min ago (refused logins, exit status 2)"]


def test_a_heartbeat_from_a_clock_that_was_ahead_is_no_sign_of_life() -> None:
    """A heartbeat written while the clock was a year ahead was younger than any limit
    (a negative age): a service that died then was healthy for a year. Dated later than
    ``max_age`` from now, it says nothing of now, and a check says so."""
    ahead = service_status(heartbeat_at=(NOW + timedelta(days=365)).isoformat())
    health = assess(ahead, NOW)
    assert not health.healthy
    assert health.problems == ["the heartbeat is dated 365.0 days ahead of this check's clock: "
                               "a clock was wrong; it says nothing of now"]
    assert assess(service_status(heartbeat_at=(NOW + timedelta(minutes=5)).isoformat()), NOW).healthy  # clock skew
    good = {"mode": "once", "state": "done", "heartbeat_at": at(-600), "last_success_at": at(-600),
            "failing_since": None}
    assert not assess(good, NOW, max_age=1800).healthy


def test_once_is_judged_by_its_last_good_pass_and_its_last_run() -> None:
    good = {"mode": "once", "state": "done", "heartbeat_at": at(50), "last_success_at": at(50), "failing_since": None}
    assert assess(good, NOW).healthy  # a daily cron job by default
    assert not assess(good, NOW, max_age=1800).healthy  # an every-30-minutes job that missed a run
    failed = {**good, "state": "failed", "failing_since": at(5), "last_error": {"at": at(5), "message": "boom"}}
    assert assess(failed, NOW).problems == ["the last run failed: boom"]


# -- the status file --------------------------------------------------------------------


def test_the_status_file_is_private_complete_json_and_masks_secrets(tmp_path: Path) -> None:
    path = status_path_for(tmp_path / "state.db")
    assert path.name == "state.db.status.json"
    status = StatusFile(path, "service", model="shipped")
    status.failed(ImapConnectionError("AUTHENTICATE XOAUTH2 dXNlcj1hQGIuY29tAWF1dGg9QmVhcmVyIHNlY3JldA== failed"))
    written = read_status(path)
    assert written["state"] == "reconnecting" and written["errors_in_a_row"] == 1 and written["failing_since"]
    assert "dXNlcj1h" not in path.read_text() and "***" in written["last_error"]["message"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind

    status.passed(PassReport(finished_at=NOW.isoformat(), triaged=3, waiting=2, p1=1))
    written = read_status(path)
    assert written["state"] == "watching" and written["failing_since"] is None and written["errors_in_a_row"] == 0
    assert written["last_pass"]["triaged"] == 3 and written["last_error"]["message"]  # the last error stays, recovered


def test_a_restart_keeps_the_last_pass(tmp_path: Path) -> None:
    path = status_path_for(tmp_path / "state.db")
    StatusFile(path, "service").passed(PassReport(finished_at=NOW.isoformat(), triaged=7))
    again = StatusFile(path, "service")
    assert read_status(path)["last_pass"]["triaged"] == 7 and again.data["state"] == "starting"


def test_a_dry_run_service_writes_no_status_file(tmp_path: Path) -> None:
    service, clock, history = a_service(tmp_path, dry_run=True)
    with history:
        service._passed(PassReport(finished_at=NOW.isoformat(), triaged=1))
        service.request_stop("SIGTERM")
        service._back_off(ImapConnectionError("connection lost"))
    assert not status_path_for(tmp_path / "state.db").exists()


def test_an_unwritable_status_file_is_warned_about_once_and_never_stops_triage(tmp_path: Path, caplog) -> None:
    status = StatusFile(tmp_path / "removed" / "state.db.status.json", "service")  # its folder is gone
    status.failed("first")
    status.write(state="watching")
    assert caplog.text.count("cannot write the status file") == 1


def test_the_pass_line_says_what_was_done_and_where_the_time_went() -> None:
    report = PassReport(triaged=12, unreadable=1, team_replies=3, relabelled=2, corrections=1, waiting=40, p1=3,
                        seconds=1.43, phases={"sent": 0.1, "mail": 1.2, "sweep": 0.1, "corrections": 0.01})
    assert report.line("INBOX") == ("pass: 12 triaged in INBOX (1 unreadable); 3 team replies; 2 relabelled by the "
                                    "sweep; 1 correction recorded; 40 waiting (3 P1); 1.4 s (sent 0.1, mail 1.2, "
                                    "sweep 0.1)")
    assert report.busy and not PassReport(waiting=40).busy


# -- the service's log and status, with a fake clock -------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def a_service(tmp_path: Path, dry_run: bool = False, **service) -> tuple[Service, FakeClock, History]:
    clock = FakeClock()
    args = argparse.Namespace(format=None, dry_run=dry_run, config=None, state=str(tmp_path / "state.db"),
                              log_format=None, verbose=0)
    config = Config(service=ServiceConfig(**service))
    history = History(tmp_path / "state.db")
    return Service(args, config, history, clock=lambda: clock.now, sleep=clock.sleep), clock, history


def test_a_quiet_service_logs_alive_hourly_and_beats_in_the_status_file(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="triage")
    service, clock, history = a_service(tmp_path, heartbeat_seconds=3600)
    with history:
        service._passed(PassReport(finished_at=NOW.isoformat(), waiting=4, p1=1))  # an idle renewal's empty pass
        assert "pass:" not in caplog.text  # DEBUG only: nothing happened
        service._pause(3599)
        assert "alive" not in caplog.text
        service._pause(2)
        assert caplog.text.count("alive: watching; last pass") == 1 and "4 waiting (1 P1)" in caplog.text
        service._pause(3000)
        assert caplog.text.count("alive:") == 1  # once an hour, not on every wake-up

        service._passed(PassReport(finished_at=NOW.isoformat(), triaged=2, waiting=5, p1=1))
        assert "pass: 2 triaged in INBOX" in caplog.text
        service._pause(3599)
        assert caplog.text.count("alive:") == 1  # the pass line reset the silence
    written = read_status(status_path_for(tmp_path / "state.db"))
    assert written["mode"] == "service" and written["last_pass"]["triaged"] == 2


def test_the_heartbeat_is_written_again_after_the_clock_went_back(tmp_path: Path, monkeypatch) -> None:
    """The heartbeat was written again once a minute had passed since the last write, by
    the wall clock: written while the clock was a year ahead, it was not written again for
    a year once the clock was set right."""
    clock = [NOW + timedelta(days=365)]
    monkeypatch.setattr("triage.status.utc_now", lambda: clock[0])
    status = StatusFile(tmp_path / "s.json", "service")
    clock[0] = NOW
    status.beat()
    assert read_status(tmp_path / "s.json")["heartbeat_at"] == NOW.isoformat()


def test_the_sweep_waits_while_mail_keeps_arriving_but_not_for_long(tmp_path: Path) -> None:
    service, clock, history = a_service(tmp_path)
    with history:
        assert service._housekeeping() == HOUSEKEEPING  # a quiet mailbox sweeps on every pass
        service.mail_arriving, service.last_sweep = True, clock.now
        assert service._housekeeping() == set()  # mail came in during the pass: the next one triages it first
        clock.sleep(SWEEP_MAX_DEFERRAL_SECONDS - 1)
        assert service._housekeeping() == set()
        clock.sleep(1)
        assert service._housekeeping() == {SWEEP}  # put off for a minute at most
        service._housekept(frozenset({SWEEP}))
        assert service._housekeeping() == {CORRECTIONS}  # then the corrections, in a pass of their own
        service._housekept(frozenset({CORRECTIONS}))
        assert service._housekeeping() == set()
        service.mail_arriving = False
        assert service._housekeeping() == HOUSEKEEPING
        service._housekept(HOUSEKEEPING)
        assert not service.corrections_owed
    line = PassReport(triaged=12, waiting=40, p1=6, swept=False, seconds=0.4).line("INBOX")
    assert "sweep deferred" in line and "relabelled" not in line


def test_the_service_records_failures_and_its_stop_in_the_status_file(tmp_path: Path) -> None:
    service, clock, history = a_service(tmp_path)
    path = status_path_for(tmp_path / "state.db")
    with history:
        service.request_stop("SIGTERM")  # the back-off returns at once
        service._back_off(ImapConnectionError("cannot connect to imap.example.com:993: Connection refused"))
        written = read_status(path)
        assert written["state"] == "reconnecting" and written["errors_in_a_row"] == 1
        assert "Connection refused" in written["last_error"]["message"]
        assert service.run() == 0
    written = read_status(path)
    assert written["state"] == "stopped" and written["stopped"]["reason"] == "SIGTERM"


def test_a_service_ended_by_a_configuration_error_says_so_in_the_status_file(tmp_path: Path) -> None:
    """A configuration error found on connecting (no host; a server that takes no login
    without TLS; an empty password variable) ends the service with exit status 2, which
    systemd does not restart; the status file said "an unexpected error", exit status 1,
    and `triage status` repeated it."""
    service, clock, history = a_service(tmp_path)
    with history, pytest.raises(UsageError):
        service.run()
    stopped = read_status(status_path_for(tmp_path / "state.db"))["stopped"]
    assert (stopped["reason"], stopped["exit_status"]) == ("imap.host is not set", 2)


# -- triage status ------------------------------------------------------------------------


def test_status_without_a_run_exits_1_and_says_so(tmp_path: Path, capsys) -> None:
    assert main(["status", "--state", str(tmp_path / "state.db")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("UNHEALTHY: no status recorded") and not (tmp_path / "state.db").exists()


def test_status_reports_the_queue_of_the_state_and_exits_0_when_alive(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.db"
    now = "2026-11-24T12:00:00+00:00"
    assert main(["once", str(ROOT / "samples" / "inbox"), "--state", str(state), "--now", now,
                 "--support-address", "help@larkspur.example"]) == 0
    StatusFile(status_path_for(state), "service", model="shipped").passed(
        PassReport(finished_at=datetime.now(timezone.utc).isoformat(), triaged=14))
    capsys.readouterr()

    assert main(["status", "--state", str(state), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["healthy"] and document["problems"] == []
    queue = document["queue"]
    assert queue["waiting"] == sum(queue["priorities"].values()) > 0 and queue["priorities"]["1"] >= 1

    assert main(["status", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    assert "healthy" in text.splitlines()[0] and f"{queue['waiting']} waiting" in text

    assert main(["status", "--state", str(state), "--max-age", "-1"]) == 1
    assert "UNHEALTHY" in capsys.readouterr().out


def write_status(tmp_path: Path, **fields) -> Path:
    state = tmp_path / "state.db"
    last_pass = {"finished_at": at(3), "seconds": 1.5, "triaged": 4, "team_replies": 1, "relabelled": 0}
    document = service_status(**{"started_at": at(60), "last_pass": last_pass, "version": "1.0", **fields})
    status_path_for(state).write_text(json.dumps({key: value for key, value in document.items()
                                                  if value != "drop"}))
    return state


@pytest.mark.parametrize("fields, unreadable", [
    ({"heartbeat_at": "garbage"}, "heartbeat_at is not a time ('garbage')"),
    ({"heartbeat_at": 1733407200}, "heartbeat_at is not a time (1733407200)"),
    ({"last_success_at": ["2026-12-05"]}, "last_success_at is not a time (['2026-12-05'])"),
    ({"failing_since": "0001-01-01T00:00:00+14:00"}, "failing_since is not a time"),
    ({"started_at": {"at": 1}}, "started_at is not a time"),
    ({"last_error": "it broke"}, "last_error is not an object"),
    ({"last_error": {"at": "yesterday", "message": "timeout"}}, "last_error.at is not a time ('yesterday')"),
    ({"stopped": 3, "state": "stopped"}, "stopped is not an object"),
    ({"last_pass": {"finished_at": 5, "seconds": "long", "triaged": None}}, "last_pass.finished_at is not a time"),
    ({"last_pass": [1, 2]}, "last_pass is not an object"),
    ({"progress": {"done": 3}, "state": "passing"}, None),
    ({"progress": "half", "state": "passing"}, "progress is not an object"),
    ({"mode": ["service"]}, "mode is not service or once (['service'])"),
    ({"mode": {}}, "mode is not service or once ({})"),
])
@pytest.mark.parametrize("output", ["text", "json"])
def test_status_on_a_hand_edited_status_file_shows_what_it_can_and_says_what_it_could_not_read(
        tmp_path: Path, capsys, fields: dict, unreadable: str | None, output: str) -> None:
    state = write_status(tmp_path, **fields)
    code = main(["status", "--state", str(state), "--now", NOW.isoformat(), "--format", output])
    out = capsys.readouterr().out
    assert "Traceback" not in out
    if output == "json":
        document = json.loads(out)
        problems = document["problems"]
        assert document["status"]["pid"] == 812
    else:
        problems = [line.removeprefix("  problem:    ") for line in out.splitlines() if "problem:" in line]
        assert out.startswith("triage service (pid 812, triage 1.0)")
    if unreadable:
        assert code == 1
        assert f"the status file could not be read in full: {unreadable}" in " ".join(problems)
    assert not any("for 0 s" in problem for problem in problems)


def test_status_takes_a_hand_written_time_without_an_offset_as_utc(tmp_path: Path, capsys) -> None:
    naive = (NOW - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    state = write_status(tmp_path, heartbeat_at=naive, last_success_at=naive)
    assert main(["status", "--state", str(state), "--now", NOW.isoformat()]) == 0
    out = capsys.readouterr().out
    assert ": healthy" in out.splitlines()[0] and "last heard 2026-12-05 13:59 UTC (60 s ago)" in out


def test_a_long_pass_without_a_terminal_logs_its_progress_every_minute_and_beats(tmp_path: Path, caplog) -> None:
    from triage.config import ImapConfig
    from triage.imap.service import PassProgress

    caplog.set_level(logging.INFO, logger="triage")
    clock = FakeClock()
    status = StatusFile(tmp_path / "state.db.status.json", "service")
    progress = PassProgress(Config(imap=ImapConfig(batch_size=500)), status, clock=lambda: clock.now)
    progress.start("INBOX", 5000)
    for _ in range(4):
        clock.sleep(20)
        progress.advance(500)
    assert caplog.text.count("INBOX: 1500 of 5000 triaged (25/s, about 2 min left)") == 1  # after 60 s, once
    assert read_status(tmp_path / "state.db.status.json")["progress"] == {"folder": "INBOX", "done": 0, "total": 5000}
    progress.finish()

    short = PassProgress(Config(imap=ImapConfig(batch_size=500)), None, clock=lambda: clock.now)
    short.start("INBOX", 400)  # one batch: nothing to report
    clock.sleep(120)
    short.advance(400)
    assert caplog.text.count("triaged (") == 1
