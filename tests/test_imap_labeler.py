"""triage.imap.labeler: the pure mapping and planning, then labels on the test Dovecot."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot, sample_message

from triage.config import LabelsConfig
from triage.errors import ImapError, UsageError
from triage.imap.connection import connect
from triage.imap.labeler import (
    Action,
    LabelChange,
    Labeler,
    check_folder_prefix,
    choose_mode,
    folder_for,
    keyword_for,
    label_for_folder,
    label_for_keyword,
    make_labeler,
    merged_stores,
    plan,
)
from triage.imap.mailbox import FolderState, ImapMailbox
from triage.labels import label_names

LABELS = label_names("triage/")
ATOM = re.compile(r"[a-z0-9_.-]{1,50}")


# -- pure parts -------------------------------------------------------------------------


def test_keyword_mapping_of_the_label_set() -> None:
    assert keyword_for("triage/refund") == "triage_refund"
    assert keyword_for("triage/priority-1") == "triage_priority-1"
    assert keyword_for("triage/fee_dispute") == "triage_fee_dispute"
    keywords = [keyword_for(label) for label in LABELS]
    assert len(set(keywords)) == len(LABELS)
    assert [label_for_keyword(k, "triage/") for k in keywords] == LABELS


@pytest.mark.parametrize(
    "label",
    [
        "triage/a b",
        "triage/100%",
        "triage/*",
        "triage/x]y",
        "triage/Rückerstattung",
        'triage/"q"\\',
        "Triage/REFUND",
        "triage/" + "long" * 30,
    ],
)
def test_any_label_becomes_a_safe_keyword(label: str) -> None:
    keyword = keyword_for(label)
    assert ATOM.fullmatch(keyword), keyword
    assert keyword == keyword_for(label)  # stable


def test_long_labels_stay_distinct() -> None:
    a, b = "triage/" + "x" * 60 + "a", "triage/" + "x" * 60 + "b"
    assert keyword_for(a) != keyword_for(b)
    assert len(keyword_for(a)) == 50


def test_keywords_that_are_not_triage_s_are_ignored() -> None:
    assert label_for_keyword("$Forwarded", "triage/") is None
    assert label_for_keyword("\\Flagged", "triage/") is None
    assert label_for_keyword("triage_", "triage/") is None
    assert label_for_keyword("TRIAGE_REFUND", "triage/") == "triage/refund"  # servers may change case
    # what keyword_for never writes is another tool's: taken for a label, it was "removed"
    # as triage_a_b, which matched nothing, every pass
    for odd in ("triage_a+b", "triage_x&y", "triage_$old", "triage_a/b"):
        assert label_for_keyword(odd, "triage/") is None


def test_folder_names_follow_the_server_hierarchy() -> None:
    assert folder_for("triage/refund", "", ".") == "triage.refund"
    assert folder_for("triage/refund", "INBOX.", ".") == "INBOX.triage.refund"
    assert folder_for("triage/refund", "", "/") == "triage/refund"
    assert label_for_folder("INBOX.triage.refund", "INBOX.", ".") == "triage/refund"


def state(*flags: str) -> FolderState:
    return FolderState(1, 1, frozenset(flags))


@pytest.mark.parametrize(
    ("requested", "capabilities", "flags", "mode"),
    [
        ("auto", {"IMAP4REV1", "X-GM-EXT-1"}, ("\\Seen", "\\*"), "gmail"),
        ("auto", {"IMAP4REV1"}, ("\\Seen", "\\Flagged", "\\*"), "keywords"),
        ("auto", {"IMAP4REV1"}, ("\\Seen", "\\Flagged", "$MDNSent"), "folders"),  # Microsoft 365
        ("auto", {"IMAP4REV1"}, (), "folders"),  # read-only folder
        ("folders", {"IMAP4REV1", "X-GM-EXT-1"}, ("\\*",), "folders"),
        ("keywords", {"IMAP4REV1"}, ("\\*",), "keywords"),
        ("none", {"IMAP4REV1"}, ("\\*",), "none"),
    ],
)
def test_choose_mode(requested, capabilities, flags, mode) -> None:
    assert choose_mode(requested, capabilities, state(*flags)) == mode


def test_an_explicit_mode_the_server_cannot_do_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no new keywords"):
        choose_mode("keywords", {"IMAP4REV1"}, state("\\Seen", "\\Flagged"))
    with pytest.raises(UsageError, match="not Gmail"):
        choose_mode("gmail", {"IMAP4REV1"}, state("\\*"))


def test_plan_groups_uids_per_label_and_follows_priority_with_flagged() -> None:
    changes = [
        LabelChange.of(3, ["triage/refund", "triage/priority-1"]),
        LabelChange.of(1, ["triage/refund"], remove=["triage/priority-1"]),
        LabelChange.of(2, ["triage/other"], remove=["triage/other"]),  # add wins
    ]
    actions = plan(changes, "keyword", keyword_for, flag_label="triage/priority-1")
    assert actions == [
        Action("remove", "keyword", "triage_priority-1", "triage/priority-1", (1,)),
        Action("remove", "flag", "\\Flagged", "triage/priority-1", (1,)),
        Action("add", "keyword", "triage_other", "triage/other", (2,)),
        Action("add", "keyword", "triage_priority-1", "triage/priority-1", (3,)),
        Action("add", "flag", "\\Flagged", "triage/priority-1", (3,)),
        Action("add", "keyword", "triage_refund", "triage/refund", (1, 3)),
    ]
    assert str(actions[-1]) == "add keyword triage_refund to UIDs 1,3"
    assert plan(changes, None, keyword_for, flag_label=None) == []
    # two labels sharing a keyword: the removal must not undo the addition
    shared = plan([LabelChange.of(5, ["triage/a_b"], remove=["triage/a b"])], "keyword", keyword_for)
    assert [(a.verb, a.target) for a in shared] == [("remove", "triage_a_b"), ("add", "triage_a_b")]


def test_stores_are_merged_per_message_with_removals_first() -> None:
    changes = [
        LabelChange.of(1, ["triage/refund", "triage/priority-1"]),
        LabelChange.of(2, ["triage/refund", "triage/priority-1"], remove=["triage/other"]),
        LabelChange.of(3, ["triage/refund"]),
    ]
    actions = plan(changes, "keyword", keyword_for, flag_label="triage/priority-1")
    assert merged_stores(actions) == [
        ("remove", "flags", ("triage_other",), (2,)),
        ("add", "flags", ("\\Flagged", "triage_priority-1", "triage_refund"), (1, 2)),
        ("add", "flags", ("triage_refund",), (3,)),
    ]
    folders = plan(changes, "folder", lambda label: label.replace("/", "."), flag_label="triage/priority-1")
    assert merged_stores(folders) == [("add", "flags", ("\\Flagged",), (1, 2))]  # the copies are not STOREs


def test_stores_are_merged_per_label_when_that_takes_fewer_lots() -> None:
    """Five messages, five different label sets, four labels: four STOREs, one lot of
    pipelined commands, not five, two lots (each lot costs a busy server with a big folder
    a look at it, far more than a message costs); the STOREs writing most messages first."""
    sets = [("refund", "priority-2"), ("refund", "priority-3"), ("cancellation", "priority-2"),
            ("cancellation", "priority-3"), ("refund", "cancellation", "priority-2")]
    changes = [LabelChange.of(uid, [f"triage/{label}" for label in labels]) for uid, labels in enumerate(sets, 1)]
    assert merged_stores(plan(changes, "keyword", keyword_for)) == [
        ("add", "flags", ("triage_cancellation",), (3, 4, 5)),
        ("add", "flags", ("triage_priority-2",), (1, 3, 5)),
        ("add", "flags", ("triage_refund",), (1, 2, 5)),
        ("add", "flags", ("triage_priority-3",), (2, 4)),
    ]


def test_stores_stay_merged_per_message_when_both_fit_in_one_lot() -> None:
    """Four sets over three labels: per label would be three STOREs, per set four, both
    one lot of pipelined commands: the one writing fewer messages wins (per set: each
    message written once, not once per label)."""
    sets = [("refund",), ("cancellation",), ("refund", "cancellation"), ("refund", "cancellation", "fee_dispute")]
    changes = [LabelChange.of(uid, [f"triage/{label}" for label in labels]) for uid, labels in enumerate(sets, 1)]
    stores = merged_stores(plan(changes, "keyword", keyword_for))
    assert len(stores) == 4
    assert sorted(uid for *_, uids in stores for uid in uids) == [1, 2, 3, 4]


def test_the_stores_writing_the_most_messages_come_first_after_the_removals() -> None:
    """More label sets than one lot of pipelined commands holds: the first lot labels the
    most messages; removals still come before every addition."""
    many = [LabelChange.of(uid, ["triage/refund", "triage/priority-2"]) for uid in (10, 11, 12)]
    few = [LabelChange.of(uid, [f"triage/{label}", "triage/priority-3"])
           for uid, label in zip(range(1, 6), ("cancellation", "fee_dispute", "follow_up", "refund", "other"))]
    removal = [LabelChange.of(20, ["triage/priority-4"], remove=["triage/priority-3"])]
    stores = merged_stores(plan(few + removal + many, "keyword", keyword_for))
    assert stores[0][:3] == ("remove", "flags", ("triage_priority-3",))
    assert stores[1] == ("add", "flags", ("triage_priority-2", "triage_refund"), (10, 11, 12))
    assert [len(uids) for *_, uids in stores[1:]] == sorted((len(uids) for *_, uids in stores[1:]), reverse=True)


class FakeGmailClient:
    """Just enough of IMAPClient's Gmail label calls to record what a Labeler sends."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def add_gmail_labels(self, uids, labels, silent=False):
        self.calls.append(("add", tuple(uids), tuple(labels)))

    def remove_gmail_labels(self, uids, labels, silent=False):
        self.calls.append(("remove", tuple(uids), tuple(labels)))

    def get_gmail_labels(self, uids):
        return {uid: ["\\Inbox", "triage/refund", "Customers/VIP"] for uid in uids}


def test_gmail_mode_writes_labels_as_they_are() -> None:
    mailbox = ImapMailbox.__new__(ImapMailbox)  # no server: only .client and .folder are used
    mailbox.client, mailbox.folder = FakeGmailClient(), "INBOX"
    labeler = Labeler(mailbox, "gmail")
    labeler.apply(7, ["triage/refund", "triage/priority-1"], remove=["triage/other"])
    assert mailbox.client.calls == [
        ("remove", (7,), ("triage/other",)),
        ("add", (7,), ("triage/priority-1", "triage/refund")),
    ]
    assert labeler.labels_of([7]) == {7: frozenset({"triage/refund"})}


# -- against Dovecot --------------------------------------------------------------------


def open_mailbox(dovecot: Dovecot, folder: str, user: str = "support") -> ImapMailbox:
    mailbox = ImapMailbox(connect(dovecot.imap_config(user=user)))
    mailbox.select(folder)
    return mailbox


@pytest.fixture
def password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def support_box(dovecot: Dovecot, mail_folder: str, password_env: None) -> Iterator[ImapMailbox]:
    mailbox = open_mailbox(dovecot, mail_folder)
    yield mailbox
    mailbox.client.logout()


@pytest.fixture
def nokw_box(dovecot: Dovecot, password_env: None) -> Iterator[ImapMailbox]:
    """The INBOX of the user whose server side refuses keywords and \\Flagged."""
    mailbox = open_mailbox(dovecot, "INBOX", user="nokw")
    yield mailbox
    mailbox.client.logout()


def new_message(dovecot: Dovecot, mailbox: ImapMailbox, user: str = "support", flags=()) -> tuple[int, str]:
    """Append a message to the folder ``mailbox`` has selected, and let its session learn
    of it (a session may only address messages the server has told it about)."""
    message_id = f"<{uuid.uuid4().hex}@example.net>"
    uid = dovecot.append(mailbox.folder, sample_message(message_id), flags=flags, user=user)
    mailbox.client.noop()
    return uid, message_id


def test_keywords_are_applied_idempotently_and_read_back(dovecot, mail_folder, support_box) -> None:
    uid, _ = new_message(dovecot, support_box)
    other, _ = new_message(dovecot, support_box, flags=["\\Seen"])
    labeler = make_labeler(support_box, LabelsConfig())
    assert labeler.mode == "keywords"
    labels = ["triage/refund", "triage/priority-1", "triage/frustrated"]

    labeler.apply(uid, labels)
    once = dovecot.flags(mail_folder, uid)
    labeler.apply(uid, labels)

    assert dovecot.flags(mail_folder, uid) == once
    assert {"triage_refund", "triage_priority-1", "triage_frustrated", "\\Flagged"} <= once
    assert "\\Seen" not in once
    assert dovecot.flags(mail_folder, other) == {"\\Seen"}  # untouched
    assert labeler.labels_of([uid, other]) == {uid: frozenset(labels), other: frozenset()}


def test_removing_labels_removes_keywords_and_flagged(dovecot, mail_folder, support_box) -> None:
    uid, _ = new_message(dovecot, support_box)
    labeler = make_labeler(support_box, LabelsConfig())
    labeler.apply(uid, ["triage/refund", "triage/priority-1"])
    labeler.apply_many([LabelChange.of(uid, ["triage/priority-2"], remove=["triage/priority-1"])])
    flags = dovecot.flags(mail_folder, uid)
    assert {"triage_refund", "triage_priority-2"} <= flags
    assert not {"triage_priority-1", "\\Flagged"} & flags


def test_many_stores_in_one_go_are_pipelined_in_order_and_refusals_are_errors(dovecot, mail_folder, support_box,
                                                                              monkeypatch) -> None:
    """Several STOREs go to the server back to back: every message ends with its labels,
    removals before additions, and a refused STORE among them is an error."""
    uids = [new_message(dovecot, support_box)[0] for _ in range(4)]
    labeler = make_labeler(support_box, LabelsConfig())
    labeler.apply_many([LabelChange.of(uids[0], ["triage/priority-1"])])
    sets = [["triage/refund", "triage/priority-2"], ["triage/refund", "triage/priority-3"],
            ["triage/cancellation", "triage/priority-2"], ["triage/cancellation", "triage/priority-3"]]
    sent = []
    real = labeler._store_pipelined
    monkeypatch.setattr(labeler, "_store_pipelined", lambda stores: sent.append(len(stores)) or real(stores))
    labeler.apply_many([LabelChange.of(uid, labels, remove=["triage/priority-1"] if uid == uids[0] else ())
                        for uid, labels in zip(uids, sets)])
    assert sent and sent[0] > 1
    for uid, labels in zip(uids, sets):
        assert labeler.labels_of([uid])[uid] == frozenset(labels)
    assert "\\Flagged" not in dovecot.flags(mail_folder, uids[0])
    with pytest.raises(ImapError, match="refund"):
        labeler._store_pipelined([("add", "flags", ("triage_refund",), (uids[0],)),
                                  ("add", "flags", ("triage_refund",), (0,))])  # UID 0 is not a UID: BAD


class CountingSocket:
    """A socket that counts its writes (and does everything else as the real one)."""

    def __init__(self, sock) -> None:
        self.sock, self.writes = sock, []

    def sendall(self, data) -> None:
        self.writes.append(bytes(data))
        self.sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def test_pipelined_stores_reach_the_server_in_one_write(dovecot, mail_folder, support_box) -> None:
    """Dovecot starts on the first command it reads and leaves those it has not read yet
    for another look at the folder: the STOREs of a pass go in one write, all answered."""
    uids = [new_message(dovecot, support_box)[0] for _ in range(3)]
    labeler = make_labeler(support_box, LabelsConfig())
    labeler.apply_many([LabelChange.of(uids[0], ["triage/refund"])])  # the keyword seen kept: no read-back below
    imap = support_box.client._imap
    imap.sock = counting = CountingSocket(imap.sock)
    try:
        labeler._store_pipelined([("add", "flags", ("triage_refund",), (uids[1],)),
                                  ("add", "flags", ("triage_cancellation",), (uids[2],)),
                                  ("add", "flags", ("triage_priority-2",), tuple(uids))])
    finally:
        imap.sock = counting.sock
    assert len(counting.writes) == 1
    assert counting.writes[0].count(b" UID STORE ") == 3 and counting.writes[0].endswith(b"\r\n")
    assert labeler.labels_of(uids) == {uids[0]: {"triage/refund", "triage/priority-2"},
                                       uids[1]: {"triage/refund", "triage/priority-2"},
                                       uids[2]: {"triage/cancellation", "triage/priority-2"}}
    assert support_box.uids_since(0) == uids  # the connection goes on after them


def test_labels_sent_now_are_answered_later_and_a_refusal_is_an_error_then(dovecot, mail_folder,
                                                                           support_box) -> None:
    """apply_later sends the STOREs and returns: other commands may follow before the
    answers are read, and a refused STORE is an error when they are. A keyword the
    folder was not yet seen to keep is stored (and checked) at once."""
    first, second = (new_message(dovecot, support_box)[0] for _ in range(2))
    labeler = make_labeler(support_box, LabelsConfig())
    labeler.apply_later([LabelChange.of(first, ["triage/refund"])])
    assert "triage_refund" in dovecot.flags(mail_folder, first)  # at once: checked before the answer was owed
    answered = labeler.apply_later([LabelChange.of(second, ["triage/refund"])])
    assert support_box.uids_since(0)[-1] == second  # a command after the STOREs, answered first
    answered()
    assert labeler.labels_of([second])[second] == {"triage/refund"}
    refused = labeler.apply_later([LabelChange.of(0, ["triage/refund"])])  # UID 0 is not a UID: BAD
    with pytest.raises(ImapError, match="refund"):
        refused()


def test_labels_outside_the_prefix_are_refused(support_box) -> None:
    labeler = make_labeler(support_box, LabelsConfig())
    with pytest.raises(ValueError, match="do not start with"):
        labeler.apply(1, remove=["\\Seen"])


def test_dry_run_reports_and_writes_nothing(dovecot, mail_folder, support_box, nokw_box, caplog) -> None:
    caplog.set_level(logging.INFO, logger="triage.imap.labeler")
    uid, _ = new_message(dovecot, support_box)
    before = dovecot.flags(mail_folder, uid)
    actions = make_labeler(support_box, LabelsConfig(), dry_run=True).apply(uid, ["triage/refund", "triage/priority-1"])
    assert [a.target for a in actions] == ["triage_priority-1", "\\Flagged", "triage_refund"]
    assert dovecot.flags(mail_folder, uid) == before
    assert f"dry run: would add keyword triage_refund to UIDs {uid}" in caplog.text

    nokw_uid, _ = new_message(dovecot, nokw_box, user="nokw")
    label = f"triage/dry-{uuid.uuid4().hex[:6]}"
    actions = make_labeler(nokw_box, LabelsConfig(), dry_run=True).apply(nokw_uid, [label])
    assert [a.kind for a in actions] == ["folder"]
    with dovecot.client("nokw") as client:
        assert not client.folder_exists(folder_for(label, "", "."))


def test_server_without_keywords_gets_folder_copies_once(dovecot, nokw_box) -> None:
    uid, message_id = new_message(dovecot, nokw_box, user="nokw")
    before = dovecot.flags("INBOX", uid, user="nokw")
    labeler = make_labeler(nokw_box, LabelsConfig())
    assert labeler.mode == "folders"
    assert labeler.flag_label is None  # \Flagged cannot be stored in that INBOX

    labeler.apply(uid, ["triage/refund", "triage/priority-1"])
    labeler.apply(uid, ["triage/refund", "triage/priority-1"])

    for folder in ("triage.refund", "triage.priority-1"):
        with dovecot.client("nokw") as client:
            client.select_folder(folder, readonly=True)
            assert len(client.search(["HEADER", "Message-ID", message_id])) == 1, folder
    assert dovecot.flags("INBOX", uid, user="nokw") == before  # the original is untouched
    assert labeler.labels_of([uid]) == {uid: frozenset({"triage/refund", "triage/priority-1"})}

    labeler.apply(uid, remove=["triage/priority-1"])
    assert labeler.labels_of([uid]) == {uid: frozenset({"triage/refund"})}
    assert uid in dovecot.uids("INBOX", user="nokw")
    assert nokw_box.folder == "INBOX"


def test_folder_copies_tell_apart_messages_that_share_a_message_id(dovecot, nokw_box) -> None:
    """A web form that sends every submission with one Message-ID: by Message-ID alone,
    the second submission's refund label was never copied (a copy "was there"), and
    taking a label off one removed the other's copy too. Copies are known by Message-ID
    and size."""
    message_id = f"<form.{uuid.uuid4().hex[:8]}@shop.example>"
    first = dovecot.append("INBOX", sample_message(message_id, body="Refund order 1, please.\n"), user="nokw")
    second = dovecot.append("INBOX", sample_message(message_id, body="Please refund my order 22.\n"), user="nokw")
    nokw_box.client.noop()
    labeler = make_labeler(nokw_box, LabelsConfig())
    assert labeler.mode == "folders"

    labeler.apply(first, ["triage/refund", "triage/priority-2"])
    labeler.apply(second, ["triage/refund", "triage/priority-2"])  # a later pass
    assert labeler.labels_of([first, second]) == {
        first: frozenset({"triage/refund", "triage/priority-2"}),
        second: frozenset({"triage/refund", "triage/priority-2"})}
    labeler.apply(first, remove=["triage/priority-2"])
    assert labeler.labels_of([first, second]) == {first: frozenset({"triage/refund"}),
                                                  second: frozenset({"triage/refund", "triage/priority-2"})}
    with dovecot.client("nokw") as client:
        client.select_folder("triage.refund", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", message_id])) == 2


def test_keywords_forced_on_a_server_that_drops_them_is_an_error(dovecot, nokw_box) -> None:
    uid, _ = new_message(dovecot, nokw_box, user="nokw")
    with pytest.raises(UsageError, match="no new keywords"):
        make_labeler(nokw_box, LabelsConfig(mode="keywords"))
    # Dovecot answers OK to the STORE and drops the keyword; the read-back catches it.
    with pytest.raises(ImapError, match="did not keep keyword triage_refund"):
        Labeler(nokw_box, "keywords").apply(uid, ["triage/refund"])


def test_mode_none_writes_nothing(dovecot, mail_folder, support_box) -> None:
    uid, _ = new_message(dovecot, support_box)
    before = dovecot.flags(mail_folder, uid)
    labeler = make_labeler(support_box, LabelsConfig(mode="none"))
    assert labeler.apply(uid, ["triage/refund", "triage/priority-1"]) == []
    assert dovecot.flags(mail_folder, uid) == before


def test_each_keyword_is_read_back_once_per_labeler(dovecot, mail_folder, support_box, monkeypatch) -> None:
    """The read-back that catches a dropped keyword costs a FETCH; it is spent the first
    time a keyword is added, not on every batch after the folder has kept it."""
    first, _ = new_message(dovecot, support_box)
    second, _ = new_message(dovecot, support_box)
    labeler = make_labeler(support_box, LabelsConfig(flag_priority_1=False))
    read_back: list[list[int]] = []
    fetch_flags = support_box.flags_of
    monkeypatch.setattr(support_box, "flags_of", lambda uids: read_back.append(list(uids)) or fetch_flags(uids))

    labeler.apply(first, ["triage/refund"])
    labeler.apply(second, ["triage/refund"])
    labeler.apply(second, ["triage/cancellation"])

    assert read_back == [[first], [second]]  # refund once, then cancellation once
    assert {"triage_refund", "triage_cancellation"} <= dovecot.flags(mail_folder, second)


@pytest.mark.parametrize("prefix, delimiter, refused", [
    ("triage/", ".", False), ("triage/", "/", False), ("tri.v2/", "/", False),
    ("tri.v2/", ".", True), ("a\\b/", "\\", True),
])
def test_a_label_prefix_with_the_folder_separator_cannot_name_label_folders(prefix, delimiter, refused) -> None:
    """A label's folder is its name with '/' as the server's separator; a prefix holding
    the separator itself would not read back as the same label."""
    if refused:
        with pytest.raises(UsageError, match="labels.prefix"):
            check_folder_prefix(prefix, delimiter)
    else:
        check_folder_prefix(prefix, delimiter)
        label = prefix + "refund"
        assert label_for_folder(folder_for(label, "", delimiter), "", delimiter) == label

