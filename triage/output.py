"""Print what a run decided: JSON Lines for programs (one row per inbound message), or
for people the queue — the conversations waiting for the team, most urgent first, one
row each — with what needs no reply summarised below it.

Everything taken from mail is made safe for a terminal first (:func:`terminal_safe`):
a Subject cannot clear the screen or set the window title.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import TextIO

from triage.engine import Decision
from triage.history import History
from triage.priority import PRIORITY_NAMES, short_age
from triage.sla import Policy
from triage.waiting import Conversation, conversations, urgency_key

_PRIORITY_STYLE = {1: "bold red", 2: "yellow", 3: "default", 4: "dim"}
_AGE_REASON = re.compile(r"^(waiting|overdue) ")
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])|[\x00-\x08\x0b-\x1f\x7f-\x9f"
                      r"\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")
"""What JSON leaves raw and a terminal or a JavaScript reader would not (a regex: str.translate
with a table costs 13 µs a row, most of writing one)."""


def terminal_safe(text: str) -> str:
    """``text`` without escape sequences, control characters and bidirectional
    overrides, newlines and tabs as spaces: safe to print, and one line."""
    return _ESCAPES.sub("", text.replace("\n", " ").replace("\t", " ").replace("\r", " "))


def write_jsonl(decisions: Iterable[Decision | KeptRow], out: TextIO | None = None) -> None:
    """One JSON object per decision, in the order given (to stdout by default)."""
    out = out or sys.stdout
    for decision in decisions:
        out.write(jsonl_line(decision) + "\n")
    out.flush()


def jsonl_line(decision: Decision | KeptRow) -> str:
    """A decision's JSON Lines row, without its newline (a kept row's, as it was made).
    JSON escapes C0 controls itself; C1 controls and line separators are escaped too."""
    if isinstance(decision, KeptRow):
        return decision.line
    line = json.dumps(decision.to_json(), ensure_ascii=False)
    return _JSON_UNSAFE.sub(_escaped, line) if _JSON_UNSAFE.search(line) else line


class KeptRow:
    """A row as :func:`jsonl_line` made it, kept in the state until its labels were
    stored (:meth:`History.add_unstored`), to print now; ``uid`` is its message's."""

    def __init__(self, line: str, uid: int | None = None) -> None:
        self.line = line
        self.uid = uid

    def to_json(self) -> dict:
        return json.loads(self.line)


def no_rows(decisions: Iterable[Decision | KeptRow]) -> None:
    """Prints nothing: a run whose rows are its labels, its log and the table at the end."""


def _escaped(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def who(row: Conversation, addresses: bool = False) -> str:
    """The customer as a person reads them: the name, or the address when there is no
    name; ``Name <address>`` with ``addresses``."""
    if addresses and row.customer_name:
        return f"{row.customer_name} <{row.customer}>"
    return row.customer_name or row.customer


def queue_table(rows: list[Conversation], *, width: int | None, addresses: bool = False, since: bool = False,
                now: datetime | None = None):
    """A rich Table of waiting conversations, one line each however narrow the terminal:
    long cells are cut with "…", and below 100 columns the category column is left out
    (the reasons say the categories too)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    wide = (width or 80) >= 100
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold", expand=True, collapse_padding=True,
                  show_edge=False)
    table.add_column("P", justify="center", no_wrap=True, width=1)
    table.add_column("Waited", justify="right", no_wrap=True, width=6)
    table.add_column("Late", justify="right", no_wrap=True, width=4)
    if since:
        table.add_column("Since", no_wrap=True, width=12)
    table.add_column("#", justify="right", no_wrap=True, width=2)
    table.add_column("Customer", no_wrap=True, overflow="ellipsis", ratio=2, min_width=8)
    table.add_column("Subject", no_wrap=True, overflow="ellipsis", ratio=3, min_width=8)
    if wide:
        table.add_column("Category", no_wrap=True, overflow="ellipsis", ratio=2, min_width=8)
    table.add_column("Why", no_wrap=True, overflow="ellipsis", ratio=5, min_width=10)
    for row in rows:
        overdue = short_age(row.overdue_hours) if row.overdue else "–"
        cells = [Text(str(row.priority), style=_PRIORITY_STYLE[row.priority]), short_age(row.waiting_hours),
                 Text(overdue, style="bold red" if row.overdue else "")]
        if since:
            cells.append(when(row.waiting_since, now))
        cells += [str(row.messages), Text(terminal_safe(who(row, addresses))),
                  Text(terminal_safe(row.subject or "(no subject)"))]
        if wide:
            cells.append(Text(", ".join(row.categories) + (" !" if row.frustrated else ""),
                              style="red" if row.frustrated else ""))
        why = [r for r in row.reasons if not _AGE_REASON.match(r)]  # the columns say those
        cells.append(Text(terminal_safe("; ".join(why))))
        table.add_row(*cells)
    return table


def when(moment: datetime, now: datetime | None = None) -> str:
    """'Nov 24 09:30', with the year when it is not ``now``'s year: '2025-11-24'."""
    if now is not None and moment.year != now.year:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%b %d %H:%M")


def queue_summary(rows: list[Conversation]) -> str:
    """'12 conversations waiting for the team: 2 × P1 (act now), 5 × P2 (today); 3 overdue'."""
    counts = {p: sum(r.priority == p for r in rows) for p in PRIORITY_NAMES}
    parts = [f"{counts[p]} × P{p} ({PRIORITY_NAMES[p]})" for p in PRIORITY_NAMES if counts[p]]
    overdue = sum(r.overdue for r in rows)
    text = f"{len(rows)} conversation{'s' if len(rows) != 1 else ''} waiting for the team"
    return text + (": " + ", ".join(parts) if parts else "") + (f"; {overdue} overdue" if overdue else "")


def write_queue(history: History, run: int, now: datetime, policy: Policy, out: TextIO | None = None,
                width: int | None = None, addresses: bool = False) -> None:
    """The run's queue: the conversations it triaged mail of that wait for the team, most
    urgent first, then one line for what needs no reply (answered, automated, thank-yous,
    pitches, unreadable) and one for conversations waiting from earlier runs. Read from
    the state, so memory does not grow with the run."""
    from rich.console import Console

    console = Console(file=out or sys.stdout, width=width, highlight=False, soft_wrap=False)
    found = conversations(history, history.threads_of_run(run), now, policy)
    rows = sorted((c for c in found.values() if c is not None), key=urgency_key)
    if rows:
        console.print(queue_table(rows, width=console.width, addresses=addresses))
    console.print(queue_summary(rows), soft_wrap=True)
    rest = _no_reply_line(history.run_kinds(run))
    if rest:
        console.print(rest, soft_wrap=True)


def _no_reply_line(kinds: dict[str, int]) -> str:
    """'Also triaged: 9 already answered, 4 automated, 3 thank-yous; 1 unreadable (…)'."""
    names = [("answered", "already answered", "already answered"), ("automated", "automated", "automated"),
             ("acknowledgement", "thank-you", "thank-yous"), ("no_reply", "needing no reply", "needing no reply")]
    parts = [f"{kinds[key]} {one if kinds[key] == 1 else many}" for key, one, many in names if kinds.get(key)]
    text = "Also triaged, nothing to do: " + ", ".join(parts) if parts else ""
    if kinds.get("unreadable"):
        text += ("; " if text else "") + (f"{kinds['unreadable']} unreadable, labelled "
                                          "unreadable: a person should look")
    return text
