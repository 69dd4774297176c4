"""A first run that ends early is finished by the next run, on the first run's own list.

A first run does not triage every message of the folder: the mail of the last
``imap.first_run_days`` days, and of older mail only what still waits for the team
(:mod:`triage.imap.backlog`). Its cursor, committed with each group of batches, is the
highest UID below which all of that list is done. A first run that ended after a commit
(a crash, a lost connection, SIGTERM: a service restarted during a long first run) left
that cursor in the middle of the backlog, and the next run, finding a cursor, took every
UID above it: the answered and machine-sent mail the first run had skipped, months of
it, was triaged and labelled. So the list is remembered with the first commit
(:class:`FirstRunPlan`) and the runs after it take what is left of it
(:func:`resume_uids`), until one finishes it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from triage.history import History


@dataclass(frozen=True)
class FirstRunPlan:
    """What a first run set out to triage in a folder of UIDVALIDITY ``uidvalidity``:
    ``uids``, ascending, when the folder's highest UID was ``top`` (mail above it arrived
    after the list was made, and all of it is to be triaged)."""

    uidvalidity: int
    top: int
    uids: array


def resume_uids(plan: FirstRunPlan, cursor: int, arrived: Iterable[int]) -> array:
    """The UIDs still to triage of an unfinished first run, ascending: those of its list
    past ``cursor`` (everything of the list at or below it is done), and ``arrived``, the
    folder's UIDs above both the cursor and the plan's top. (One of the list done early
    and above the cursor is known by its UID, as for any pass, and not triaged twice.)"""
    floor = max(cursor, plan.top)
    left = [uid for uid in plan.uids if uid > cursor]
    return array("L", sorted({*left, *(uid for uid in arrived if uid > floor)}))


def encode_uids(uids: Iterable[int]) -> str:
    """``uids`` as IMAP-style ranges (``"1:8,10,14:15"``): a first run's list is mostly
    runs of consecutive UIDs, so 100,000 of them take a few bytes, not 700 KB."""
    parts: list[str] = []
    start = previous = None
    for uid in sorted(set(uids)):
        if previous is not None and uid == previous + 1:
            previous = uid
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = uid
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}:{previous}")
    return ",".join(parts)


def decode_uids(text: str) -> array:
    """Inverse of :func:`encode_uids`."""
    uids = array("L")
    for part in filter(None, text.split(",")):
        first, _, last = part.partition(":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


def remember_plan(history: History, folder: str, uidvalidity: int, top: int, uids: Iterable[int]) -> None:
    """Keep a first run's list with its first commit (see the module docstring)."""
    uids = array("L", uids)
    history.set_first_run_plan(folder, uidvalidity, max(top, uids[-1] if uids else 0), encode_uids(uids))


def unfinished_plan(history: History, folder: str, uidvalidity: int) -> FirstRunPlan | None:
    """The unfinished first run of ``folder`` under ``uidvalidity``, or None (none, or
    one of UIDs the folder no longer has: renumbered, it is resynchronised instead)."""
    stored = history.first_run_plan(folder)
    if stored is None or stored[0] != uidvalidity:
        return None
    return FirstRunPlan(stored[0], stored[1], decode_uids(stored[2]))
