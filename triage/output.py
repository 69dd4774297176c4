"""Print decisions: a table for people (most urgent first) or JSON Lines for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from triage.engine import Decision
from triage.priority import PRIORITY_NAMES, short_age

_PRIORITY_STYLE = {1: "bold red", 2: "yellow", 3: "default", 4: "dim"}


def urgency_order(decisions: Iterable[Decision]) -> list[Decision]:
    """Most urgent first: priority, then longest wait, then most frustrated."""
    return sorted(decisions, key=lambda d: (d.priority, -(d.waiting_hours or 0), -d.frustration, d.message.date))


def write_jsonl(decisions: Iterable[Decision], out: TextIO | None = None) -> None:
    """One JSON object per decision, in the order given (to stdout by default)."""
    out = out or sys.stdout
    for decision in decisions:
        out.write(json.dumps(decision.to_json(), ensure_ascii=False) + "\n")
    out.flush()


def queue_table(who: str) -> Table:
    """The columns every triage table shares: priority, wait, who, subject, categories, why.
    Ratios and minimum widths keep it readable from 80 columns up."""
    table = Table(expand=True, box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
    table.add_column("P", justify="center", no_wrap=True, min_width=1)
    table.add_column("Waiting", justify="right", no_wrap=True, min_width=7)
    table.add_column(who, overflow="ellipsis", no_wrap=True, min_width=10, max_width=26, ratio=2)
    table.add_column("Subject", overflow="ellipsis", no_wrap=True, min_width=12, max_width=40, ratio=3)
    table.add_column("Category", overflow="fold", width=13)
    table.add_column("Why", overflow="fold", min_width=16, ratio=4)
    return table


def write_table(decisions: list[Decision], out: TextIO | None = None, width: int | None = None) -> None:
    """A terminal table of the queue, most urgent first, with a one-line summary."""
    console = Console(file=out or sys.stdout, width=width, highlight=False, soft_wrap=False)
    ordered = urgency_order(decisions)
    table = queue_table("From")
    for d in ordered:
        style = _PRIORITY_STYLE[d.priority]
        table.add_row(
            Text(str(d.priority), style=style),
            short_age(d.waiting_hours),
            Text(d.message.sender_name or d.message.sender),
            Text(d.message.subject or "(no subject)"),
            Text(", ".join(d.categories) + (" !" if d.frustrated else ""), style="red" if d.frustrated else ""),
            Text("; ".join(d.reasons)),
        )
    console.print(table)
    counts = {p: sum(1 for d in ordered if d.priority == p) for p in PRIORITY_NAMES}
    summary = ", ".join(f"{counts[p]} × P{p} ({PRIORITY_NAMES[p]})" for p in PRIORITY_NAMES if counts[p])
    console.print(f"{len(ordered)} message{'s' if len(ordered) != 1 else ''} triaged" + (f": {summary}" if summary else ""))
