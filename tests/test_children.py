"""Child processes triage forks (triage.children) and how one-shot commands take signals
(triage.signals): real forks and real signals, each bounded to a few seconds."""

from __future__ import annotations

import os
import signal
import time

import pytest
from test_imap_service import running, wait_gone

from triage.children import CHILD_NICENESS, run_in_child
from triage.errors import UsageError
from triage.signals import Terminated, signals_held, stopping_signals_raise


def add(a: int, b: int) -> int:
    return a + b


def refuse() -> None:
    raise UsageError("no held-out mail to compare the new model with")


def fill_the_disk() -> None:
    raise OSError(28, "No space left on device")


def report_pid_and_sleep(path: str) -> None:
    with open(path, "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(60)


def die() -> None:
    os._exit(3)


def test_a_child_hands_back_its_value_or_its_error() -> None:
    never = lambda: False  # noqa: E731
    assert run_in_child(add, 2, 3, abandon=never).value == 5
    refused = run_in_child(refuse, abandon=never)
    assert refused.expected and refused.error == "no held-out mail to compare the new model with"
    failed = run_in_child(fill_the_disk, abandon=never)
    assert not failed.expected and failed.error == "OSError: [Errno 28] No space left on device"
    died = run_in_child(die, abandon=never)
    assert died.error == "the child process died (exit status 3)"


def test_a_child_runs_at_a_lower_priority_than_its_parent() -> None:
    outcome = run_in_child(os.nice, 0, abandon=lambda: False)
    assert outcome.value == min(19, os.nice(0) + CHILD_NICENESS)


def test_an_abandoned_child_is_gone_at_once(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    asked = time.monotonic() + 1.0
    started = time.monotonic()

    outcome = run_in_child(report_pid_and_sleep, str(pid_file), abandon=lambda: time.monotonic() > asked)

    assert outcome.abandoned and time.monotonic() - started < 3
    assert not running(int(pid_file.read_text()))


def test_sigterm_waits_for_a_held_block_then_unwinds() -> None:
    done = []
    with pytest.raises(Terminated), stopping_signals_raise():
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler has run by now, and only noted the signal
            done.append("printed and committed")
        done.append("never")
    assert done == ["printed and committed"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_ctrl_c_outside_a_held_block_interrupts_at_once() -> None:
    with pytest.raises(KeyboardInterrupt) as caught, stopping_signals_raise():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    assert not isinstance(caught.value, Terminated)


def test_abandoning_the_analysis_workers_cannot_hang_on_a_stuck_pool(monkeypatch, caplog) -> None:
    """multiprocessing's Pool.terminate can wait forever (a worker it ended held the
    result queue's lock). Abandoning the workers gives it ABANDON_SECONDS, then kills the
    workers and returns: a stop is never held up by it."""
    import multiprocessing.pool
    import threading

    from triage import analysis

    analyzer = analysis.Analyzer(model=None, tone=None, processes=2)
    pool = analyzer._ensure_pool()
    workers = list(pool._pool)
    release = threading.Event()

    def stuck() -> None:
        release.wait()
        multiprocessing.pool.Pool.terminate(pool)

    monkeypatch.setattr(pool, "terminate", stuck)
    monkeypatch.setattr(analysis, "ABANDON_SECONDS", 0.5)
    started = time.monotonic()
    try:
        analyzer.close(abandon=True)
        assert time.monotonic() - started < 3
        assert wait_gone({worker.pid for worker in workers}, timeout=10) == set()  # gone, or zombies
        assert "did not stop within 0.5 s" in caplog.text
    finally:
        # Let the pool's own terminate run (in the background): left waiting, its exit
        # handler would run at the interpreter's exit, on the queue lock a killed worker
        # held, and hang the test run.
        release.set()



def test_abandoning_the_analysis_workers_stops_them_at_once() -> None:
    from triage import analysis

    analyzer = analysis.Analyzer(model=None, tone=None, processes=2)
    workers = list(analyzer._ensure_pool()._pool)
    started = time.monotonic()
    analyzer.close(abandon=True)
    assert time.monotonic() - started < 2
    assert all(worker.exitcode is not None for worker in workers)
