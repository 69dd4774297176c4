"""Corrections need a person (issue 11, finding 6): labels that vanish because a folder
was recreated, migrated or had its keywords reset are put back, and nothing is learned
from them; a person's change of a category, other triage labels intact, still counts.

End to end through ``triage once`` against the test Dovecot; the pure rules are in
tests/test_corrections.py and below.
"""

from __future__ import annotations

import uuid

from dovecot import Dovecot
from test_imap_service import (Box, box, message, password_env, triage_keywords,  # noqa: F401  (fixtures)
                               without_message_id, write_config)

from triage.corrections import corrections_since
from triage.history import Labeled
from triage.imap.labeler import folder_for, keyword_for
from triage.imap.restore import MASS_LOSS_MESSAGES, is_mass_loss, lost_labels, stripped, vanished_folders
from triage.registry import Registry

SUBJECTS = [("Where is my refund?", "I returned the boots two weeks ago and I am still waiting for my refund."),
            ("Cancel my plan", "Please cancel my subscription today, I do not want to be charged again."),
            ("Charged twice", "You charged my card twice for the same order, please fix the double charge.")]


def inbox(box: Box, count: int) -> dict[int, bytes]:
    """``count`` customer messages from different people, appended: UID -> raw bytes."""
    appended = {}
    for i in range(count):
        subject, body = SUBJECTS[i % len(SUBJECTS)]
        raw = message(f"r{i}", sender=f"customer{i}@example.net", subject=subject, body=body)[1]
        appended[box.append(raw)] = raw
    return appended


def labelled(box: Box, retrain_after: int = 1) -> dict[int, set[str]]:
    """Triage the folder (retraining after ``retrain_after`` corrections); UID -> triage keywords."""
    write_config(box.config, box.dovecot, box.folder, model={"retrain_after_corrections": retrain_after})
    code, rows, _ = box.once()
    assert code == 0
    return {row["uid"]: triage_keywords(box.flags(row["uid"])) for row in rows}


def keywords_now(dovecot: Dovecot, folder: str) -> dict[int, set[str]]:
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        answer = client.fetch(client.search("ALL"), ["FLAGS"])
    return {uid: triage_keywords({f.decode() for f in data[b"FLAGS"]}) for uid, data in answer.items()}


def test_a_folder_recreated_without_keywords_gets_its_labels_back_and_teaches_nothing(box: Box) -> None:
    mail = inbox(box, 12)
    before = labelled(box)
    assert all(before.values()) and len(before) == 12
    old_validity = box.dovecot.uidvalidity(box.folder)

    # Deleted and created again, the same mail appended in the same order, no keywords.
    box.dovecot.delete_folder(box.folder)
    box.dovecot.create_folder(box.folder)
    for raw in mail.values():
        box.append(raw)
    assert box.dovecot.uidvalidity(box.folder) != old_validity
    assert not any(keywords_now(box.dovecot, box.folder).values())

    code, rows, err = box.once("-v")

    assert code == 0 and rows == []  # nothing triaged twice
    after = keywords_now(box.dovecot, box.folder)
    by_order = dict(zip(sorted(after), sorted(before)))  # new UID -> old UID: same order, same mail
    assert all(after[new] == before[old] for new, old in by_order.items())
    assert corrections_since(box.state) == []
    assert Registry.for_state(box.state).entries() == []  # no retraining
    assert "put back, not taken for corrections" in err
    assert box.once()[1] == [] and corrections_since(box.state) == []  # and the next pass is quiet


def test_a_recreated_folder_gives_mail_without_a_message_id_its_labels_back_untriaged(box: Box) -> None:
    raws = []
    for i, (subject, body) in enumerate(SUBJECTS):
        raws.append(without_message_id(message(f"a{i}", sender=f"customer{i}@example.net", subject=subject,
                                               body=body)[1]))
        box.append(raws[-1])
    before = labelled(box)
    assert all(before.values()) and len(before) == len(SUBJECTS)

    box.dovecot.delete_folder(box.folder)
    box.dovecot.create_folder(box.folder)
    for raw in raws:
        box.append(raw)

    code, rows, _ = box.once()

    assert code == 0 and rows == []  # known by their content, not triaged twice
    after = keywords_now(box.dovecot, box.folder)
    assert [after[uid] for uid in sorted(after)] == [before[uid] for uid in sorted(before)]
    assert corrections_since(box.state) == []


def test_keywords_reset_in_place_are_put_back_without_corrections(box: Box) -> None:
    inbox(box, MASS_LOSS_MESSAGES + 2)
    before = labelled(box)
    with box.dovecot.client() as client:  # an admin's or a client's reset: every triage keyword off
        client.select_folder(box.folder)
        for uid, keywords in before.items():
            client.remove_flags([uid], sorted(keywords))

    code, rows, err = box.once("-v")

    assert code == 0 and rows == []
    assert keywords_now(box.dovecot, box.folder) == before
    assert corrections_since(box.state) == [] and Registry.for_state(box.state).entries() == []
    assert "the folder's labels were reset" in err


def test_a_few_stripped_messages_are_left_alone_and_a_real_relabel_still_counts(box: Box) -> None:
    inbox(box, 6)
    before = labelled(box, retrain_after=0)
    relabelled_uid, first, second = sorted(before)[:3]  # a refund request, then two others
    refund, cancellation = keyword_for("triage/refund"), keyword_for("triage/cancellation")
    assert refund in before[relabelled_uid]
    with box.dovecot.client() as client:  # the team: two messages untagged, one re-categorised
        client.select_folder(box.folder)
        client.remove_flags([first], sorted(before[first]))
        client.remove_flags([second], sorted(before[second]))
        client.remove_flags([relabelled_uid], [refund])
        client.add_flags([relabelled_uid], [cancellation])

    assert box.once()[0] == 0

    now = keywords_now(box.dovecot, box.folder)
    assert now[first] == set() and now[second] == set()  # a person's doing: not fought
    [correction] = corrections_since(box.state)
    assert "refund" in correction.before and "refund" not in correction.after and "cancellation" in correction.after
    assert box.once()[0] == 0 and len(corrections_since(box.state)) == 1


def test_a_label_folder_a_person_deletes_is_no_correction_of_its_messages(box: Box) -> None:
    """Labels as folder copies: a person deleting the whole ``refund`` label folder made
    the next pass record every recent refund request as a person's correction to
    "other" (training data, and a retraining). A folder gone is nobody's word on each
    message: nothing is recorded, a warning says so, and the folder comes back (as
    whenever a label folder is missing) when a message next gets the label, the
    messages of before not in it and not taken for corrections then either."""
    prefix = f"t{uuid.uuid4().hex[:6]}/"
    write_config(box.config, box.dovecot, box.folder, labels={"mode": "folders", "prefix": prefix},
                 model={"retrain_after_corrections": 1})
    inbox(box, 6)
    code, rows, _ = box.once()
    refunds = [row["uid"] for row in rows if f"{prefix}refund" in row["labels"]]
    assert code == 0 and len(refunds) == 2
    refund_folder = folder_for(f"{prefix}refund", "", ".")
    box.dovecot.delete_folder(refund_folder)

    code, rows, err = box.once("-v")

    assert (code, rows) == (0, [])
    assert corrections_since(box.state) == [] and Registry.for_state(box.state).entries() == []
    assert f"label folder {refund_folder} is gone" in err
    with box.dovecot.client() as client:
        assert not client.list_folders(pattern=refund_folder)  # not fought: made again when needed
    assert box.once() == (0, [], "")  # and the next pass is quiet

    box.append(message("later", sender="dee@example.net", subject=SUBJECTS[0][0], body=SUBJECTS[0][1])[1])
    code, [row], _ = box.once()
    assert code == 0 and f"{prefix}refund" in row["labels"]
    with box.dovecot.client() as client:
        client.select_folder(refund_folder, readonly=True)
        assert len(client.search("ALL")) == 1  # the new refund request only
    assert box.once()[0] == 0 and corrections_since(box.state) == []
    for label in {f"{prefix}{name}" for name in ("refund", "cancellation", "fee_dispute", "priority-1",
                                                 "priority-2", "priority-3", "priority-4", "overdue", "frustrated")}:
        box.dovecot.delete_folder(folder_for(label, "", "."))


def test_lost_and_stripped_labels_are_told_apart() -> None:
    written = {1: Labeled(1, "<a@x>", "F", 1, ("triage/refund", "triage/priority-2")),
               2: Labeled(2, "<b@x>", "F", 2, ("Triage/Cancellation",)),
               3: Labeled(3, "<c@x>", "F", 3, ("triage/fee_dispute", "triage/priority-1"))}
    now = {1: frozenset({"triage/refund"}), 2: frozenset({"$Junk"}), 3: frozenset(written[3].labels), 9: frozenset()}
    assert lost_labels(written, now, "triage/") == {1: ("triage/priority-2",), 2: ("Triage/Cancellation",)}
    assert stripped(written, now, "triage/") == {2}
    assert not is_mass_loss(MASS_LOSS_MESSAGES - 1) and is_mass_loss(MASS_LOSS_MESSAGES)


def test_labels_whose_folder_is_gone_are_told_apart() -> None:
    written = {1: Labeled(1, "<a@x>", "F", 1, ("triage/refund", "triage/priority-2")),
               2: Labeled(2, "<b@x>", "F", 2, ("triage/Cancellation",))}
    assert vanished_folders(written, frozenset({"triage/priority-2", "triage/cancellation"})) == {"triage/refund"}
    assert vanished_folders(written, frozenset({"triage/refund", "triage/priority-2", "triage/cancellation"})) == set()


def test_a_second_priority_a_person_adds_is_taken_off_and_triage_s_own_stays(box: Box) -> None:
    """A person adding ``priority-1`` to a message triage made priority 2 left it
    carrying both, which says nothing, until the conversation's next deadline.
    Priority is triage's to decide (not learned from people): its own stays, the other
    comes off at the next pass, with the ``\\Flagged`` that goes with priority 1, and
    nothing is recorded as a correction."""
    uid = box.append(message("asked")[1])
    code, [row], _ = box.once("--now", "2026-11-23T10:30:00+00:00")
    assert code == 0 and row["priority"] == 2
    with box.dovecot.client() as client:
        client.select_folder(box.folder)
        client.add_flags([uid], ["triage_priority-1", "\\Flagged"])

    assert box.once("--now", "2026-11-23T10:35:00+00:00")[:2] == (0, [])

    flags = box.flags(uid)
    assert "triage_priority-2" in flags and "triage_priority-1" not in flags and "\\Flagged" not in flags
    assert corrections_since(box.state) == []
    assert box.once("--now", "2026-11-23T10:40:00+00:00")[:2] == (0, []) and triage_keywords(box.flags(uid)) == \
        triage_keywords(flags)
