"""The engine: parse a batch of mail, decide everything about each inbound message, and
record it in history — without acting. The caller acts (prints, labels the server) and
then calls :meth:`Engine.commit`; until then nothing is remembered, so a crash repeats
nothing visible and loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from triage import OTHER
from triage.analysis import Analysis, Analyzer, Broken
from triage.errors import MessageParseError
from triage.frustration import frustration_score
from triage.history import History
from triage.labels import UNREADABLE, labels_for
from triage.message import Message, RawMail
from triage.model import CategoryModel
from triage.parsing import content_hash, parse_message
from triage.priority import Facts, looks_like_thanks, prioritize
from triage.sla import Policy, assess
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
    """Reply targets: a wait past its target raises the priority (:mod:`triage.sla`)."""

    def is_team(self, address: str) -> bool:
        """True for a support address, or any address of a listed ``@domain``."""
        address = address.lower()
        domain = "@" + address.rsplit("@", 1)[-1]
        return address in self.support_addresses or domain in self.support_addresses


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
        """The JSON Lines contract of DESIGN.md."""
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


class Engine:
    """Decides about batches of mail against one history file.

    Use as a context manager, or call :meth:`close`, to stop the analysis workers.
    """

    def __init__(self, model: CategoryModel, tone: ToneModel, history: History, settings: Settings,
                 now: datetime | None = None, workers: int = 0):
        self.model = model
        self.history = history
        self.settings = settings
        self.fixed_now = now
        self.analyzer = Analyzer(model, tone, workers)
        self.stats = BatchStats()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(abandon=kind is not None)

    def close(self, abandon: bool = False) -> None:
        """Stop the worker processes (the history file belongs to the caller); with
        ``abandon`` (a stop, an error) without waiting for analyses nobody will read."""
        self.analyzer.close(abandon)

    def ahead(self, batches: Iterable[list[RawMail]]) -> Iterator[list[RawMail]]:
        """Iterate over ``batches`` for :meth:`decide` with the next batch's analysis
        already started in the workers (see :meth:`Analyzer.ahead`)."""
        return self.analyzer.ahead(batches)

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
        local = {i: content_hash(r.raw) for i, r in enumerate(raws) if r.uid is None}
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

    def decide(self, raws: Iterable[RawMail]) -> list[Decision]:
        """Parse, classify and prioritise a batch; record it in history uncommitted.

        Returns one Decision per new inbound message, oldest first, unreadable ones
        included. The team's replies are recorded (they stop the clock) but produce no
        Decision. Nothing one message does can stop the batch: a message that cannot be
        read, or that triage fails on, is recorded as unreadable with the reason (so it is
        counted, reported and labelled, and never tried again), and the rest go on.
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
        by_message = {id(a.message): a for a in analyses}
        ordered = sorted((a.message for a in analyses), key=lambda m: m.date)
        acknowledgements = {id(m) for m in ordered
                            if not m.automated and not self.settings.is_team(m.sender) and looks_like_thanks(m.newest_text)}
        recorded: list[tuple[Message, str, int]] = []
        for message in ordered:
            try:
                with self.history.one_message():
                    if self.settings.is_team(message.sender):
                        self._record_reply(message, message.uid)
                    else:
                        recorded.append((message, *self._record_inbound(message, id(message) in acknowledgements)))
            except Exception as exc:
                log.exception("recording %s:%s failed", message.mailbox, message.key)
                unreadable.append((_raw_of(message, raws), f"triage failed on it ({type(exc).__name__}: {exc})"))

        decisions = []
        for message, thread_id, row in recorded:
            analysis = by_message[id(message)]
            try:
                with self.history.one_message():
                    decisions.append(self._decide_one(message, thread_id, row, analysis.scores, analysis.tone,
                                                      id(message) in acknowledgements))
            except Exception as exc:
                log.exception("deciding %s:%s failed", message.mailbox, message.key)
                decisions.append(self._unreadable(_raw_of(message, raws), f"triage failed on it ({type(exc).__name__}: "
                                                  f"{exc})", row=row))
        decisions += [self._unreadable(raw, reason) for raw, reason in unreadable]
        self.stats.triaged += len(decisions)
        return decisions

    def _record_inbound(self, message: Message, acknowledgement: bool) -> tuple[str, int]:
        """Record one customer message in its conversation; returns (thread, row)."""
        thread_id = self.history.thread_for(message.message_id, message.in_reply_to, message.references,
                                            message.sender, message.subject)
        row = self.history.record(message_id=message.message_id, thread_id=thread_id, mailbox=message.mailbox,
                                  uid=message.uid, direction="in", customer=message.sender, subject=message.subject,
                                  date=message.date, automated=message.automated,
                                  awaits_reply=not message.automated and not acknowledgement,
                                  answered_flag=has_answered_flag(message.flags), content_hash=message.content_hash)
        return thread_id, row

    def _unreadable(self, raw: RawMail, reason: str, row: int | None = None) -> Decision:
        """Record (or, with ``row``, mark) a message triage could not read, and the row
        that shows it: no category, a reason, and the ``unreadable`` label so a person
        looks at it."""
        self.stats.broken += 1
        self.stats.broken_keys.append(f"{raw.mailbox}:{raw.key}")
        log.warning("%s:%s could not be read: %s", raw.mailbox, raw.key, reason)
        digest = content_hash(raw.raw)
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

    def _record_reply(self, reply: Message, uid: int | None) -> None:
        """Record one message of the team's: in the conversation its In-Reply-To or
        References name, else in the one of its customer (a recipient outside the team)
        and normalised subject, else in a new one (see :meth:`History.reply_customer`)."""
        outside = [a for a in reply.recipients if not self.settings.is_team(a)]
        customer = self.history.reply_customer(reply.in_reply_to, reply.references,
                                               outside or list(reply.recipients) or [reply.sender], reply.subject)
        thread_id = self.history.thread_for(reply.message_id, reply.in_reply_to, reply.references, customer,
                                            reply.subject)
        self.history.record(message_id=reply.message_id, thread_id=thread_id, mailbox=reply.mailbox, uid=uid,
                            direction="out", customer=customer, subject=reply.subject, date=reply.date,
                            automated=reply.automated, awaits_reply=False)
        self.stats.team_replies += 1

    def _decide_one(self, message: Message, thread_id: str, row: int, scores: dict[str, float], tone: float,
                    acknowledgement: bool) -> Decision:
        asks_nothing = message.automated or acknowledgement  # == asks_for_nothing(), already computed
        categories = [] if asks_nothing else self.model.decide(scores)
        if asks_nothing:
            repeat_count, waited_hours = 1, None
        else:
            unanswered = self.history.unanswered_from_customer(message.sender, message.date)
            repeat_count = max(len(unanswered), 1)
            waited_hours = _hours(message.date - unanswered[0]) if unanswered else None
            gap = self.settings.follow_up_gap_hours
            earlier = [d for d in unanswered if _hours(message.date - d) >= gap]
            if earlier and "follow_up" not in categories:
                categories = [*categories, "follow_up"]
                categories = [c for c in self.model.labels if c in categories]
        waiting_since = self.history.waiting_since(thread_id)
        waiting_hours = (round(max(_hours(self.now() - waiting_since), 0.0), 1)
                         if waiting_since and not asks_nothing else None)

        frustration = frustration_score(tone, repeat_count, waited_hours, message.automated)
        frustrated = frustration >= self.settings.frustration_threshold
        priority, reasons = prioritize(Facts(categories, frustration, frustrated, message.automated,
                                             message.automated_reason, repeat_count, message.classifier_text,
                                             acknowledgement))
        aged = assess(priority, reasons, waiting_hours, self.settings.sla)
        answered_upto = self.history.answered_upto(thread_id)
        answered = answered_upto is not None and message.date <= answered_upto
        labels = labels_for(categories, frustrated, aged.priority, self.settings.label_prefix, aged.overdue, answered)
        # History keeps the priority before ageing: re-evaluations age it again from there.
        self.history.save_decision(row, categories=categories or [OTHER], frustration=frustration,
                                   frustrated=frustrated, priority=priority, reasons=reasons, labels=labels)
        return Decision(message, thread_id, categories or [OTHER], scores, frustration, frustrated, repeat_count,
                        waiting_hours, aged.priority, aged.reasons, labels)


def _raw_of(message: Message, raws: list[RawMail]) -> RawMail:
    """The raw mail a parsed message came from (by its source key)."""
    return next((r for r in raws if r.key == message.key and r.mailbox == message.mailbox),
                RawMail(b"", message.mailbox, message.key, message.uid, message.date, message.flags))


def _hours(delta) -> float:
    return delta.total_seconds() / 3600
