"""Is triage alive and keeping up? The status file beside the state, and its judgement.

The service (and every IMAP ``triage once``) keeps a small JSON file next to the state
file, ``STATE.status.json``: when it started, its last heartbeat, what its last pass did
and when, and the last error and since when it has been failing. It is rewritten
atomically after each pass, at least every :data:`HEARTBEAT_WRITE_SECONDS` while the
service waits, and when it stops, so any monitoring tool can read it (or its age) without
triage; ``triage status`` (:func:`assess`) turns it into a verdict a check can act on.

Writing it never stops triage: a full disk or a read-only directory is logged once and
triage goes on triaging.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from triage import __version__
from triage.logs import redact

log = logging.getLogger(__name__)

HEARTBEAT_WRITE_SECONDS = 60.0
"""How often a waiting service refreshes ``heartbeat_at`` in the status file."""

DEFAULT_MAX_AGE = {"service": 15 * 60.0, "once": 26 * 3600.0}
"""How old the last sign of life may be before ``triage status`` calls triage unhealthy:
a service beats every minute while it waits (and passes at least every
``service.idle_seconds``); a ``once`` from cron is assumed daily unless ``--max-age`` says
otherwise."""


def status_path_for(state_path: str | Path) -> Path:
    """The status file of a state file: ``state.db`` → ``state.db.status.json``."""
    path = Path(state_path).expanduser()
    return path.with_name(path.name + ".status.json")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass
class PassReport:
    """What one pass did and how long each part took: the service's one log line per
    pass, and ``last_pass`` in the status file."""

    finished_at: str = ""
    seconds: float = 0.0
    triaged: int = 0
    """New customer and machine mail of the watched folder decided (unreadable mail included)."""
    unreadable: int = 0
    already_triaged: int = 0
    team_replies: int = 0
    """The team's replies read from the Sent folders and the watched folder."""
    relabelled: int = 0
    """Messages whose waiting labels the sweep changed (aged, answered, pushed out of P1)."""
    corrections: int = 0
    """Label changes and training-folder drops by people, recorded as corrections."""
    waiting: int = 0
    """Conversations waiting for the team after the pass."""
    p1: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each step: ``sent``, ``mail``, ``sweep``, ``corrections``."""
    complete: bool = True
    """False when a stop cut the pass short (the rest is left for the next one)."""
    swept: bool = True
    """False when the service deferred the sweep and the corrections (mail kept arriving)."""

    @property
    def busy(self) -> bool:
        """Whether the pass did anything a person would want in the log."""
        return bool(self.triaged or self.team_replies or self.relabelled or self.corrections or self.already_triaged)

    def line(self, folder: str) -> str:
        """The pass in one log line: counts, then where the time went."""
        parts = [f"{self.triaged} triaged in {folder}" + (f" ({self.unreadable} unreadable)" if self.unreadable else "")]
        if self.already_triaged:
            parts.append(f"{self.already_triaged} already triaged")
        parts.append(f"{self.team_replies} team repl{'y' if self.team_replies == 1 else 'ies'}")
        parts.append(f"{self.relabelled} relabelled by the sweep" if self.swept else "sweep deferred")
        if self.corrections:
            parts.append(f"{self.corrections} correction{'' if self.corrections == 1 else 's'} recorded")
        parts.append(f"{self.waiting} waiting ({self.p1} P1)")
        timing = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.phases.items() if seconds >= 0.05)
        cut = "" if self.complete else "; cut short by a stop"
        return f"pass: {'; '.join(parts)}; {self.seconds:.1f} s" + (f" ({timing})" if timing else "") + cut


class StatusFile:
    """The status file one run keeps up to date (see the module docstring)."""

    def __init__(self, path: str | Path | None, mode: str, *, model: str = "") -> None:
        """``path`` None (a dry run, which writes nothing anywhere) keeps the status in memory only."""
        self.path = Path(path) if path is not None else None
        self._warned = False
        self._written_at: datetime | None = None
        now = _iso(utc_now())
        self.data: dict = {
            "mode": mode, "pid": os.getpid(), "version": __version__, "started_at": now, "state": "starting",
            "heartbeat_at": now, "model": model, "last_success_at": None, "last_pass": None,
            "last_error": None, "failing_since": None, "errors_in_a_row": 0, "stopped": None,
        }
        previous = read_status(self.path) if self.path else None
        if previous:  # a restart keeps the last pass a monitoring check may still want
            for key in ("last_success_at", "last_pass"):
                self.data[key] = previous.get(key)
        self.write()

    def write(self, **fields) -> None:
        """Update ``fields``, stamp the heartbeat and replace the file atomically."""
        self.data.update(fields)
        now = utc_now()
        self.data["heartbeat_at"] = _iso(now)
        if self.path is None:
            return
        try:
            _write_atomically(self.path, json.dumps(self.data, indent=2) + "\n")
            self._written_at = now
        except OSError as exc:
            if not self._warned:
                log.warning("cannot write the status file %s (triage goes on; `triage status` will be stale): %s",
                            self.path, exc)
                self._warned = True

    def beat(self, **fields) -> None:
        """Refresh the heartbeat if the last write is :data:`HEARTBEAT_WRITE_SECONDS` old
        (cheap enough to call on every wake-up)."""
        if self._written_at is None or heartbeat_due(self._written_at, utc_now()):
            self.write(**fields)

    def passed(self, report: PassReport) -> None:
        """A pass finished: record it; whatever was failing works again."""
        self.write(state="watching" if self.data["mode"] == "service" else "done", last_pass=asdict(report),
                   last_success_at=report.finished_at, failing_since=None, errors_in_a_row=0)

    def failed(self, error: BaseException | str) -> None:
        """A connection, the server or the login failed (the service will try again)."""
        now = _iso(utc_now())
        self.write(state="reconnecting" if self.data["mode"] == "service" else "failed",
                   last_error={"at": now, "message": redact(str(error))},
                   failing_since=self.data["failing_since"] or now, errors_in_a_row=self.data["errors_in_a_row"] + 1)

    def stopped(self, reason: str, exit_status: int) -> None:
        """The service is ending (a stop request, refused logins)."""
        self.write(state="stopped", stopped={"at": _iso(utc_now()), "reason": reason, "exit_status": exit_status})


def heartbeat_due(written_at: datetime, now: datetime) -> bool:
    """Whether the heartbeat written at ``written_at`` is to be written again at ``now``:
    :data:`HEARTBEAT_WRITE_SECONDS` later, or at once when the clock went back since (one
    written while the clock was a year ahead was otherwise not written again for a year)."""
    elapsed = (now - written_at).total_seconds()
    return elapsed >= HEARTBEAT_WRITE_SECONDS or elapsed < 0


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader never sees half a file; owner-only, as
    the state beside it (it names the mailbox and the last error)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_status(path: str | Path) -> dict | None:
    """The status file's contents; None when there is none or it cannot be read."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Health:
    """``triage status``'s verdict: healthy or not, and why not."""

    healthy: bool
    problems: list[str]


def parse_time(value: object) -> datetime | None:
    """A time of the status file, in UTC (one without an offset, hand-written, is taken
    as UTC, as ``--now`` takes it); None when ``value`` is not an ISO-8601 time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):  # ("0001-01-01T00:00:00+14:00" is before the first UTC moment)
        return None


_TIMES = ("started_at", "heartbeat_at", "last_success_at", "failing_since")
_OBJECTS = {"last_pass": ("finished_at",), "last_error": ("at",), "stopped": ("at",), "progress": ()}


def readable(status: dict) -> tuple[dict, list[str]]:
    """``status`` with what cannot be read left out — a time that is none, an object
    that is something else (a person edited the file, or another program wrote it) —
    and what was left out, so ``triage status`` shows the rest and says so."""
    clean, unreadable = dict(status), []
    if clean.get("mode", "service") not in ("service", "once"):
        unreadable.append(f"mode is not service or once ({_shown(clean['mode'])})")
        clean["mode"] = "service"

    def check(holder: dict, key: str, name: str) -> None:
        value = holder.get(key)
        if value is not None and parse_time(value) is None:
            unreadable.append(f"{name} is not a time ({_shown(value)})")
            holder[key] = None

    for key in _TIMES:
        check(clean, key, key)
    for key, times in _OBJECTS.items():
        value = clean.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            unreadable.append(f"{key} is not an object ({_shown(value)})")
            clean[key] = None
            continue
        clean[key] = dict(value)
        for time_key in times:
            check(clean[key], time_key, f"{key}.{time_key}")
    return clean, unreadable


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def ago(seconds: float) -> str:
    """A duration as people say it: '45 s', '12 min', '3.5 h', '2.0 days'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def assess(status: dict | None, now: datetime, max_age: float | None = None) -> Health:
    """Whether the run behind ``status`` is alive and working, judged at ``now``.

    Unhealthy: no status at all; a service that stopped, or whose heartbeat is older than
    ``max_age`` seconds (default :data:`DEFAULT_MAX_AGE`: not running, or stuck); a run
    failing (connection, login, server) for longer than ``max_age``, or a ``once`` whose
    last run failed; a ``once`` whose last good pass is older than ``max_age``. A short
    outage the service is riding out with retries is not a problem yet."""
    if not status:
        return Health(False, ["no status recorded: triage has not run on this state file yet"])
    status, unreadable = readable(status)
    mode = status.get("mode", "service")
    limit = max_age if max_age is not None else DEFAULT_MAX_AGE.get(mode, DEFAULT_MAX_AGE["service"])
    problems = [f"the status file could not be read in full: {'; '.join(unreadable)}"] if unreadable else []
    age = {key: (now - moment).total_seconds() for key in ("heartbeat_at", "last_success_at", "failing_since")
           if (moment := parse_time(status.get(key))) is not None}
    error = (status.get("last_error") or {}).get("message", "")
    sign = "heartbeat_at" if mode == "service" else "last_success_at"
    if age.get(sign, 0) < -limit:  # (a negative age is younger than any limit)
        what = "heartbeat" if mode == "service" else "last successful pass"
        problems.append(f"the {what} is dated {ago(-age[sign])} ahead of this check's clock: a clock was wrong; "
                        "it says nothing of now")
    if mode == "service":
        stopped = status.get("stopped") or {}
        if status.get("state") == "stopped":
            problems.append(f"the service stopped {ago(age.get('heartbeat_at', 0))} ago "
                            f"({stopped.get('reason', 'unknown reason')}, exit status {stopped.get('exit_status')})")
        elif age.get("heartbeat_at", float("inf")) > limit:
            silence = f"for {ago(age['heartbeat_at'])}" if "heartbeat_at" in age else "recorded"
            problems.append(f"no heartbeat {silence}: the service (pid {status.get('pid')}) is not running or is "
                            "stuck")
        if status.get("state") != "stopped" and age.get("failing_since", -1) > limit:
            problems.append(f"failing for {ago(age['failing_since'])} ({status.get('errors_in_a_row')} "
                            f"attempts): {error}")
    else:
        if status.get("failing_since"):
            problems.append(f"the last run failed: {error}")
        if age.get("last_success_at", float("inf")) > limit:
            last = status.get("last_success_at")
            problems.append(f"no successful pass for {ago(age['last_success_at'])}" if last
                            else "no successful pass yet")
    return Health(not problems, problems)
