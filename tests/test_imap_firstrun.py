"""The first run's list, kept until a run finishes it (triage.imap.firstrun): pure parts."""

from __future__ import annotations

from array import array

from triage.history import History
from triage.imap.firstrun import FirstRunPlan, decode_uids, encode_uids, remember_plan, resume_uids, unfinished_plan


def test_uids_are_kept_as_ranges_and_read_back() -> None:
    uids = [*range(1, 9), 10, 14, 15, *range(1000, 101_000)]
    text = encode_uids(uids)
    assert text == "1:8,10,14:15,1000:100999"
    assert decode_uids(text).tolist() == uids
    assert encode_uids([]) == "" and decode_uids("").tolist() == []


def test_a_resumed_first_run_takes_the_rest_of_its_list_and_what_arrived_since() -> None:
    plan = FirstRunPlan(7, top=20, uids=array("L", [2, 3, 9, 12, 19, 20]))
    # UIDs 10, 11, 13…18 are the older mail the first run skipped: never asked for again.
    assert resume_uids(plan, cursor=8, arrived=[21, 25]).tolist() == [9, 12, 19, 20, 21, 25]
    assert resume_uids(plan, cursor=20, arrived=[]).tolist() == []
    # mail done early during the first run (above its top) and past the cursor: the
    # server's SEARCH is from the higher of the two
    assert resume_uids(plan, cursor=22, arrived=[21, 23]).tolist() == [23]


def test_the_plan_is_kept_per_folder_and_uidvalidity() -> None:
    with History(":memory:") as history:
        remember_plan(history, "INBOX", 5, 30, array("L", [4, 5, 40]))
        plan = unfinished_plan(history, "INBOX", 5)
        assert plan is not None and plan.top == 40 and plan.uids.tolist() == [4, 5, 40]
        assert unfinished_plan(history, "INBOX", 6) is None  # renumbered: resynchronised instead
        assert unfinished_plan(history, "Other", 5) is None
        history.clear_first_run_plan("INBOX")
        assert unfinished_plan(history, "INBOX", 5) is None
