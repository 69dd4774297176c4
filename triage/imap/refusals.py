"""Messages the server refused to deliver without saying why: tried again, pass by pass.

A server that answers NO or BAD to the FETCH of one message and gives a response code
says what it means (RFC 5530: gone, try later, or this message is broken:
:func:`~triage.imap.mailbox.refusal_kind`). Without a code it may be the server's
passing trouble (Gmail's "Some messages could not be FETCHed" comes and goes), and
deciding the message unreadable at once labelled a customer's mail ``unreadable`` for
good. So such a message is left out of the pass, remembered in the state with the
number of passes that refused it, asked for again by the next passes (the cursor has
passed it), and decided unreadable only once :data:`REFUSED_PASSES` passes in a row
refused it. The count is in the state, so a restart does not reset it.
"""

from __future__ import annotations

from collections.abc import Iterable

from triage.history import History

REFUSED_PASSES = 3
"""Passes that must refuse a message without a reason before it is decided unreadable."""


class Refusals:
    """The uncoded refusals of one folder's messages, as stored before a pass and as the
    pass meets them (:meth:`refused`); :meth:`pending` is what to store after it."""

    def __init__(self, folder: str | None = None, uidvalidity: int = 0, before: dict[int, int] | None = None):
        self.folder, self.uidvalidity = folder, uidvalidity
        self.before = dict(before or {})
        """UID → passes that refused it, as stored."""
        self.now: dict[int, int] = {}
        """UID → passes that refused it, this one included, for those this pass refused."""
        self.settled: set[int] = set()
        """UIDs stored as refused that this pass read, or found gone."""

    def refused(self, uid: int) -> int:
        """Count this pass's refusal of ``uid``; how many passes refused it now."""
        self.now[uid] = self.before.get(uid, 0) + 1
        return self.now[uid]

    def retry(self, cursor: int) -> list[int]:
        """The stored UIDs at or below ``cursor``: the pass must ask for them again (those
        above it it reads anyway)."""
        return sorted(uid for uid in self.before if uid <= cursor)

    def settle(self, uids: Iterable[int]) -> None:
        """``uids`` were read (or asked for and found gone): none waits for another try."""
        self.settled.update(uid for uid in uids if uid in self.before and uid not in self.now)

    def pending(self) -> dict[int, int]:
        """UID → passes that refused it, of the messages the next pass must try again."""
        kept = {uid: times for uid, times in self.before.items() if uid not in self.settled}
        for uid, times in self.now.items():
            if times < REFUSED_PASSES:
                kept[uid] = times
            else:  # decided unreadable now
                kept.pop(uid, None)
        return kept


def plan_refusals(history: History, folder: str, uidvalidity: int) -> Refusals:
    """The refusals stored for ``folder``; none when they were of another UIDVALIDITY."""
    stored = history.refused_fetches(folder)
    return Refusals(folder, uidvalidity, stored[1] if stored and stored[0] == uidvalidity else {})


def remember_refusals(history: History, refusals: Refusals) -> None:
    """Store what :meth:`Refusals.pending` says (uncommitted: with the cursor that passed them)."""
    if refusals.folder is not None:
        history.set_refused_fetches(refusals.folder, refusals.uidvalidity, refusals.pending())
