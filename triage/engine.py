"""The engine: parse a batch of mail, decide everything about each inbound message, and
record it in history — without acting. The caller acts (prints, labels the server) and
then calls :meth:`Engine.commit`; until then nothing is remembered, so a crash repeats
nothing visible and loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from itertools import chain
from typing import TYPE_CHECKING

from triage import OTHER, rules
from triage.analysis import Analysis, Analyzer, Broken, analyze_message
from triage.automated import BULK_MIN_MESSAGES, bulk_sender, machine_address
from triage.errors import MessageParseError
from triage.forwards import Forwarded
from triage.frustration import frustration_score
from triage.history import History
from triage.labels import NO_ACTION, UNREADABLE, category_labels, waiting_labels
from triage.message import Message, RawMail
from triage.parsing import content_hash, mail_digest, parse_message
from triage.priority import NEEDS_REPLY, THANKS, Facts, asks_for_nothing, prioritize
from triage.sla import Policy
from triage.sweep import SweepChange, record_sweep, row_changes
from triage.waiting import REPEATS_CLAIM, REPEATS_TIER, Conversation, conversations

if TYPE_CHECKING:  # the model brings numpy: see Engine.loading
    from triage.model import CategoryModel
    from triage.tone import ToneModel

log = logging.getLogger(__name__)

ANSWERED = "\\answered"
"""The IMAP flag a client sets on a message it replied to (lower case: flags compare so)."""


def has_answered_flag(flags: Iterable[str]) -> bool:
    """True when ``flags`` carry ``\\Answered`` (IMAP flags compare case-insensitively)."""
    return ANSWERED in {flag.lower() for flag in flags}


@dataclass(frozen=True)
class Settings:
    """The knobs of deciding (from config and command line)."""

    support_addresses: frozenset[str] = frozenset()
    frustration_threshold: float = 0.5
    follow_up_gap_hours: float = 1.0
    label_prefix: str = "triage/"
    sla: Policy = field(default_factory=Policy)
    """Reply targets and what lateness changes (:mod:`triage.sla`)."""
    flag_backlog_days: float = 7.0
    """A P1 wait of the backlog (begun before triage watched) is \\Flagged only when its
    latest message is at most this many days old (:meth:`Conversation.flag_due`)."""

    def is_team(self, address: str) -> bool:
        """True for a support address, or any address of a listed ``@domain``."""
        address = address.lower()
        domain = "@" + address.rsplit("@", 1)[-1]
        return address in self.support_addresses or domain in self.support_addresses

    def is_team_message(self, message: Message) -> bool:
        """Whether ``message`` is the team's own: From a support address — a listed
        address always; an address of a listed ``@domain`` unless it relays someone
        outside the team: a web form or a shop app on the shop's own domain
        (``wordpress@shop.example`` with ``@shop.example`` listed) sends the customer's
        words From it, naming the customer in Reply-To (:attr:`Message.answer_to`), and a
        colleague hands the team a customer's mail (:meth:`handed_over`)."""
        if message.sender.lower() in self.support_addresses:
            return True
        return (self.is_team(message.sender) and not (message.answer_to and not self.is_team(message.answer_to))
                and self.handed_over(message) is None)

    def handed_over(self, message: Message) -> Forwarded | None:
        """The customer's mail ``message`` hands the team, else None: a colleague's
        forward ("FW: complaint" from tom@ of a listed ``@domain``) of the mail of someone
        outside the team, to team addresses only (:attr:`Message.forwarded` says it is a
        forward: a marker, the block at the top, a short note). Taken as the team's mail
        it was a reply to nobody, and the customer never waited. Not a hand-over: mail
        from a listed support address (an agent forwarding from support@ is sending
        something on), a forward with anyone outside the team among its recipients (to
        the customer, to a supplier), a forward of a team mate's mail or of a machine's
        (a no-reply or notification mailbox: nobody to answer), and one of mail that was
        sent to a listed support address too (the inbox has it already: handed over
        again, it counted twice)."""
        forwarded = message.forwarded
        if (forwarded is None or message.sender.lower() in self.support_addresses
                or not self.is_team(message.sender) or self.is_team(forwarded.address)
                or machine_address(forwarded.address)
                or not message.recipients or not all(self.is_team(address) for address in message.recipients)
                or any(address in self.support_addresses for address in forwarded.addressed)):
            return None
        return forwarded

    def customer_of(self, message: Message) -> tuple[str, str]:
        """(address, name) of the customer a customer's message is from: who the team
        answers (:attr:`Message.answer_to`, a Reply-To or a form's e-mail field, unless it
        is the team's), or the author of the mail a colleague hands over
        (:meth:`handed_over`), else its sender. The conversation, the repeat count and the
        machine-sender check go by it: a form's one mailbox is not one customer."""
        if message.answer_to and not self.is_team(message.answer_to):
            return message.answer_to, message.answer_to_name
        if handed := self.handed_over(message):
            return handed.address, handed.name
        return message.sender, message.sender_name


@dataclass
class Decision:
    """Everything decided about one inbound message: one row of output."""

    message: Message
    thread_id: str
    categories: list[str]
    scores: dict[str, float]
    frustration: float
    frustrated: bool
    repeat_count: int
    waiting_hours: float | None
    priority: int
    reasons: list[str]
    labels: list[str]
    flag: bool = True
    """Whether a priority-1 label on it may bring ``\\Flagged`` (not for old backlog)."""
    overdue: bool = False

    @property
    def uid(self) -> int | None:
        return self.message.uid

    @property
    def mailbox(self) -> str:
        return self.message.mailbox

    @property
    def message_id(self) -> str:
        return self.message.message_id

    def to_json(self) -> dict:
        """One JSON Lines row: the contract of docs/contracts.md."""
        m = self.message
        return {
            "message_id": m.message_id,
            "uid": m.uid,
            "mailbox": m.mailbox,
            "from": m.sender,
            "from_name": m.sender_name,
            "subject": m.subject,
            "date": m.date.isoformat(),
            "thread_id": self.thread_id,
            "categories": self.categories or [OTHER],
            "scores": self.scores,
            "frustration": self.frustration,
            "frustrated": self.frustrated,
            "automated": m.automated,
            "repeat_count": self.repeat_count,
            "waiting_hours": self.waiting_hours,
            "priority": self.priority,
            "reasons": self.reasons,
            "labels": self.labels,
        }


@dataclass
class BatchStats:
    """Counts for the log and the closing summary of a run."""

    parsed: int = 0
    broken: int = 0
    already_triaged: int = 0
    team_replies: int = 0
    triaged: int = 0
    broken_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a person should know about the run (a first run says what it skipped)."""


class Engine:
    """Decides about batches of mail against one history file.

    Use as a context manager, or call :meth:`close`, to stop the analysis workers.
    """

    def __init__(self, model: CategoryModel, tone: ToneModel, history: History, settings: Settings,
                 now: datetime | None = None, workers: int = 0):
        self._model: CategoryModel | None = model
        self._tone = tone
        self._load: Callable[[], CategoryModel] | None = None
        self._workers = workers
        self._analyzer: Analyzer | None = None
        self.history = history
        self.settings = settings
        self.fixed_now = now
        self.stats = BatchStats()

    @classmethod
    def loading(cls, load: Callable[[], CategoryModel], history: History, settings: Settings,
                now: datetime | None = None, workers: int = 0) -> Engine:
        """An engine that calls ``load`` for its model (and the model's tone) the first
        time it decides: reading the model and importing numpy are most of a start, and
        a ``triage once`` that finds no new mail needs neither. :meth:`load` loads it now."""
        engine = cls(None, None, history, settings, now=now, workers=workers)  # type: ignore[arg-type]
        engine._load = load
        return engine

    @property
    def model(self) -> CategoryModel:
        """The category model (loaded now if it was deferred)."""
        if self._model is None:
            assert self._load is not None
            self._model = self._load()
            self._tone = self._model.tone
        return self._model

    def load(self) -> None:
        """Load a deferred model now, so that a broken one fails here rather than at the
        first mail (the service, before it connects)."""
        self.model  # noqa: B018 - the property loads it

    @property
    def analyzer(self) -> Analyzer:
        """The analysis of batches, over the worker processes (made with the model)."""
        if self._analyzer is None:
            model = self.model
            self._analyzer = Analyzer(model, self._tone, self._workers)
        return self._analyzer

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(abandon=kind is not None)

    def close(self, abandon: bool = False) -> None:
        """Stop the worker processes (the history file belongs to the caller); with
        ``abandon`` (a stop, an error) without waiting for analyses nobody will read."""
        if self._analyzer is not None:
            self._analyzer.close(abandon)

    def ahead(self, batches: Iterable[list[RawMail]]) -> Iterator[list[RawMail]]:
        """Iterate over ``batches`` for :meth:`decide` with the next batch's analysis
        already started in the workers (see :meth:`Analyzer.ahead`). The model is loaded
        at the first batch, not before: there may be none."""
        batches = iter(batches)
        first = next(batches, None)
        if first is not None:
            yield from self.analyzer.ahead(chain((first,), batches))

    def _known(self, raws: list[RawMail]) -> set[int]:
        """Positions in ``raws`` of mail already recorded: by UID in its folder (IMAP), by
        content hash (local mail, which has no other identity), or seen earlier in the batch."""
        known: set[int] = set()
        with_uid = [i for i, r in enumerate(raws) if r.uid is not None]
        if with_uid:
            known_uids = self.history.known_uids(raws[with_uid[0]].mailbox, [raws[i].uid for i in with_uid])
            seen_uids: set[int] = set()
            for i in with_uid:
                if raws[i].uid in known_uids or raws[i].uid in seen_uids:
                    known.add(i)
                seen_uids.add(raws[i].uid)
        local = {i: mail_digest(r) for i, r in enumerate(raws) if r.uid is None}
        if local:
            known_hashes = self.history.known_hashes(list(set(local.values())))
            seen: set[str] = set()
            for i, digest in local.items():
                if digest in known_hashes or digest in seen:
                    known.add(i)
                seen.add(digest)
        return known

    def now(self) -> datetime:
        """The clock for waiting times: ``--now`` when given, else the current time."""
        return self.fixed_now or datetime.now(timezone.utc)

    def decide(self, raws: Iterable[RawMail], present: Callable[[list[int]], Collection[int]] | None = None,
               moved: list[SweepChange] | None = None) -> list[Decision]:
        """Parse, classify and prioritise a batch; record it in history uncommitted.

        Returns one Decision per new inbound message, oldest first, unreadable ones
        included. The team's replies are recorded (they stop the clock) but produce no
        Decision. Nothing one message does can stop the batch: a message that cannot be
        read, or that triage fails on, is recorded as unreadable with the reason (so it is
        counted, reported and labelled, and never tried again), and the rest go on.

        ``present`` (mail read from a server): which of some UIDs are still in the
        folder; with it, mail moved out of the folder and back is known again
        (:meth:`_moved_back`).

        ``moved``: where the labels of earlier messages go that the batch moves (a
        conversation's waiting labels leave its earlier message for the batch's), for the
        caller to store on the server with the batch's; they are recorded as moved. Without
        it, only local mail's are moved, and the sweep moves the others.
        """
        raws = raws if isinstance(raws, list) else list(raws)
        known = self._known(raws)
        analyses: list[Analysis] = []
        unreadable: list[tuple[RawMail, str]] = []
        # The whole batch is analysed, known mail included, so work started ahead by
        # :meth:`ahead` is found; known mail is dropped after (rare: a resync or a re-run).
        for position, (raw, item) in enumerate(zip(raws, self.analyzer.analyze(raws))):
            if position in known:
                continue
            if isinstance(item, Broken):
                unreadable.append((raw, item.reason))
            else:
                analyses.append(item)
        self.stats.parsed += len(analyses)
        self.stats.already_triaged += len(known)
        recorded: list[tuple[Analysis, Message, str, int, str | None]] = []
        moved_back = self._moved_back([a.message for a in analyses], present) if present is not None else set()
        for analysis in sorted(analyses, key=lambda a: a.message.date):
            message = analysis.message
            if message.uid in moved_back:
                continue
            try:
                with self.history.one_message():
                    if self.settings.is_team_message(message) or self._passes_on_recorded_mail(message):
                        self._record_reply(message, message.uid, content_hash=message.content_hash)
                    else:
                        analysis = self._customer_words(analysis)
                        message = analysis.message
                        chasing = ("follow_up" in self.model.decide(analysis.scores)
                                   or analysis.reading.chasing is not None)
                        recorded.append((analysis, *self._record_inbound(message, analysis.reading, chasing)))
                        if message.undelivered:  # the team's reply bounced: the customer never got it
                            self.history.mark_bounced(message.undelivered)
            except Exception as exc:
                log.exception("recording %s:%s failed", message.mailbox, message.key)
                unreadable.append((_raw_of(message, raws), f"triage failed on it ({type(exc).__name__}: {exc})"))

        decided: list[tuple[Message, str, int, Content]] = []
        for analysis, message, thread_id, row, asks_nothing in recorded:
            try:
                with self.history.one_message():
                    content = self._content(message, thread_id, row, analysis, asks_nothing)
                    decided.append((message, thread_id, row, content))
            except Exception as exc:
                log.exception("deciding %s:%s failed", message.mailbox, message.key)
                unreadable.append((_raw_of(message, raws), f"triage failed on it ({type(exc).__name__}: {exc})"))
                self.history.mark_unreadable(row, unreadable[-1][1])
        decisions = self._in_conversation(decided, moved)
        decisions += [self._unreadable(raw, reason) for raw, reason in unreadable]
        self.stats.triaged += len(decisions)
        return decisions

    def _passes_on_recorded_mail(self, message: Message) -> bool:
        """Whether ``message``, a colleague's forward of a customer's mail
        (:meth:`Settings.handed_over`), is in reply to that customer's mail recorded from
        the inbox (Gmail keeps a forward in its thread), or attaches it, or — its header
        block naming no recipient's address — carries the subject of the customer's mail
        that still waits: it passes on what the team has already — the team's mail, not
        the customer writing again."""
        handed = self.settings.handed_over(message)
        if handed is None:
            return False
        if any(self.history.has_inbound(message_id, handed.address)
               for message_id in (message.in_reply_to, handed.message_id) if message_id):
            return True
        # A block naming its recipients without their addresses (Exchange shows its own
        # users so: "To: Support; Tom Baker") cannot say the inbox got that mail too;
        # the customer's unanswered mail under its subject says it did.
        return not handed.addressed and self.history.waits_under_subject(handed.address, handed.subject)

    def _customer_words(self, analysis: Analysis) -> Analysis:
        """The analysis of a customer's message on the customer's words: for mail a
        colleague hands over (:meth:`Settings.handed_over`), the forwarded mail's rather
        than the note above it ("can someone pick this up?"), read again in this process
        (rare mail; the workers do not know who the team is)."""
        handed = self.settings.handed_over(analysis.message)
        if handed is None:
            return analysis
        again = analyze_message(replace(analysis.message, newest_text=handed.text), self.model, self._tone)
        return analysis if isinstance(again, Broken) else again

    def _moved_back(self, messages: list[Message], present: Callable[[list[int]], Collection[int]]) -> set[int]:
        """The UIDs among ``messages`` of mail triaged before elsewhere
        (:meth:`History.triaged_as`): under a UID of its folder that is gone now (a person
        moved it out and back, or undid a move), or in the folder triage watched before
        (renamed, and the config changed with it). Their records move to the new place;
        they are counted as already triaged, not decided again (that counted each as the
        customer's second message, raised its priority and printed its row twice).
        ``present`` tells which of some UIDs are still in the folder: a copy beside the
        original is a second delivery, a message of its own."""
        candidates: dict[int, tuple[int, str, int | None]] = {}
        taken: set[int] = set()  # rows already matched to a message of the batch
        for message in sorted((m for m in messages if m.uid is not None), key=lambda m: m.uid):
            found = self.history.triaged_as(message.mailbox, message.message_id, message.content_hash, message.uid)
            free = [match for match in found if match[0] not in taken]
            if free:
                candidates[message.uid] = free[0]
                taken.add(free[0][0])
        mailbox_of = {message.uid: message.mailbox for message in messages}
        here = sorted(old for uid, (_, folder, old) in candidates.items() if folder == mailbox_of[uid] and old)
        there = set(present(here)) if here else set()
        moved = set()
        for message in messages:
            if message.uid not in candidates:
                continue
            row, folder, old = candidates[message.uid]
            if folder == message.mailbox and old in there:
                continue
            self.history.rebind_uid(row, message.mailbox, message.uid)
            log.info("%s: UID %d is the message triaged in %s as UID %s: not triaged again",
                     message.mailbox, message.uid, folder, old if old is not None else "(none)")
            moved.add(message.uid)
        self.stats.already_triaged += len(moved)
        return moved

    def _in_conversation(self, decided: list[tuple[Message, str, int, Content]],
                         moved: list[SweepChange] | None) -> list[Decision]:
        """The rows of a batch's customer mail, each as its conversation stands now: a
        message of a waiting conversation has the conversation's priority, reasons and
        wait, and its latest message the waiting labels; an answered message has its
        categories only; mail that asks nothing is priority 4. Labels are recorded, and
        those of the conversations' earlier messages moved (:meth:`_move_earlier`)."""
        now, policy, prefix = self.now(), self.settings.sla, self.settings.label_prefix
        # Mail that asks nothing neither starts a wait nor changes one: only the
        # conversations of this batch's asking mail are evaluated (a bounce or a feed
        # joins a conversation of thousands, which each of its messages read again).
        standings = conversations(self.history, dict.fromkeys(thread_id for _, thread_id, _, content in decided
                                                              if not content.asks_nothing), now, policy)
        decisions = []
        labelled: dict[str, set[int]] = {}
        for message, thread_id, row, content in decided:
            labelled.setdefault(thread_id, set()).add(row)
            standing = standings.get(thread_id)
            labels = category_labels(content.categories, prefix)
            flag = True
            if content.asks_nothing:
                priority, reasons, waiting_hours, overdue = content.priority, content.reasons, None, False
                labels.append(prefix + NO_ACTION)
            elif standing is not None and row in standing.waiting_rows:
                priority, reasons, waiting_hours = standing.priority, standing.reasons, standing.waiting_hours
                overdue = standing.overdue
                if row == standing.last.last_row:
                    labels += waiting_labels(standing.priority, standing.frustrated, standing.overdue, prefix)
                    flag = standing.flag_due(now, self.settings.flag_backlog_days)
            else:
                priority, reasons, waiting_hours, overdue = 4, ["answered by the team", *content.reasons], None, False
            self.history.set_labels(row, labels)
            decisions.append(Decision(message, thread_id, content.categories or [OTHER], content.scores,
                                      content.frustration, content.frustrated, content.repeat_count, waiting_hours,
                                      priority, reasons, labels, flag, overdue))
        # A waiting conversation whose customer mail is in this batch, or was moved with
        # it, now carries what the sweep would put on it: the sweep need not look again.
        # Its customer's other conversations that claim P1 rank higher once they wrote
        # often enough: those the sweep evaluates again.
        settled = self._move_earlier({thread_id: c for thread_id, c in standings.items()
                                      if c is not None and not labelled[thread_id].issuperset(c.customer_rows)},
                                     labelled, {thread_id: message.mailbox for message, thread_id, _, _ in decided},
                                     moved, now)
        self.history.mark_claims_dirty({c.customer for c in standings.values()
                                        if c is not None and c.repeat_count >= REPEATS_CLAIM}, str(REPEATS_TIER))
        self.history.mark_labelled((thread_id, c.due, c.priority == 1) for thread_id, c in standings.items()
                                   if c is not None and (thread_id in settled
                                                         or labelled[thread_id].issuperset(c.customer_rows)))
        return decisions

    def _move_earlier(self, unsettled: dict[str, Conversation], labelled: dict[str, set[int]],
                      mailbox_of: dict[str, str], moved: list[SweepChange] | None, now: datetime) -> set[str]:
        """Move the waiting labels of conversations with earlier mail than the batch's
        (an earlier batch of a first run, an earlier pass) onto their latest waiting
        message, recording the changes and adding them to ``moved``; returns the
        conversations so settled. Left to the sweep: a conversation with mail in another
        folder, and, without ``moved``, one with mail on a server."""
        prefix, settled = self.settings.label_prefix, set()
        rows_of = self.history.customer_rows(list(unsettled)) if unsettled else {}
        for thread_id, c in unsettled.items():
            earlier = [r for r in rows_of.get(thread_id, []) if r["id"] not in labelled[thread_id]]
            if any(r["mailbox"] != mailbox_of[thread_id] or (moved is None and r["uid"] is not None) for r in earlier):
                continue
            on_last = frozenset(waiting_labels(c.priority, c.frustrated, c.overdue, prefix))
            changes = list(row_changes(earlier, c.last.last_row, on_last, prefix,
                                       c.flag_due(now, self.settings.flag_backlog_days)))
            record_sweep(self.history, changes)
            if moved is not None:
                moved += [change for change in changes if change.uid is not None]
            settled.add(thread_id)
        return settled

    def _record_inbound(self, message: Message, reading: rules.Reading,
                        chasing: bool = False) -> tuple[Message, str, int, str | None]:
        """Record one customer message in its conversation; returns (the message, its
        thread, its row, and why it asks nothing of the team, or None when the customer
        waits for a reply).

        A sender the history shows to be a machine — dozens of messages in a month, each
        on its own subject, never answered (a feed or notification stream without the
        headers that say so) — is automated from here on, and its earlier mail waits for
        nobody (:func:`triage.automated.bulk_sender`)."""
        asks_nothing = asks_for_nothing(message, reading)
        customer, customer_name = self.settings.customer_of(message)
        if asks_nothing is None and customer:
            since = message.date - BULK_WINDOW
            # (counting is cheap, reading every subject of a frequent writer is not)
            if (self.history.inbound_count(customer, since) + 1 >= BULK_MIN_MESSAGES
                    and bulk_sender(self.history.sender_counts(customer, since, message.subject))):
                self.history.mark_bulk_sender(customer)
                message = replace(message, automated=True, automated_reason="bulk sender")
                asks_nothing = asks_for_nothing(message, reading)
        kind = None if asks_nothing is None else ("automated" if message.automated else
                                                  "acknowledgement" if asks_nothing == THANKS else "no_reply")
        # A colleague's forward joins the customer's conversation by the subject of the
        # mail it carries ("FW: see below" over the customer's "Refund").
        handed = self.settings.handed_over(message)
        thread_id = self.history.thread_for(message.message_id, message.in_reply_to, message.references,
                                            customer, handed.subject if handed and handed.subject else message.subject,
                                            chasing=chasing and not asks_nothing)
        row = self.history.record(message_id=message.message_id, thread_id=thread_id, mailbox=message.mailbox,
                                  uid=message.uid, direction="in", customer=customer, subject=message.subject,
                                  date=message.date, automated=message.automated, awaits_reply=asks_nothing is None,
                                  answered_flag=has_answered_flag(message.flags), content_hash=message.content_hash,
                                  kind=kind, customer_name=customer_name)
        return message, thread_id, row, asks_nothing

    def _unreadable(self, raw: RawMail, reason: str, row: int | None = None) -> Decision:
        """Record (or, with ``row``, mark) a message triage could not read, and the row
        that shows it: no category, a reason, and the ``unreadable`` label so a person
        looks at it."""
        self.stats.broken += 1
        self.stats.broken_keys.append(f"{raw.mailbox}:{raw.key}")
        log.info("%s:%s could not be read: %s", raw.mailbox, raw.key, reason)
        # A message never delivered is known by where it was.
        digest = content_hash(f"{raw.mailbox}\0{raw.key}".encode()) if raw.unreadable else mail_digest(raw)
        date = raw.internaldate or self.now()
        message = Message(message_id=f"<{digest[:40]}@triage.invalid>", sender="", sender_name="", recipients=(),
                          subject="", date=date, in_reply_to=None, references=(), body_text="", newest_text="",
                          automated=False, automated_reason=None, mailbox=raw.mailbox, uid=raw.uid, key=raw.key,
                          flags=raw.flags, content_hash=digest, notes=(reason,))
        labels = [self.settings.label_prefix + UNREADABLE]
        reasons = [f"unreadable: {reason}"]
        if row is None:
            row = self.history.record(message_id=message.message_id, thread_id=message.message_id,
                                      mailbox=raw.mailbox, uid=raw.uid, direction="in", customer="", subject="",
                                      date=date, automated=False, awaits_reply=False, content_hash=digest,
                                      unreadable=reason)
        else:
            self.history.mark_unreadable(row, reason)
        self.history.save_decision(row, categories=[OTHER], frustration=0.0, frustrated=False, priority=3,
                                   reasons=reasons, labels=labels)
        return Decision(message, message.message_id, [OTHER], {}, 0.0, False, 1, None, 3, reasons, labels)

    def record_replies(self, raws: Iterable[RawMail]) -> int:
        """Record mail the team sent (read from a Sent folder; headers are enough) as the
        team's replies, whatever its From: being in Sent is the evidence. Returns how
        many were recorded, uncommitted like :meth:`decide`.

        Skipped: broken mail, mail already known, automated mail (the team's own
        auto-replies and bulk mail answer nobody) and mail to team addresses only. The
        UID is not kept: Sent mail is never labelled.
        """
        recorded = 0
        for raw in raws:
            try:
                message = parse_message(raw)
            except MessageParseError as exc:
                log.warning("skipping a sent message: %s", exc)
                continue
            if self.history.is_known_reply(message.message_id):
                continue
            if message.automated:
                log.debug("not a reply: %s in %s is automated (%s)", raw.key, raw.mailbox, message.automated_reason)
                continue
            if all(self.settings.is_team(a) for a in message.recipients):
                log.debug("not a reply: %s in %s went to the team only", raw.key, raw.mailbox)
                continue
            self._record_reply(message, None)
            recorded += 1
        return recorded

    def commit(self) -> None:
        """The caller has acted on the last batch: remember it."""
        self.history.commit()

    def rollback(self) -> None:
        """Acting failed: forget the last batch so it is decided again next time."""
        self.history.rollback()

    def _record_reply(self, reply: Message, uid: int | None, *, content_hash: str = "") -> None:
        """Record one message of the team's: in the conversation its In-Reply-To or
        References name, else in the one of its customer (a recipient outside the team)
        and normalised subject, else in a new one (see :meth:`History.reply_customer`).

        ``content_hash``: the hash of its bytes, for one read in the watched folder or in
        local mail, where it is the message's identity beside its UID: a renumbering finds
        a message by it that a Message-ID cannot name (:meth:`History.rebind_by_content`),
        and local mail is known by it. (Mail read from Sent, headers only, keeps none.)"""
        outside = [a for a in reply.recipients if not self.settings.is_team(a)]
        customer = self.history.reply_customer(reply.in_reply_to, reply.references,
                                               outside or list(reply.recipients) or [reply.sender], reply.subject)
        # A note to the team's own addresses only ("Jo, can you take this one?") is in the
        # conversation but answers nobody, as such mail in Sent is never recorded. (With
        # the customer in To or Cc it is not one: a customer is never a team address.)
        internal = bool(reply.recipients) and not outside
        thread_id = self.history.thread_for(reply.message_id, reply.in_reply_to, reply.references, customer,
                                            reply.subject)
        self.history.record(message_id=reply.message_id, thread_id=thread_id, mailbox=reply.mailbox, uid=uid,
                            direction="out", customer=customer, subject=reply.subject, date=reply.date,
                            automated=reply.automated, awaits_reply=False, content_hash=content_hash,
                            kind="internal" if internal else "team")
        self.stats.team_replies += 1

    def categories(self, scores: dict[str, float], reading: rules.Reading, language: str = "und") -> list[str]:
        """The categories the classifier decides from ``scores`` for a message in
        ``language``, less those the message says it is not asking for ("I don't want to
        cancel, just pause")."""
        decided = (self.model.decide(scores) if self.model.covers(language)
                   else self.model.decide_uncovered(scores, language))
        return [c for c in decided if c not in reading.negated]

    def _content(self, message: Message, thread_id: str, row: int, analysis: Analysis,
                 asks_nothing: str | None) -> Content:
        """What one customer message says, and its priority from that and the customer's
        history (before its conversation and its age are taken into account); stored.

        In a language the model has too little data for, the words decide little: the
        tone is not read, the reasons say why, and no category is guessed — only one the
        model is sure of in a Latin-script language stands
        (:meth:`~triage.model.CategoryModel.decide_uncovered`); priority then comes from that
        and the customer's history."""
        scores, tone, language = analysis.scores, analysis.tone, analysis.language
        uncovered = not asks_nothing and not self.model.covers(language)
        if uncovered:
            tone = 0.0
        categories = [] if asks_nothing else self.categories(scores, analysis.reading, language)
        if asks_nothing:
            repeat_count, waited_hours = 1, None
        else:
            unanswered, oldest = self.history.unanswered_from_customer(self.settings.customer_of(message)[0],
                                                                       message.date)
            repeat_count = max(unanswered, 1)
            waited_hours = _hours(message.date - oldest) if oldest else None
            chasing = waited_hours is not None and waited_hours >= self.settings.follow_up_gap_hours
            if chasing and "follow_up" not in categories:  # (an earlier unanswered one came the gap before)
                categories = [c for c in self.model.labels if c in {*categories, "follow_up"}]
        frustration = frustration_score(tone, repeat_count, waited_hours, message.automated or bool(asks_nothing))
        frustrated = frustration >= self.settings.frustration_threshold
        priority, reasons = prioritize(Facts(categories, frustration, frustrated, message.automated,
                                             message.automated_reason, repeat_count, analysis.reading.threat,
                                             asks_nothing=asks_nothing,
                                             angry_words=tone >= self.settings.frustration_threshold))
        if uncovered:
            reasons = [f"language not covered: {language}", *(r for r in reasons if r != NEEDS_REPLY)]
        self.history.save_decision(row, categories=categories or [OTHER], frustration=frustration,
                                   frustrated=frustrated, priority=priority, reasons=reasons, labels=[])
        return Content(categories, scores, frustration, frustrated, repeat_count, priority, reasons, asks_nothing)


@dataclass(frozen=True)
class Content:
    """What one customer message says and how urgent it is on its own (stored)."""

    categories: list[str]
    scores: dict[str, float]
    frustration: float
    frustrated: bool
    repeat_count: int
    priority: int
    reasons: list[str]
    asks_nothing: str | None


BULK_WINDOW = timedelta(days=30)
"""How far back a sender's messages count towards :func:`triage.automated.bulk_sender`."""


def _raw_of(message: Message, raws: list[RawMail]) -> RawMail:
    """The raw mail a parsed message came from (by its source key)."""
    return next((r for r in raws if r.key == message.key and r.mailbox == message.mailbox),
                RawMail(b"", message.mailbox, message.key, message.uid, message.date, message.flags))


def _hours(delta) -> float:
    return delta.total_seconds() / 3600
