"""Notice when a person changes triage's category labels in their mail client, and
record it as a correction the next retraining learns from.

Triage stores the labels it wrote on each message. Every pass re-reads the labels of the
most recently triaged messages of the watched folder (a flag re-scan: one FETCH, cheap;
CONDSTORE is not needed for it) and compares: a difference in the category labels is a
person's doing, never triage's own (:func:`triage.corrections.human_change`). The message
is then fetched (BODY.PEEK) for its text, and the labels now on it become the stored ones.
"""

from __future__ import annotations

import logging

from triage.corrections import human_change, record_correction
from triage.errors import MessageParseError
from triage.history import History
from triage.imap.labeler import Labeler
from triage.imap.mailbox import ImapMailbox
from triage.parsing import parse_message

log = logging.getLogger(__name__)

RESCAN_MESSAGES = 500
"""How many of the most recently triaged messages each pass re-reads for changed labels."""


def scan_corrections(mailbox: ImapMailbox, labeler: Labeler, history: History, state_path: str,
                     max_bytes: int) -> int:
    """Record the category changes people made to recently triaged messages of the
    selected folder; returns how many corrections were recorded. Commits history."""
    folder = mailbox.folder or ""
    written = {uid: (message_id, labels) for uid, message_id, labels in history.labelled(folder, RESCAN_MESSAGES)}
    if not written:
        return 0
    now_on_server = labeler.labels_of(written)
    changed = {uid: human_change(written[uid][1], labels, labeler.prefix) for uid, labels in now_on_server.items()}
    changed = {uid: change for uid, change in changed.items() if change}
    recorded = 0
    for batch in mailbox.fetch_batches(sorted(changed), 50, max_bytes):
        for raw in batch:
            message_id, _ = written[raw.uid]
            try:
                message = parse_message(raw)
            except MessageParseError as exc:
                log.warning("a relabelled message could not be read: %s", exc)
                continue
            before, after = changed[raw.uid]
            if record_correction(state_path, message_id=message_id, before=before, after=after,
                                 source="label-change", text=message.classifier_text, automated=message.automated):
                recorded += 1
                log.info("correction: %s in %s was %s, a person made it %s", message_id, folder,
                         ", ".join(before) or "other", ", ".join(after) or "other")
            history.set_labels(message_id, sorted(now_on_server[raw.uid]))
    history.commit()
    return recorded
