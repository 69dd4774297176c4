"""Cross-validation keeps a writer on one side of a fold: who wrote a corpus message is
read from its Message-ID prefix (docs/model_selection.md, "Cross-validation that does
not flatter")."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from triage.labeled import Example
from triage.message import Message
from triage.training import writer_of


def example(message_id: str, sender: str = "someone@example.org") -> Example:
    message = Message(message_id=message_id, sender=sender, sender_name="", recipients=(), subject="s",
                      date=datetime(2026, 1, 1, tzinfo=timezone.utc), in_reply_to=None, references=(),
                      body_text="b", newest_text="b", automated=False, automated_reason=None)
    return Example(message, {"other"})


@pytest.mark.parametrize(("message_id", "writer"), [
    ("<r4a-017.x@example.org>", "r4a"),
    ("<r9a-396.x@example.org>", "r9a"),
    ("<r10a-001.ab12@example.org>", "r10a"),  # two-digit rounds were grouped by sender before
    ("<r11a-452.x@mail.example>", "r11a"),
    ("<fu-12.x@example.org>", "fu"),
    ("<h2w-024.525265597@app.chat>", "h2w"),
    ("<H5-182.4516bfbeb1@gmail.com>", "h5"),  # the held-out sets 5-9: grouped by sender before
    ("<H9-229.e5f4098730@gmail.com>", "h9"),
])
def test_the_writer_is_the_message_id_prefix(message_id: str, writer: str) -> None:
    assert writer_of(example(message_id)) == writer


def test_a_message_id_without_a_writer_prefix_is_grouped_by_its_sender() -> None:
    assert writer_of(example("<CAF3x9=abc@mail.gmail.com>", "ana@example.org")) == "ana@example.org"
