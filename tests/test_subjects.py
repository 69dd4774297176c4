import pytest

from triage.subjects import subject_key


@pytest.mark.parametrize("subject, key", [
    ("RE: Fwd: [Ticket #12] Refund  please", "refund please"),
    ("AW: Kündigung", "kündigung"),
    ("Re[2]: order late", "order late"),
    ("", ""),
])
def test_subject_key_strips_prefixes_and_case(subject, key):
    assert subject_key(subject) == key
