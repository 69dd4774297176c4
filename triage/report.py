"""``triage report``: every conversation whose last word is the customer's, most urgent
first, as a terminal table, JSON, or one self-contained HTML page with a chart.

Everything taken from mail is escaped before it reaches HTML.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from triage import OTHER
from triage.history import History
from triage.priority import PRIORITY_NAMES, escalate_for_wait, short_age


@dataclass
class WaitingRow:
    """One waiting conversation, as the report shows it (the ``report --format json`` contract)."""

    thread_id: str
    customer: str
    subject: str
    categories: list[str]
    waiting_since: str
    waiting_hours: float
    repeat_count: int
    frustrated: bool
    frustration: float
    priority: int
    reasons: list[str]
    last_message_id: str


def waiting_rows(history: History, now: datetime) -> list[WaitingRow]:
    """The waiting conversations with their stored decisions re-evaluated for ``now``,
    most urgent first (priority, then longest wait, then most frustrated)."""
    rows = []
    for waiting in history.waiting():
        decided = history.decisions_since(waiting.thread_id, waiting.waiting_since)
        categories = [c for c in ("refund", "cancellation", "fee_dispute", "follow_up")
                      if any(c in d["categories"] for d in decided)] or [OTHER]
        latest = decided[-1] if decided else {"priority": 3, "reasons": [], "frustration": 0.0, "frustrated": False}
        hours = round(max((now - waiting.waiting_since).total_seconds() / 3600, 0.0), 1)
        priority, reasons = escalate_for_wait(min(d["priority"] for d in decided) if decided else 3,
                                              latest["reasons"], hours)
        rows.append(WaitingRow(
            thread_id=waiting.thread_id,
            customer=waiting.customer,
            subject=waiting.subject,
            categories=categories,
            waiting_since=waiting.waiting_since.isoformat(),
            waiting_hours=hours,
            repeat_count=history.unanswered_count(waiting.customer, now),
            frustrated=any(d["frustrated"] for d in decided),
            frustration=max((d["frustration"] for d in decided), default=0.0),
            priority=priority,
            reasons=reasons,
            last_message_id=waiting.last_message_id,
        ))
    return sorted(rows, key=lambda r: (r.priority, -r.waiting_hours, -r.frustration))


def run_report(args, config) -> int:
    """The ``report`` command."""
    from triage.cli import state_path

    now = args.now or datetime.now(timezone.utc)
    with History(state_path(args, config)) as history:
        rows = waiting_rows(history, now)
    if args.format == "json":
        text = json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False) + "\n"
    elif args.format == "html":
        text = render_html(rows, now)
    else:
        text = None
    if text is None:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
        try:
            write_table(rows, out)
        finally:
            if args.out:
                out.close()
    elif args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def write_table(rows: list[WaitingRow], out) -> None:
    """The report as a terminal table."""
    from rich.console import Console
    from rich.text import Text

    from triage.output import queue_table

    console = Console(file=out, highlight=False)
    table = queue_table("Customer")
    for row in rows:
        table.add_row(str(row.priority), short_age(row.waiting_hours), Text(row.customer), Text(row.subject or "(no subject)"),
                      Text(", ".join(row.categories) + (" !" if row.frustrated else "")), Text("; ".join(row.reasons)))
    console.print(table)
    console.print(f"{len(rows)} conversation{'s' if len(rows) != 1 else ''} waiting for the team")


AGE_BUCKETS = [("< 1 day", 0, 24), ("1–2 days", 24, 48), ("2–5 days", 48, 120), ("5–14 days", 120, 336),
               ("≥ 14 days", 336, float("inf"))]
PRIORITY_COLOURS = {1: "#c0392b", 2: "#e67e22", 3: "#2e86c1", 4: "#95a5a6"}


def age_histogram(rows: list[WaitingRow]) -> list[dict[int, int]]:
    """Per age bucket, how many waiting conversations of each priority."""
    counts = [{p: 0 for p in PRIORITY_NAMES} for _ in AGE_BUCKETS]
    for row in rows:
        for index, (_, low, high) in enumerate(AGE_BUCKETS):
            if low <= row.waiting_hours < high:
                counts[index][row.priority] += 1
    return counts


def render_chart(rows: list[WaitingRow]) -> str:
    """An inline SVG stacked bar chart: waiting conversations by age, coloured by priority."""
    counts = age_histogram(rows)
    tallest = max((sum(c.values()) for c in counts), default=0) or 1
    width, height, bar, gap, top, bottom = 520, 220, 70, 30, 20, 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Waiting conversations by age and priority">']
    for index, ((label, _, _), bucket) in enumerate(zip(AGE_BUCKETS, counts)):
        x = 40 + index * (bar + gap)
        y = height - bottom
        for priority in sorted(bucket, reverse=True):
            n = bucket[priority]
            if not n:
                continue
            h = (height - top - bottom) * n / tallest
            y -= h
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{PRIORITY_COLOURS[priority]}">'
                         f'<title>P{priority}: {n}</title></rect>')
        total = sum(bucket.values())
        parts.append(f'<text x="{x + bar / 2}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">{total}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{height - bottom + 16}" text-anchor="middle" font-size="12">'
                     f'{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(rows: list[WaitingRow], now: datetime) -> str:
    """One self-contained page (no scripts, no external resources): chart and table."""
    e = html.escape
    legend = " ".join(f'<span class="chip" style="background:{PRIORITY_COLOURS[p]}">P{p} {e(name)}</span>'
                      for p, name in PRIORITY_NAMES.items())
    body_rows = "\n".join(
        f'<tr class="p{r.priority}" data-thread="{e(r.thread_id)}"><td>{r.priority}</td><td>{short_age(r.waiting_hours)}</td>'
        f'<td>{e(r.customer)}</td><td>{e(r.subject or "(no subject)")}</td><td>{e(", ".join(r.categories))}'
        f'{" <b>!</b>" if r.frustrated else ""}</td><td>{r.repeat_count}</td><td>{e(r.waiting_since[:16].replace("T", " "))}</td>'
        f'<td>{e("; ".join(r.reasons))}</td></tr>'
        for r in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>triage — who is waiting</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;width:100%}}
th,td{{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}}
tr.p1 td:first-child{{color:#c0392b;font-weight:bold}} .chip{{color:#fff;padding:.1em .5em;border-radius:.3em;font-size:.85em}}
</style></head><body>
<h1>Who is waiting</h1>
<p>{len(rows)} conversation{"s" if len(rows) != 1 else ""} waiting for the team, as of {e(now.isoformat(timespec="minutes"))}.</p>
<figure>{render_chart(rows)}<figcaption>{legend}</figcaption></figure>
<table id="waiting"><thead><tr><th>P</th><th>Waiting</th><th>Customer</th><th>Subject</th><th>Categories</th><th>Repeats</th>
<th>Since</th><th>Why</th></tr></thead>
<tbody>
{body_rows}
</tbody></table></body></html>
"""
