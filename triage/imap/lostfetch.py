"""Messages whose reading breaks the connection: read alone, then given up on.

A server can drop the session over one message, every time it is asked for it: Dovecot
does for a Maildir file whose size is not the one its name says (a migration that
changed line ends, a script that edited the file). Read in a batch, that message took
the batch with it, and the next pass asked for the same batch again: nothing in the
folder was ever labelled again, and ``triage run`` reconnected forever.

So when the connection breaks while messages are being read, they are remembered (in
the state, committed after the pass rolled back); the next session reads each of them
alone, and one that breaks the connection on its own :data:`GIVE_UP_AFTER` times is not
read any more: it is decided as unreadable (a row, the ``unreadable`` label) and the
folder's other mail goes on. Once may be the network; twice alone, the message.

The same goes for the Sent folders, read first on every pass (:mod:`triage.imap.sent`):
the state keeps these messages per folder, and one given up on there is skipped with a
warning (it gets no label: it is only evidence of a reply).
"""

from __future__ import annotations

import logging

from triage.history import History
from triage.imap.connection import FetchLost
from triage.imap.mailbox import ImapMailbox

log = logging.getLogger(__name__)

GIVE_UP_AFTER = 2
"""Times a message may break the connection when read alone before it is given up on."""


def remember_lost_fetch(history: History, lost: FetchLost) -> None:
    """Remember the messages being read when the connection broke, and commit: call it
    after the pass was rolled back (nothing else of it may be committed)."""
    stored = history.lost_fetches(lost.folder)
    counts = stored[1] if stored and stored[0] == lost.uidvalidity else {}
    if len(lost.uids) == 1:
        uid = lost.uids[0]
        counts[uid] = counts.get(uid, 0) + 1
        log.warning("%s: the connection broke while UID %d was read on its own (%d time(s))%s", lost.folder, uid,
                    counts[uid], "; it will not be read again" if given_up(counts[uid]) else "")
    else:
        for uid in lost.uids:
            counts.setdefault(uid, 0)
        log.warning("%s: the connection broke while %d message(s) were read; the next pass reads them one by one",
                    lost.folder, len(lost.uids))
    history.set_lost_fetches(lost.folder, lost.uidvalidity, counts)
    history.commit()


def lost_fetches_above(history: History, folder: str, uidvalidity: int, above: int) -> dict[int, int]:
    """UID → times it broke the connection when read alone, of the messages of ``folder``
    above UID ``above`` (those still to read) whose reading broke a connection; only
    what was remembered under ``uidvalidity`` (other UIDs are void)."""
    stored = history.lost_fetches(folder)
    if stored is None or stored[0] != uidvalidity:
        return {}
    return {uid: times for uid, times in stored[1].items() if uid > above}


def given_up(times: int) -> bool:
    """Whether a message that broke the connection ``times`` times when read alone is
    not to be read any more."""
    return times >= GIVE_UP_AFTER


def plan_fetches(mailbox: ImapMailbox, history: History, uidvalidity: int, above: int) -> None:
    """Tell ``mailbox`` (its folder selected) which of its messages above UID ``above``
    (those still to triage) to read alone, and which not to read at all."""
    counts = lost_fetches_above(history, mailbox.folder or "", uidvalidity, above)
    mailbox.fetch_alone = frozenset(counts)
    mailbox.unfetchable = frozenset(uid for uid, times in counts.items() if given_up(times))
