"""Notice mail people drop into training folders (``[model] training_folders``, e.g.
``Training/*``) and record each message as a correction, with its text.

The folders are those of ``triage train imap:PATTERN``: each is the category its last
path component names (:func:`triage.imap.training.split_category_folders`). A folder
named after no category is logged once and ignored; triage's own label folders and the
watched folder are never read (learning from them would be learning triage's own
decisions). Each pass:

1. asks every training folder for its UIDVALIDITY and UIDNEXT (STATUS) and reads the
   UIDs above its cursor, a (UIDVALIDITY, last UID) pair in history. On first sight of a
   folder, and after a UIDVALIDITY change, everything in it is new: the team put it there
   to teach.
2. looks the new messages' Message-IDs up in the other training folders, so a message
   filed under several categories gets all of them (the union), also when it was filed
   in another pass; a message moved from one training folder to another gets the
   categories of the folders it is in now.
3. fetches the new messages (BODY.PEEK) and records one correction per message
   (source ``training-folder``): ``before`` the categories triage decided for that
   Message-ID (none when it never triaged it), ``after`` the union.
4. moves and commits the cursors.

Nothing on the server changes: folders are EXAMINEd and bodies read with BODY.PEEK; the
watched folder is selected again at the end. A crash repeats the pass's drops, and the
correction store ignores a correction that says what the message's newest one says, so
nothing is recorded twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from triage.config import Config
from triage.corrections import CorrectionStore, categories
from triage.errors import MessageParseError
from triage.history import History
from triage.imap.connection import imap_errors
from triage.imap.labeler import folder_for
from triage.imap.mailbox import ImapMailbox, status_uids
from triage.imap.renumbering import uids_went_back
from triage.imap.training import split_category_folders
from triage.message import Message, RawMail
from triage.parsing import parse_message

log = logging.getLogger(__name__)

_ignored: set[str] = set()
"""Folders already reported as no category (each is logged once per process)."""


# -- deciding ---------------------------------------------------------------------------


def training_folders(listed: Iterable[str], delimiter: str, own_prefix: str,
                     watched: str) -> tuple[dict[str, str], list[str]]:
    """(folder -> category, folders named after no category) among the ``listed`` folders
    matching the pattern. ``own_prefix`` is the folder name of triage's label prefix
    (``triage.`` on a Dovecot); folders under it and the ``watched`` folder are left out."""
    own = own_prefix.lower()
    candidates = [f for f in listed if not f.lower().startswith(own) and f != watched]
    return split_category_folders(candidates, delimiter)


def unread_after(cursor: tuple[int, int] | None, uidvalidity: int, uidnext: int) -> int | None:
    """The UID after which a training folder holds mail not read yet (0: all of it, on
    first sight, after a UIDVALIDITY change, and when UIDs went back under the same one:
    :mod:`triage.imap.renumbering`); None when nothing can be new."""
    same = cursor is not None and cursor[0] == uidvalidity and not uids_went_back(cursor[1], uidnext)
    last = cursor[1] if same else 0
    return last if uidnext - 1 > last else None


def filed_under(holding: dict[str, set[str]], category_of: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Message-ID -> the union of the categories of the folders holding it, in canonical
    order (``holding``: folder -> Message-IDs found there). ``other`` is no category, so
    a message filed under ``other`` and ``refund`` is a refund."""
    found: dict[str, set[str]] = defaultdict(set)
    for folder, message_ids in holding.items():
        for message_id in message_ids:
            found[message_id].add(category_of[folder])
    return {message_id: categories(names) for message_id, names in found.items()}


# -- acting -----------------------------------------------------------------------------


class Drops(NamedTuple):
    """What is new in one training folder this pass."""

    uidvalidity: int
    last_uid: int
    """Where the folder's cursor moves once the drops are recorded."""
    message_ids: dict[int, str | None]
    """New UID -> its Message-ID (None: it has none)."""


def scan_training_folders(mailbox: ImapMailbox, history: History, state_path: str, config: Config) -> int:
    """Record the mail dropped into training folders since the last pass (module
    docstring); returns how many corrections were recorded. Commits history."""
    pattern = config.model.training_folders.strip()
    if not pattern:
        return 0
    watched = mailbox.folder
    namespace, delimiter = mailbox.hierarchy()
    folders, unknown = training_folders(mailbox.folders(folder_for(pattern, namespace, delimiter)), delimiter,
                                        folder_for(config.labels.prefix, namespace, delimiter), watched or "")
    _report_ignored(unknown)
    news: dict[str, Drops] = {}
    recorded = 0
    try:
        news = _new_drops(mailbox, history, folders)
        if news:
            union = filed_under(_holding(mailbox, history, folders, news), folders)
            recorded = _record(mailbox, history, state_path, config, folders, news, union)
    finally:
        if watched is not None and mailbox.folder != watched:
            mailbox.select(watched)
    for folder, drops in news.items():
        history.set_cursor(folder, drops.uidvalidity, drops.last_uid)
    history.commit()
    return recorded


def _report_ignored(folders: list[str]) -> None:
    for folder in folders:
        if folder not in _ignored:
            _ignored.add(folder)
            log.warning("training folder %s is named after no category; it is ignored", folder)


def _new_drops(mailbox: ImapMailbox, history: History, folders: dict[str, str]) -> dict[str, Drops]:
    """The new mail of each training folder that may hold some (STATUS first: a folder
    with nothing above its cursor is not even examined)."""
    news = {}
    for folder in folders:
        with imap_errors(f"reading the status of {folder}"):
            status = mailbox.client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
        numbers = status_uids(status)
        if numbers is None:
            log.error("%s: the server's STATUS answer holds no UIDVALIDITY and UIDNEXT to read; its new mail is not "
                      "read this pass", folder)
            continue
        uidvalidity, uidnext = numbers
        after = unread_after(history.get_cursor(folder), uidvalidity, uidnext)
        if after is None:
            continue
        mailbox.select(folder, readonly=True)
        uids = mailbox.uids_since(after)
        ids = mailbox.message_ids(uids)
        news[folder] = Drops(uidvalidity, max([*uids, uidnext - 1]), {uid: ids.get(uid) for uid in uids})
        if uids:
            log.info("%s: %d message(s) dropped in to learn from", folder, len(uids))
    return news


def _holding(mailbox: ImapMailbox, history: History, folders: dict[str, str],
             news: dict[str, Drops]) -> dict[str, set[str]]:
    """Folder -> which of the new drops' Message-IDs it holds: what :func:`_new_drops`
    read, plus a search of the training folders holding mail read in earlier passes."""
    wanted = {mid for drops in news.values() for mid in drops.message_ids.values() if mid}
    holding = {folder: {mid for mid in drops.message_ids.values() if mid} for folder, drops in news.items()}
    for folder in folders:
        if not wanted or history.get_cursor(folder) is None:
            continue
        mailbox.select(folder, readonly=True)
        holding.setdefault(folder, set()).update(mailbox.search_message_ids(wanted).values())
    return holding


def _record(mailbox: ImapMailbox, history: History, state_path: str, config: Config, folders: dict[str, str],
            news: dict[str, Drops], union: dict[str, tuple[str, ...]]) -> int:
    """Fetch the new drops and record one correction per message (a message new in two
    folders is read once)."""
    done: set[str] = set()
    recorded = 0
    with CorrectionStore(state_path) as store:
        for folder, drops in news.items():
            todo = [uid for uid, mid in drops.message_ids.items() if mid not in done]
            if not todo:
                continue
            mailbox.select(folder, readonly=True)
            for batch in mailbox.fetch_batches(todo, config.imap.batch_size, config.imap.max_message_bytes):
                for raw in batch:
                    message = _parse(raw, folder)
                    if message is None or message.message_id in done:
                        continue
                    done.add(message.message_id)
                    after = union.get(drops.message_ids.get(raw.uid) or "", categories([folders[folder]]))
                    recorded += _record_one(store, history, message, after)
    return recorded


def _parse(raw: RawMail, folder: str) -> Message | None:
    try:
        return parse_message(raw)
    except MessageParseError as exc:
        log.warning("a message dropped into %s could not be read: %s", folder, exc)
        return None


def _record_one(store: CorrectionStore, history: History, message: Message, after: tuple[str, ...]) -> bool:
    """Record that a person filed ``message`` under ``after``; False when the store
    already knew it (recorded in an earlier pass, or a pass repeated after a crash)."""
    before = categories(history.decided_categories(message.message_id))
    correction = store.record(message_id=message.message_id, before=before, after=after, source="training-folder",
                              text=message.classifier_text, automated=message.automated)
    if correction:
        log.info("correction: %s filed under %s (triage said %s)", message.message_id, ", ".join(after) or "other",
                 ", ".join(before) or "other")
    return correction is not None
