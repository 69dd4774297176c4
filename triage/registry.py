"""The models a team trained, next to the state file, and which one is active.

``<state dir>/models/`` holds each trained model as ``NAME.joblib`` with its card
``NAME.card.json`` (written by :func:`triage.model.save_model`, so the sha256 and
scikit-learn checks apply), and ``active.json`` naming the model runs use. Names are
UTC timestamps (``model-20261124T231431Z``), so they sort by age. Models that lost the
comparison with the active one stay listed (their card says why): a person may still
choose one with ``triage models --rollback NAME``. ``--rollback default`` clears the
pointer, and runs use the shipped model again.

``triage models`` lists them all, the shipped default included.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from triage.errors import ModelError
from triage.model import CategoryModel, card_path, load_model, read_card, save_model

SHIPPED = "default"
"""The name ``triage models`` gives the shipped model (no registry model is called that)."""

ACTIVE_FILE = "active.json"


def models_dir(state_path: str | Path) -> Path:
    """``~/.local/state/triage/state.db`` -> ``~/.local/state/triage/models``."""
    return Path(state_path).expanduser().parent / "models"


@dataclass(frozen=True)
class Entry:
    """One model of the registry (or the shipped one): its name, file and card."""

    name: str
    path: Path
    card: dict


class Registry:
    """A models folder. Reading never creates it; :meth:`add` does."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    @classmethod
    def for_state(cls, state_path: str | Path) -> Registry:
        """The registry beside a state file."""
        return cls(models_dir(state_path))

    def path_of(self, name: str) -> Path:
        return self.root / f"{name}.joblib"

    def entries(self) -> list[Entry]:
        """Every model with a readable card, oldest first."""
        found = []
        for card_file in self.root.glob("*.card.json") if self.root.is_dir() else ():
            path = self.root / card_file.name.replace(".card.json", ".joblib")
            try:
                found.append(Entry(path.stem, path, read_card(path)))
            except ModelError:
                continue
        return sorted(found, key=_age)

    def active_name(self) -> str | None:
        """The active model's name, or None when runs use the shipped model."""
        try:
            return json.loads((self.root / ACTIVE_FILE).read_text(encoding="utf-8"))["name"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{self.root / ACTIVE_FILE}: unreadable ({exc}); "
                             "fix it with `triage models --rollback NAME`") from None

    def active_path(self) -> Path | None:
        """The active model's file, or None; ModelError when the pointer names a missing model."""
        name = self.active_name()
        if name is None:
            return None
        path = self.path_of(name)
        if not path.is_file():
            raise ModelError(f"the active model {name} is missing from {self.root}; "
                             "choose another with `triage models --rollback NAME`")
        return path

    def add(self, model: CategoryModel, card: dict, *, activate: bool) -> Entry:
        """Save a new model under a fresh timestamped name; make it active if asked."""
        created = card.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds")
        stamp = datetime.fromisoformat(created).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name, n = f"model-{stamp}", 1
        while self.path_of(name).exists() or card_path(self.path_of(name)).exists():
            n += 1
            name = f"model-{stamp}-{n}"
        card = save_model(model, self.path_of(name), card)
        if activate:
            self._point_at(name)
        return Entry(name, self.path_of(name), card)

    def activate(self, name: str) -> None:
        """Make ``name`` the active model after checking it loads (sha256, scikit-learn
        version); ``default`` goes back to the shipped model."""
        if name == SHIPPED:
            (self.root / ACTIVE_FILE).unlink(missing_ok=True)
            return
        known = [e.name for e in self.entries()]
        if name not in known:
            raise ModelError(f"no model {name!r} in {self.root}; known: {', '.join([SHIPPED, *known])}")
        load_model(self.path_of(name))
        self._point_at(name)

    def _point_at(self, name: str) -> None:
        """Write the pointer atomically: a reader sees the old name or the new one."""
        pointer = self.root / ACTIVE_FILE
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"name": name, "activated": datetime.now(timezone.utc).isoformat(timespec="seconds")})
                       + "\n", encoding="utf-8")
        os.replace(tmp, pointer)

    def last_learned_correction(self) -> int:
        """The highest correction id any model here learned from (0 for none): corrections
        after it are new. Models that were not activated count too, so a batch that lost
        the comparison is not retrained on again and again."""
        ids = [e.card.get("corrections", {}).get("last_id", 0) for e in self.entries()
               if e.card.get("corrections", {}).get("learned")]
        return max(ids, default=0)


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
        "messages": card.get("cross_validation", {}).get("messages"),
        "counts": card.get("data", {}).get("counts"),
        "corrections": corrections.get("trained_on", 0) if corrections.get("learned") else 0,
        "cv_macro_f1": card.get("cross_validation", {}).get("macro_f1"),
        "holdout_macro_f1": card.get("holdout", {}).get("macro_f1"),
        "accepted": activation.get("accepted"),
        "compared_with": activation.get("compared_with"),
        "incumbent_macro_f1": activation.get("incumbent_macro_f1"),
        "reason": activation.get("reason"),
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
