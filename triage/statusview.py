"""``triage status``: is triage alive and keeping up, and what is waiting — for a person,
or for a monitoring check (exit status 0 healthy, 1 not; ``--format json`` for scripts).

It reads the status file the service or ``once`` keeps beside the state
(:mod:`triage.status`) and a read-only copy of the state for the queue; it writes
nothing, so it is safe to run beside the service as often as a check likes.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from triage.config import Config
from triage.status import Health, ago, assess, parse_time, read_status, readable, status_path_for


def queue_figures(state: str, now: datetime, config: Config) -> dict | None:
    """What waits for the team at ``now``, from a read-only copy of the state: counts by
    priority, overdue, frustrated, and since when the oldest waits. None: no state yet."""
    from triage.history import History
    from triage.sla import Policy
    from triage.waiting import waiting_conversations

    if not Path(state).expanduser().exists():
        return None
    with History.snapshot(state) as history:
        rows = waiting_conversations(history, now, Policy.from_config(config.sla))
    return {
        "waiting": len(rows),
        "priorities": {str(p): sum(r.priority == p for r in rows) for p in (1, 2, 3, 4)},
        "overdue": sum(r.overdue for r in rows),
        "frustrated": sum(r.frustrated for r in rows),
        "oldest_waiting_since": min(r.waiting_since for r in rows).isoformat() if rows else None,
    }


def run_status(args, config: Config) -> int:
    """The ``status`` command: print the verdict and the figures; 0 when healthy, else 1."""
    from triage.wiring import state_path

    now = args.now or datetime.now(timezone.utc)
    state = state_path(args, config)
    path = status_path_for(state)
    status = read_status(path)
    health = assess(status, now, args.max_age)
    queue = queue_figures(state, now, config)
    if args.format == "json":
        document = {"healthy": health.healthy, "problems": health.problems, "status_file": str(path),
                    "state_file": state, "status": status, "queue": queue}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(describe(health, status, queue, now, path))
    return 0 if health.healthy else 1


def describe(health: Health, status: dict | None, queue: dict | None, now: datetime, path: Path) -> str:
    """The verdict for a person: one headline, then what the service did and what waits."""
    if status is None:
        lines = [f"UNHEALTHY: {health.problems[0]} (no {path})"]
    else:
        status, _ = readable(status)  # what could not be read is among the problems
        who = "service" if status.get("mode") == "service" else "once"
        head = f"triage {who} (pid {status.get('pid')}, triage {status.get('version')}"
        head += f", model {status['model']})" if status.get("model") else ")"
        lines = [head + (": healthy" if health.healthy else ": UNHEALTHY")]
        lines += [f"  problem:    {problem}" for problem in health.problems]
        lines.append(f"  state:      {status.get('state')}, last heard {_when(status.get('heartbeat_at'), now)}")
        progress = status.get("progress")
        if progress and status.get("state") == "passing":
            lines.append(f"  passing:    {progress.get('done', '?')} of {progress.get('total', '?')} in "
                         f"{progress.get('folder', '?')}")
        last = status.get("last_pass")
        if last:
            seconds = last.get("seconds", 0)
            lines.append(f"  last pass:  {_when(last.get('finished_at'), now)}: {last.get('triaged')} triaged, "
                         f"{last.get('team_replies')} team replies, {last.get('relabelled')} relabelled, "
                         + (f"{seconds:.1f} s" if isinstance(seconds, int | float) else f"{seconds!r} s"))
        error = status.get("last_error")
        if error:
            state = "failing since " + _when(status.get("failing_since"), now) if status.get("failing_since") \
                else "recovered"
            lines.append(f"  last error: {_when(error.get('at'), now)} ({state}): {error.get('message')}")
    if queue is not None:
        counts = ", ".join(f"{n} × P{p}" for p, n in queue["priorities"].items() if n)
        text = f"  queue:      {queue['waiting']} waiting" + (f" ({counts})" if counts else "")
        text += f", {queue['overdue']} overdue, {queue['frustrated']} frustrated"
        if queue["oldest_waiting_since"]:
            text += f"; the oldest since {_when(queue['oldest_waiting_since'], now)}"
        lines.append(text)
    return "\n".join(lines) + "\n"


def _when(value: str | None, now: datetime) -> str:
    """'2026-12-05 14:02 UTC (3 min ago)'."""
    if not value:
        return "never"
    moment = parse_time(value)
    if moment is None:
        return "unreadable"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({ago((now - moment).total_seconds())} ago)"
