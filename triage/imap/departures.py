"""Notice waiting mail that left the watched folder, and file its conversation.

A person who moves a customer's message out of the folder (to an archive, a colleague's
folder, "Done") has filed it: it was answered by phone, handled in another tool, or is
nothing to answer. Its conversation waited on in the state all the same, went overdue,
and was counted by ``triage status`` and ``triage report``: mail nobody could see in the
folder. Now a conversation all of whose waiting messages left the folder is filed
(:meth:`~triage.history.History.file_departed`): it counts as answered up to the
latest of them, its customer writing again starts a new wait, and a message of it moved
back waits again (its record keeps its UID, so it is known and not triaged again:
:meth:`~triage.engine.Engine.decide`). Its customer's earlier messages still count
towards a "3rd message without a reply": the customer got none.

A message a person deleted is gone as well, also while it is only marked ``\\Deleted``
(Outlook's "mark for deletion", Thunderbird's "just mark it as deleted", a client on a
server without MOVE): it stays in the folder until someone expunges it, struck through
or hidden in the clients, and its conversation waited on for ever, went overdue and P1.
Undeleted, it waits again (one of the :data:`RETURN_LOOKED` latest to leave).

Gone means gone from this numbering of the folder, seen twice:

- only UIDs of the folder's current UIDVALIDITY are asked about. After a renumbering
  every stored UID is void, and what a message is called now is the resync's business
  (:func:`~triage.imap.sync.resync`), not a sign of anything leaving;
- a look is one answer of the server for every UID asked about, or none
  (:meth:`~triage.imap.mailbox.ImapMailbox.present` raises for a refusal in part); a
  look that fails files nothing, and remembers nothing;
- a message is taken for gone when two looks at least :data:`LOOK_SECONDS` apart both
  missed it: a server that answers a look wrongly once (a folder being repaired or
  migrated, an index rebuilt), or a move out and back within minutes, files nothing.
  (The first look is put off by as much: a first run has just read every message.)
"""

from __future__ import annotations

import logging
from datetime import datetime

from triage.errors import ImapError
from triage.history import History
from triage.imap.connection import ImapConnectionError
from triage.imap.mailbox import ImapMailbox

log = logging.getLogger(__name__)

LOOK_SECONDS = 300.0
"""How often the waiting messages of the watched folder are looked for (a UID SEARCH per
50,000 UIDs of the folder's span: :meth:`~triage.imap.mailbox.ImapMailbox.present`); a
message missing at two looks this far apart has left."""


RETURN_LOOKED = 2000
"""How many of the messages that left the folder (the highest UIDs) each look asks about
again, so that one a person marked ``\\Deleted`` and then undeleted (it keeps its UID)
waits again. (The look asks the server by spans of UIDs, so they cost no command of
their own.) A message moved back gets a new UID and is known by its Message-ID and bytes,
however late."""


def departed(absent_now: set[int], absent_before: set[int]) -> set[int]:
    """The UIDs taken for gone: missed by this look and by the one before."""
    return absent_now & absent_before


def note_departures(mailbox: ImapMailbox, history: History, now: datetime) -> list[str]:
    """Look, at most every :data:`LOOK_SECONDS` (by ``now``, the wall clock), for the
    waiting messages of the selected folder; file the conversations whose waiting mail
    has all left (see the module docstring). Returns the conversations filed; their
    labels are the sweep's to change. Uncommitted. A look the server refuses files
    nothing and is logged (the pass goes on); a lost connection raises."""
    folder = mailbox.folder or ""
    uidvalidity = mailbox.state.uidvalidity if mailbox.state else 0
    cursor = history.get_cursor(folder)
    if cursor is None or cursor[0] != uidvalidity:
        return []  # the stored UIDs are of another numbering (or none yet)
    if not history.due_for_full_refresh(f"{folder}\0departures", now, LOOK_SECONDS):
        return []
    before = history.absent(folder)
    if before is None:  # the first time (a first run): the clock starts, the mail was all just read
        history.set_absent(folder, uidvalidity, ())
        return []
    waiting = history.waiting_uids(folder)
    left = history.departed_uids(folder, RETURN_LOOKED)
    try:
        found = mailbox.present([*waiting, *left], undeleted=True)
    except ImapConnectionError:
        raise
    except ImapError as exc:  # a refusal: nothing is filed, and the pass goes on
        log.warning("%s: could not look for the waiting mail (%s); nothing taken for gone", folder, exc)
        return []
    absent = set(waiting) - found
    if returned := set(left) & found:
        history.return_departed(folder, returned)
        log.info("%s: %d message(s) that had left the folder are back (undeleted)", folder, len(returned))
    gone = departed(absent, before[1] if before and before[0] == uidvalidity else set())
    history.set_absent(folder, uidvalidity, absent)  # (those gone whose conversation waits on: again next time)
    filed = history.file_departed(folder, gone) if gone else []
    if filed:
        log.info("%s: the waiting mail of %d conversation(s) left the folder: filed, no longer waiting",
                 folder, len(filed))
    if absent:
        log.debug("%s: %d waiting message(s) not in the folder, %d of them at the look before too", folder,
                  len(absent), len(gone))
    return filed
