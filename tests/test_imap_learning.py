"""Learning from the team's own mail over IMAP: mail dropped into training folders, and
label changes found through CONDSTORE (with the re-scan of recent mail as the fallback).
The deciding parts are unit-tested first; the IMAP path against the test Dovecot."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot
from helpers import eml

from triage import CATEGORIES, learning
from triage.cli import main
from triage.config import Config, LabelsConfig, ModelConfig
from triage.corrections import CorrectionStore, corrections_since
from triage.history import History, Labeled
from triage.imap import corrections as imap_corrections
from triage.imap import drops
from triage.imap.connection import connect, disconnect
from triage.imap.corrections import changes_since, relabelled, scan_corrections
from triage.imap.drops import filed_under, training_folders, unread_after
from triage.imap.labeler import Labeler, keyword_for, make_labeler
from triage.imap.mailbox import ImapMailbox

SUPPORT = "support@example.com"
NOW = "2026-11-23T10:00:00+00:00"
"""The clock of every pass, so the sweep between passes changes nothing."""
CATEGORY_KEYWORDS = {keyword_for(f"triage/{category}").lower() for category in CATEGORIES}


# -- deciding: which messages to re-read ------------------------------------------------


@pytest.mark.parametrize("stored, uidvalidity, highest, expected", [
    ((7, 40), 7, 52, 40),      # the changes since the last scan are enough
    ((7, 52), 7, 52, 52),      # nothing changed since
    (None, 7, 52, None),       # first scan: re-read recent mail, then store the MODSEQ
    ((7, 40), 7, 0, None),     # no CONDSTORE, NOMODSEQ, or labels kept as folder copies
    ((6, 40), 7, 52, None),    # UIDVALIDITY changed: another numbering
    ((7, 60), 7, 52, None),    # the server's MODSEQs went backwards (it lost them)
    ((7, 0), 7, 52, None),     # stored while the server kept none
])
def test_changes_since_uses_the_stored_modseq_only_when_it_is_usable(stored, uidvalidity, highest, expected):
    assert changes_since(stored, uidvalidity, highest) == expected


def test_relabelled_keeps_only_a_persons_change_of_categories():
    written = {uid: Labeled(uid, mid, "INBOX", uid, labels) for uid, mid, labels in [
        (1, "<a@x>", ("triage/refund", "triage/priority-2")), (2, "<b@x>", ("triage/fee_dispute",)),
        (3, "<c@x>", ("triage/refund",))]}
    now = {1: frozenset({"triage/cancellation", "triage/priority-2"}),  # a person's change
           2: frozenset({"triage/fee_dispute", "triage/overdue"}),      # only triage's own kind of label
           9: frozenset({"triage/refund"})}                             # not triaged: ignored
    assert relabelled(written, now, "triage/") == {1: (("refund",), ("cancellation",))}


# -- deciding: training folders ---------------------------------------------------------


def test_training_folders_are_named_by_their_last_part_and_never_triages_own():
    listed = ["Training.Refund", "Training.cancellation", "Training.misc", "triage.refund", "Training.other", "INBOX"]
    folders, unknown = training_folders(listed, ".", own_prefix="triage.", watched="INBOX")
    assert folders == {"Training.Refund": "refund", "Training.cancellation": "cancellation",
                       "Training.other": "other"}
    assert unknown == ["Training.misc"]  # "triage.refund" holds triage's own labels; INBOX is watched


@pytest.mark.parametrize("cursor, uidvalidity, uidnext, expected", [
    (None, 5, 4, 0),        # first sight: everything in it
    (None, 5, 1, None),     # first sight of an empty folder
    ((5, 3), 5, 4, None),   # nothing above the cursor
    ((5, 3), 5, 9, 3),      # mail above the cursor
    ((4, 3), 5, 4, 0),      # UIDVALIDITY changed: read it all again (the store drops repeats)
    ((5, 9), 5, 3, 0),      # UIDs went back under the same UIDVALIDITY (a restore): likewise
])
def test_unread_after(cursor, uidvalidity, uidnext, expected):
    assert unread_after(cursor, uidvalidity, uidnext) == expected


def test_a_message_in_several_training_folders_gets_all_their_categories():
    category_of = {"T.refund": "refund", "T.cancellation": "cancellation", "T.other": "other"}
    holding = {"T.refund": {"<a@x>", "<b@x>"}, "T.cancellation": {"<a@x>"}, "T.other": {"<b@x>", "<c@x>"}}
    assert filed_under(holding, category_of) == {"<a@x>": ("refund", "cancellation"), "<b@x>": ("refund",),
                                                 "<c@x>": ()}


# -- the IMAP path ----------------------------------------------------------------------


def message(tag: str, body: str = "I returned the boots two weeks ago and I am still waiting for my refund.",
            subject: str = "Where is my refund?") -> tuple[str, bytes]:
    """(Message-ID, raw bytes with CRLF) of a customer message."""
    message_id = f"<{tag}.{uuid.uuid4().hex[:8]}@example.net>"
    raw = eml(sender=f"{tag}@example.net", to=SUPPORT, subject=subject, body=body,
              date="Mon, 23 Nov 2026 09:30:00 +0000", message_id=message_id)
    return message_id, raw.replace(b"\n", b"\r\n")


class Box:
    """A watched folder on the test Dovecot, a config and a state file."""

    def __init__(self, dovecot: Dovecot, folder: str, tmp_path: Path, capsys, **model) -> None:
        self.dovecot, self.folder, self.capsys = dovecot, folder, capsys
        self.state = tmp_path / "state.db"
        self.config = tmp_path / "triage.toml"
        model_lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in model.items())
        self.config.write_text(
            f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.port}\nsecurity = "plain"\nusername = "support"\n'
            f'password_env = "{PASSWORD_ENV}"\nfolder = "{folder}"\ntimeout_seconds = 5.0\n'
            f'[support]\naddresses = ["{SUPPORT}"]\n[state]\npath = "{self.state}"\n[model]\n{model_lines}')

    def once(self) -> tuple[list[dict], str]:
        """``triage once --format jsonl``: (rows, stderr)."""
        self.capsys.readouterr()
        code = main(["once", "--config", str(self.config), "--format", "jsonl", "--now", NOW])
        out = self.capsys.readouterr()
        assert code == 0, out.err
        return [json.loads(line) for line in out.out.splitlines()], out.err

    def relabel(self, uid: int, category: str) -> None:
        """A person in their mail client: the triage category keywords off, ``category`` on."""
        with self.dovecot.client() as client:  # a second connection
            client.select_folder(self.folder)
            keywords = {flag.decode().lower() for flag in client.get_flags([uid])[uid]}
            client.remove_flags([uid], [k for k in keywords if k in CATEGORY_KEYWORDS])
            client.add_flags([uid], [keyword_for(f"triage/{category}")])


@pytest.fixture
def password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def top(dovecot: Dovecot) -> str:
    """The parent of this test's training folders (``Learn<id>``)."""
    return f"Learn{uuid.uuid4().hex[:8]}"


def flags_in(dovecot: Dovecot, folders: list[str]) -> dict:
    return {(folder, uid): dovecot.flags(folder, uid) for folder in folders for uid in dovecot.uids(folder)}


def test_mail_dropped_into_training_folders_is_recorded_once_and_nothing_changes(
        dovecot: Dovecot, mail_folder: str, top: str, tmp_path: Path, capsys, password_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    refund, cancellation, fee_dispute, misc = (f"{top}.{name}" for name in ("refund", "cancellation", "fee_dispute",
                                                                           "misc"))
    for folder in (refund, cancellation, fee_dispute):
        dovecot.create_folder(folder)
    box = Box(dovecot, mail_folder, tmp_path, capsys, training_folders=f"{top}/*")
    triaged_id, raw = message("triaged", body="Please refund the last payment, thanks.")
    uid = dovecot.append(mail_folder, raw)
    [row], _ = box.once()
    assert corrections_since(box.state) == []  # triage's own labels are no correction

    # The team: one copies the triaged message into a training folder, another files a
    # message triage never saw (APPEND from their client), and a third a folder of no category.
    with dovecot.client() as client:
        client.select_folder(mail_folder, readonly=True)
        client.copy([uid], cancellation)
    fresh_id, fresh = message("fresh", body="Why was I charged twice this month?", subject="double charge")
    dovecot.append(refund, fresh)
    dovecot.create_folder(misc)
    dovecot.append(misc, message("misc")[1])
    before = flags_in(dovecot, [refund, cancellation, misc])
    assert all("\\Seen" not in flags for flags in before.values())

    rows, err = box.once()
    assert rows == []
    found = {c.message_id: c for c in corrections_since(box.state)}
    assert set(found) == {triaged_id, fresh_id}
    assert {c.source for c in found.values()} == {"training-folder"}
    assert found[triaged_id].before == tuple(c for c in row["categories"] if c != "other")
    assert found[triaged_id].after == ("cancellation",) and "refund the last payment" in found[triaged_id].text
    assert found[fresh_id].before == () and found[fresh_id].after == ("refund",)
    assert "charged twice" in found[fresh_id].text
    assert err.count(f"{misc} is named after no category") == 1

    _, err = box.once()  # nothing new: nothing recorded, the unknown folder not reported again
    assert len(corrections_since(box.state)) == 2 and "named after no category" not in err
    assert flags_in(dovecot, [refund, cancellation, misc]) == before  # no \Seen, nothing added or removed

    # Filed under a second category in a later pass: the message has both.
    with dovecot.client() as client:
        client.select_folder(mail_folder, readonly=True)
        client.copy([uid], fee_dispute)
    box.once()
    with CorrectionStore(box.state) as store:
        latest = {c.message_id: c.after for c in store.latest()}
        assert latest == {triaged_id: ("cancellation", "fee_dispute"), fresh_id: ("refund",)}
        assert store.count_after(0) == 3

    # They count toward [model] retrain_after_corrections like label changes.
    monkeypatch.setattr(learning, "retrain", lambda config, path, **kw: Accepted())
    assert learning.maybe_retrain(Config(model=ModelConfig(retrain_after_corrections=3)), box.state)


class Accepted:
    """What a retraining that activated its model returns (to the service)."""

    accepted = True

    def summary(self) -> str:
        return "retrained"


def test_on_first_sight_a_training_folder_is_read_whole(dovecot: Dovecot, mail_folder: str, top: str,
                                                        tmp_path: Path, capsys, password_env: None) -> None:
    folder = f"{top}.follow_up"
    dovecot.create_folder(folder)
    for i in range(3):
        dovecot.append(folder, message(f"old{i}")[1])
    box = Box(dovecot, mail_folder, tmp_path, capsys, training_folders=f"{top}/*")
    box.once()
    assert [c.after for c in corrections_since(box.state)] == [("follow_up",)] * 3


def test_dropping_the_same_message_again_after_a_resync_records_nothing(
        dovecot: Dovecot, mail_folder: str, top: str, tmp_path: Path, capsys, password_env: None) -> None:
    folder = f"{top}.refund"
    dovecot.create_folder(folder)
    dovecot.append(folder, message("once")[1])
    box = Box(dovecot, mail_folder, tmp_path, capsys, training_folders=f"{top}/*")
    box.once()
    dovecot.reset_uidvalidity(folder)  # the server renumbers the folder: it is read again
    box.once()
    assert len(corrections_since(box.state)) == 1


def test_a_long_lived_connection_sees_later_drops_and_ends_on_the_watched_folder(
        dovecot: Dovecot, mail_folder: str, top: str, tmp_path: Path, password_env: None) -> None:
    folder = f"{top}.cancellation"
    dovecot.create_folder(folder)
    config = Config(imap=dovecot.imap_config(folder=mail_folder), model=ModelConfig(training_folders=f"{top}/*"))
    state = str(tmp_path / "state.db")
    client = connect(config.imap)
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(mail_folder)
        with History(state) as history:
            assert drops.scan_training_folders(mailbox, history, state, config) == 0
            dropped_id, raw = message("later", body="Please cancel my subscription.", subject="cancel")
            dovecot.append(folder, raw)
            assert drops.scan_training_folders(mailbox, history, state, config) == 1
            assert drops.scan_training_folders(mailbox, history, state, config) == 0
        # The watched folder is selected again, read-write (EXAMINE would offer no PERMANENTFLAGS).
        assert mailbox.folder == mail_folder and mailbox.state.allows_new_keywords
    finally:
        disconnect(client)
    [correction] = corrections_since(state)
    assert correction.message_id == dropped_id and correction.after == ("cancellation",)


class Spy:
    """Records the UIDs the correction scan asks the labeler about, and its MODSEQ searches."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[list[int]] = []
        self.searched: list[int] = []
        labels_of, changed = Labeler.labels_of, ImapMailbox.uids_changed_since
        monkeypatch.setattr(Labeler, "labels_of", lambda labeler, uids: self._ask(labels_of, labeler, uids))
        monkeypatch.setattr(ImapMailbox, "uids_changed_since", lambda mailbox, modseq, *also, **kw: (
            self.searched.append(modseq) or changed(mailbox, modseq, *also, **kw)))

    def _ask(self, labels_of, labeler, uids):
        uids = sorted(uids)
        self.asked.append(uids)
        return labels_of(labeler, uids)

    def clear(self) -> None:
        self.asked.clear()
        self.searched.clear()

    @property
    def uids(self) -> set[int]:
        return {uid for uids in self.asked for uid in uids}


@pytest.fixture
def four_triaged(dovecot: Dovecot, mail_folder: str, tmp_path: Path, capsys, password_env: None,
                 monkeypatch: pytest.MonkeyPatch) -> tuple[Box, list[int], list[str]]:
    """Four triaged refund requests; the re-scan window shrunk to the newest two."""
    monkeypatch.setattr(imap_corrections, "RESCAN_MESSAGES", 2)
    box = Box(dovecot, mail_folder, tmp_path, capsys)
    mails = [message(f"c{i}", body="Please refund the last payment, thanks.") for i in range(4)]
    uids = [dovecot.append(mail_folder, raw) for _, raw in mails]
    rows, _ = box.once()
    assert len(rows) == 4 and all("refund" in row["categories"] for row in rows)
    return box, uids, [message_id for message_id, _ in mails]


def test_with_condstore_a_relabel_older_than_the_rescan_window_is_recorded(
        four_triaged, monkeypatch: pytest.MonkeyPatch) -> None:
    box, uids, ids = four_triaged
    with History(box.state) as history:
        assert history.get_modseq(box.folder)[1] > 0  # the first scan stored the folder's HIGHESTMODSEQ
    spy = Spy(monkeypatch)
    box.relabel(uids[0], "fee_dispute")  # the oldest: outside the re-scan window of two

    box.once()
    [correction] = corrections_since(box.state)
    assert correction.message_id == ids[0] and correction.after == ("fee_dispute",)
    assert correction.source == "label-change" and spy.searched and spy.uids == {uids[0]}

    spy.clear()
    box.once()  # nothing changed: the MODSEQ searches (corrections, \Answered) find nothing, no labels read
    assert len(spy.searched) == 2 and len(set(spy.searched)) == 1 and spy.uids == set()
    assert len(corrections_since(box.state)) == 1


def test_a_long_lived_connection_sees_a_relabel_made_by_another_client(four_triaged, dovecot: Dovecot) -> None:
    """The service keeps its connection between passes: the MODSEQ search must not answer
    from that session's stale view of the folder."""
    box, uids, ids = four_triaged
    client = connect(dovecot.imap_config(folder=box.folder))
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(box.folder)
        labeler = make_labeler(mailbox, LabelsConfig())
        with History(box.state) as history:
            assert scan_corrections(mailbox, labeler, history, str(box.state), 100_000) == 0
            box.relabel(uids[1], "cancellation")
            assert scan_corrections(mailbox, labeler, history, str(box.state), 100_000) == 1
    finally:
        disconnect(client)
    [correction] = corrections_since(box.state)
    assert correction.message_id == ids[1] and correction.after == ("cancellation",)


def test_another_clients_change_reported_without_a_uid_is_no_correction_of_another_message(
        dovecot: Dovecot, mail_folder: str, tmp_path: Path, capsys, password_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dovecot tells a session that has the folder open of another client's flag change
    as ``* 5 FETCH (FLAGS (...))``: the message's sequence number, no UID, in the answer
    to the session's next command. Read by UID, it was taken for UID 5's flags: with mail
    moved out of the folder sequence numbers are no UIDs, and UID 5, another customer's
    message, was taken for relabelled by a person, a correction nobody made, learned from."""
    monkeypatch.setattr(imap_corrections, "RESCAN_MESSAGES", 4)
    capabilities = ImapMailbox.capabilities.fget  # the re-scan, whose FETCH is the first command
    monkeypatch.setattr(ImapMailbox, "capabilities", property(lambda self: capabilities(self) - {"CONDSTORE"}))
    box = Box(dovecot, mail_folder, tmp_path, capsys)
    mails = [message(f"c{i}", body="Please refund the last payment, thanks.") for i in range(8)]
    uids = [dovecot.append(mail_folder, raw) for _, raw in mails]
    assert len(box.once()[0]) == 8
    with dovecot.client() as other:  # two moved out: UIDs 3..8 are sequence numbers 1..6
        other.select_folder(mail_folder)
        other.delete_messages(uids[:2])
        other.uid_expunge(uids[:2])
    client = connect(dovecot.imap_config(folder=mail_folder))
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(mail_folder)
        labeler = make_labeler(mailbox, LabelsConfig())
        with History(box.state) as history:
            assert scan_corrections(mailbox, labeler, history, str(box.state), 100_000) == 0
            box.relabel(uids[6], "cancellation")  # UID 7, sequence number 5
            assert scan_corrections(mailbox, labeler, history, str(box.state), 100_000) == 1
    finally:
        disconnect(client)
    assert [(c.message_id, c.after) for c in corrections_since(box.state)] == [(mails[6][0], ("cancellation",))]


def test_without_condstore_the_newest_triaged_messages_are_rescanned(
        four_triaged, monkeypatch: pytest.MonkeyPatch) -> None:
    box, uids, ids = four_triaged
    capabilities = ImapMailbox.capabilities.fget
    monkeypatch.setattr(ImapMailbox, "capabilities", property(lambda self: capabilities(self) - {"CONDSTORE"}))
    spy = Spy(monkeypatch)
    box.relabel(uids[0], "fee_dispute")  # outside the window: not seen without CONDSTORE
    box.relabel(uids[3], "cancellation")

    box.once()
    assert [(c.message_id, c.after) for c in corrections_since(box.state)] == [(ids[3], ("cancellation",))]
    assert spy.searched == [] and spy.asked == [uids[2:]]
    with History(box.state) as history:
        assert history.get_modseq(box.folder)[1] == 0  # nothing usable stored: the next scan re-reads too


def test_no_training_pattern_reads_no_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the mailbox was used: {name}")

    assert drops.scan_training_folders(Untouchable(), Untouchable(), "/nonexistent", Config()) == 0
