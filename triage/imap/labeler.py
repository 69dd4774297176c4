"""Write triage's labels (``"triage/refund"``, ``"triage/priority-1"``, …) to the server.

Where a label goes depends on what the server supports (``labels.mode``):

- ``keywords`` — an IMAP keyword per label, see :func:`keyword_for`;
- ``gmail`` — a Gmail label (``X-GM-LABELS``), nested under ``triage`` by its ``/``;
- ``folders`` — a copy of the message in a folder per label (``triage.refund`` where the
  hierarchy delimiter is ``.``), created on demand; Microsoft 365 needs this;
- ``auto`` — Gmail when the server says ``X-GM-EXT-1``, keywords when PERMANENTFLAGS
  has ``\\*``, folders otherwise; ``none`` writes nothing.

``\\Flagged`` follows the priority-1 label when ``labels.flag_priority_1`` is on and the
folder lets it be stored. The deciding part is pure — :func:`choose_mode`,
:func:`keyword_for`, :func:`plan` turn label changes into a list of :class:`Action` —
and :class:`Labeler` carries the actions out, or only reports them in a dry run. Every
write is idempotent: applying the same labels twice leaves the server as after once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from imapclient.imapclient import join_message_ids, seq_to_parenstr

from triage.config import LabelsConfig
from triage.errors import ImapError, UsageError
from triage.imap.connection import MESSAGE_BUGS, TEMPORARY_REFUSALS, ImapConnectionError, imap_errors
from triage.imap.mailbox import FolderState, ImapMailbox
from triage.imap import pipeline

log = logging.getLogger(__name__)

FLAGGED = "\\Flagged"
MODES = ("keywords", "gmail", "folders", "none")
"""What :func:`choose_mode` can answer; ``auto`` is resolved into one of these."""

MAX_KEYWORD_LENGTH = 50
"""Dovecot's default ``mail_max_keyword_length``; longer keywords are refused."""

_KEYWORD_UNSAFE = re.compile(r"[^a-z0-9_.-]")

FOLDER_REFUSALS = ("[NOPERM]", "[READ-ONLY]", "[OVERQUOTA]", "[PRIVACYREQUIRED]", "[CONTACTADMIN]")
"""RFC 5530 codes of a refused STORE that speak of the folder or the account, not the
message: no message is labelled then, and the pass fails as it did (:meth:`Labeler._isolate`)."""

Verb = Literal["add", "remove"]
Kind = Literal["keyword", "flag", "gmail", "folder"]
_KIND_OF_MODE: dict[str, Kind] = {"keywords": "keyword", "gmail": "gmail", "folders": "folder"}


# -- deciding (pure) ------------------------------------------------------------------


def keyword_for(label: str) -> str:
    """The IMAP keyword that stands for ``label``: lower case, and every character other
    than ``a-z 0-9 _ . -`` replaced by ``_`` (``"triage/refund"`` → ``"triage_refund"``,
    ``"triage/priority-1"`` → ``"triage_priority-1"``).

    That is a valid RFC 3501 atom with none of the characters servers trip on (space,
    ``%``, ``*``, ``]``, ``\\``, non-ASCII), in lower case because keywords compare
    case-insensitively and some servers change their case. It is also the key Thunderbird
    gives a tag named like the label, so such a tag shows triage's keyword. A keyword
    over 50 characters is cut and ends with a hash of the label, to stay unique.
    """
    if not label:
        raise ValueError("empty label")
    keyword = _KEYWORD_UNSAFE.sub("_", label.lower())
    if len(keyword) > MAX_KEYWORD_LENGTH:
        digest = hashlib.sha1(label.encode("utf-8")).hexdigest()[:8]
        keyword = f"{keyword[: MAX_KEYWORD_LENGTH - 9]}_{digest}"
    return keyword


def label_for_keyword(keyword: str, prefix: str) -> str | None:
    """The label a keyword stands for, or None when it is not one of triage's: its start
    is not ``keyword_for(prefix)``, or the rest holds what :func:`keyword_for` never
    writes (``triage_a+b``, ``triage_$old``: another tool's; read as a label, triage took
    it off as ``triage_a_b``, which matched nothing, and tried again every pass). Exact
    for labels whose part after the prefix is written in ``a-z 0-9 _ . -``, as triage's are."""
    start = keyword_for(prefix)
    lowered = keyword.lower()
    if not lowered.startswith(start) or len(lowered) == len(start):
        return None
    rest = lowered[len(start) :]
    return None if _KEYWORD_UNSAFE.search(rest) else prefix + rest


def folder_for(label: str, namespace_prefix: str, delimiter: str) -> str:
    """The folder that holds the messages with ``label``: its ``/`` become the server's
    hierarchy delimiter, under the personal namespace (``INBOX.triage.refund`` on Courier)."""
    return namespace_prefix + label.replace("/", delimiter)


def label_for_folder(folder: str, namespace_prefix: str, delimiter: str) -> str:
    """Inverse of :func:`folder_for`."""
    name = folder[len(namespace_prefix) :] if folder.startswith(namespace_prefix) else folder
    return name.replace(delimiter, "/")


def choose_mode(requested: str, capabilities: Collection[str], state: FolderState) -> str:
    """Resolve ``labels.mode`` against what the server says; raise UsageError for an
    explicit mode the server cannot do."""
    gmail = "X-GM-EXT-1" in {c.upper() for c in capabilities}
    if requested == "auto":
        if gmail:
            return "gmail"
        return "keywords" if state.allows_new_keywords else "folders"
    if requested == "gmail" and not gmail:
        raise UsageError("labels.mode = gmail, but the server is not Gmail (no X-GM-EXT-1); use auto")
    if requested == "keywords" and not state.allows_new_keywords:
        flags = " ".join(sorted(state.permanentflags)) or "none"
        raise UsageError(
            f"labels.mode = keywords, but the server allows no new keywords here (PERMANENTFLAGS: {flags}); "
            "use auto or folders"
        )
    if requested not in MODES:
        raise UsageError(f"labels.mode must be auto or one of {', '.join(MODES)}, not {requested!r}")
    return requested


@dataclass(frozen=True)
class LabelChange:
    """Labels to add to and remove from one message (by UID in the selected folder)."""

    uid: int
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()
    flag: bool = True
    """Whether adding the flag label sets ``\\Flagged`` too (no for old backlog)."""

    @classmethod
    def of(cls, uid: int, add: Iterable[str] = (), remove: Iterable[str] = (), flag: bool = True) -> LabelChange:
        """Build a change; a label both added and removed is added."""
        added = frozenset(add)
        return cls(uid, added, frozenset(remove) - added, flag)


@dataclass(frozen=True)
class Action:
    """One write to the server: add or remove ``target`` (a keyword, ``\\Flagged``, a
    Gmail label or a folder) on ``uids``; ``label`` is the triage label it stands for."""

    verb: Verb
    kind: Kind
    target: str
    label: str
    uids: tuple[int, ...]

    def __str__(self) -> str:
        where = "to" if self.verb == "add" else "from"
        what = {"keyword": "keyword", "flag": "flag", "gmail": "Gmail label", "folder": "copy in folder"}[self.kind]
        return f"{self.verb} {what} {self.target} {where} UIDs {','.join(map(str, self.uids))}"


def plan(
    changes: Iterable[LabelChange],
    kind: Kind | None,
    target: Callable[[str], str],
    flag_label: str | None = None,
) -> list[Action]:
    """The writes that carry out ``changes``, one :class:`Action` per (verb, label) with
    all its UIDs. ``target`` maps a label to the keyword, Gmail label or folder of
    ``kind``; ``kind`` None writes no labels. When ``flag_label`` is added or removed,
    ``\\Flagged`` is too (added only where the change allows it: ``LabelChange.flag``).
    Removals come first (so where two labels share a keyword, the added one stays), then
    additions, each by label."""
    grouped: dict[tuple[Verb, str], set[int]] = defaultdict(set)
    unflagged: set[int] = set()
    for change in changes:
        for verb, labels in (("remove", change.remove), ("add", change.add)):
            for label in labels:
                grouped[(verb, label)].add(change.uid)
        if not change.flag:
            unflagged.add(change.uid)
    actions = []
    for (verb, label), uids in sorted(grouped.items(), key=lambda item: (item[0][0] == "add", item[0][1])):
        ordered = tuple(sorted(uids))
        if kind is not None:
            actions.append(Action(verb, kind, target(label), label, ordered))
        flagged = tuple(uid for uid in ordered if verb == "remove" or uid not in unflagged)
        if label == flag_label and flagged:
            actions.append(Action(verb, "flag", FLAGGED, label, flagged))
    return actions


MESSAGE_WRITES_PER_COMMAND = 10
"""How many message writes cost as much as one more STORE command (measured on Dovecot's
Maildir, quiet, 10,000 messages: writing each message once per label instead of once per
batch made `triage once` 5 % slower; under load on 100,000 a command costs far more).
Pipelined, what a command costs is its share of a lot's look at the folder
(:data:`~triage.imap.pipeline.SERVER_QUEUE`): a lot of STOREs costs as much as
``SERVER_QUEUE`` times this many writes, whether it holds one STORE or four."""


def merged_stores(actions: Iterable[Action]) -> list[tuple[Verb, str, tuple[str, ...], tuple[int, ...]]]:
    """The keyword, flag and Gmail-label writes of ``actions`` in as few commands as
    possible, as ``(verb, command, targets, uids)`` (``command`` "flags", or "gmail" for
    X-GM-LABELS). Two ways to merge them: one STORE per set of targets shared by messages
    that get exactly the same ones (each message written once), or one STORE per target
    with every message that gets it (fewer commands, each message written once per
    target); the cheaper by :data:`MESSAGE_WRITES_PER_COMMAND` is used. On Dovecot's
    Maildir every message written is a file renamed, and every lot of pipelined commands
    a look at the folder, which on a big folder with mail arriving means reading it
    again: a backlog batch of 500 is cheaper per set, a service's pass of a few messages
    whose sets need a second lot per target. Removals come first, as in :func:`plan`;
    then the additions that write the most messages, so that when they take more than
    one lot the first one labels the most new mail. Folder actions are left out (they
    are copies)."""
    per_message: dict[tuple[Verb, str, int], set[str]] = defaultdict(set)
    per_target: dict[tuple[Verb, str, tuple[str, ...]], list[int]] = defaultdict(list)
    for action in actions:
        if action.kind == "folder":
            continue
        command = "gmail" if action.kind == "gmail" else "flags"
        for uid in action.uids:
            per_message[(action.verb, command, uid)].add(action.target)
            per_target[(action.verb, command, (action.target,))].append(uid)
    per_set: dict[tuple[Verb, str, tuple[str, ...]], list[int]] = defaultdict(list)
    for (verb, command, uid), targets in per_message.items():
        per_set[(verb, command, tuple(sorted(targets)))].append(uid)
    def cost(grouped: dict) -> float:
        lots = -(-len(grouped) // pipeline.SERVER_QUEUE)
        writes = sum(len(set(uids)) for uids in grouped.values())
        return lots * pipeline.SERVER_QUEUE + writes / MESSAGE_WRITES_PER_COMMAND

    grouped = per_set if cost(per_set) <= cost(per_target) else per_target
    merged = [(verb, command, targets, tuple(sorted(set(uids)))) for (verb, command, targets), uids in grouped.items()]
    return sorted(merged, key=lambda store: (store[0] == "add", store[1], -len(store[3]), store[2]))


# -- acting -----------------------------------------------------------------------------


class Labeler:
    """Writes labels to the messages of the folder ``mailbox`` has selected.

    Only labels starting with ``prefix`` are accepted, so nothing but triage's own marks
    is ever added or removed. With ``dry_run`` the planned actions are logged and
    returned, and nothing is written (no folder is created either).
    """

    def __init__(
        self,
        mailbox: ImapMailbox,
        mode: str,
        *,
        prefix: str = "triage/",
        flag_label: str | None = None,
        dry_run: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown label mode {mode!r}")
        if not prefix:
            raise UsageError("labels.prefix must not be empty: triage must tell its labels from the team's")
        self.mailbox = mailbox
        self.mode = mode
        self.prefix = prefix
        self.flag_label = flag_label
        self.dry_run = dry_run
        self._kept: set[str] = set()
        """Keywords (lower-case) the folder was seen to keep; see :meth:`_verify_keywords`."""
        self._refused: set[int] = set()
        """UIDs the server refused to change on their own in the writes under way (:meth:`_isolate`)."""
        self.refused_since: set[int] = set()
        """UIDs the server refused to change on their own since :meth:`take_refused` last
        asked: their labels are to be tried again (:func:`~triage.imap.sync.store_unstored`)."""
        self._retrying = False
        """Whether the writes under way are of messages refused before (:meth:`apply_many`)."""

    def apply(self, uid: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[Action]:
        """Add and remove labels on one message; see :meth:`apply_many`."""
        return self.apply_many([LabelChange.of(uid, add, remove)])

    def apply_many(self, changes: Iterable[LabelChange], *, retrying: bool = False) -> list[Action]:
        """Carry out ``changes`` in as few commands as possible and return the actions
        (in a dry run: the actions that would have been carried out).

        Raises ImapError when the server refuses a write or does not keep a keyword.
        ``retrying``: the changes are of messages the server refused before, so every one
        refused again is no sign of the folder's refusal (:meth:`_isolate`).
        """
        actions = self._plan(changes)
        if not self.dry_run:
            self._retrying = retrying
            try:
                self._carry_out(actions)
            finally:
                self._retrying = False
        return actions

    def take_refused(self) -> set[int]:
        """The UIDs the server refused to change on their own (each named in an error
        line, the others of their writes stored) since the last call; forgotten here."""
        refused, self.refused_since = self.refused_since, set()
        return refused

    def apply_later(self, changes: Iterable[LabelChange]) -> Callable[[], list[Action]]:
        """Send the writes of ``changes`` and return a function that waits for the
        server's answers and returns the actions (raising ImapError as :meth:`apply_many`
        does). Meanwhile the caller can work, and send other commands: the server answers
        those after these. Writes that cannot be left unanswered — anything but keywords,
        a keyword this labeler has not seen the folder keep yet, a dry run — are carried
        out at once, as :meth:`apply_many` does, and the function only returns."""
        actions = self._plan(changes)
        if self.dry_run or self.mode != "keywords" or self._unchecked(actions):
            if not self.dry_run:
                self._carry_out(actions)
            return lambda: actions
        stored = self._stores_sent(merged_stores(actions))

        def answered() -> list[Action]:
            stored()
            return actions
        return answered

    def _carry_out(self, actions: list[Action]) -> None:
        """Write ``actions`` to the server (see :meth:`apply_many`)."""
        self._refused = set()
        stores = merged_stores(actions)
        flag_stores = [store for store in stores if store[1] == "flags"]
        if len(flag_stores) > 1:
            self._store_pipelined(flag_stores)
        else:
            for store in flag_stores:
                self._store(*store)
        for store in stores:
            if store[1] == "gmail":
                self._store(*store)
        for action in actions:
            if action.kind == "folder" and action.verb == "add":
                self._copy(action)
            elif action.kind == "folder":
                self._uncopy(action)
        self._verify_keywords(actions)

    def _plan(self, changes: Iterable[LabelChange]) -> list[Action]:
        """The actions that carry out ``changes`` (logged); only triage's labels may change."""
        changes = list(changes)
        for change in changes:
            foreign = sorted(label for label in change.add | change.remove if not label.startswith(self.prefix))
            if foreign:
                raise ValueError(f"labels {foreign} do not start with {self.prefix!r}")
        actions = plan(changes, self._kind, self._target, self.flag_label)
        for action in actions:
            log.info("%s%s in %s", "dry run: would " if self.dry_run else "", action, self.mailbox.folder)
        return actions

    @property
    def labels_on_message(self) -> bool:
        """True when labels are flags of the message itself (keywords, Gmail labels), so
        changing one changes the message's MODSEQ; a copy in a label folder does not."""
        return self.mode in ("keywords", "gmail")

    def labels_of(self, uids: Iterable[int]) -> dict[int, frozenset[str]]:
        """The triage labels each message carries now (an empty set when none; UIDs that no
        longer exist are left out)."""
        uids = sorted(set(uids))
        if self.mode == "keywords":
            return {uid: self.labels_in_flags(flags) for uid, flags in self.mailbox.flags_of(uids).items()}
        if self.mode == "gmail":
            with imap_errors(f"reading Gmail labels in {self.mailbox.folder}"):
                answer = self.mailbox.client.get_gmail_labels(uids)
            start = self.prefix.lower()
            return {
                uid: frozenset(str(label) for label in labels if str(label).lower().startswith(start))
                for uid, labels in answer.items()
            }
        if self.mode == "folders":
            return self._folder_labels_of(uids)
        return {uid: frozenset() for uid in self.mailbox.flags_of(uids)}

    def label_folders(self) -> frozenset[str] | None:
        """With labels as folder copies, the labels (lower-cased) whose folder the server
        has and can hold mail (one LIST); None in the other modes, where a label cannot
        vanish without its messages' flags changing."""
        if self.mode != "folders":
            return None
        namespace, delimiter = self.mailbox.hierarchy()
        pattern = folder_for(self.prefix, namespace, delimiter) + "*"
        return frozenset(label_for_folder(folder, namespace, delimiter).lower()
                         for folder in self.mailbox.folders(pattern))

    def labels_in_flags(self, flags: Iterable[str]) -> frozenset[str]:
        """The triage labels among a message's flags and keywords (keywords mode)."""
        return frozenset(filter(None, (label_for_keyword(flag, self.prefix) for flag in flags)))

    # -- per mode ---------------------------------------------------------------------

    @property
    def _kind(self) -> Kind | None:
        return _KIND_OF_MODE.get(self.mode)

    def target_of(self, label: str) -> str:
        """Where ``label`` is stored: its keyword, its folder, or itself (Gmail)."""
        return self._target(label)

    def _target(self, label: str) -> str:
        if self.mode == "keywords":
            return keyword_for(label)
        if self.mode == "folders":
            return folder_for(label, *self.mailbox.hierarchy())
        return label

    def _store(self, verb: Verb, command: str, targets: tuple[str, ...], uids: tuple[int, ...]) -> None:
        """One STORE of flags and keywords, or of Gmail labels (``command`` "gmail")."""
        try:
            self._store_once(verb, command, targets, uids)
        except ImapConnectionError:
            raise
        except ImapError as exc:
            self._isolate([(verb, command, targets, uids)], exc)

    def _store_once(self, verb: Verb, command: str, targets: tuple[str, ...], uids: tuple[int, ...]) -> None:
        client = self.mailbox.client
        what = "Gmail labels" if command == "gmail" else "flags"
        where = f"UIDs {','.join(map(str, uids))} in {self.mailbox.folder}"
        with imap_errors(f"{verb} {what} {' '.join(targets)} on {where}"):
            if command == "gmail":
                change = client.add_gmail_labels if verb == "add" else client.remove_gmail_labels
            else:
                change = client.add_flags if verb == "add" else client.remove_flags
            change(list(uids), list(targets), silent=True)

    def _isolate(self, stores: list[tuple[Verb, str, tuple[str, ...], tuple[int, ...]]], error: ImapError) -> None:
        """After the server refused ``stores`` (``error``: the first refusal), store them
        again message by message, so that one message the server will not change does not
        hold up the labels of all the others, pass after pass: the STOREs of a batch carry
        many messages each, and one refused message made every pass fail, for good (a
        service retrying for ever, no mail labelled). The messages refused on their own
        are left without these labels, each named in an error; the rest is stored.

        ``error`` is raised as it is when the refusal is the folder's or the server's, not
        a message's: a BAD (a command the server could not take), a response code that
        says so (:data:`FOLDER_REFUSALS`, the temporary ones of a login but
        :data:`MESSAGE_BUGS`), or every
        message refused on its own, when there were several and they were not all refused
        before (:meth:`apply_many`'s ``retrying``)."""
        self._one_by_one([(uid, f"{verb} {' '.join(targets)}",
                           partial(self._store_once, verb, command, targets, (uid,)))
                          for verb, command, targets, uids in stores for uid in uids], error)

    def _one_by_one(self, writes: list[tuple[int, str, Callable[[], object]]], error: ImapError) -> None:
        """The writes of :meth:`_isolate` (or of :meth:`_copy`): (UID, what, the write
        of that message alone), tried one by one after ``error`` refused them together."""
        if _bad(error) or any(code in str(error).upper() for code in FOLDER_REFUSALS + TEMPORARY_REFUSALS
                              if code not in MESSAGE_BUGS):
            raise error
        refused: dict[int, str] = {}
        tried: set[int] = set()
        for uid, what, write in writes:
            tried.add(uid)
            try:
                write()
            except ImapConnectionError:
                raise
            except ImapError as exc:
                if _bad(exc):
                    raise
                refused.setdefault(uid, f"{what}: {exc}")
        if len(tried) > 1 and set(refused) == tried and not self._retrying:
            raise error
        for uid, why in sorted(refused.items()):
            log.error("%s: the server refused to change UID %d, which is left without these labels for now (the "
                      "other messages are labelled; tried again next pass): %s", self.mailbox.folder, uid, why)
        self._refused |= set(refused)
        self.refused_since |= set(refused)

    @staticmethod
    def _store_commands(stores: list[tuple[Verb, str, tuple[str, ...], tuple[int, ...]]]) -> list[tuple]:
        return [("STORE", join_message_ids(uids), b"+FLAGS.SILENT" if verb == "add" else b"-FLAGS.SILENT",
                 seq_to_parenstr(targets)) for verb, _, targets, uids in stores]

    def _store_pipelined(self, stores: list[tuple[Verb, str, tuple[str, ...], tuple[int, ...]]]) -> None:
        """Several STOREs of flags and keywords sent back to back, then their answers read
        (:func:`~triage.imap.pipeline.pipelined`). A server may run them side by side;
        that changes nothing, as no message gets the same label both added and removed."""
        self._stores_sent(stores)()

    def _stores_sent(self, stores: list[tuple[Verb, str, tuple[str, ...], tuple[int, ...]]]) -> Callable[[], None]:
        """Send STOREs of flags and keywords back to back (:func:`~triage.imap.pipeline.send`)
        and return the function that reads their answers, raising ImapError for a refusal."""
        where = f"storing flags ({len(stores)} pipelined STOREs in {self.mailbox.folder})"
        client = self.mailbox.client
        with imap_errors(where):
            tags = pipeline.send(client, self._store_commands(stores))

        def answered() -> None:
            with imap_errors(where):
                found = pipeline.answers(client, tags, "FETCH")
            self._check_answers(stores, found)
        return answered

    def _check_answers(self, stores: list[tuple[Verb, str, tuple[str, ...], tuple[int, ...]]],
                       answers: list[pipeline.Answer]) -> None:
        """Store again, message by message, the STOREs the server refused (:meth:`_isolate`),
        which raises ImapError when the refusal is not a message's."""
        refused = [(store, f"{status} {_text(text)}") for store, (status, text) in zip(stores, answers)
                   if status != "OK"]
        if refused:
            (verb, _, targets, uids), answer = refused[0]
            self._isolate([store for store, _ in refused], ImapError(
                f"{self.mailbox.folder}: the server refused to {verb} {' '.join(targets)} on UIDs "
                f"{','.join(map(str, uids))}: {answer}"))

    def _unchecked(self, actions: list[Action]) -> list[Action]:
        """The keyword additions among ``actions`` whose keyword this labeler has not yet
        seen the folder keep (:meth:`_verify_keywords`)."""
        return [a for a in actions if a.verb == "add" and a.kind == "keyword" and a.target.lower() not in self._kept]

    def _verify_keywords(self, actions: list[Action]) -> None:
        """Some servers answer OK to a STORE they ignore (Dovecot under an ACL without
        "w"; a Maildir folder that already has its 26 keywords and gets a 27th); read the
        flags back so a label is never believed written when it is not.

        Both are properties of the folder and the keyword, so each keyword is checked the
        first time this labeler adds it, not on every batch."""
        added = self._unchecked(actions)
        if not added:
            return
        flags = self.mailbox.flags_of(uid for action in added for uid in action.uids)
        for action in added:
            wanted = action.target.lower()
            missing = [uid for uid in action.uids if uid in flags and wanted not in {f.lower() for f in flags[uid]}
                       and uid not in self._refused]
            if missing:
                raise ImapError(
                    f"{self.mailbox.folder}: the server answered OK but did not keep keyword {action.target} "
                    f"on UIDs {','.join(map(str, missing))}; if it never keeps keywords, set labels.mode = \"folders\""
                )
            self._kept.add(wanted)

    def _copy(self, action: Action) -> None:
        """COPY into the label's folder the messages not already there (by Message-ID and
        size, :meth:`~triage.imap.mailbox.ImapMailbox.message_keys`: by Message-ID alone,
        a second message reusing one was never copied, and removing a label from one
        removed the other's copy too; a message without one is copied every time it is
        labeled).

        The folder is created when the server has none that can hold mail: a name
        listed ``\\Noselect`` is only the parent of a folder a person made under it
        (``triage/refund/done``, made before the first refund, or left when the label
        folder was deleted); opening it failed every pass, and no label was stored."""
        client, folder = self.mailbox.client, action.target
        keys = self.mailbox.message_keys(action.uids)
        if not self.mailbox.holds_mail(folder):
            with imap_errors(f"creating folder {folder}"):
                client.create_folder(folder)
                client.subscribe_folder(folder)  # many clients show subscribed folders only
        with self.mailbox.visiting(folder):
            present = set(self.mailbox.search_message_keys(keys.values()).values())
        todo = [uid for uid in action.uids if keys.get(uid) not in present]
        if todo:
            try:
                self._copy_once(todo, folder)
            except ImapConnectionError:
                raise
            except ImapError as exc:  # one message the server will not copy must not hold up the others
                self._one_by_one([(uid, f"copy to {folder}", partial(self._copy_once, [uid], folder)) for uid in todo],
                                 exc)

    def _copy_once(self, uids: list[int], folder: str) -> None:
        with imap_errors(f"copying UIDs to {folder}"):
            self.mailbox.client.copy(uids, folder)

    def _uncopy(self, action: Action) -> None:
        """Delete triage's copies of the messages from the label's folder: flag them
        \\Deleted and expunge exactly those (UID EXPUNGE), never anything else there."""
        client, folder = self.mailbox.client, action.target
        keys = self.mailbox.message_keys(action.uids).values()
        if not keys or not self.mailbox.holds_mail(folder):
            return
        uidplus = "UIDPLUS" in self.mailbox.capabilities
        with self.mailbox.visiting(folder, readonly=False):
            copies = sorted(self.mailbox.search_message_keys(keys))
            if copies:
                with imap_errors(f"removing copies from {folder}"):
                    client.add_flags(copies, ["\\Deleted"], silent=True)
                    if uidplus:
                        client.uid_expunge(copies)
                    else:
                        log.warning("no UIDPLUS: triage's copies in %s are marked \\Deleted, not expunged", folder)

    def _folder_labels_of(self, uids: list[int]) -> dict[int, frozenset[str]]:
        namespace, delimiter = self.mailbox.hierarchy()
        keys = self.mailbox.message_keys(uids)
        known = self.mailbox.flags_of(uids).keys()
        found: dict[int, set[str]] = {uid: set() for uid in known}
        pattern = folder_for(self.prefix, namespace, delimiter) + "*"
        for folder in self.mailbox.folders(pattern):
            with self.mailbox.visiting(folder):
                present = set(self.mailbox.search_message_keys(keys.values()).values())
            label = label_for_folder(folder, namespace, delimiter)
            for uid, key in keys.items():
                if key in present and uid in found:
                    found[uid].add(label)
        return {uid: frozenset(labels) for uid, labels in found.items()}


def _bad(error: ImapError) -> bool:
    """Whether a refusal was a BAD (imaplib's "command error: BAD", or a pipelined answer's)."""
    text = str(error)
    return "command error: BAD" in text or ": BAD " in text


def _text(data: list) -> str:
    """A refusal's words, as the server sent them."""
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or [])


def check_folder_prefix(prefix: str, delimiter: str) -> None:
    """Raise UsageError when ``labels.prefix`` holds the server's hierarchy delimiter
    (other than ``/``, which stands for it) and labels are folders: ``tri.v2/refund``
    becomes the folder ``tri.v2.refund`` on a server that separates with ``.``, which
    reads back as the label ``tri/v2/refund``. Triage then never knew its own copies: each
    pass took them for labels a person had removed, and put them back or recorded
    corrections."""
    if delimiter != "/" and delimiter in prefix:
        raise UsageError(f"labels.prefix = {prefix!r} holds {delimiter!r}, which separates folders on this server, "
                         f"and labels are folders here: write the hierarchy with '/' "
                         f"(e.g. {prefix.replace(delimiter, '/')!r}) or choose a prefix without {delimiter!r}")


def make_labeler(mailbox: ImapMailbox, config: LabelsConfig, *, dry_run: bool = False) -> Labeler:
    """A :class:`Labeler` for the folder ``mailbox`` has selected, its mode resolved
    against the server (:func:`choose_mode`). ``\\Flagged`` follows
    ``<prefix>priority-1`` when ``flag_priority_1`` is on and the folder can store it."""
    if mailbox.state is None:
        raise ValueError("select a folder before making its labeler")
    mode = choose_mode(config.mode, mailbox.capabilities, mailbox.state)
    if mode == "folders":
        check_folder_prefix(config.prefix, mailbox.hierarchy()[1])
    flag_label = f"{config.prefix}priority-1"
    flag = config.flag_priority_1 and mode != "none" and mailbox.state.allows(FLAGGED)
    if config.flag_priority_1 and not flag and mode != "none":
        log.warning("%s does not let \\Flagged be stored; priority 1 is shown by its label only", mailbox.folder)
    log.info("labels in %s: %s%s", mailbox.folder, mode, " (dry run)" if dry_run else "")
    return Labeler(mailbox, mode, prefix=config.prefix, flag_label=flag_label if flag else None, dry_run=dry_run)
