"""The models a team trained, next to the state file, which one is active, and which
files it trusts.

``<state dir>/models/`` holds each trained model as ``NAME.npz`` with its card
``NAME.card.json`` (written by :func:`triage.model.save_model`), and ``active.json``
naming the model runs use. Names are UTC timestamps (``model-20261124T231431Z``), so they
sort by age. Models that lost the comparison with the active one stay listed (their card
says why): a person may still choose one with ``triage models --rollback NAME``.
``--rollback default`` clears the pointer, and runs use the shipped model again.

Trust. When the registry saves a model it records the file's sha256 in the state file
(the ``registry_models`` table, owned by this module), and it loads a model by name only
when the file's digest matches that record: a file dropped into the models folder, or
one changed there together with its card, is refused before it is read. Names in
``active.json`` and ``--rollback`` are plain names (:data:`NAME_PATTERN`) inside the
models folder, never paths. Models saved by earlier versions in the pickle format
(``NAME.joblib``) are listed as such and never loaded: retrain.

``triage models`` lists them all, the shipped default included.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from triage.errors import ModelError
from triage.modelfile import (LEGACY_SUFFIX, card_path, legacy_error, model_loader, model_path, read_card, sync_folder,
                              write_synced)

if TYPE_CHECKING:  # the model brings numpy; a run that finds no new mail never loads one
    from triage.model import CategoryModel

log = logging.getLogger(__name__)

SHIPPED = "default"
"""The name ``triage models`` gives the shipped model (no registry model is called that)."""

ACTIVE_FILE = "active.json"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A model name: no path separators, no leading dot."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registry_models(
    name   TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    saved  TEXT NOT NULL
);
"""


def models_dir(state_path: str | Path) -> Path:
    """``~/.local/state/triage/state.db`` -> ``~/.local/state/triage/models``."""
    return Path(state_path).expanduser().parent / "models"


def check_name(name: object, where: str) -> str:
    """``name`` when it is a plain model name; ModelError naming ``where`` it came from otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > 200:
        raise ModelError(f"{where}: {name!r} is not a model name (letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit; no paths)")
    return name


@dataclass(frozen=True)
class Entry:
    """One model of the registry (or the shipped one): its name, file and card."""

    name: str
    path: Path
    card: dict

    @property
    def legacy(self) -> bool:
        """True for a model in the old pickle format, which is never loaded."""
        return self.path.suffix == LEGACY_SUFFIX


class Registry:
    """A models folder and the digests its state file recorded. Reading never creates
    either; :meth:`add` does."""

    def __init__(self, root: str | Path, state_path: str | Path) -> None:
        self.root = Path(root).expanduser()
        self.state_path = Path(state_path).expanduser()

    @classmethod
    def for_state(cls, state_path: str | Path) -> Registry:
        """The registry beside a state file."""
        return cls(models_dir(state_path), state_path)

    def path_of(self, name: str) -> Path:
        """``NAME.npz`` in the models folder (ModelError for a name that is no plain name)."""
        return model_path(self.root, check_name(name, "model name"))

    def entries(self) -> list[Entry]:
        """Every model with a readable card, oldest first (old-format ones included)."""
        found = []
        for card_file in self.root.glob("*.card.json") if self.root.is_dir() else ():
            name = card_file.name.removesuffix(".card.json")
            if not NAME_PATTERN.fullmatch(name):
                continue
            path = self.path_of(name)
            legacy = self.root / f"{name}{LEGACY_SUFFIX}"
            if not path.exists() and legacy.exists():
                path = legacy
            try:
                card = read_card(path)
            except ModelError:
                continue
            problem = card_problem(card)
            if problem:
                log.warning("%s: left out: its card is not one triage wrote (%s)", card_path(path), problem)
                continue
            found.append(Entry(name, path, card))
        return sorted(found, key=_age)

    def active_name(self) -> str | None:
        """The active model's name, or None when runs use the shipped model."""
        pointer = self.root / ACTIVE_FILE
        try:
            name = json.loads(pointer.read_text(encoding="utf-8"))["name"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{pointer}: unreadable ({exc}); "
                             "fix it with `triage models --rollback NAME`") from None
        return check_name(name, f"{pointer} (fix it with `triage models --rollback NAME`)")

    def load(self, name: str) -> tuple[CategoryModel, dict]:
        """The registry model ``name``, read only if its file matches the digest recorded
        when the registry saved it."""
        return self.loader(name)()

    def loader(self, name: str) -> Callable[[], tuple[CategoryModel, dict]]:
        """:meth:`load` of ``name`` for later, with what can be checked without reading
        the file checked now (it exists, the registry saved it): ModelError if not."""
        path = self.path_of(name)
        if not path.is_file():
            legacy = self.root / f"{name}{LEGACY_SUFFIX}"
            if legacy.is_file():
                raise legacy_error(legacy)
            known = ", ".join([SHIPPED, *(e.name for e in self.entries())])
            raise ModelError(f"no model {name} in {self.root} (known: {known}); `triage models` lists them, "
                             "`--rollback NAME` chooses another")
        digest = self.recorded_sha256(name)
        if digest is None:
            raise ModelError(f"{path}: this state's registry ({self.state_path}) never saved a model called {name}, "
                             "so there is no digest to check it against; refusing to read it")
        return model_loader(path, digest)

    def add(self, model: CategoryModel, card: dict, *, activate: bool) -> Entry:
        """Save a new model under a fresh timestamped name and record its digest; make it
        active if asked."""
        created = card.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds")
        stamp = datetime.fromisoformat(created).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name, n = f"model-{stamp}", 1
        while self._taken(name):
            n += 1
            name = f"model-{stamp}-{n}"
        from triage.model import save_model

        card = save_model(model, self.path_of(name), card)
        self._record(name, card["sha256"])
        if activate:
            self._point_at(name)
        return Entry(name, self.path_of(name), card)

    def _taken(self, name: str) -> bool:
        return any(p.exists() for p in (self.path_of(name), card_path(self.path_of(name)),
                                         self.root / f"{name}{LEGACY_SUFFIX}")) or self.recorded_sha256(name) is not None

    def activate(self, name: str) -> None:
        """Make ``name`` the active model after checking it loads (recorded digest, card,
        format); ``default`` goes back to the shipped model."""
        check_name(name, "--rollback")
        if name == SHIPPED:
            (self.root / ACTIVE_FILE).unlink(missing_ok=True)
            return
        known = [e.name for e in self.entries()]
        if name not in known:
            raise ModelError(f"no model {name!r} in {self.root}; known: {', '.join([SHIPPED, *known])}")
        self.load(name)
        self._point_at(name)

    def _point_at(self, name: str) -> None:
        """Write the pointer atomically: a reader sees the old name or the new one."""
        pointer = self.root / ACTIVE_FILE
        tmp = pointer.with_suffix(".tmp")
        write_synced(tmp, (json.dumps({"name": name, "activated": datetime.now(timezone.utc).isoformat(
            timespec="seconds")}) + "\n").encode("utf-8"))
        os.replace(tmp, pointer)
        sync_folder(self.root)

    # -- the digests, in the state file ----------------------------------------------------

    def recorded_sha256(self, name: str) -> str | None:
        """The sha256 recorded when the registry saved ``name``, or None."""
        if not self.state_path.is_file():
            return None
        try:
            db = sqlite3.connect(f"{self.state_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                row = db.execute("SELECT sha256 FROM registry_models WHERE name = ?", (name,)).fetchone()
            finally:
                db.close()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise ModelError(f"{self.state_path}: cannot read the model digests ({exc})") from None
        return row[0] if row else None

    def _record(self, name: str, sha256: str) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.state_path, os.O_RDWR | os.O_CREAT, 0o600))  # private, as History makes it
        db = sqlite3.connect(self.state_path, timeout=30)
        try:
            db.executescript(_SCHEMA)
            with db:
                db.execute("INSERT OR REPLACE INTO registry_models(name, sha256, saved) VALUES (?, ?, ?)",
                           (name, sha256, datetime.now(timezone.utc).isoformat(timespec="seconds")))
        finally:
            db.close()

    def last_learned_correction(self) -> int:
        """The highest correction id any model here learned from (0 for none): corrections
        after it are new. Models that were not activated count too, so a batch that lost
        the comparison is not retrained on again and again."""
        ids = [e.card.get("corrections", {}).get("last_id", 0) for e in self.entries()
               if e.card.get("corrections", {}).get("learned")]
        return max(ids, default=0)


_CARD_OBJECTS = ("data", "cross_validation", "holdout", "activation", "corrections")
_CARD_NUMBERS = (("data", "messages"), ("cross_validation", "messages"), ("cross_validation", "macro_f1"),
                 ("holdout", "macro_f1"), ("corrections", "trained_on"), ("corrections", "last_id"),
                 ("activation", "incumbent_macro_f1"))


def card_problem(card: dict) -> str | None:
    """What makes a card one triage cannot have written (a hand edit, another program):
    a field of the wrong type that listing, sorting or retraining reads, which ended
    ``triage models`` in a TypeError traceback. None for a card of the right shape."""
    if not isinstance(card.get("created", ""), str):
        return "created is not text"
    for key in _CARD_OBJECTS:
        if not isinstance(card.get(key, {}), dict):
            return f"{key} is not an object"
    for key, field in _CARD_NUMBERS:
        value = card.get(key, {}).get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{key}.{field} is not a number"
    return None


def _age(entry: Entry) -> tuple:
    """Sort key: creation time, then the ``-2``, ``-3`` … suffix of models made in the same second."""
    head, _, tail = entry.name.rpartition("-")
    base, n = (head, int(tail)) if tail.isdigit() else (entry.name, 1)
    return (entry.card.get("created", ""), base, n)


# -- `triage models` ---------------------------------------------------------------------

def summary(entry: Entry, active: bool) -> dict:
    """What ``triage models`` shows of one model; its ``--format json`` row, which also
    carries the whole card."""
    card = entry.card
    corrections = card.get("corrections", {})
    activation = card.get("activation", {})
    return {
        "name": entry.name,
        "active": active,
        "created": card.get("created"),
        "source": card.get("data", {}).get("source"),
        "messages": card.get("data", {}).get("messages") or card.get("cross_validation", {}).get("messages"),
        "counts": card.get("data", {}).get("counts"),
        "corrections": corrections.get("trained_on", 0) if corrections.get("learned") else 0,
        "cv_macro_f1": card.get("cross_validation", {}).get("macro_f1"),
        "holdout_macro_f1": card.get("holdout", {}).get("macro_f1"),
        "accepted": activation.get("accepted"),
        "compared_with": activation.get("compared_with"),
        "incumbent_macro_f1": activation.get("incumbent_macro_f1"),
        "reason": activation.get("reason"),
        "old_format": entry.legacy,
        "file": str(entry.path),
        "card": card,
    }


def listing(registry: Registry) -> list[dict]:
    """The shipped model first, then the registry's, oldest first, with the active one marked."""
    from triage.modelstore import DEFAULT_MODEL

    active = registry.active_name()
    rows = [summary(Entry(SHIPPED, DEFAULT_MODEL, read_card(DEFAULT_MODEL)), active is None)]
    return rows + [summary(e, e.name == active) for e in registry.entries()]


def format_table(rows: list[dict]) -> str:
    """A plain table, one model a line, ``*`` before the active one. The held-out scores
    of models trained together are on the same split only when their cards say so."""
    def f1(value) -> str:
        return "–" if value is None else f"{value:.3f}"

    def note(row: dict) -> str:
        if row["old_format"]:
            return f"old pickle format ({LEGACY_SUFFIX}): never loaded, retrain"
        if row["accepted"] is False:
            return f"not activated at training, against {row['compared_with']}: {row['reason']}"
        return ""

    header = f"  {'name':<26}{'created':<27}{'messages':>9}{'corrections':>12}{'CV F1':>8}{'held-out F1':>13}  note"
    lines = [header]
    for row in rows:
        lines.append(f"{'*' if row['active'] else ' '} {row['name']:<26}{row['created'] or '':<27}"
                     f"{row['messages'] or 0:>9}{row['corrections']:>12}{f1(row['cv_macro_f1']):>8}"
                     f"{f1(row['holdout_macro_f1']):>13}  {note(row)}".rstrip())
    return "\n".join(lines)


def run_models(args, config) -> int:
    """``triage models [--rollback NAME] [--format table|json]``."""
    from triage.wiring import state_path

    registry = Registry.for_state(state_path(args, config))
    if args.rollback:
        registry.activate(args.rollback)
        print(f"active model: {args.rollback}" + (" (the shipped model)" if args.rollback == SHIPPED else ""))
    if config.model.path:
        print(f"triage: note: [model] path = {config.model.path} overrides the active model", file=sys.stderr)
    if args.rollback:
        return 0
    rows = listing(registry)
    if getattr(args, "format", "table") == "json":
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))
    return 0
