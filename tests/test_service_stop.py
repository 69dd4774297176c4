"""Stopping promptly and cleanly (issue 11, finding 10), with real processes and signals.

``triage run`` honours SIGTERM within 10 s whatever it is doing — mid-batch, reading the
Sent folder, sweeping, retraining (abandoned: the old model stays) — and exits 0; a
server that stops answering mid-command cannot hold it past its stop deadline either.
Neither ``run`` nor a local ``triage once`` leaves a worker process behind, whether it
is stopped (SIGTERM, Ctrl-C to the process group) or killed (SIGKILL), and no worker
prints a traceback.

The services are subprocesses against the test Dovecot (tests/test_imap_service.py);
``triage once`` over local mail runs as a subprocess on a Maildir built from data/corpus.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dovecot import Dovecot
from helpers import ROOT, eml
from test_imap_service import (SUPPORT, Box, box, children_of, message, password_env, services,  # noqa: F401
                               wait_gone, write_config)

from triage.history import History
from triage.imap.labeler import keyword_for
from triage.registry import Registry

DEADLINE = 10.0
"""What the issue promises: stopped within 10 s of SIGTERM."""


def customer_mail(count: int, prefix: str = "c") -> list[bytes]:
    """``count`` small customer messages, each from its own customer (CRLF line ends)."""
    return [message(f"{prefix}{i}", sender=f"{prefix}{i}@customers.example")[1] for i in range(count)]


def team_replies(count: int) -> list[bytes]:
    """``count`` replies of the team to as many customers, as they sit in Sent."""
    return [eml(sender=SUPPORT, to=f"c{i}@customers.example", subject="Re: Where is my refund?",
                body="Your refund was sent today.", date="Mon, 23 Nov 2026 11:00:00 +0000",
                message_id=f"<reply{i}@example.com>").replace(b"\n", b"\r\n") for i in range(count)]


# -- triage run ------------------------------------------------------------------------


def test_sigterm_while_reading_sent_stops_at_once_and_keeps_what_was_read(
        box: Box, dovecot: Dovecot, sent_folder: str, services) -> None:
    dovecot.deliver(sent_folder, team_replies(3000))
    box.append(message("waiting")[1])
    service = services(box.config)
    service.wait_for_log(f"{sent_folder}: read the headers of")

    assert service.stop() == 0
    assert service.stop_seconds < DEADLINE
    assert "stopped on SIGTERM" in service.messages() and service.rows == []  # before the watched folder
    with History(box.state) as history:
        _, last_read = history.get_cursor(sent_folder)
    assert 0 < last_read < 3000  # what was read is kept; the rest is the next pass's


def test_sigterm_mid_batch_stops_the_analysis_workers(box: Box, dovecot: Dovecot, services) -> None:
    config = write_config(box.config, dovecot, box.folder, imap={"batch_size": 100}, triage={"workers": 2})
    dovecot.deliver(box.folder, customer_mail(2000))  # (five label groups of four batches)
    service = services(config)
    service.wait_until(lambda: service.rows, "the first batch")
    workers = service.children()
    assert len(workers) == 2

    assert service.stop() == 0
    assert service.stop_seconds < DEADLINE
    assert wait_gone(workers) == set()
    assert 0 < len(service.rows) < 2000 and len(service.rows) % 100 == 0  # whole batches


def test_sigkill_takes_the_workers_down_without_a_traceback(box: Box, dovecot: Dovecot, services) -> None:
    config = write_config(box.config, dovecot, box.folder, imap={"batch_size": 100}, triage={"workers": 2})
    dovecot.deliver(box.folder, customer_mail(800))
    service = services(config)
    service.wait_until(lambda: service.rows, "the first batch")
    workers = service.children()
    assert workers

    service.process.kill()
    service.process.wait(5)

    assert wait_gone(workers) == set()
    for reader in service._readers:  # the workers shared its stderr: it ends when they are gone
        reader.join(5)
    assert not service.garbage, "".join(service.garbage)


def test_sigterm_during_the_sweep_stops_within_the_deadline(box: Box, dovecot: Dovecot, services) -> None:
    config = write_config(box.config, dovecot, box.folder, imap={"batch_size": 250})
    dovecot.deliver(box.folder, customer_mail(500))
    service = services(config, "--now", "2026-12-20T12:00:00+00:00")  # every conversation long overdue
    service.wait_for_log("sweep: evaluating")

    assert service.stop() == 0
    assert service.stop_seconds < DEADLINE
    assert len(service.rows) == 500  # the batches were done before the sweep


def test_sigterm_during_retraining_abandons_it_and_keeps_the_old_model(box: Box, dovecot: Dovecot, services) -> None:
    config = write_config(box.config, dovecot, box.folder, model={"retrain_after_corrections": 1},
                          service={"idle_seconds": 300})
    uid = box.append(message("teach", subject="my plan", body="Please refund the last payment, thanks.")[1])
    service = services(config)
    service.wait_until(lambda: len(service.rows) == 1, "the message triaged")
    mark = service.wait_for_log("idling on")
    with dovecot.client() as client:  # a person relabels it: one correction, enough to retrain
        client.select_folder(box.folder)
        client.remove_flags([uid], [keyword_for("triage/refund")])
        client.add_flags([uid], [keyword_for("triage/cancellation")])
    service.wait_for_log("new corrections: retraining", after=mark)
    time.sleep(1.0)  # well into the training
    trainer = service.children()
    assert len(trainer) == 1

    assert service.stop() == 0
    assert service.stop_seconds < DEADLINE
    assert any("retraining abandoned on SIGTERM" in m for m in service.messages())
    assert wait_gone(trainer) == set()
    registry = Registry.for_state(box.state)
    assert registry.active_name() is None and registry.entries() == []  # the shipped model stays


def test_a_server_that_stops_answering_cannot_hold_the_stop_past_the_deadline(tmp_path: Path, dovecot: Dovecot,
                                                                              services, password_env: None) -> None:
    """A connection accepted and never greeted: the service sits in a read with a 60 s
    timeout. SIGTERM cannot be looked at there, so the stop deadline ends the process."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    connections: list[socket.socket] = []

    def accept() -> None:
        connections.append(listener.accept()[0])
        accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    config = write_config(tmp_path / "triage.toml", dovecot, "INBOX", port=listener.getsockname()[1],
                          imap={"timeout_seconds": 60.0})
    try:
        service = services(config)
        assert accepted.wait(30)
        time.sleep(0.5)

        assert service.stop() == 1
        assert 7.0 < service.stop_seconds < DEADLINE
        assert any("not stopped 8 s after SIGTERM" in m for m in service.messages())
    finally:
        for sock in [listener, *connections]:
            sock.close()


# -- triage once over local mail -------------------------------------------------------


MESSAGE_ID = re.compile(rb"(?im)^Message-ID:[ \t]*<([^>\r\n]*)>")


@pytest.fixture(scope="module")
def big_maildir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A Maildir of 1,200 corpus messages (three batches of ``triage once``), and its size."""
    root = tmp_path_factory.mktemp("maildir")
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir()
    by_id = {}  # a message filed under two categories is in the corpus twice
    for path in sorted((ROOT / "data" / "corpus").rglob("*.eml")):
        raw = path.read_bytes()
        by_id.setdefault(MESSAGE_ID.search(raw).group(1), raw)
    corpus = list(by_id.values())
    count = 1200
    for n in range(count):
        copy = n // len(corpus)
        raw = MESSAGE_ID.sub(lambda m: b"Message-ID: <c%d.%s>" % (copy, m.group(1)), corpus[n % len(corpus)], count=1)
        (root / "new" / f"{n:05d}.eml").write_bytes(raw)
    return root, count


def start_once(maildir: Path, tmp_path: Path) -> subprocess.Popen:
    """``triage once MAILDIR --format jsonl`` with two workers, in a session of its own."""
    config = tmp_path / "triage.toml"
    config.write_text(f'[state]\npath = "{tmp_path / "state.db"}"\n[triage]\nworkers = 2\n')
    return subprocess.Popen([sys.executable, "-m", "triage", "once", str(maildir), "--config", str(config),
                             "--format", "jsonl"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def rest_of_output(process: subprocess.Popen, timeout: float = 30) -> tuple[str, str]:
    """What the process prints until it ends. Through the same text streams the first row
    was read from: communicate() reads the raw pipe, and would miss what readline()
    had already buffered (a row cut in half, or lost)."""
    out = process.stdout.read()
    err = process.stderr.read()
    process.wait(timeout=timeout)
    return out, err


def first_row_and_workers(process: subprocess.Popen) -> tuple[str, set[int]]:
    """Wait for the first row (the workers are running by then); it and the workers' pids."""
    first = process.stdout.readline()
    assert first.startswith("{"), process.stderr.read()
    workers = children_of(process.pid)
    assert len(workers) == 2
    return first, workers


def test_sigterm_stops_a_local_once_its_workers_and_loses_nothing(big_maildir, tmp_path: Path) -> None:
    maildir, count = big_maildir
    process = start_once(maildir, tmp_path)
    first, workers = first_row_and_workers(process)

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = rest_of_output(process)

    assert time.monotonic() - started < DEADLINE
    assert process.returncode == 1 and "triage: stopped by SIGTERM" in err and "Traceback" not in err
    assert wait_gone(workers) == set()
    before = [json.loads(line)["message_id"] for line in (first + out).splitlines()]
    assert 0 < len(before) < count
    # What was printed was remembered (a stop waits until a batch is both printed and
    # committed): the next run prints exactly the rest.
    again = start_once(maildir, tmp_path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    after = [json.loads(line)["message_id"] for line in out.splitlines()]
    assert len(set(before) | set(after)) == count and not set(before) & set(after)


def test_ctrl_c_to_the_process_group_gives_one_line_and_no_worker_tracebacks(big_maildir, tmp_path: Path) -> None:
    maildir, _ = big_maildir
    process = start_once(maildir, tmp_path)
    _, workers = first_row_and_workers(process)

    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = process.communicate(timeout=30)

    assert process.returncode == 1 and "triage: interrupted" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert wait_gone(workers) == set()


def test_sigkill_of_a_local_once_leaves_no_worker_and_no_broken_pipe(big_maildir, tmp_path: Path) -> None:
    maildir, _ = big_maildir
    process = start_once(maildir, tmp_path)
    _, workers = first_row_and_workers(process)

    process.kill()
    _, err = process.communicate(timeout=30)  # until the workers, which share stderr, are gone too

    assert wait_gone(workers, timeout=2) == set()
    assert "Traceback" not in err and "BrokenPipe" not in err


# -- triage once over IMAP, its rows read slowly ---------------------------------------


F_SETPIPE_SZ = 1031
"""fcntl's command for a pipe's capacity (Linux; Python 3.11's fcntl does not name it)."""


def writing_to_a_full_pipe(pid: int) -> bool:
    """Whether the process's main thread waits in a write to a full pipe."""
    return Path(f"/proc/{pid}/wchan").read_text().endswith("pipe_write")


def read_until_closed(fd: int, timeout: float = 60.0) -> str:
    """Everything written to the pipe ``fd`` until its writers close it."""
    chunks, deadline = [], time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, "the pipe was not closed in time"
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)


@pytest.mark.parametrize("batch_size", [500, 10], ids=["one batch", "label groups"])
def test_sigterm_while_nobody_reads_the_rows_prints_none_of_them_twice(box: Box, dovecot: Dovecot,
                                                                       batch_size: int) -> None:
    """``triage once --format jsonl | slow-reader``, SIGTERM while stdout is full: the
    rows being written go out once the reader reads on, and the stop waits until they
    are committed, so the next run prints only the rest. The stop used to take effect
    right after the rows were written, before their commit: the next run decided and
    printed them again (with label groups, stored them and printed them again)."""
    write_config(box.config, dovecot, box.folder, imap={"batch_size": batch_size})
    dovecot.deliver(box.folder, customer_mail(40))
    read, write = os.pipe()
    fcntl.fcntl(write, F_SETPIPE_SZ, 4096)  # a page: a few rows fill it
    process = subprocess.Popen([sys.executable, "-m", "triage", "once", "--config", str(box.config),
                                "--format", "jsonl"], stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    try:
        deadline = time.monotonic() + 60
        while not writing_to_a_full_pipe(process.pid):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the rows never filled the pipe"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the stop is there before the reader reads on
        printed = read_until_closed(read)
    finally:
        os.close(read)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 1 and "triage: stopped by SIGTERM" in err, err
    first = [json.loads(line)["uid"] for line in printed.splitlines()]
    code, rest, _ = box.once()
    assert code == 0
    second = [row["uid"] for row in rest]
    assert not set(first) & set(second)
    assert sorted(first + second) == dovecot.uids(box.folder)
