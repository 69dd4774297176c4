"""Wiring: how a run finds its state and its model, builds its engine, and sums up.

The command line, the service, learning and the report all start from here, so each
decides these things the same way; nothing here imports them back.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext

from triage.config import Config, default_state_path
from triage.engine import BatchStats, Engine, Settings
from triage.history import History

log = logging.getLogger("triage")


def state_path(args, config: Config) -> str:
    """``--state``, else the config's ``[state] path``, else $XDG_STATE_HOME/triage/state.db."""
    return getattr(args, "state", None) or config.state.path or str(default_state_path())


def open_history(args, config: Config) -> History:
    """The state file of this run; with ``--dry-run`` a private in-memory copy of it, so
    a dry run reads what earlier runs remembered and writes nothing, not even a file."""
    path = state_path(args, config)
    return History.snapshot(path) if getattr(args, "dry_run", False) else History(path)


def run_lock(args, config: Config) -> AbstractContextManager:
    """The instance lock every run that writes the state holds (a dry run writes nothing,
    so it takes none): two runs on one state file would decide the same mail twice."""
    from triage.lock import InstanceLock, lock_path_for

    if getattr(args, "dry_run", False):
        return nullcontext()
    return InstanceLock(lock_path_for(state_path(args, config)))


def make_engine(args, config: Config, history: History) -> Engine:
    """An Engine with the settings this run uses and the model and tone weights it
    loads when it first decides (:meth:`Engine.loading`); a model that cannot be found
    is an error now."""
    from triage.modelstore import choose_model
    from triage.registry import Registry
    from triage.sla import Policy

    load = choose_model(getattr(args, "model", None) or config.model.path or None,
                        Registry.for_state(state_path(args, config)))
    addresses = {a.lower() for a in [*config.support.addresses, *getattr(args, "support_address", [])]}
    settings = Settings(
        support_addresses=frozenset(addresses),
        frustration_threshold=config.triage.frustration_threshold,
        follow_up_gap_hours=config.triage.follow_up_gap_hours,
        label_prefix=config.labels.prefix,
        sla=Policy.from_config(config.sla),
        flag_backlog_days=config.labels.flag_backlog_days,
    )
    return Engine.loading(lambda: load()[0], history, settings, now=getattr(args, "now", None),
                          workers=config.triage.workers)


def log_summary(stats: BatchStats) -> None:
    """The run's counts (INFO), and once, as a warning, the messages that could not be
    read: they are rows labelled ``unreadable``, and a person should look at them."""
    log.info("parsed %d, triaged %d, team replies %d, already triaged %d, unreadable %d",
             stats.parsed, stats.triaged, stats.team_replies, stats.already_triaged, stats.broken)
    for note in stats.notes:
        log.warning("%s", note)
    if stats.broken:
        shown = ", ".join(stats.broken_keys[:5]) + (" …" if stats.broken > 5 else "")
        log.warning("%d message%s could not be read (labelled unreadable): %s", stats.broken,
                    "" if stats.broken == 1 else "s", shown)
