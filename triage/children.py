"""Child processes that never outlive their parent and never speak out of turn.

Triage forks children for two jobs: the analysis workers (:mod:`triage.analysis`) and the
service's retraining (:func:`run_in_child`). Every child calls :func:`quiet_child` first:

- it dies with its parent (Linux ``PR_SET_PDEATHSIG``): a ``triage run`` killed with
  SIGKILL, or by the OOM killer, leaves no orphan behind to hold the instance lock or to
  print a BrokenPipe traceback when it finds nobody listening;
- Ctrl-C and a terminal's hangup reach the whole process group; the parent decides
  what they mean (finish the batch, stop), so children ignore SIGINT and SIGHUP;
- SIGTERM ends a child at once and quietly, the way the parent stops one it abandons.
  (A fork inherits the parent's Python handlers, which would only set the stop flag of
  the parent's copy in the child.)
- it runs at a lower CPU priority than its parent (:data:`CHILD_NICENESS`): the parent
  is the one process a pass waits on — it talks to the server and the state, one thing
  after another — while the children's work is queued ahead and can fill whatever CPU is
  left. On two cores a first run over 100,000 messages took 4–5 % less wall time this
  way (docs/performance.md, row 49); a retraining child takes less from new mail.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from triage.errors import TriageError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1

CHILD_NICENESS = 5
"""How much lower a child's CPU priority is than its parent's (``nice``)."""


def quiet_child(parent: int) -> None:
    """Set up a freshly forked child of ``parent`` (its pid): see the module docstring.
    Exits at once if the parent is already gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)
    try:
        os.nice(CHILD_NICENESS)
    except OSError:  # not allowed here (a sandbox): the child merely runs at its parent's priority
        pass


def _die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the parent dies (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl here: the EOF on the parent's pipes still ends workers
        pass


@dataclass(frozen=True)
class ChildOutcome:
    """How a job run by :func:`run_in_child` ended: its ``value``; or an ``error`` (a
    :class:`~triage.errors.TriageError`'s message when ``expected``, else the exception's
    type and message); or ``abandoned`` because the parent asked it to stop."""

    value: object = None
    error: str = ""
    expected: bool = False
    abandoned: bool = False


class ChildJob:
    """``job(*args)`` running in a forked child (see the module docstring), which the
    parent polls without waiting (:meth:`outcome`) and can abandon at any moment
    (:meth:`abandon`): nothing the child had not finished counts. Where ``fork`` is not
    available the job runs at once in this process, and cannot be abandoned."""

    def __init__(self, job: Callable[..., object], *args: object) -> None:
        self._done: ChildOutcome | None = None
        self._child = None
        if "fork" not in multiprocessing.get_all_start_methods():
            self._done = _run(job, args)
            return
        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        for stream in (sys.stdout, sys.stderr):  # else the child would flush a copy of what is buffered
            stream.flush()
        self._child = context.Process(target=_child_main, args=(writer, os.getpid(), job, args), name="triage-child")
        self._child.start()
        writer.close()

    def outcome(self, wait: float = 0.0) -> ChildOutcome | None:
        """How the job ended, or None while it runs (waiting up to ``wait`` seconds)."""
        if self._done is None and self._child is not None and self._reader.poll(wait):
            try:  # True with the outcome, or at EOF when the child died
                self._done = self._reader.recv()
            except (EOFError, OSError):
                self._child.join()
                self._done = ChildOutcome(error=f"the child process died (exit status {self._child.exitcode})")
            self._end()
        return self._done

    def abandon(self) -> None:
        """Kill the child now; the job's work is lost (the caller keeps what it had)."""
        if self._done is None:
            self._done = ChildOutcome(abandoned=True)
        self._end()

    def _end(self) -> None:
        if self._child is not None:
            self._reader.close()
            if self._child.is_alive():
                self._child.kill()
            self._child.join()
            self._child = None


def run_in_child(job: Callable[..., object], *args: object, abandon: Callable[[], bool],
                 poll_seconds: float = 0.2) -> ChildOutcome:
    """Run ``job(*args)`` in a forked child and wait for it, asking ``abandon`` every
    ``poll_seconds``: when it answers True the child is killed at once and nothing it
    had not finished counts (:class:`ChildJob`, waited for)."""
    running = ChildJob(job, *args)
    try:
        while (outcome := running.outcome(poll_seconds)) is None:
            if abandon():
                running.abandon()
                return ChildOutcome(abandoned=True)
        return outcome
    finally:
        running.abandon()


def _child_main(writer, parent: int, job: Callable[..., object], args: tuple) -> None:
    quiet_child(parent)
    outcome = _run(job, args)
    try:
        writer.send(outcome)
    except Exception as exc:  # an unpicklable value: say so rather than die silently
        writer.send(ChildOutcome(error=f"the result could not be sent back: {type(exc).__name__}: {exc}"))
    finally:
        writer.close()


def _run(job: Callable[..., object], args: tuple) -> ChildOutcome:
    try:
        return ChildOutcome(value=job(*args))
    except TriageError as exc:
        return ChildOutcome(error=str(exc), expected=True)
    except Exception as exc:
        log.debug("%s failed", getattr(job, "__name__", "the job"), exc_info=True)
        return ChildOutcome(error=f"{type(exc).__name__}: {exc}")
