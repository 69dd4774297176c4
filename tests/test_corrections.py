"""Corrections: only a person's change is recorded, in the state file, and read back as examples."""

from datetime import datetime, timedelta, timezone

import pytest

from triage.corrections import (CorrectionStore, corrections_since, extra_priorities, human_change, labels_intact,
                                missing_labels, record_correction)
from triage.history import History

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def test_a_correction_is_stored_in_the_state_file_beside_the_history(tmp_path):
    state = tmp_path / "state.db"
    with History(state) as history:
        history.commit()
    saved = record_correction(state, message_id="<a@x>", before=["refund"], after=["cancellation", "other"],
                              source="label-change", text="Cancel it\nPlease cancel my plan.", when=T0)
    assert saved.after == ("cancellation",) and saved.before == ("refund",)
    [again] = corrections_since(state)
    assert again == saved
    with History(state) as history:  # the history's tables are untouched, and it still opens
        assert history.decided_categories("<a@x>") == ()


def test_a_label_change_that_changes_nothing_is_no_correction(tmp_path):
    with CorrectionStore(tmp_path / "s.db") as store:
        assert store.record(message_id="<a@x>", before=["refund"], after=["refund"], source="label-change",
                            text="t") is None
        # Filing a message into the folder triage would have chosen confirms the model: kept.
        assert store.record(message_id="<b@x>", before=["refund"], after=["refund"], source="training-folder",
                            text="t") is not None
        assert [c.message_id for c in store.since()] == ["<b@x>"]


@pytest.mark.parametrize("field, value, words", [
    ("source", "the-service", "source must be"),
    ("after", ["refunds"], "unknown categories"),
])
def test_bad_corrections_are_refused(tmp_path, field, value, words):
    correction = dict(message_id="<a@x>", before=[], after=["refund"], source="label-change", text="t")
    with pytest.raises(ValueError, match=words):
        record_correction(tmp_path / "s.db", **{**correction, field: value})


def test_the_same_word_twice_is_recorded_once(tmp_path):
    with CorrectionStore(tmp_path / "s.db") as store:
        change = dict(message_id="<a@x>", before=["refund"], after=["cancellation"], source="label-change", text="t")
        assert store.record(**change) is not None
        assert store.record(**change) is None  # a re-scan sees the same change again
        assert store.record(**{**change, "source": "training-folder"}) is None
        assert store.record(**{**change, "after": ["refund"]}) is not None  # they changed their mind
        assert store.count_after(0) == 2


def test_since_and_latest(tmp_path):
    with CorrectionStore(tmp_path / "s.db") as store:
        first = store.record(message_id="<a@x>", before=[], after=["refund"], source="label-change", text="1", when=T0)
        store.record(message_id="<b@x>", before=[], after=["fee_dispute"], source="label-change", text="2",
                     when=T0 + timedelta(hours=1))
        store.record(message_id="<a@x>", before=["refund"], after=["cancellation"], source="label-change", text="1",
                     when=T0 + timedelta(hours=2))
        assert [c.text for c in store.since(T0 + timedelta(minutes=30))] == ["2", "1"]
        assert len(store.since(after_id=first.id)) == 2 and store.count_after(first.id) == 2
        # A person changed their mind about <a@x>: only the newest word counts.
        assert {c.message_id: c.after for c in store.latest()} == {"<a@x>": ("cancellation",), "<b@x>": ("fee_dispute",)}


def test_a_correction_becomes_an_example_with_exactly_the_corrected_categories(tmp_path):
    correction = record_correction(tmp_path / "s.db", message_id="<a@x>", before=["refund", "follow_up"], after=[],
                                   source="label-change", text="Thanks\nAll sorted now, thank you!", when=T0)
    example = correction.example()
    assert example.categories == set()
    assert example.message.classifier_text == "Thanks\nAll sorted now, thank you!"
    assert example.message.message_id == "<a@x>" and example.frustrated is None


def test_only_a_difference_from_what_triage_wrote_is_a_persons_change():
    written = ["triage/refund", "triage/priority-2"]
    # triage's own labels, untouched (other labels and triage's non-category labels changed): nothing.
    assert human_change(written, ["triage/refund", "triage/priority-1", "Important"], "triage/") is None
    assert human_change(written, ["Triage/Refund"], "triage/") is None  # keywords match case-insensitively
    assert human_change(written, ["triage/cancellation", "triage/priority-2"], "triage/") == (("refund",), ("cancellation",))
    assert human_change(written, ["triage/priority-2"], "triage/") == (("refund",), ())


def test_labels_lost_rather_than_changed_are_no_persons_change():
    written = ["triage/refund", "triage/priority-2"]
    assert human_change(written, [], "triage/") is None  # every label gone: a reset, a migration
    assert human_change(written, ["triage/cancellation"], "triage/") is None  # the priority went with it
    assert human_change(["triage/refund"], ["Important"], "triage/") is None  # an answered message, stripped
    # A person's edit leaves triage's other labels where they were:
    assert human_change(["triage/refund"], ["triage/cancellation"], "triage/") == (("refund",), ("cancellation",))
    assert human_change(written + ["triage/overdue"], ["triage/fee_dispute", "triage/priority-2", "triage/overdue"],
                        "triage/") == (("refund",), ("fee_dispute",))


def test_missing_labels_and_intact_labels_compare_case_insensitively():
    written = ["triage/refund", "triage/priority-1", "triage/frustrated"]
    assert missing_labels(written, ["TRIAGE/REFUND", "triage/priority-1"], "triage/") == {"triage/frustrated"}
    assert not labels_intact(written, ["triage/refund", "triage/priority-1"], "triage/")
    assert labels_intact(written, ["triage/Priority-1", "triage/frustrated"], "triage/")
    assert not labels_intact(written, [], "triage/")


def test_of_two_priorities_on_a_message_the_one_triage_did_not_write_comes_off():
    p = "triage/"
    assert extra_priorities([p + "refund", p + "priority-2"], [p + "refund", p + "priority-2", "Triage/Priority-1"],
                            p) == ("Triage/Priority-1",)
    assert extra_priorities([p + "priority-2"], [p + "priority-1"], p) == ()  # one: no conflict, left
    assert extra_priorities([p + "priority-2"], [p + "priority-2", "$label1"], p) == ()
    assert extra_priorities([p + "refund"], [p + "priority-1", p + "priority-3"], p) == (p + "priority-1",
                                                                                          p + "priority-3")
