"""Put triage's labels back where they vanished without a person's hand.

A folder deleted and recreated with the same mail, a migration to another server, an
admin or a client resetting keywords: the messages are the ones triage decided, but its
labels are gone. That is nobody's word on the categories, so nothing is learned from it
(:func:`triage.corrections.human_change`); the labels triage stored are written again.
Two signs tell such a loss from a person's edit:

- the folder's UIDVALIDITY changed: once the resync has given the known messages their
  new UIDs (:func:`triage.imap.sync.resync`), every one of them gets back the labels it
  lost (:func:`restore_folder`);
- one pass finds :data:`MASS_LOSS_MESSAGES` or more messages that lost every triage label
  (:func:`is_mass_loss`): nobody strips that many by hand between two passes. Fewer are
  taken as a person's doing and left as they are.

Restoring only adds labels: whatever a message carries besides stays.

A label folder a person deleted whole (labels as folder copies) is neither: its labels
are gone from every message at once, by a person's hand but about no message in
particular (:func:`vanished_folders`). They are not put back and not taken for
corrections; the folder is made again when a message next gets its label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from triage.corrections import missing_labels
from triage.history import History, Labeled
from triage.imap.labeler import LabelChange, Labeler
from triage.imap.mailbox import ImapMailbox

log = logging.getLogger(__name__)

MASS_LOSS_MESSAGES = 10
"""Messages that lost every triage label in one pass from which the loss is taken for a
reset of the folder's labels, not for people's edits."""

RESTORE_CHUNK = 500
"""Messages whose labels are compared (and put back) at a time after a resync."""


def lost_labels(written: Mapping[int, Labeled], now_on_server: Mapping[int, frozenset[str]],
                prefix: str) -> dict[int, tuple[str, ...]]:
    """UID -> the labels triage wrote (as stored, in its spelling) that the message no
    longer carries, for the messages still on the server that lost any."""
    lost = {}
    for uid, labels in now_on_server.items():
        if uid in written:
            missing = missing_labels(written[uid].labels, labels, prefix)
            if missing:
                lost[uid] = tuple(label for label in written[uid].labels if label.lower() in missing)
    return lost


def stripped(written: Mapping[int, Labeled], now_on_server: Mapping[int, frozenset[str]], prefix: str) -> set[int]:
    """UIDs of the messages that carried triage labels and now carry none."""
    start = prefix.lower()
    return {uid for uid, labels in now_on_server.items()
            if uid in written and written[uid].labels and not any(label.lower().startswith(start) for label in labels)}


def vanished_folders(written: Mapping[int, Labeled], existing: frozenset[str]) -> set[str]:
    """The labels (as written) of ``written`` whose label folder the server no longer has:
    ``existing`` holds the labels, lower-cased, whose folder is there (labels as folder
    copies, :meth:`~triage.imap.labeler.Labeler.label_folders`). Such a label vanished
    from every message that had it at once: a person deleted the folder, which says
    nothing about any one message's categories."""
    return {label for labeled in written.values() for label in labeled.labels if label.lower() not in existing}


def is_mass_loss(stripped_count: int) -> bool:
    """True when so many messages lost every triage label in one pass that the folder's
    labels were reset, not edited by people (:data:`MASS_LOSS_MESSAGES`)."""
    return stripped_count >= MASS_LOSS_MESSAGES


def restore(labeler: Labeler, lost: Mapping[int, tuple[str, ...]]) -> int:
    """Write the lost labels back (nothing is removed); returns how many messages got some."""
    if lost:
        labeler.apply_many([LabelChange.of(uid, add=labels) for uid, labels in sorted(lost.items())])
    return len(lost)


def restore_folder(mailbox: ImapMailbox, labeler: Labeler, history: History) -> int:
    """After a UIDVALIDITY change and the resync: give every message of the selected
    folder that triage knows the labels it lost. Returns how many messages got some."""
    folder = mailbox.folder or ""
    uids = mailbox.uids_since(0)
    restored = 0
    for start in range(0, len(uids), RESTORE_CHUNK):
        written = {labeled.uid: labeled for labeled in history.labelled_uids(folder, uids[start:start + RESTORE_CHUNK])}
        if written:
            restored += restore(labeler, lost_labels(written, labeler.labels_of(written), labeler.prefix))
    if restored:
        log.warning("%s: %d message(s) lost triage's labels with the renumbering (a folder recreated or migrated): "
                    "put back, not taken for corrections", folder, restored)
    return restored
