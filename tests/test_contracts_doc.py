"""docs/contracts.md stays in step with the code: every command, option, output field and
configuration key is documented, output fields are marked stable or extra, and the
documented defaults are the code's."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from datetime import datetime, timezone

import pytest

from helpers import ROOT
from triage.cli import build_parser
from triage.config import SECTIONS
from triage.engine import Decision
from triage.history import Waiting
from triage.message import Message
from triage.waiting import Conversation

DOC = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")

STABLE_ROW_FIELDS = {"message_id", "uid", "mailbox", "from", "subject", "date", "thread_id", "categories", "scores",
                     "frustration", "frustrated", "automated", "repeat_count", "waiting_hours", "priority", "reasons",
                     "labels"}
"""The JSON Lines fields scripts rely on: they may gain company, never lose a member."""

STABLE_REPORT_FIELDS = {"thread_id", "customer", "subject", "categories", "waiting_since", "waiting_hours",
                        "repeat_count", "frustrated", "priority", "reasons", "last_message_id"}

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def section(title_start: str, level: str = "## ") -> str:
    """The text of the section whose heading starts with ``title_start``, up to the next
    heading of the same or a higher level."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(level + title_start))
    stop_levels = tuple("#" * n + " " for n in range(1, len(level)))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(stop_levels)), len(lines))
    return "\n".join(lines[start:end])


def table(text: str) -> dict[str, list[str]]:
    """First-column `name` -> the row's other cells, for every row of the tables in ``text``."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def a_decision() -> Decision:
    message = Message(message_id="<m@x>", sender="a@example.com", sender_name="A", recipients=(), subject="s",
                      date=NOW, in_reply_to=None, references=(), body_text="", newest_text="", automated=False,
                      automated_reason=None, mailbox="INBOX", uid=1)
    return Decision(message, "<m@x>", ["refund"], {"refund": 0.9}, 0.1, False, 1, 2.0, 2, ["asks for a refund"],
                    ["triage/refund"])


def a_conversation() -> Conversation:
    waiting = Waiting(thread_id="<m@x>", customer="a@example.com", subject="s", waiting_since=NOW,
                      last_message_id="<m@x>")
    return Conversation(thread_id="<m@x>", customer="a@example.com", customer_name="A", subject="s",
                        categories=["refund"], waiting_since=NOW, waiting_hours=2.0, messages=1, repeat_count=1,
                        frustrated=False, frustration=0.1, priority=2, overdue=False, overdue_hours=-22.0,
                        target_hours=24.0, reasons=["asks for a refund"], last=waiting)


def commands() -> dict[str, argparse.ArgumentParser]:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def test_the_doc_stands_on_its_own():
    assert "DESIGN" not in DOC


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_and_option_is_documented(name):
    documented = section(f"`triage {name}", level="### ") + section("Options every command takes", level="### ")
    for action in commands()[name]._actions:
        for option in action.option_strings:
            if option not in ("-h", "--help"):
                assert f"`{option}" in documented, f"triage {name} {option} is not in docs/contracts.md"
        for choice in action.choices or ():
            assert choice in documented, f"triage {name} {action.dest} {choice} is not in docs/contracts.md"


@pytest.mark.parametrize("title, produced, stable", [
    ("JSON Lines", a_decision().to_json(), STABLE_ROW_FIELDS),
    ("Report JSON", a_conversation().to_json(), STABLE_REPORT_FIELDS),
])
def test_every_output_field_is_documented_and_marked(title, produced, stable):
    rows = table(section(title))
    assert set(rows) == set(produced), "documented fields differ from the fields the code writes"
    marks = {name: cells[1] for name, cells in rows.items()}
    assert {name for name, mark in marks.items() if mark == "stable"} == stable
    assert {name for name, mark in marks.items() if mark == "extra"} == set(produced) - stable


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_every_config_key_is_documented_with_its_default(name):
    rows = table(section(f"`[{name}]`", level="### "))
    declared = {f.name: f for f in fields(SECTIONS[name])}
    assert set(rows) == set(declared)
    defaults = SECTIONS[name]()
    for key in declared:
        assert rows[key][1] == f"`{toml_value(getattr(defaults, key))}`", f"[{name}] {key}: default differs"
