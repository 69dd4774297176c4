"""``triage report``: every conversation whose last word is the customer's, most urgent
first (:func:`triage.waiting.waiting_conversations`), as a terminal table, JSON, or one
self-contained HTML page with a chart of the waiting conversations by age and priority.

The page has no scripts and loads nothing (a Content-Security-Policy says so to the
browser), so it can be mailed or opened from disk. Everything taken from mail is escaped
before it reaches HTML: a subject ``<script>alert(1)</script>`` shows as that text.
"""

from __future__ import annotations

import html
import json
import math
import sys
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from triage.history import History
from triage.output import queue_summary, queue_table
from triage.priority import PRIORITY_NAMES, short_age
from triage.sla import Policy
from triage.waiting import Conversation, waiting_conversations


def run_report(args, config) -> int:
    """The ``report`` command: ``--format table|json|html``, ``--out FILE``.

    It reads a copy of the state (:meth:`History.snapshot`), as ``triage status`` does:
    opened for writing, it waited for the running service's write transaction and
    failed after five seconds ("database is locked"), and it created a state file
    where there was none."""
    from triage.wiring import state_path

    now = args.now or datetime.now(timezone.utc)
    policy = Policy.from_config(config.sla)
    if args.out:
        _refuse_state_files(args.out, state_path(args, config))
    with History.snapshot(state_path(args, config)) as history:
        rows = waiting_conversations(history, now, policy)
    if args.format == "json":
        text = json.dumps([r.to_json() for r in rows], indent=2, ensure_ascii=False) + "\n"
    elif args.format == "html":
        text = render_html(rows, now, policy)
    else:
        text = None
    if text is None:
        with open(args.out, "w", encoding="utf-8") if args.out else nullcontext(sys.stdout) as out:
            write_table(rows, out, addresses=getattr(args, "addresses", False), now=now)
    elif args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _refuse_state_files(out: str, state: str) -> None:
    """UsageError when ``--out`` names the state file or one of the files beside it that
    triage keeps (journal, lock, status): the report replaced the state, everything
    triage remembered, with a page of HTML."""
    from triage.errors import UsageError
    from triage.lock import lock_path_for
    from triage.status import status_path_for

    base = Path(state).expanduser()
    kept = {base, Path(f"{base}-wal"), Path(f"{base}-shm"), lock_path_for(base), Path(status_path_for(base))}
    target = Path(out).expanduser().resolve()
    if target in {path.resolve() for path in kept}:
        raise UsageError(f"--out {out} is triage's own state ({state} and the files beside it); "
                         "name another file for the report")


# -- terminal -------------------------------------------------------------------------


def summary(rows: list[Conversation]) -> str:
    """'7 conversations waiting for the team: 2 × P1 (act now), …; 3 overdue'."""
    return queue_summary(rows)


def write_table(rows: list[Conversation], out: TextIO, width: int | None = None, addresses: bool = False,
                now: datetime | None = None) -> None:
    """The report as a terminal table, most urgent first, the same columns as the
    ``once`` queue plus when each wait began."""
    from rich.console import Console

    console = Console(file=out, width=width, highlight=False, soft_wrap=False)
    if rows:
        console.print(queue_table(rows, width=console.width, addresses=addresses, since=True, now=now))
    console.print(summary(rows), soft_wrap=True)


# -- the chart -------------------------------------------------------------------------

AGE_BUCKETS = [("< 4 h", 0, 4), ("4–24 h", 4, 24), ("1–3 days", 24, 72), ("3–7 days", 72, 168),
               ("1–2 weeks", 168, 336), ("2+ weeks", 336, math.inf)]
"""Age columns of the chart: their edges are the default reply targets (4, 24, 72 h)."""
PRIORITY_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#1e88e5", 4: "#90a4ae"}


def age_histogram(rows: list[Conversation]) -> list[dict[int, int]]:
    """Per age bucket, how many waiting conversations of each priority."""
    counts = [dict.fromkeys(PRIORITY_NAMES, 0) for _ in AGE_BUCKETS]
    for row in rows:
        for index, (_, low, high) in enumerate(AGE_BUCKETS):
            if low <= row.waiting_hours < high:
                counts[index][row.priority] += 1
    return counts


def _ticks(tallest: int) -> list[int]:
    """Up to five whole-number gridlines from 0 to at least ``tallest``."""
    step = max(1, math.ceil(tallest / 4))
    return list(range(0, max(tallest, 1) + step, step))


def render_chart(rows: list[Conversation]) -> str:
    """Inline SVG: one stacked bar per age bucket, a segment per priority (P1 at the
    bottom), the count above each bar, gridlines and a legend. Contains no text from mail."""
    counts = age_histogram(rows)
    ticks = _ticks(max((sum(c.values()) for c in counts), default=0))
    top_value = ticks[-1]
    width, height = 640, 260
    left, right, top, bottom = 44, 12, 16, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(AGE_BUCKETS)
    bar = slot * 0.62
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
             'aria-labelledby="chart-title"><title id="chart-title">Waiting conversations by age and priority</title>']
    for tick in ticks:
        y = top + plot_h - plot_h * tick / top_value
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>')
    for index, ((label, _, _), bucket) in enumerate(zip(AGE_BUCKETS, counts)):
        x = left + index * slot + (slot - bar) / 2
        y = top + plot_h
        for priority in sorted(bucket):
            n = bucket[priority]
            if not n:
                continue
            h = plot_h * n / top_value
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{PRIORITY_COLOURS[priority]}" class="p{priority}"><title>{e(label)}: {n} × P{priority}'
                         f'</title></rect>')
        total = sum(bucket.values())
        if total:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" class="total">{total}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle" class="axis">'
                     f'{e(label)}</text>')
    legend_x = left
    for priority, name in PRIORITY_NAMES.items():
        parts.append(f'<rect x="{legend_x}" y="{height - 20}" width="12" height="12" rx="2" '
                     f'fill="{PRIORITY_COLOURS[priority]}"/><text x="{legend_x + 17}" y="{height - 10}" class="axis">'
                     f'P{priority} {e(name)}</text>')
        legend_x += 150
    parts.append("</svg>")
    return "".join(parts)


# -- the page ----------------------------------------------------------------------------

_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--red:#c62828}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);margin:0}
main{max-width:1180px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;margin:0 0 2px}
h2{font-size:16px;margin:0 0 10px;color:var(--muted);font-weight:600}
.lead{margin:4px 0 2px;font-size:16px} .asof{color:var(--muted);margin:0 0 20px;font-size:13px}
.cards{display:flex;gap:14px;flex-wrap:wrap;margin-bottom:20px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 18px;min-width:140px}
.card b{display:block;font-size:28px;line-height:1.1}
.card span{color:var(--muted);font-size:13px}
.card.alert b{color:var(--red)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:20px}
svg.chart{width:100%;max-width:720px;height:auto;display:block}
svg .grid{stroke:var(--line)} svg .axis{font-size:12px;fill:var(--muted)} svg .total{font-size:13px;font-weight:600;fill:var(--ink)}
table{border-collapse:collapse;width:100%}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);text-align:left;
   padding:8px 10px;border-bottom:2px solid var(--line);white-space:nowrap}
td{padding:9px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:hover{background:#fafbfc}
tr.overdue td:first-child{box-shadow:inset 3px 0 0 var(--red)}
.prio{display:inline-block;min-width:28px;text-align:center;border-radius:6px;color:#fff;font-weight:700;padding:1px 6px}
.p1{background:#c62828}.p2{background:#ef6c00}.p3{background:#1e88e5}.p4{background:#90a4ae}
.age{white-space:nowrap;font-variant-numeric:tabular-nums}
.badge{display:inline-block;font-size:11px;font-weight:700;border-radius:4px;padding:0 5px;margin-left:4px;
       color:var(--red);border:1px solid var(--red);text-transform:uppercase}
.chip{display:inline-block;font-size:12px;background:#eef2f7;border-radius:10px;padding:0 8px;margin:0 3px 3px 0;white-space:nowrap}
.frustrated{background:#fdecea;color:var(--red)}
.conv{min-width:220px;width:27%} .subject{font-weight:600;overflow-wrap:anywhere} .customer{color:var(--muted);overflow-wrap:anywhere}
.cats{width:15%} .why{color:#3e4c59;font-size:14px;min-width:260px} .num{text-align:right;font-variant-numeric:tabular-nums}
.since{white-space:nowrap;color:var(--muted);font-size:13px}
.empty{padding:28px;text-align:center;color:var(--muted)}
@media print{body{background:#fff} .panel,.card{border-color:#ccc}}
"""


def _row(row: Conversation) -> str:
    e = html.escape
    chips = "".join(f'<span class="chip">{e(c)}</span>' for c in row.categories)
    if row.frustrated:
        chips += '<span class="chip frustrated">frustrated</span>'
    badge = f'<span class="badge">overdue {e(short_age(row.overdue_hours))}</span>' if row.overdue else ""
    since = row.waiting_since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    customer = f"{row.customer_name} <{row.customer}>" if row.customer_name else row.customer
    return (
        f'<tr class="{"overdue" if row.overdue else "on-time"}" data-thread="{e(row.thread_id)}">'
        f'<td><span class="prio p{row.priority}" title="{e(PRIORITY_NAMES[row.priority])}">P{row.priority}</span></td>'
        f'<td class="age">{e(short_age(row.waiting_hours))}{badge}</td>'
        f'<td class="conv"><div class="subject">{e(row.subject or "(no subject)")}</div><div class="customer">{e(customer)}</div></td>'
        f'<td class="cats">{chips}</td>'
        f'<td class="num">{row.messages}</td>'
        f'<td class="since">{since}</td>'
        f'<td class="why">{e("; ".join(row.reasons))}</td></tr>'
    )


def _cards(rows: list[Conversation]) -> str:
    overdue = sum(r.overdue for r in rows)
    urgent = sum(r.priority == 1 for r in rows)
    longest = max((r.waiting_hours for r in rows), default=None)
    cards = [(len(rows), "waiting", False), (overdue, "overdue", overdue > 0), (urgent, "priority 1 — act now", urgent > 0),
             (sum(r.frustrated for r in rows), "frustrated", False), (short_age(longest), "longest wait", False)]
    return "".join(f'<div class="card{" alert" if alert else ""}"><b>{html.escape(str(value))}</b>'
                   f"<span>{html.escape(label)}</span></div>" for value, label, alert in cards)


def render_html(rows: list[Conversation], now: datetime, policy: Policy | None = None) -> str:
    """One self-contained page: headline numbers, the chart, the table (most urgent first)."""
    e = html.escape
    policy = policy or Policy()
    targets = " · ".join(f"P{p} {policy.target(p):g} h" for p in PRIORITY_NAMES if policy.target(p))
    body = "\n".join(_row(r) for r in rows) or (
        '<tr><td colspan="7" class="empty">Nobody is waiting: every conversation has the team\'s reply last.</td></tr>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Who is waiting — triage</title>
<style>{_CSS}</style></head><body><main>
<h1>Who is waiting</h1>
<p class="lead">{e(summary(rows))}</p>
<p class="asof">As of {e(now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))}{
    f" · reply targets: {e(targets)}" if targets else ""}</p>
<section class="cards">{_cards(rows)}</section>
<section class="panel"><h2>Waiting conversations by age and priority</h2>{render_chart(rows)}</section>
<section class="panel"><h2>Most urgent first</h2>
<table id="waiting"><thead><tr><th>Priority</th><th>Waiting</th><th>Conversation</th><th>Categories</th>
<th class="num">Messages</th><th>Since</th><th>Why</th></tr></thead>
<tbody>
{body}
</tbody></table></section>
</main></body></html>
"""
