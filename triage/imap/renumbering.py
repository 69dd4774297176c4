"""A folder renumbered under the UIDVALIDITY it had.

RFC 3501 lets a server give a folder's messages new UIDs only with a new UIDVALIDITY,
and triage resynchronises when it sees one (:func:`triage.imap.sync.resync`). Some
servers do it without: a mailbox restored from a backup, or moved by a migration tool
that kept UIDVALIDITY and numbered the messages from 1 again. The cursor then stood above
the UIDs of the mail that came since, which was never triaged; and the UIDs triage knew
named other messages, which got the labels of the ones triage had decided. Two signs
tell it, read when the folder is opened (a SELECT, whose UIDNEXT is the server's of
that moment):

- UIDNEXT is not above the last UID triaged: UIDs went back;
- one of the highest UIDs triage knows holds a message with another Message-ID (a UID
  that is gone says nothing: mail is moved out and expunged every day).

Either is then taken as a UIDVALIDITY change: the messages are known again by
Message-ID and content, and what is unknown is triaged.
"""

from __future__ import annotations

from collections.abc import Mapping

CHECKED_UIDS = 5
"""How many of the highest UIDs triage knows in a folder are read back (their
Message-IDs, one FETCH) when it is opened."""


def uids_went_back(last_uid: int, uidnext: int) -> bool:
    """True when a folder's UIDNEXT is not above ``last_uid``, a UID already seen under
    the same UIDVALIDITY: UIDs only grow, so the folder was renumbered."""
    return uidnext <= last_uid


def renumbered_in_place(last_uid: int, uidnext: int, known: Mapping[int, str], found: Mapping[int, str]) -> bool:
    """Whether a folder whose UIDVALIDITY is the one of its cursor was renumbered all the
    same. ``last_uid``: the cursor's last UID; ``uidnext``: the folder's UIDNEXT as the
    SELECT just told it; ``known``: UID -> Message-ID of messages triage recorded there;
    ``found``: UID -> Message-ID the server gives for those UIDs now (a UID it no longer
    has, or whose message has no Message-ID, missing)."""
    if uids_went_back(last_uid, uidnext):
        return True
    return any(uid in found and found[uid] != message_id for uid, message_id in known.items())
