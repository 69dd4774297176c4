"""One pass over an IMAP folder: find the new mail, decide it, label it, remember it.

Where a pass starts comes from the (UIDVALIDITY, last UID) cursor in history:

- no cursor (first run): the mail that arrived in the last ``imap.first_run_days`` days,
  and of older mail back to ``imap.backlog_days`` every message still waiting for the
  team (:mod:`triage.imap.backlog`); both windows count from ``--now`` when given;
- the same UIDVALIDITY: every UID above the last one triaged;
- another UIDVALIDITY (the server renumbered the folder): every stored UID is void. The
  folder's Message-IDs are read (headers only), known messages get their new UIDs (by
  content, the window's mail a Message-ID cannot name: :func:`resync`) and
  the labels they lost with the renumbering (:func:`triage.imap.restore.restore_folder`:
  a folder recreated or migrated without its keywords), and of the first-run window only
  mail still unknown is decided, so nothing is labelled, counted or printed twice.

Each batch is fetched and decided; the labels of about a thousand decided messages are
stored at once (:class:`LabelGroup`), shown, and only then remembered (cursor and
decisions in one commit): a crash at any point repeats what was not remembered, whose
labelling is idempotent, and loses nothing. A dry run labels nothing and commits nothing.
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple, Protocol

from triage.config import Config, ImapConfig
from triage.engine import BatchStats, Decision, Engine
from triage.errors import ImapError
from triage.history import History, Unstored
from triage.imap.backlog import scan_backlog
from triage.imap.connection import ImapConnectionError
from triage.imap.corrections import scan_corrections
from triage.imap.departures import note_departures
from triage.imap.drops import scan_training_folders
from triage.imap.firstrun import remember_plan, resume_uids, unfinished_plan
from triage.imap.labeler import LabelChange, Labeler
from triage.imap.lostfetch import plan_fetches
from triage.imap.mailbox import FolderState, ImapMailbox
from triage.imap.refusals import REFUSED_PASSES, Refusals, plan_refusals, remember_refusals
from triage.imap.renumbering import CHECKED_UIDS, renumbered_in_place
from triage.imap.restore import restore_folder
from triage.imap.sent import find_sent_folders, ingest_sent
from triage.imap.sweep import apply_sweep, refresh_answered, watch_answered_from_now
from triage.message import RawMail
from triage.output import KeptRow, jsonl_line, no_rows
from triage.parsing import content_hash
from triage.signals import signals_held
from triage.status import PassReport, utc_now
from triage.sweep import SweepChange, iter_sweep_changes

log = logging.getLogger(__name__)

SWEEP, CORRECTIONS = "sweep", "corrections"
HOUSEKEEPING = frozenset({SWEEP, CORRECTIONS})
"""What a pass does after the new mail: the sweep, then recording the corrections
(:func:`triage_pass`); the service may defer either while mail keeps arriving."""

SENT_FOLDERS_SECONDS = 300.0
"""How long a connection trusts the Sent folders it found (a LIST or several) before it
looks again: a service's passes come seconds apart, a Sent folder is created once."""


class Progress(Protocol):
    """Where a pass reports how far through its backlog it is."""

    def start(self, folder: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """Reports nothing (the service between bursts, or no terminal to draw on)."""

    def start(self, folder: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


def triage_pass(
    mailbox: ImapMailbox,
    labeler: Labeler,
    engine: Engine,
    config: Config,
    *,
    dry_run: bool,
    emit: Callable[[list[Decision | KeptRow]], None],
    stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
    state_path: str | None = None,
    housekeeping: Collection[str] = HOUSEKEEPING,
    arrived: list[int] | None = None,
    held_moves: list[SweepChange] | None = None,
) -> PassReport:
    """Everything one pass of ``triage once`` or the service does, in this order: the
    team's replies from the Sent folder(s) first, so a conversation answered from another
    client is not shown as waiting; then the new mail of the watched folder
    (:func:`sync_folder`); then the sweep, which files the conversations whose waiting mail
    left the folder (:mod:`triage.imap.departures`), re-reads ``\\Answered``, raises the
    priority of conversations past their reply target, marks them overdue, and takes the
    waiting labels off answered ones; last, with ``state_path``, it records as corrections
    the label changes people made (:mod:`triage.imap.corrections`) and the mail they
    dropped into training folders (:mod:`triage.imap.drops`). A dry run writes and
    remembers nothing. Returns what the pass did and where its time went.

    ``stop`` is asked between batches and between these steps: once it says True the
    pass ends at the next such point, with what was done kept (Sent replies read so far,
    whole batches) and the rest left for the next pass. ``housekeeping`` says which of
    the sweep and the corrections follow the new mail (:data:`HOUSEKEEPING`): the service
    defers them while mail keeps arriving (they can wait a minute, a customer's labels
    should not), and then does them in passes of their own. ``arrived``: the UIDs the
    service just found above the cursor, so the pass need not look again (see
    :func:`sync_folder`). ``held_moves``: the service's, kept from pass to pass; while
    ``housekeeping`` is put off, the waiting labels moved off earlier messages are held
    there instead of written (see :func:`sync_folder`), and the next pass with
    housekeeping writes them before it."""
    timer = _PassTimer(engine.stats)
    now = engine.now()
    engine.history.begin_run(now)
    first = engine.history.get_cursor(config.imap.folder) is None
    since = (now - timedelta(days=config.imap.first_run_days)).date()
    horizon = (now - timedelta(days=max(config.imap.backlog_days, config.imap.first_run_days))).date()
    with timer.phase("sent"):
        sent_folders = mailbox.remembered("sent folders", SENT_FOLDERS_SECONDS,
                                          lambda: find_sent_folders(mailbox, config.imap.sent_folders))
        for folder in sent_folders:
            ingest_sent(mailbox, engine, folder, horizon if first else since, stop=stop)
            if stop():
                _keep(engine, dry_run)
                return timer.report(engine, complete=False)
    with timer.phase("mail"):
        sync_folder(mailbox, labeler, engine, config.imap, dry_run=dry_run, emit=emit, stop=stop, progress=progress,
                    arrived=arrived, held_moves=held_moves, hold=not housekeeping)
    if stop():
        return timer.report(engine, complete=False)
    if not housekeeping:
        return timer.report(engine, complete=True, swept=False)
    if SWEEP in housekeeping:
        with timer.phase("sweep"):
            relabelled = _sweep(mailbox, labeler, engine, config, now, stop)
        if relabelled is None:
            return timer.report(engine, complete=False)
        timer.relabelled = relabelled
    if dry_run:
        engine.rollback()
    elif CORRECTIONS in housekeeping and state_path and not stop():
        with timer.phase("corrections"):
            timer.corrections += scan_corrections(mailbox, labeler, engine.history, state_path,
                                                  config.imap.max_message_bytes)
            if not stop():
                timer.corrections += scan_training_folders(mailbox, engine.history, state_path, config)
    return timer.report(engine, complete=not stop(), swept=SWEEP in housekeeping)


def _sweep(mailbox: ImapMailbox, labeler: Labeler, engine: Engine, config: Config, now: datetime,
           stop: Callable[[], bool]) -> int | None:
    """The sweep (see :func:`triage_pass`): how many messages it relabelled, or None when
    a stop cut it short (rolled back). It first files the conversations whose waiting
    mail left the folder (:mod:`triage.imap.departures`), so their labels change with it."""
    note_departures(mailbox, engine.history, datetime.now(timezone.utc))
    refresh_answered(mailbox, engine.history, stop=stop)
    if stop():
        engine.rollback()
        return None
    log.debug("sweep: evaluating the conversations that changed or came due")
    changes = iter_sweep_changes(engine.history, now, engine.settings.sla, config.labels.prefix,
                                 flag_backlog_days=engine.settings.flag_backlog_days)
    return apply_sweep(labeler, engine.history, changes)


class _PassTimer:
    """Times a pass's steps and counts what it did (the engine's counts run on across
    the passes of a service, so the pass's share is the difference)."""

    def __init__(self, stats: BatchStats) -> None:
        self.started = time.monotonic()
        self.before = replace(stats)
        self.phases: dict[str, float] = {}
        self.relabelled = 0
        self.corrections = 0

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - began

    def report(self, engine: Engine, *, complete: bool, swept: bool = True) -> PassReport:
        stats, before = engine.stats, self.before
        waiting, p1 = engine.history.queue_counts()
        return PassReport(
            finished_at=utc_now().isoformat(timespec="seconds"), seconds=time.monotonic() - self.started,
            triaged=stats.triaged - before.triaged, unreadable=stats.broken - before.broken,
            already_triaged=stats.already_triaged - before.already_triaged,
            team_replies=stats.team_replies - before.team_replies, relabelled=self.relabelled,
            corrections=self.corrections, waiting=waiting, p1=p1, phases=self.phases, complete=complete,
            swept=swept)


def _keep(engine: Engine, dry_run: bool) -> None:
    """Commit what the pass recorded so far (a dry run forgets it)."""
    if dry_run:
        engine.rollback()
    else:
        engine.commit()


def sync_folder(
    mailbox: ImapMailbox,
    labeler: Labeler,
    engine: Engine,
    imap: ImapConfig,
    *,
    dry_run: bool,
    emit: Callable[[list[Decision | KeptRow]], None],
    stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
    arrived: list[int] | None = None,
    held_moves: list[SweepChange] | None = None,
    hold: bool = False,
) -> None:
    """Triage what is new in ``imap.folder``; see the module docstring.

    ``emit`` gets each batch's rows once their labels are stored: its decisions, or the
    rows as made when they were kept in the state (:class:`~triage.output.KeptRow`, on a
    long pass that prints rows, see :class:`LabelGroup`); ``stop`` is asked
    between batches (the current batch is always finished). Raises ImapError when the
    server fails; the caller then rolls the engine back.

    ``arrived``: UIDs found above the cursor by a SEARCH moments ago on this session,
    with the folder still selected (the service looks after every pass). They are the
    new mail, so the folder is not looked at again (NOOP, SEARCH): on a busy server
    every command costs a look at the folder, and the new mail waits for each. Mail
    arriving after them is found by the next look.

    A stop that raises (SIGTERM, SIGINT in ``triage once``) waits, once rows are
    printed, until the commit that records them (:class:`RowsHeld`).
    """
    rows = RowsHeld(emit, dry_run)
    try:
        _sync_folder(mailbox, labeler, engine, imap, dry_run=dry_run, emit=rows, stop=stop, progress=progress,
                     arrived=arrived, held_moves=held_moves, hold=hold)
    finally:
        rows.recorded()


def _sync_folder(mailbox: ImapMailbox, labeler: Labeler, engine: Engine, imap: ImapConfig, *, dry_run: bool,
                 emit: RowsHeld, stop: Callable[[], bool], progress: Progress | None,
                 arrived: list[int] | None, held_moves: list[SweepChange] | None, hold: bool) -> None:
    """:func:`sync_folder`, its rows printed through ``emit`` and recorded after each commit."""
    history = engine.history
    cursor = history.get_cursor(imap.folder)
    state = mailbox.selected(imap.folder) if arrived else None
    if state is None or cursor is None or cursor[0] != state.uidvalidity:
        state, arrived = mailbox.select(imap.folder), None
    if renumbered_silently(mailbox, history, state, cursor):
        cursor, arrived = (RENUMBERED, cursor[1]), None
    same_uids = cursor is not None and cursor[0] == state.uidvalidity
    plan = unfinished_plan(history, imap.folder, state.uidvalidity) if same_uids else None
    if plan is not None:
        arrived = None  # (the rest of the first run's list is below them)
    held = list(held_moves or ()) if same_uids and not dry_run else []
    if held_moves is not None:
        held_moves.clear()  # (given back at the end of the pass; a failure leaves their marks)
    if not dry_run and same_uids:
        store_unstored(labeler, engine, emit, held={move.uid for move in held})
        emit.recorded()
    now = engine.now()
    since = (now - timedelta(days=imap.first_run_days)).date()
    # (before the UIDs are looked for: a resync reads messages too)
    plan_fetches(mailbox, history, state.uidvalidity, cursor[1] if cursor and cursor[0] == state.uidvalidity else 0)
    mailbox.refusals = refusals = plan_refusals(history, imap.folder, state.uidvalidity)
    if arrived:
        uids = array("L", sorted(uid for uid in set(arrived) if uid > cursor[1]))
    elif cursor is None:
        uids = _first_run_uids(mailbox, engine, imap, since)
        if not dry_run:
            remember_plan(history, imap.folder, state.uidvalidity, state.uidnext - 1, uids)
    elif plan is not None:
        log.info("%s: finishing the first run that ended early", imap.folder)
        uids = resume_uids(plan, cursor[1], mailbox.uids_since(max(cursor[1], plan.top)))
    else:
        uids = array("L", new_uids(mailbox, history, state, since, cursor, imap.max_message_bytes))
        if cursor[0] != state.uidvalidity:
            restore_folder(mailbox, labeler, history)
            if not dry_run:
                store_unstored(labeler, engine, emit, renumbered=True)
                emit.recorded()
    progress = progress or NoProgress()
    progress.start(imap.folder, len(uids))
    # The cursor passes what was found, never what a SELECT's UIDNEXT says now (a later
    # SELECT's must not pass unseen mail); nor does it go back: the session's state is its
    # SELECT's, whose UIDNEXT falls behind every message triaged since.
    done = cursor[1] if cursor is not None and cursor[0] == state.uidvalidity else 0
    top = done if arrived else max(done, state.uidnext - 1)
    work = WorkQueue(mailbox, uids, top, imap.batch_size, imap.max_message_bytes, refusals=refusals,
                     retry=refusals.retry(done))
    del uids  # the queue holds them now
    group = LabelGroup(labeler, engine, state, work, dry_run=dry_run, emit=emit, held=held,
                       hold=hold and held_moves is not None and not dry_run)
    stopped = False
    try:
        for batch in engine.ahead(work.batches()):
            if not work.arriving:
                group.send()  # the server stores the last group's labels while this batch is decided
            work.done(batch)
            moved: list[SweepChange] = []
            group.add(batch, _decide_batch(batch, labeler, engine, work, emit, moved), moved)
            if work.arriving:  # new mail must not wait behind a group: each batch's labels now
                group.store_now()
                if not dry_run:
                    engine.commit()
                    emit.recorded()
            elif group.full():
                group.close()
                emit.recorded()
            progress.advance(len(batch))
            if stop():
                stopped = True
                break
        group.store_now()
    finally:
        group.abandon()
        progress.finish()
    if held_moves is not None:
        held_moves.extend(group.deferred)
    if not stopped:  # every UID found was read: the cursor may pass the unreadable ones too
        history.set_cursor(imap.folder, state.uidvalidity, work.top)
        history.clear_first_run_plan(imap.folder)
    remember_refusals(history, refusals)  # those the cursor passed are asked for again
    if dry_run:
        engine.rollback()
    else:
        engine.commit()
        emit.recorded()


def _first_run_uids(mailbox: ImapMailbox, engine: Engine, imap: ImapConfig, since: date) -> array:
    """The UIDs a first run triages, ascending: the mail of the first-run window and the
    older mail still waiting (:func:`triage.imap.backlog.scan_backlog`). As a compact
    array: at 100,000 messages a list and a set of them were ~10 MB of the pass's memory."""
    watch_answered_from_now(mailbox, engine.history)
    now = engine.now()
    horizon = (now - timedelta(days=max(imap.backlog_days, imap.first_run_days))).date()
    recent = mailbox.uids_since_date(since)
    backlog = scan_backlog(mailbox, engine, since, horizon)
    engine.stats.notes.append(backlog.summary(len(recent)))
    log.info("%s", engine.stats.notes[-1])  # the service's log says it now; `once` repeats it at the end
    return array("L", sorted({*recent, *backlog.waiting}) if backlog.waiting else recent)


ARRIVING_BATCH = 100
"""Backlog messages per batch while mail keeps arriving during a long pass (see :class:`WorkQueue`)."""
ARRIVING_SECONDS = 30.0
"""How long after the last mail arrived during a long pass its batches stay small."""


class WorkQueue:
    """The UIDs a pass works through, in batches, new mail first: when a pass has more than
    one batch to do (a first run, a long outage), each batch, once decided, looks for mail
    that arrived meanwhile (:meth:`fresh`, one UID SEARCH) and that mail is decided and
    labelled before the batch's own labels are stored (:func:`_decide_batch`), so a
    customer writing during a 50,000-message first run waits for the deciding of one
    batch, not for the backlog, nor for the server to store a batch's labels. While mail
    keeps arriving (until :data:`ARRIVING_SECONDS` after the last), the backlog goes in
    batches of :data:`ARRIVING_BATCH` instead of ``batch_size`` (a batch of 500 takes
    about a second to decide and label). The backlog goes slower meanwhile (more commands
    a message); the customers who write now do not wait for it.

    The cursor then cannot simply be the highest UID done: it is the highest UID below
    which everything is done (:meth:`cursor`), so a crash never skips backlog mail; mail
    done early is known by UID and not triaged twice. What it holds is the queue (an
    array, read by position) and the UIDs handed out but not done yet: a first run's
    100,000 UIDs cost 0.8 MB, not a list and a set of them."""

    def __init__(self, mailbox: ImapMailbox, uids: Iterable[int], top: int, batch_size: int, max_bytes: int,
                 clock: Callable[[], float] = time.monotonic, *, refusals: Refusals | None = None,
                 retry: Iterable[int] = ()) -> None:
        self.mailbox, self.batch_size, self.max_bytes, self.clock = mailbox, batch_size, max_bytes, clock
        self.refusals = refusals or Refusals()
        """The server's refusals without a reason (:mod:`triage.imap.refusals`)."""
        self.retry = sorted(set(retry))
        """UIDs below the cursor the server refused on earlier passes: asked for first."""
        self.last_arrival: float | None = None
        """When mail was last found arriving during the pass (None: not yet)."""
        self.queue = uids if isinstance(uids, array) else array("L", uids)
        self.next = 0
        """Position in ``queue`` of the first UID not handed out yet."""
        self.in_flight: set[int] = set()
        """UIDs handed out (backlog or fresh) and not done yet (one that vanished stays)."""
        self.top = max(top, self.queue[-1]) if self.queue else top
        """The highest UID seen: the folder's at the start, or mail that arrived since."""
        self.arrived: list[int] = []
        self.finished = 0

    def batches(self) -> Iterator[list[RawMail]]:
        """The backlog's batches, fetched, oldest first; before each, what arrived
        meanwhile (:meth:`fresh`: the deciding of a batch looks too, so new mail is looked
        for twice a batch), on its own: a small batch is decided at once, in this process,
        ahead of the big one the workers are analysing (:meth:`Analyzer.ahead`). First,
        the messages earlier passes were refused (:attr:`retry`)."""
        if self.retry:
            yield from self.mailbox.fetch_batches(self.retry, self.batch_size, self.max_bytes, refused_unreadable=True)
            self.refusals.settle(self.retry)  # read, or gone: those refused again are counted
        while self.next < len(self.queue):
            yield from self.fresh()
            head = self.queue[self.next:self.next + self._backlog_batch()].tolist()
            self.next += len(head)
            self.in_flight.update(head)
            yield from self.mailbox.fetch_batches(head, self.batch_size, self.max_bytes, refused_unreadable=True)

    def fresh(self) -> list[list[RawMail]]:
        """The mail that arrived since the pass began or last looked, fetched; nothing in a
        pass of one batch, which the next pass follows at once."""
        if len(self.queue) <= self.batch_size:
            return []
        self.mailbox.announced_new_mail()  # what earlier answers announced, the SEARCH sees
        fresh = self.mailbox.uids_since(self.top)
        if self.mailbox.announced_new_mail():  # arrived since the last command: in the view only now
            fresh = self.mailbox.uids_since(self.top)
        if not fresh:
            return []
        log.info("%s: %d message(s) arrived during the pass; triaging them first", self.mailbox.folder, len(fresh))
        self.top = max(fresh)
        self.arrived += fresh
        self.in_flight.update(fresh)
        self.last_arrival = self.clock()
        return list(self.mailbox.fetch_batches(fresh, self.batch_size, self.max_bytes, refused_unreadable=True))

    @property
    def arriving(self) -> bool:
        """Whether mail has arrived during the pass in the last :data:`ARRIVING_SECONDS`."""
        return self.last_arrival is not None and self.clock() - self.last_arrival < ARRIVING_SECONDS

    def _backlog_batch(self) -> int:
        return min(self.batch_size, ARRIVING_BATCH) if self.arriving else self.batch_size

    def done(self, batch: list[RawMail]) -> None:
        """The batch is being decided and labelled now (its commit makes it done)."""
        for mail in batch:
            self.in_flight.discard(mail.uid)
            if mail.uid not in self.retry:  # below the cursor already
                self.finished = max(self.finished, mail.uid or 0)
        self.refusals.settle(mail.uid for mail in batch if mail.uid is not None)

    def cursor(self) -> int:
        """The highest UID at or below which every UID of the pass is done."""
        not_done = [*([min(self.in_flight)] if self.in_flight else []),
                    *([self.queue[self.next]] if self.next < len(self.queue) else [])]
        return min(not_done) - 1 if not_done else self.finished


class RowsHeld:
    """A pass's ``emit`` that keeps a stop from falling between rows printed and the
    commit that records them.

    In ``triage once`` SIGTERM and SIGINT raise (:mod:`triage.signals`). Held only while
    the rows were written, the stop was raised right after them, before their commit: the
    pass was forgotten and the next run decided and printed the same rows again. With
    stdout blocked by a slow reader, a stop sent meanwhile always came there. Now it is
    held from the first row printed until :meth:`recorded`, which follows each commit:
    the step that printed is finished (the label STOREs of its batch included). A dry
    run records nothing, so there only the writing is held. The service's stop raises
    nothing (it ends a pass between batches): nothing is held there."""

    def __init__(self, emit: Callable[[list[Decision | KeptRow]], None], dry_run: bool) -> None:
        self.emit, self.dry_run = emit, dry_run
        self.prints = emit is not no_rows
        self._held = ExitStack()
        self._holding = False

    def __call__(self, rows: list[Decision | KeptRow]) -> None:
        if self.dry_run:
            with signals_held():
                self.emit(rows)
            return
        if not self._holding:
            self._held.enter_context(signals_held())
            self._holding = True
        self.emit(rows)

    def recorded(self) -> None:
        """The rows printed so far are committed (or the pass is over): a stop held since
        takes effect now."""
        self._holding = False
        self._held.close()


class _Taken(NamedTuple):
    """Batches of a :class:`LabelGroup` on their way to the server."""

    batches: list[list[Decision | KeptRow]]
    read: list[tuple[int, int]]
    """Per batch: messages read, the highest UID among them (for the log)."""
    uids: list[int]
    """The messages whose labels they store (remembered as unstored until they are)."""


LABEL_GROUP = 2000
"""Decided messages whose labels are stored at once (see :class:`LabelGroup`) ..."""
LABEL_GROUP_BATCHES = 4
"""... or batches, whichever comes first: small batches stay quick to show."""
DEFERRED_MOVES = 2_000
"""Waiting labels a group moves off messages of earlier groups are stored with the group
that brings this many, or at the end of the pass (see :class:`LabelGroup`)."""


def _decide_batch(batch: list[RawMail], labeler: Labeler, engine: Engine, work: WorkQueue,
                  emit: Callable[[list[Decision]], None], moved: list[SweepChange]) -> list[Decision]:
    """Decide one batch (recorded, uncommitted) and return its decisions; the labels it
    moves on earlier messages go to ``moved`` (see :meth:`Engine.decide`).

    Mail that arrived while the batch was decided goes first: decided (in this process: a
    few messages), labelled and shown at once, before the batch's own labels are stored,
    and remembered with them (and the labels it moves with the batch's)."""
    present = labeler.mailbox.flags_of  # (only asked about a message moved out and back)
    decisions = engine.decide(batch, present, moved)
    for fresh in work.fresh():
        work.done(fresh)
        fresh_decisions = engine.decide(fresh, present, moved)
        labeler.apply_many(label_changes(labeler, fresh_decisions))
        emit(fresh_decisions)
    return decisions


class LabelGroup:
    """Decided batches on their way to the server: :meth:`close` remembers them (decisions,
    cursor, and their labels as not stored yet) in one commit; :meth:`send` sends their
    labels, and the server stores them while the next batch is decided; :meth:`finish`
    waits for its answers, shows the rows, and records the labels stored (committed with
    the next group, or at the end of the pass).

    Labels go in one STORE per set of labels (:func:`~triage.imap.labeler.merged_stores`),
    and every lot of up to four pipelined commands costs the server a look at the folder:
    on Dovecot's Maildir about 20 ms at 100,000 messages (2 ms at 10,000), where a message
    written costs 0.03 ms. 1,000 messages bring about 51 label sets, 2,000 about 58, 4,000
    about 66 (the generated mail, a first run over 100,000), so a group of four batches of
    500 needs 15 lots for 2,000 messages where groups of two needed 26; and the lots are
    answered while the next batch is decided instead of before.

    The state is committed before the labels are stored, so what it says may not be on
    the server yet: the messages are kept in :meth:`History.add_unstored`, with their
    rows, until the answers came. A pass that ends in between (a crash, a lost
    connection) leaves them there, and the next one stores their labels and prints their
    rows first (:func:`store_unstored`): nothing is lost; at worst a row is printed
    twice. A stop is not such an end: it waits for the commit (:class:`RowsHeld`). Mail arriving during the pass is labelled and shown at once, on its own, and
    while it keeps arriving (:attr:`WorkQueue.arriving`) every batch is stored as soon as
    it is decided, one at a time: new mail's STOREs must not queue behind a group's.

    The waiting labels a group moves off messages stored by an earlier group (a
    conversation's later message arrived) wait, marked unstored like the group's own,
    until :data:`DEFERRED_MOVES` of them are due or the pass stores the rest
    (:meth:`store_now`). Writing a message the server renamed since it last read its
    folder makes Dovecot read the whole Maildir again (0.2 s at 100,000 messages,
    whatever the number written): moved with every group, a first run over 100,000
    paid that 200 times, half of the server's work."""

    def __init__(self, labeler: Labeler, engine: Engine, state: FolderState, work: WorkQueue, *, dry_run: bool,
                 emit: RowsHeld, held: Iterable[SweepChange] = (), hold: bool = False) -> None:
        self.labeler, self.engine, self.state, self.work = labeler, engine, state, work
        self.dry_run, self.emit = dry_run, emit
        self.folder = labeler.mailbox.folder or ""
        self.batches: list[list[Decision | KeptRow]] = []
        self.moved: list[SweepChange] = []
        """Labels the batches moved on earlier messages (:meth:`Engine.decide`)."""
        self.deferred: list[SweepChange] = list(held)
        """Moves on messages of earlier groups (or passes: ``held``), remembered as
        unstored, not sent yet."""
        self.hold = hold
        """Whether :meth:`store_now` leaves them (and the moves off messages it did not
        decide) in :attr:`deferred`, up to :data:`DEFERRED_MOVES`, for a later pass."""
        self.read: list[tuple[int, int]] = []
        """Per batch: messages read, the highest UID among them (for the log)."""
        self.size = 0
        """Messages decided and not remembered yet."""
        self._queued: tuple[list[LabelChange], _Taken] | None = None
        """Remembered, labels not sent yet."""
        self._sent: tuple[Callable[[], object], _Taken] | None = None
        """Labels sent, answers not read yet."""

    def full(self) -> bool:
        """Whether the group should be closed now (:data:`LABEL_GROUP`, :data:`LABEL_GROUP_BATCHES`)."""
        return self.size >= LABEL_GROUP or len(self.batches) >= LABEL_GROUP_BATCHES

    def add(self, batch: list[RawMail], decisions: list[Decision], moved: Iterable[SweepChange] = ()) -> None:
        """One more batch read and its decisions (recorded in history, uncommitted), and
        the labels it moved on earlier messages."""
        self.batches.append(decisions)
        self.moved += moved
        self.read.append((len(batch), max(mail.uid or 0 for mail in batch)))
        self.size += len(decisions)

    def close(self) -> None:
        """Remember the batches added, their labels to be sent (a dry run, which keeps one
        open transaction so later batches see earlier ones, stores them now)."""
        if self.dry_run:
            self.store_now()
            return
        if not self.batches:
            return
        decisions = [d for batch in self.batches for d in batch]
        moved_now = self._moves_to_send({d.uid for d in decisions})
        changes = with_moved(label_changes(self.labeler, decisions), moved_now)
        self.finish()
        if self.emit.prints:  # each row is made once: kept with the marks, printed as kept
            self.batches = [[KeptRow(jsonl_line(d), d.uid) for d in batch] for batch in self.batches]
        rows = (row for batch in self.batches for row in batch)
        marks = {d.uid: Unstored(d.uid, tuple(d.labels), d.flag, row.line if isinstance(row, KeptRow) else None)
                 for d, row in zip(decisions, rows) if d.uid is not None}
        history = self.engine.history
        for change in self.moved:  # (what the message carries once stored is recorded)
            mark = marks.get(change.uid)
            marks[change.uid] = Unstored(change.uid, history.labels_of(change.row),
                                         change.flag if mark is None or change.add else mark.flag,
                                         mark.line if mark else None)
        history.add_unstored(self.folder, list(marks.values()))
        self.moved = moved_now  # (the deferred ones keep their marks until they are sent)
        self._queued = (changes, self._taken())
        self.engine.commit()

    def _moves_to_send(self, decided: set[int | None]) -> list[SweepChange]:
        """The moves to store with the group now: those on its own messages, and every
        one deferred once :data:`DEFERRED_MOVES` are due; the others are deferred."""
        self.deferred += [move for move in self.moved if move.uid not in decided]
        own = [move for move in self.moved if move.uid in decided]
        if len(self.deferred) < DEFERRED_MOVES:
            return own
        due, self.deferred = self.deferred, []
        return due + own

    def store_now(self) -> None:
        """Store the labels of the batches added, wait for the server, show them, and set
        the cursor, for the caller to commit: at the end of a pass, or while mail arrives,
        nothing is left to decide meanwhile, so they are remembered after they are stored
        (a crash in between decides them again) and need no unstored marks. The deferred
        moves go with them, their marks cleared; with :attr:`hold` they wait instead, and
        so do the moves off messages these batches did not decide. What was sent before is
        finished first."""
        self.finish()
        decisions = [d for batch in self.batches for d in batch]
        if self.hold and len(self.deferred) + len(self.moved) < DEFERRED_MOVES:
            decided = {d.uid for d in decisions}
            self._hold([move for move in self.moved if move.uid not in decided])
            moved, deferred = [move for move in self.moved if move.uid in decided], []
        else:
            moved, (deferred, self.deferred) = self.moved, (self.deferred, [])
        if not self.batches and not deferred and not moved:
            return
        decisions = [d for d in decisions if d.uid is not None]
        changes = with_moved(label_changes(self.labeler, decisions), deferred + moved)
        self.labeler.apply_many(changes)
        history = self.engine.history
        refused = self.labeler.take_refused()
        history.clear_unstored(self.folder, [move.uid for move in deferred if move.uid not in refused])
        if refused:  # marked, to be stored by a later pass (their rows are printed now)
            marks = {d.uid: Unstored(d.uid, tuple(d.labels), d.flag, None) for d in decisions if d.uid in refused}
            marks |= moved_marks(history, (move for move in deferred + moved if move.uid in refused))
            history.add_unstored(self.folder, list(marks.values()))
        remember_refused_stores(history, self.folder, self.state.uidvalidity, [change.uid for change in changes],
                                refused)
        if self.batches:
            self._show(self._taken())
        self.moved = []

    def _hold(self, moves: list[SweepChange]) -> None:
        """Leave ``moves`` for a later pass (:attr:`hold`), each message marked unstored
        with what it carries once they are written (a crash or restart writes them)."""
        if not moves:
            return
        self.deferred += moves
        self.engine.history.add_unstored(self.folder, list(moved_marks(self.engine.history, moves).values()))

    def _taken(self) -> _Taken:
        """The batches added, the group emptied and the cursor set past them (uncommitted)."""
        self.engine.history.set_cursor(self.folder, self.state.uidvalidity, self.work.cursor())
        remember_refusals(self.engine.history, self.work.refusals)
        uids = [d.uid for batch in self.batches for d in batch if d.uid is not None] + [c.uid for c in self.moved]
        taken = _Taken(self.batches, self.read, uids)
        self.batches, self.read, self.moved, self.size = [], [], [], 0
        return taken

    def send(self) -> None:
        """Send the labels of the group closed last, answers unread (:meth:`Labeler.apply_later`)."""
        if self._queued is not None:
            changes, taken = self._queued
            self._queued = None
            self._sent = (self.labeler.apply_later(changes), taken)

    def finish(self) -> None:
        """Wait until the server has stored the labels sent, then show their rows and record
        them stored (uncommitted). Raises ImapError when it refused them."""
        self.send()
        if self._sent is not None:
            answered, taken = self._sent
            self._sent = None
            answered()
            self._show(taken)
            refused = self.labeler.take_refused() & set(taken.uids)
            self.engine.history.clear_unstored(self.folder, [uid for uid in taken.uids if uid not in refused])
            remember_refused_stores(self.engine.history, self.folder, self.state.uidvalidity, taken.uids, refused)

    def _show(self, taken: _Taken) -> None:
        """Print (emit) and log each batch whose labels are stored."""
        for decisions, (count, last_uid) in zip(taken.batches, taken.read):
            self.emit(decisions)
            log.debug("%s: read %d message(s) up to UID %d, triaged %d%s", self.folder, count, last_uid,
                      len(decisions), "" if self.dry_run else ", labels stored")

    def abandon(self) -> None:
        """After an error: read the answers still owed on the connection, if it can, so the
        next command is not confused by them; the labels stay to be stored next pass."""
        if self._sent is not None:
            answered, _ = self._sent
            self._sent = None
            try:
                answered()
            except Exception:  # noqa: BLE001 - the error that ended the pass is the one to report
                log.debug("%s: no answers to the last labels sent", self.folder, exc_info=True)


def moved_marks(history: History, moves: Iterable[SweepChange]) -> dict[int, Unstored]:
    """UID → the unstored mark of each message ``moves`` change (on the server): what it
    carries once they are written (as recorded), with the last move's flag."""
    last = {move.uid: move for move in moves if move.uid is not None}
    return {uid: Unstored(uid, history.labels_of(move.row), move.flag, None) for uid, move in last.items()}


def store_unstored(labeler: Labeler, engine: Engine, emit: Callable[[list], None], *, renumbered: bool = False,
                   held: Collection[int] = ()) -> int:
    """Store the labels of the messages a pass remembered without seeing them stored (it
    ended between its commit and the server's answers, see :class:`LabelGroup`), and
    print their rows; then forget them. After a renumbering (``renumbered``) their UIDs
    are void and :func:`~triage.imap.restore.restore_folder` has put the labels back:
    only the rows are printed. ``held``: messages whose moves the service holds on
    purpose (see :func:`sync_folder`), left marked. Returns how many messages there were."""
    history, folder = engine.history, labeler.mailbox.folder or ""
    left = [m for m in history.unstored(folder) if m.uid not in held]
    if not left:
        return 0
    uidvalidity = labeler.mailbox.state.uidvalidity if labeler.mailbox.state is not None else 0
    refused_before = history.refused_stores(folder, uidvalidity)
    refused: set[int] = set()
    if renumbered:
        history.set_refused_stores(folder, uidvalidity, {})
    else:
        labeler.take_refused()  # (what was refused before is not of these writes)
        current = labeler.labels_of(m.uid for m in left)
        for retrying in (False, True):  # the messages refused before on their own, apart
            labeler.apply_many([LabelChange.of(m.uid, m.labels, current[m.uid], flag=m.flag) for m in left
                                if m.uid in current and (m.uid in refused_before) == retrying], retrying=retrying)
        refused = labeler.take_refused()
    rows = [KeptRow(m.line) for m in left if m.line is not None]
    if rows:
        emit(rows)
    history.clear_unstored(folder, [m.uid for m in left if m.uid not in refused])
    if not renumbered:
        remember_refused_stores(history, folder, uidvalidity, [m.uid for m in left], refused)
    engine.commit()
    interrupted = [m for m in left if m.uid not in refused_before]
    if interrupted:
        log.warning("%s: the last pass ended before the server had stored the labels of %d message(s); stored now",
                    folder, len(interrupted))
    return len(left)


def remember_refused_stores(history: History, folder: str, uidvalidity: int, tried: Iterable[int],
                            refused: set[int]) -> None:
    """Count the passes that refused to store the labels of ``refused`` (of the messages
    ``tried``, whose labels were sent; those not refused are stored now). Each stays
    marked unstored, its row printed, for the next passes to store
    (:func:`store_unstored`), until :data:`~triage.imap.refusals.REFUSED_PASSES` passes
    refused it: then it is left without its labels, said in an error line. A message the
    server would not change was left so at once, for good, before; a server's passing
    trouble must not cost a customer's mail its labels. Uncommitted."""
    before = history.refused_stores(folder, uidvalidity)
    tried = set(tried)
    refused = refused & tried  # (a sweep's refusals, on messages of no group, are its own)
    if not refused and not before.keys() & tried:
        return
    counts = {uid: times for uid, times in before.items() if uid not in tried}
    given_up = []
    for uid in sorted(refused):
        times = before.get(uid, 0) + 1
        if times < REFUSED_PASSES:
            counts[uid] = times
        else:
            given_up.append(uid)
            log.error("%s: UID %d refused its labels on %d passes; left without them: a person should look",
                      folder, uid, times)
    history.clear_unstored(folder, given_up)
    history.forget_unstored_rows(folder, counts.keys() & refused)
    history.set_refused_stores(folder, uidvalidity, counts)


RENUMBERED = -1
"""The UIDVALIDITY a pass gives the cursor of a folder renumbered under the one it had
(:func:`renumbered_silently`): no server's (they are 32-bit numbers above 0), so the pass
takes the renumbering for a UIDVALIDITY change and resynchronises."""


def renumbered_silently(mailbox: ImapMailbox, history: History, state: FolderState,
                        cursor: tuple[int, int] | None) -> bool:
    """Whether the selected folder, whose UIDVALIDITY is the one of its ``cursor``, was
    renumbered all the same (:mod:`triage.imap.renumbering`). Asked by the first pass of
    a connection only, before it moves the cursor: the state is then its SELECT's, with
    the UIDNEXT of a moment after the cursor was last moved (a later pass's state is that
    SELECT's still, which the cursor has passed). Costs one FETCH of a few Message-IDs."""
    folder = mailbox.folder or ""
    if folder in mailbox.numbering_checked:
        return False
    mailbox.numbering_checked.add(folder)
    if cursor is None or cursor[0] != state.uidvalidity:
        return False
    known = history.highest_uids(folder, CHECKED_UIDS)
    try:
        found = mailbox.message_ids(known) if known else {}
    except ImapConnectionError:
        raise
    except ImapError as exc:  # a refusal: no sign either way (the pass must not fail on it, every time)
        log.debug("%s: the Message-IDs of UIDs %s not read (%s)", folder, sorted(known), exc)
        found = {}
    if not renumbered_in_place(cursor[1], state.uidnext, known, found):
        return False
    log.warning("%s: the server renumbered its messages under the same UIDVALIDITY %d (UIDNEXT %d, UID %d triaged "
                "before; a restore or a migration?); resynchronising by Message-ID", folder, state.uidvalidity,
                state.uidnext, cursor[1])
    history.set_lost_fetches(folder, state.uidvalidity, {})
    history.set_refused_fetches(folder, state.uidvalidity, {})
    return True


def new_uids(mailbox: ImapMailbox, history: History, state: FolderState, since: date,
             cursor: tuple[int, int], max_bytes: int) -> list[int]:
    """The UIDs of the selected folder still to triage after its ``cursor`` (UIDVALIDITY,
    last UID), ascending (see the module docstring; a first run has no cursor and takes
    :func:`_first_run_uids`). ``max_bytes``: how much of a message a pass reads."""
    folder = mailbox.folder or ""
    uidvalidity, last_uid = cursor
    if uidvalidity == state.uidvalidity:
        return mailbox.uids_since(last_uid)
    if uidvalidity != RENUMBERED:  # (that one said so already)
        log.warning("%s: UIDVALIDITY changed from %d to %d; resynchronising by Message-ID",
                    folder, uidvalidity, state.uidvalidity)
    return resync(mailbox, history, since, max_bytes)


def resync(mailbox: ImapMailbox, history: History, since: date, max_bytes: int) -> list[int]:
    """Give known messages their new UIDs and return the window's UIDs still unknown.

    Messages are known by Message-ID (:meth:`History.rebind_uids`, headers only), then
    the window's others by their content (:meth:`History.rebind_by_content`): a message
    without a Message-ID is stored under one made from its content, an unreadable one
    under one made up, and a Message-ID two stored messages share names neither; each
    would be triaged, counted and shown again. Those messages are read for it (as a pass
    reads them, the first ``max_bytes``: the hash is of those bytes), before their lost
    labels are put back (:func:`~triage.imap.restore.restore_folder`). Mail older than
    the window is not read: it is not triaged again either way.

    The rebinding is written to history uncommitted: it becomes durable with the pass's
    first commit, or is rolled back with it."""
    folder = mailbox.folder or ""
    ids = mailbox.message_ids(mailbox.uids_since(0))
    history.rebind_uids(folder, {message_id: uid for uid, message_id in ids.items()})
    window = mailbox.uids_since_date(since)
    known = history.known_uids(folder, window)
    unknown = [uid for uid in window if uid not in known]
    if unknown:
        rebound = history.rebind_by_content(folder, {
            mail.uid: content_hash(mail.raw) for batch in mailbox.fetch_batches(unknown, max_bytes=max_bytes)
            for mail in batch if mail.uid is not None and mail.unreadable is None})
        unknown = [uid for uid in unknown if uid not in rebound]
    log.info("%s: %d message(s) in the folder, %d in the window not triaged yet", folder, len(ids), len(unknown))
    return unknown


def with_moved(changes: list[LabelChange], moved: Iterable[SweepChange]) -> list[LabelChange]:
    """``changes`` followed by the waiting labels ``moved`` after them (by later
    messages of the same conversations), as one change per message: a message decided
    and moved in the same group is written once, with what it carries in the end."""
    merged = {change.uid: change for change in changes}
    for move in moved:
        before = merged.get(move.uid)
        if before is None:
            merged[move.uid] = LabelChange.of(move.uid, move.add, move.remove, flag=move.flag)
        else:
            merged[move.uid] = LabelChange.of(move.uid, (before.add - move.remove) | move.add, before.remove | move.remove,
                                              flag=move.flag if move.add else before.flag)
    return list(merged.values())


def label_changes(labeler: Labeler, decisions: Iterable[Decision]) -> list[LabelChange]:
    """Each decision's labels, plus the removal of any other triage label its message
    carries (left by a decision that was never recorded, e.g. before a crash).

    With keywords, what a message carries is in the flags fetched with it moments ago,
    so no second FETCH is spent on every batch; other modes ask the server."""
    decisions = [d for d in decisions if d.uid is not None]
    if labeler.mode == "keywords":
        current = {d.uid: labeler.labels_in_flags(d.message.flags) for d in decisions}
    else:
        current = labeler.labels_of(d.uid for d in decisions) if decisions else {}
    return [LabelChange.of(d.uid, d.labels, current.get(d.uid, frozenset()), flag=d.flag) for d in decisions]
