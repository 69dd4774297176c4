"""``triage once`` over IMAP and ``triage run``, the background service.

``run_once`` makes one pass over the configured folder (:func:`~triage.imap.sync.triage_pass`)
and exits. ``run_service`` keeps going: a pass, then waiting for new mail — IDLE where
the server has it, re-issued every ``service.idle_seconds`` because servers and
firewalls drop idle connections; polling every ``service.poll_seconds`` elsewhere — and
another pass. Any network, TLS or server error drops the connection and reconnects after
an exponential backoff with full jitter; a refused login is retried only
``service.max_refused_logins`` times in a row, then the service exits 2. SIGTERM and
SIGINT finish the current batch (or abandon a retraining) and exit 0, within
:data:`STOP_DEADLINE_SECONDS` or by force; SIGHUP reloads the config and the model
between passes, and so does a change of
the registry's active model (the service's own retraining, or `triage models --rollback`
and `triage train` run elsewhere), noticed before every pass. Both hold a lock next to
the state file, so only one triage works a mailbox at a time. A state file deleted,
moved or replaced under the service makes it save what it holds beside the path and
exit 1, to start again on the state found there.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from imapclient import IMAPClient

from triage.children import ChildJob
from triage.wiring import log_summary, make_engine, open_history, run_lock, state_path
from triage.config import Config, find_config, load_config
from triage.engine import Engine
from triage.errors import ConfigError, ImapError, TriageError, UsageError
from triage.history import History, StateFileGone
from triage.lock import AlreadyRunning, InstanceLock
from triage.imap.backoff import Backoff
from triage.imap.connection import (Credentials, FetchLost, IdleRefused, ImapConnectionError, LoginRefused, connect,
                                    disconnect, drop, imap_errors, start_idle)
from triage.imap.labeler import Labeler, make_labeler
from triage.imap.lostfetch import remember_lost_fetch
from triage.imap.mailbox import FolderNotFound, ImapMailbox
from triage.imap.sync import CORRECTIONS, HOUSEKEEPING, SWEEP, NoProgress, Progress, triage_pass
from triage.registry import SHIPPED, Registry
from triage.logs import setup_logging
from triage.status import PassReport, StatusFile, ago, status_path_for, utc_now
from triage.sweep import SweepChange
from triage.output import no_rows, write_jsonl, write_queue

log = logging.getLogger(__name__)

SLICE_SECONDS = 1.0
"""The longest the service blocks without looking at its stop and reload requests."""

SWEEP_MAX_DEFERRAL_SECONDS = 60.0
"""While mail keeps arriving, passes triage it and put the sweep off, for at most this long
(the corrections follow in the pass after the sweep's: :meth:`Service._housekeeping`)."""

STABLE_SECONDS = 60.0
"""How long a connection must have stayed up for the reconnect backoff to start again
from ``service.reconnect_min_seconds`` when it fails. A good pass alone is no proof: a
middlebox that drops every connection moments in fails each connection right after its
pass, and a reset there made the service log in again
every 0-1 s for ever (:meth:`Service._back_off`)."""

STOP_DEADLINE_SECONDS = 8.0
"""How long after SIGTERM or SIGINT the service may take to stop cleanly (finish the
batch, log out). A stop is looked at between batches, between the steps of a pass and
every :data:`SLICE_SECONDS` while waiting, and a retraining is abandoned at once, so this
is only reached when the server stops answering mid-command, or nobody reads the rows
on stdout (a pipe whose reader stopped): the service then exits at once, as after a
crash, which loses nothing (the unfinished batch is decided again at the next start) but
prints again the rows it had written and not yet recorded. Well inside the 10 s promised
and systemd's ``TimeoutStopSec``."""


# -- the pieces both commands share ----------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A logged-in connection with the folder selected and its labeler ready."""

    client: IMAPClient
    mailbox: ImapMailbox
    labeler: Labeler


class WatchedFolderMissing(ConfigError):
    """The server has no folder ``[imap] folder`` names: a typo, most likely, or a folder
    renamed or deleted. ``triage once`` exits 2 on it; ``triage run`` too when it never
    triaged that folder, and otherwise waits for it (:meth:`Service.run`)."""

    def __init__(self, config: Config, missing: FolderNotFound):
        super().__init__(config.source or "<config>", "imap.folder", f"{missing}: fix the name, or create the folder")


@contextmanager
def open_session(config: Config, credentials: Credentials, *, dry_run: bool) -> Iterator[Session]:
    """Connect, select ``imap.folder`` and make its labeler; log out at the end (or, when
    an exception or a signal ends the block, only close the socket: a command may be
    half sent, and a LOGOUT could wait for its answer). :class:`WatchedFolderMissing`
    when the server has no such folder."""
    client = connect(config.imap, credentials)
    try:
        mailbox = ImapMailbox(client)
        try:
            mailbox.select(config.imap.folder)
        except FolderNotFound as exc:
            raise WatchedFolderMissing(config, exc) from None
        yield Session(client, mailbox, make_labeler(mailbox, config.labels, dry_run=dry_run))
    except BaseException:
        drop(client)
        raise
    disconnect(client)


class BacklogBar:
    """A progress bar on stderr for a pass with more than one batch to do (a first run,
    a resync, a long outage). Drawn only on a terminal, so logs and CI stay clean."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self._bar = None

    def start(self, folder: str, total: int) -> None:
        if total <= self.batch_size:
            return
        from rich.console import Console  # rich takes a tenth of a start; only a backlog draws a bar
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichBar

        self._bar = RichBar(TextColumn(f"triaging {folder}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True),
                            redirect_stdout=False, redirect_stderr=False)  # rows on stdout stay rows
        self._bar.start()
        self._bar.add_task(folder, total=total)

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._bar.task_ids[0], count)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class PassProgress:
    """How far a pass is, for the people and programs watching: the bar on a terminal;
    elsewhere (the service under systemd, cron) a log line every
    :data:`PROGRESS_LOG_SECONDS` of a pass with more than one batch; and the status
    file's heartbeat after every batch, so a long first run does not look stuck."""

    def __init__(self, config: Config, status: StatusFile | None = None, clock: Callable[[], float] = time.monotonic):
        self.bar: Progress = BacklogBar(config.imap.batch_size) if sys.stderr.isatty() else NoProgress()
        self.batch_size, self.status, self.clock = config.imap.batch_size, status, clock
        self.folder, self.total, self.done, self.started, self.logged = "", 0, 0, 0.0, 0.0

    def start(self, folder: str, total: int) -> None:
        self.folder, self.total, self.done = folder, total, 0
        self.started = self.logged = self.clock()
        self.bar.start(folder, total)
        if self.status is not None:
            self.status.write(state="passing", progress={"folder": folder, "done": 0, "total": total})

    def advance(self, count: int) -> None:
        self.done += count
        self.bar.advance(count)
        if self.status is not None:
            self.status.beat(state="passing", progress={"folder": self.folder, "done": self.done, "total": self.total})
        now = self.clock()
        if self.total > self.batch_size and isinstance(self.bar, NoProgress) and now - self.logged >= PROGRESS_LOG_SECONDS:
            self.logged = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate else 0
            log.info("%s: %d of %d triaged (%.0f/s, about %s left)", self.folder, self.done, self.total, rate,
                     ago(left))

    def finish(self) -> None:
        self.bar.finish()
        if self.status is not None:
            self.status.data.pop("progress", None)


PROGRESS_LOG_SECONDS = 60.0
"""How often a long pass without a terminal logs how far it is."""


def make_progress(config: Config, status: StatusFile | None = None) -> Progress:
    """A bar when stderr is a terminal, progress lines in the log otherwise, and the
    status file's heartbeat (see :class:`PassProgress`)."""
    return PassProgress(config, status)


def check_service_config(config: Config) -> None:
    """Raise ConfigError for service timings no loop can run with."""
    service, where = config.service, config.source or "<config>"
    for key in ("poll_seconds", "idle_seconds", "reconnect_min_seconds", "max_refused_logins"):
        if getattr(service, key) <= 0:
            raise ConfigError(where, f"service.{key}", "must be greater than 0")
    if service.heartbeat_seconds < 0:
        raise ConfigError(where, "service.heartbeat_seconds", "must not be negative (0 turns the heartbeat off)")
    if service.reconnect_max_seconds < service.reconnect_min_seconds:
        raise ConfigError(where, "service.reconnect_max_seconds", "must not be less than service.reconnect_min_seconds")


# -- triage once ------------------------------------------------------------------------


def run_once(args: argparse.Namespace, config: Config) -> int:
    """One pass over the IMAP folder of ``config``: print the rows (JSON Lines as each
    batch is labelled, or a table at the end) and return the exit status. The pass, or
    why it failed, goes into the status file for ``triage status`` (not on a dry run)."""
    state = state_path(args, config)
    emit = write_jsonl if args.format == "jsonl" else no_rows
    with run_lock(args, config), open_history(args, config) as history, \
            make_engine(args, config, history) as engine:
        status = StatusFile(None if args.dry_run else status_path_for(state), "once")
        try:
            with open_session(config, Credentials(config.imap), dry_run=args.dry_run) as session:
                report = triage_pass(session.mailbox, session.labeler, engine, config, dry_run=args.dry_run,
                                     emit=emit, progress=make_progress(config, status), state_path=state)
        except (ImapError, WatchedFolderMissing) as exc:
            if isinstance(exc, FetchLost) and not args.dry_run:
                engine.rollback()
                remember_lost_fetch(history, exc)
            status.failed(exc)
            raise
        status.passed(report)
        if args.format == "table":
            write_queue(history, history.run, engine.now(), engine.settings.sla,
                        addresses=getattr(args, "addresses", False))
        log_summary(engine.stats)
    return 0


# -- triage run -------------------------------------------------------------------------


def run_service(args: argparse.Namespace, config: Config) -> int:
    """The background service until SIGTERM or SIGINT; returns the exit status."""
    check_service_config(config)
    with run_lock(args, config) as lock, open_history(args, config) as history:
        service = Service(args, config, history, lock=lock)
        with _signals_to(service):
            return service.run()


class StopDeadline:
    """Exits the process :data:`STOP_DEADLINE_SECONDS` after :meth:`arm` unless
    :meth:`cancel` comes first: the guarantee that a stop request is honoured even when
    the service is stuck in a network call (a timer thread, which a blocked main thread
    does not hold up)."""

    def __init__(self, seconds: float = STOP_DEADLINE_SECONDS) -> None:
        self.seconds = seconds
        self._timer: threading.Timer | None = None

    def arm(self, why: str) -> None:
        """Start counting (once; later calls change nothing)."""
        if self._timer is None:
            self._timer = threading.Timer(self.seconds, self._expire, args=(why,))
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self, why: str) -> None:
        backstop = threading.Timer(1.0, os._exit, args=(1,))  # should the log itself be blocked
        backstop.daemon = True
        backstop.start()
        log.error("not stopped %g s after %s (the server stopped answering, or nobody reads stdout?): exiting now, "
                  "as after a crash; the unfinished batch is decided again at the next start", self.seconds, why)
        os._exit(1)


@contextmanager
def _signals_to(service: Service) -> Iterator[None]:
    """SIGTERM and SIGINT ask ``service`` to stop (by :class:`StopDeadline` at the
    latest), SIGHUP to reload, for the block's duration."""
    deadline = StopDeadline()

    def stop(signum: int, frame: FrameType | None) -> None:
        service.request_stop(signal.Signals(signum).name)
        deadline.arm(signal.Signals(signum).name)

    def reload(signum: int, frame: FrameType | None) -> None:
        service.request_reload()

    handlers = {signal.SIGTERM: stop, signal.SIGINT: stop, signal.SIGHUP: reload}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        deadline.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Service:
    """The service loop: pass, wait for mail, pass again; reconnect after errors.

    ``clock`` and ``sleep`` are injectable; nothing here blocks for longer than
    :data:`SLICE_SECONDS` (or the IMAP socket timeout) without checking
    :meth:`request_stop` and :meth:`request_reload`, which signal handlers call.
    """

    def __init__(self, args: argparse.Namespace, config: Config, history: History, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 lock: InstanceLock | None = None) -> None:
        self.args = args
        self.history = history
        self.lock = lock
        """The instance lock held (none on a dry run), kept by :meth:`_state_file_lost`."""
        self.clock = clock
        self.sleep = sleep
        self.stopping = False
        self.stop_reason = ""
        self.exit_status = 0
        self.reload_requested = False
        self.refused_logins = 0
        """Logins the server refused in a row; reset by a successful one."""
        self.connected_at: float | None = None
        """When the current connection logged in (None: not connected)."""
        self.polling = False
        """The current connection refused IDLE: it is polled (:meth:`_wait_for_mail`)."""
        self.idle_refusal_logged = False
        """The warning about a refused IDLE was logged (once per service)."""
        self.retraining: ChildJob | None = None
        """A retraining running in the background, if any (:meth:`_model_changed`)."""
        self._configure(config)
        self.status = StatusFile(None if args.dry_run else status_path_for(state_path(args, config)), "service")
        self.model_name: str | None = None
        """The registry name of the model the engine runs (None: the shipped one)."""
        self.last_pass: PassReport | None = None
        self.mail_arriving = False
        """Mail came in during the last pass: the next one defers its sweep (:meth:`_housekeeping`)."""
        self.corrections_owed = False
        """A sweep ran while mail kept arriving; the corrections come in a pass of their own."""
        self.arrived: list[int] = []
        """The UIDs that came in during the last pass, found after it: the next pass's mail."""
        self.held_moves: list[SweepChange] = []
        """Waiting labels moved off earlier messages, held while mail keeps arriving and
        written with the next pass that sweeps (:func:`~triage.imap.sync.sync_folder`)."""
        self.last_sweep = self.clock()
        self.last_heard = self.clock()
        """When the log last said something at INFO (the heartbeat fills long silences)."""

    def request_stop(self, why: str = "request") -> None:
        """Finish the current batch, then exit. (Only sets flags: signal handlers call it.)"""
        self.stop_reason = why
        self.stopping = True

    def request_reload(self) -> None:
        """Reload config and model once the current pass is done."""
        self.reload_requested = True

    @property
    def interrupted(self) -> bool:
        """True when the loop must leave what it waits for: a stop or a reload is due."""
        return self.stopping or self.reload_requested

    def run(self) -> int:
        """Serve until stopped; return the exit status: 0, or 2 when the server refused
        ``service.max_refused_logins`` logins in a row (a wrong password or token, which
        no restart can fix). A UsageError (a configuration no retry can fix) is raised,
        and the status file says it, with exit status 2."""
        engine = self._engine()
        try:
            while not self.stopping:
                if self.reload_requested:
                    engine = self._reload(engine)
                try:
                    self._serve(engine)
                except LoginRefused as exc:
                    engine.rollback()
                    self._refused(exc)
                except WatchedFolderMissing as exc:
                    engine.rollback()
                    self._folder_missing(exc)
                except ImapError as exc:  # network, TLS or server trouble: try again later
                    engine.rollback()
                    if isinstance(exc, FetchLost) and not self.args.dry_run:
                        remember_lost_fetch(engine.history, exc)
                    self._back_off(exc)
                except UsageError as exc:  # a configuration no retry can fix: said in the status file too
                    engine.rollback()
                    self.exit_status = exc.exit_status
                    self.request_stop(str(exc))
                    raise
        finally:
            self._abandon_retraining()
            engine.close(abandon=self.stopping)  # the analysis started ahead is nobody's now
            self.status.stopped(self.stop_reason or "an unexpected error", self.exit_status if self.stopping else 1)
        log.info("stopped on %s", self.stop_reason)
        return self.exit_status

    def _folder_missing(self, error: WatchedFolderMissing) -> None:
        """The server has no ``imap.folder``. A folder this state never triaged is a typo,
        most likely, which no retry fixes: stop with exit status 2, as ``triage once``
        does, which systemd does not restart. One triaged before was renamed or deleted,
        perhaps to be made again (a migration, a mistake put right): wait for it, retrying
        with the backoff, and say so at every try; ``triage status`` shows it failing."""
        if self.history.get_cursor(self.config.imap.folder) is None:
            self.status.failed(error)
            log.error("%s; exit status 2: a folder triage never watched (once created or the name fixed, start "
                      "triage again)", error)
            self.exit_status = WatchedFolderMissing.exit_status
            self.request_stop("no such folder")
            return
        log.error("%s; it was watched before: waiting for it to come back", error)
        self._back_off(error)

    def _refused(self, error: LoginRefused) -> None:
        """Count a refused login: wait and try again, up to ``service.max_refused_logins``
        in a row, then stop with exit status 2. Every further attempt with a wrong secret
        counts against the account: Gmail and Microsoft 365 lock or throttle it."""
        self.refused_logins += 1
        limit = self.config.service.max_refused_logins
        if self.refused_logins < limit:
            self._back_off(error)
            return
        self.status.failed(error)
        log.error("%s; giving up after %d refused login(s) in a row (service.max_refused_logins): exit status 2, "
                  "so systemd does not restart triage until the secret is fixed", error, self.refused_logins)
        self.exit_status = LoginRefused.exit_status
        self.request_stop("refused logins")

    def _engine(self, config: Config | None = None) -> Engine:
        """A new engine, remembering which registry model it runs."""
        config = config or self.config
        self.model_name = Registry.for_state(state_path(self.args, config)).active_name()
        engine = make_engine(self.args, config, self.history)
        engine.load()  # a broken model stops the service here, before it connects
        self.status.write(model=self.model_name or SHIPPED)
        return engine

    def _configure(self, config: Config) -> None:
        self.config = config
        self.credentials = Credentials(config.imap)
        self.backoff = Backoff(config.service.reconnect_min_seconds, config.service.reconnect_max_seconds)
        self.emit = write_jsonl if self.args.format == "jsonl" else no_rows

    def _serve(self, engine: Engine) -> None:
        """One connection: passes and waits until a stop or reload is due."""
        imap = self.config.imap
        self.arrived = []  # another session's findings: this one looks for itself
        self.held_moves = []  # (their unstored marks remain: this session's first pass writes them)
        with open_session(self.config, self.credentials, dry_run=self.args.dry_run) as session:
            self.connected_at = self.clock()
            self.polling = False
            self.refused_logins = 0
            log.info("connected to %s:%d as %s; watching %s (labels: %s)", imap.host, imap.port, imap.username,
                     imap.folder, session.labeler.mode)
            while not self.interrupted:
                if self._state_file_lost():
                    break
                if self._active_model_moved():  # before the pass: the mail that woke us gets the new model
                    self.request_reload()
                    break
                housekeeping = self._housekeeping()
                report = triage_pass(session.mailbox, session.labeler, engine, self.config,
                                     dry_run=self.args.dry_run, emit=self.emit, stop=lambda: self.stopping,
                                     progress=make_progress(self.config, self.status),
                                     state_path=state_path(self.args, self.config), housekeeping=housekeeping,
                                     arrived=self.arrived, held_moves=self.held_moves)
                self._housekept(housekeeping)
                self._passed(report)
                if self.args.format == "table" and engine.history.threads_of_run(engine.history.run):
                    write_queue(engine.history, engine.history.run, engine.now(), engine.settings.sla)
                if self.stopping:
                    break
                if not self.args.dry_run and self._model_changed():
                    self.request_reload()
                self.arrived, self.mail_arriving = ([], False) if self.interrupted else self._arrivals(session, engine)
                if not self.interrupted and not self.mail_arriving:
                    if housekeeping != HOUSEKEEPING:  # what was deferred, now that the mail is done
                        continue
                    self._wait_for_mail(session)

    def _housekeeping(self) -> frozenset[str]:
        """What this pass does after the new mail (:data:`~triage.imap.sync.HOUSEKEEPING`):
        all of it on a quiet mailbox. While mail keeps arriving, nothing: each sweep
        relabels older messages, and on a big mailbox every command costs the server a
        look at the folder, so new mail would wait behind them. But at least every
        :data:`SWEEP_MAX_DEFERRAL_SECONDS` the sweep, and the corrections in the pass
        after it: together they made passes of 3-8 s on a 90,000-message folder, and the
        mail arriving meanwhile waited for all of it."""
        if not self.mail_arriving:
            return HOUSEKEEPING
        if self.clock() - self.last_sweep >= SWEEP_MAX_DEFERRAL_SECONDS:
            return frozenset({SWEEP})
        return frozenset({CORRECTIONS}) if self.corrections_owed else frozenset()

    def _housekept(self, housekeeping: frozenset[str]) -> None:
        """Note what a pass's housekeeping did (see :meth:`_housekeeping`)."""
        if SWEEP in housekeeping:
            self.last_sweep = self.clock()
            self.corrections_owed = True
        if CORRECTIONS in housekeeping:
            self.corrections_owed = False

    def _passed(self, report: PassReport) -> None:
        """One INFO line for a pass that did something (an idle renewal's empty pass is
        DEBUG: the heartbeat says the service is alive), and the status file."""
        self.last_pass = report
        if report.busy or not report.complete:
            log.info("%s", report.line(self.config.imap.folder))
            self.last_heard = self.clock()
        else:
            log.debug("%s", report.line(self.config.imap.folder))
        self.status.passed(report)

    def _tick(self) -> None:
        """Called on every wake-up while waiting: see whether the state file is still
        there (:meth:`_state_file_lost`), refresh the status file's heartbeat, and
        log one INFO line when the log has been silent for ``service.heartbeat_seconds``,
        so `journalctl -u triage` shows a quiet service is alive, not dead."""
        self._state_file_lost()
        self.status.beat()
        every = self.config.service.heartbeat_seconds
        if every > 0 and self.clock() - self.last_heard >= every:
            self.last_heard = self.clock()
            last = self.last_pass
            if last is None:
                log.info("alive: no pass finished yet (%s)", self.status.data.get("state"))
            else:
                log.info("alive: %s; last pass %s: %d triaged; %d waiting (%d P1); model %s", self.status.data["state"],
                         last.finished_at, last.triaged, last.waiting, last.p1, self.model_name or SHIPPED)

    def _state_file_lost(self) -> bool:
        """True when the state file was deleted, moved or replaced under the service
        (:meth:`History.check_file`, asked before every pass and every second of a wait):
        the service then stops with exit status 1, and systemd starts it again on the
        state file found at the path, a fresh one if there is none. Going on would
        record every pass in a file no later run opens, while `triage status` and
        `triage once` read another. What the file held is saved beside the path first:
        deleted by mistake, the service's open file is the only copy left.

        The lock file next to it is looked at too (:meth:`InstanceLock.keep`): deleted
        or replaced, it locked nothing, and a second triage could start beside this one.
        It is taken again; when another triage already holds the new one, this one
        stops with exit status 1 (restarted, it finds the lock held and exits 2)."""
        if self.stopping:
            return False
        try:
            if self.lock is not None and self.lock.keep():
                log.warning("the lock file %s was deleted or replaced under the service: locked again", self.lock.path)
        except AlreadyRunning as exc:
            log.error("%s (its lock file was deleted under this one, and another started); exiting (status 1)", exc)
            self.exit_status = 1
            self.request_stop("another triage on the state file")
            return True
        try:
            self.history.check_file()
        except StateFileGone as exc:
            log.error("%s; %s; exiting (status 1) so that triage starts again on the state file found there, "
                      "a fresh one if there is none", exc, self._save_lost_state(exc.path))
            self.exit_status = exc.exit_status
            self.request_stop("state file gone")
            return True
        return False

    def _save_lost_state(self, path: str) -> str:
        """Save what the state file lost under the service held into a new file beside
        it; what to tell a person (where it is and how to use it, or why it is not)."""
        target = f"{path}.saved-{utc_now():%Y%m%dT%H%M%SZ}"
        try:
            self.history.save_copy(target)
        except (OSError, sqlite3.Error) as exc:
            return f"its contents could not be saved to {target} ({type(exc).__name__}: {exc})"
        return f"its contents are saved in {target} (to go on with them: stop triage, move it to {path}, start triage)"

    def _model_changed(self) -> bool:
        """Start a retraining when enough corrections arrived, take in a finished one, and
        tell whether the active model is no longer the one the engine runs (a retraining
        here, or `triage train` / `triage models --rollback` elsewhere): the service then
        reloads without a restart.

        A retraining (a minute or two) runs in a child process in the background: the
        service goes on triaging new mail meanwhile, with the current model, and a stop
        abandons the retraining at once (the registry points at a new model only once it
        is complete). One that fails, whatever the cause (a full disk, a library error),
        leaves triage triaging."""
        from triage.learning import corrections_due, maybe_retrain  # training's imports: only the service's

        if self.retraining is None:
            path = state_path(self.args, self.config)
            try:
                due = corrections_due(self.config, path)
            except Exception as exc:  # an unreadable registry or state: triage must go on triaging
                log.error("cannot count the new corrections, going on with the current model: %s: %s",
                          type(exc).__name__, exc)
                due = 0
            if due:
                log.info("starting a retraining in the background (%d corrections due)", due)
                self.retraining = ChildJob(maybe_retrain, self.config, path)
        if self.retraining is not None:
            outcome = self.retraining.outcome()
            if outcome is None:
                return False
            self.retraining = None
            if outcome.error:
                log.error("retraining failed%s, going on with the current model: %s",
                          "" if outcome.expected else " unexpectedly", outcome.error)
        return self._active_model_moved()

    def _abandon_retraining(self) -> None:
        if self.retraining is not None:
            self.retraining.abandon()
            self.retraining = None
            log.warning("retraining abandoned on %s; the current model stays active", self.stop_reason or "stop")

    def _active_model_moved(self) -> bool:
        """True (and logged) when the registry's active model is no longer the one the
        engine runs. Asked before every pass too, not only after one: a `triage models
        --rollback` made while the service waited must decide the mail that wakes it."""
        active = Registry.for_state(state_path(self.args, self.config)).active_name()
        if active == self.model_name:
            return False
        log.info("the active model is now %s (was %s): reloading", active or SHIPPED, self.model_name or SHIPPED)
        return True

    def _arrivals(self, session: Session, engine: Engine) -> tuple[list[int], bool]:
        """(UIDs, whether mail is arriving): the mail that came in after the pass looked
        for it (the next pass takes these UIDs as they are:
        :func:`~triage.imap.sync.sync_folder`). The server announced it (EXISTS) in the
        answer to one of the pass's commands, where nothing listens, and IDLE announces
        only what is new after it starts: without this look the message would wait for
        the IDLE renewal, minutes later. Mail announced only at the end of this look is
        arriving too, with no UIDs known yet. (A dry run keeps no cursor.)"""
        if self.args.dry_run:
            return [], False
        cursor = engine.history.get_cursor(self.config.imap.folder)
        if cursor is None or session.mailbox.state is None or cursor[0] != session.mailbox.state.uidvalidity:
            return [], False
        session.mailbox.announced_new_mail()  # what the pass's commands announced, the SEARCH sees
        arrived = session.mailbox.uids_since(cursor[1])
        if arrived:
            log.debug("%d message(s) arrived during the pass; another pass", len(arrived))
            return arrived, True
        if session.mailbox.announced_new_mail():
            log.debug("mail arrived during the look for it; another pass")
            return [], True
        return [], False

    def _wait_for_mail(self, session: Session) -> None:
        """IDLE where the server has it, else poll every ``service.poll_seconds``. A
        connection whose server advertises IDLE and refuses it is polled from then on: the
        connection is fine, and reconnecting after every pass would only log in again and
        again (a new connection tries IDLE again: it may reach another server)."""
        if "IDLE" in session.mailbox.capabilities and not self.polling:
            try:
                self._idle(session.client)
                return
            except IdleRefused as exc:
                self.polling = True
                seconds = self.config.service.poll_seconds
                level = logging.DEBUG if self.idle_refusal_logged else logging.WARNING
                self.idle_refusal_logged = True
                log.log(level, "%s advertises IDLE but refused it (%s): polling every %g s on this connection "
                        "([service] poll_seconds)", self.config.imap.host, exc, seconds)
        self._pause(self.config.service.poll_seconds)

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until new mail, ``service.idle_seconds``, or a stop or reload request;
        :class:`IdleRefused` when the server will not go into IDLE."""
        folder = self.config.imap.folder
        with imap_errors(f"IDLE in {folder}"):
            start_idle(client)
            log.debug("idling on %s", folder)
            self._idle_until_news(client)
            client.idle_done()

    def _idle_until_news(self, client: IMAPClient) -> None:
        """Read IDLE responses in short slices; return on EXISTS (new mail), on FETCH
        (another client changed a message's flags: perhaps a person relabelled one, a
        correction the next pass records), at the deadline, or when interrupted. imapclient answers ``[]`` at once when the server
        is gone instead of raising (a known imapclient 4.1 trap), so an empty answer well before the slice
        is over means a dead connection, not a quiet one."""
        deadline = self.clock() + self.config.service.idle_seconds
        while not self.interrupted and (left := deadline - self.clock()) > 0:
            self._tick()
            timeout = min(SLICE_SECONDS, left)
            started = self.clock()
            responses = client.idle_check(timeout=timeout)
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"FETCH") for r in responses):
                return
            if self.retraining is not None and self.retraining.outcome() is not None:
                return  # a new model may be waiting to be taken in
            if any(r[0] == b"BYE" for r in responses):
                raise ImapConnectionError(f"{self.config.imap.host} closed the connection: {responses}")
            if not responses and self.clock() - started < timeout / 2:
                raise ImapConnectionError(f"{self.config.imap.host} closed the connection while idling")

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` in slices, returning early when interrupted."""
        deadline = self.clock() + seconds
        while not self.interrupted and (left := deadline - self.clock()) > 0:
            self._tick()
            self.sleep(min(SLICE_SECONDS, left))

    def _back_off(self, error: ImapError) -> None:
        """Wait before reconnecting: longer with each failure in a row, from the start
        again when the connection that failed had stayed up :data:`STABLE_SECONDS`."""
        if self.connected_at is not None and self.clock() - self.connected_at >= STABLE_SECONDS:
            self.backoff.reset()
        self.connected_at = None
        self.status.failed(error)
        self.last_heard = self.clock()
        delay = self.backoff.next_delay()
        log.warning("%s; reconnecting in %.1f s (attempt %d)", error, delay, self.backoff.attempt)
        self._pause(delay)

    def _reload(self, engine: Engine) -> Engine:
        """SIGHUP: read the config and the model again; on any error keep running as before."""
        self.reload_requested = False
        # Where the start found it: --config, else $TRIAGE_CONFIG or the XDG file. (Only
        # --config was read again: a service configured by $TRIAGE_CONFIG reloaded the
        # built-in defaults, "imap.host is not set", and exited 2 on `systemctl reload`.)
        path = find_config(self.args.config)
        source = str(path) if path is not None else "the defaults"
        try:
            config = load_config(path)
            check_service_config(config)
            fresh = self._engine(config)
        except TriageError as exc:
            log.error("reload of %s failed, going on as before: %s", source, exc)
            return engine
        if state_path(self.args, config) != state_path(self.args, self.config):
            log.warning("a new state.path takes effect at the next start; going on with %s",
                        state_path(self.args, self.config))
        engine.close()
        setup_logging(self.args.log_format or config.service.log_format, self.args.verbose, service=True)
        self._configure(config)
        log.info("reloaded %s; model %s", source, self.model_name or SHIPPED)
        return fresh

