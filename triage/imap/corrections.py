"""Notice when a person changes triage's category labels in their mail client, and
record it as a correction the next retraining learns from.

Triage stores the labels it wrote on each message. Every pass re-reads the labels of
triaged messages of the watched folder and compares: a difference in the category
labels is a person's doing, never triage's own (:func:`triage.corrections.human_change`).
The message is then fetched (BODY.PEEK) for its text, and the labels now on it become
the stored ones. Which messages are re-read (:func:`changes_since` decides):

- with CONDSTORE (RFC 7162), where labels are flags of the message (keywords, Gmail
  labels), once a folder's HIGHESTMODSEQ is stored: only the triaged messages changed
  since then, of any age (a SEARCH MODSEQ, then their labels);
- otherwise — no CONDSTORE, NOMODSEQ, labels as folder copies, no MODSEQ stored yet, a
  UIDVALIDITY change, a MODSEQ the server no longer reaches — the :data:`RESCAN_MESSAGES`
  most recently triaged messages (one FETCH, cheap).

The folder's HIGHESTMODSEQ is read before the changes are looked for, so a change made
meanwhile is found again next time rather than missed (finding it twice records nothing
new).

Labels that were lost rather than changed are no correction (:mod:`triage.imap.restore`):
after a UIDVALIDITY change, or when :data:`~triage.imap.restore.MASS_LOSS_MESSAGES` or
more messages lost every triage label at once, the lost labels are put back; a message
whose other triage labels are gone is no person's edit of its categories either; nor is
a label whose whole folder a person deleted (labels as folder copies). What a message
carries otherwise becomes its stored labels, so it is not compared again.
"""

from __future__ import annotations

import logging

from triage.corrections import CorrectionStore, extra_priorities, human_change
from triage.errors import MessageParseError
from triage.history import History, Labeled
from triage.imap.labeler import LabelChange, Labeler
from triage.imap.mailbox import ImapMailbox
from triage.imap.restore import is_mass_loss, lost_labels, restore, stripped, vanished_folders
from triage.message import RawMail
from triage.parsing import parse_message

log = logging.getLogger(__name__)

RESCAN_MESSAGES = 500
"""How many of the most recently triaged messages a pass re-reads without CONDSTORE."""

Written = dict[int, Labeled]
"""UID -> the stored message and the labels triage wrote."""


def changes_since(stored: tuple[int, int] | None, uidvalidity: int, highest: int) -> int | None:
    """The MODSEQ after which changed messages are all that needs re-reading, or None for
    the re-scan of recent mail. ``stored`` is the folder's (UIDVALIDITY, HIGHESTMODSEQ)
    from the last scan, ``highest`` its HIGHESTMODSEQ now (0: the server keeps none).
    A stored MODSEQ is unusable after a UIDVALIDITY change (another numbering) and when
    it lies above the server's highest (the server lost its MODSEQs and counts anew)."""
    if not highest or stored is None:
        return None
    stored_validity, modseq = stored
    if stored_validity != uidvalidity or not 0 < modseq <= highest:
        return None
    return modseq


def relabelled(written: Written, now_on_server: dict[int, frozenset[str]],
               prefix: str) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """UID -> (categories triage wrote, categories now on the message) for the messages
    whose category labels a person changed (UIDs no longer on the server are skipped)."""
    changed = {uid: human_change(written[uid].labels, labels, prefix)
               for uid, labels in now_on_server.items() if uid in written}
    return {uid: change for uid, change in changed.items() if change}


def scan_corrections(mailbox: ImapMailbox, labeler: Labeler, history: History, state_path: str,
                     max_bytes: int) -> int:
    """Record the category changes people made to triaged messages of the selected
    folder; returns how many corrections were recorded. Commits history."""
    folder = mailbox.folder or ""
    uidvalidity = mailbox.state.uidvalidity if mailbox.state else 0
    highest = mailbox.highest_modseq() if labeler.labels_on_message else 0
    stored = history.get_modseq(folder)
    since = changes_since(stored, uidvalidity, highest)
    written = _changed(mailbox, history, since) if since is not None else _recent(history, folder)
    renumbered = stored is not None and stored[0] != uidvalidity
    recorded = _record(mailbox, labeler, history, state_path, written, max_bytes, renumbered=renumbered) \
        if written else 0
    history.set_modseq(folder, uidvalidity, highest)
    history.commit()
    return recorded


def _recent(history: History, folder: str) -> Written:
    """The most recently triaged messages (the re-scan without CONDSTORE)."""
    return {labeled.uid: labeled for labeled in history.labelled(folder, RESCAN_MESSAGES)}


def _changed(mailbox: ImapMailbox, history: History, modseq: int) -> Written:
    """The triaged messages whose flags changed after ``modseq``, whatever their age."""
    uids = mailbox.uids_changed_since(modseq)
    triaged = history.labelled_uids(mailbox.folder or "", uids)
    written = {labeled.uid: labeled for labeled in triaged}
    log.debug("%s: %d message(s) changed since MODSEQ %d, %d of them triaged", mailbox.folder, len(uids), modseq,
              len(written))
    return written


def _record(mailbox: ImapMailbox, labeler: Labeler, history: History, state_path: str, written: Written,
            max_bytes: int, *, renumbered: bool = False) -> int:
    """Compare ``written`` with the labels on the server: put back labels lost with a
    renumbering or en masse, record each person's change with the message's text, and
    make the labels now on the other messages their stored ones.

    The stored labels are updated only after every correction is recorded: an update
    holds the state file's write lock until the pass commits, and the correction store
    (its own connection) would wait for it."""
    now_on_server = labeler.labels_of(written)
    compared = _as_if_kept(mailbox, labeler, written, now_on_server)
    lost = lost_labels(written, compared, labeler.prefix)
    bare = stripped(written, compared, labeler.prefix)
    if lost and (renumbered or is_mass_loss(len(bare))):
        restore(labeler, lost)
        log.warning("%s: %d message(s) lost triage's labels (%d of them every one) %s: put back, not taken for "
                    "corrections", mailbox.folder, len(lost), len(bare),
                    "with a renumbering" if renumbered else "in one go, so the folder's labels were reset")
        now_on_server = {uid: labels for uid, labels in now_on_server.items() if uid not in lost}
    elif bare:
        log.info("%s: triage's labels were taken off %d message(s); left so", mailbox.folder, len(bare))
    changed = relabelled(written, compared, labeler.prefix)
    now_on_server = _one_priority(mailbox, labeler, written, now_on_server)
    recorded = 0
    with CorrectionStore(state_path) as store:
        for batch in mailbox.fetch_batches(sorted(changed), 50, max_bytes):
            for raw in batch:
                recorded += _record_one(store, raw, written[raw.uid].message_id, *changed[raw.uid],
                                        folder=mailbox.folder or "")
    for uid, labels in now_on_server.items():
        if uid in written and {label.lower() for label in labels} != {label.lower() for label in written[uid].labels}:
            history.set_labels(written[uid].row, sorted(labels))
    return recorded


def _as_if_kept(mailbox: ImapMailbox, labeler: Labeler, written: Written,
                now_on_server: dict[int, frozenset[str]]) -> dict[int, frozenset[str]]:
    """``now_on_server`` as compared with what triage wrote: with labels as folder copies,
    a label whose whole folder is gone (:func:`~triage.imap.restore.vanished_folders`) is
    counted as still on its messages. A person deleting the ``refund`` folder made every
    recent refund request a correction to "other"; that is no word on any one message.
    It is not put back either (the folder is made again when a message next gets the
    label); the messages' stored labels become what they carry, so the loss is not
    taken for a correction later, once the folder is back without them."""
    existing = labeler.label_folders()
    gone = vanished_folders(written, existing) if existing is not None else set()
    if not gone:
        return now_on_server
    had = {uid for uid in now_on_server if uid in written and gone & set(written[uid].labels)}
    for label in sorted(gone):
        log.warning("%s: label folder %s is gone (a person deleted it?): the %d message(s) that had the label are not "
                    "taken for corrections; the folder is made again when a message next gets the label",
                    mailbox.folder, labeler.target_of(label), sum(label in written[uid].labels for uid in had))
    return {uid: labels | (gone & set(written[uid].labels)) if uid in had else labels
            for uid, labels in now_on_server.items()}


def _one_priority(mailbox: ImapMailbox, labeler: Labeler, written: Written,
                  now_on_server: dict[int, frozenset[str]]) -> dict[int, frozenset[str]]:
    """Take the priority labels triage did not write off messages a person gave a second
    one (:func:`~triage.corrections.extra_priorities`); returns ``now_on_server`` as it
    is then. With ``priority-1`` goes ``\\Flagged``, which follows it."""
    extra = {uid: found for uid, labels in now_on_server.items() if uid in written
             if (found := extra_priorities(written[uid].labels, labels, labeler.prefix))}
    if not extra:
        return now_on_server
    labeler.apply_many([LabelChange.of(uid, remove=labels) for uid, labels in sorted(extra.items())])
    log.info("%s: %d message(s) carried two priorities; triage's own kept, the other taken off (UIDs %s)",
             mailbox.folder, len(extra), ",".join(map(str, sorted(extra)))[:200])
    return {uid: labels - set(extra.get(uid, ())) for uid, labels in now_on_server.items()}


def _record_one(store: CorrectionStore, raw: RawMail, message_id: str, before: tuple[str, ...],
                after: tuple[str, ...], *, folder: str) -> bool:
    """Record one person's change with the message's text; False when it is not new (or
    the message cannot be read)."""
    try:
        message = parse_message(raw)
    except MessageParseError as exc:
        log.warning("a relabelled message could not be read: %s", exc)
        return False
    correction = store.record(message_id=message_id, before=before, after=after, source="label-change",
                              text=message.classifier_text, automated=message.automated)
    if correction:
        log.info("correction: %s in %s was %s, a person made it %s", message_id, folder,
                 ", ".join(before) or "other", ", ".join(after) or "other")
    return correction is not None
