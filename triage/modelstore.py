"""Where models and the bundled mail live, and which model a run uses.

The shipped model is ``models/default.npz`` with its card, in the repository's top-level
``models/``; a wheel installs that folder as ``triage/models/``. Its sha256 is compiled
into the package (:mod:`triage.shipped_model`, written by ``make model``), so a changed
or replaced file is refused before it is read. The training corpus (``data/corpus``)
and the held-out mail that guards retraining (``data/holdout``) ship the same way, as
``triage/data/``, so ``triage train`` and the service's retraining work from a wheel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from triage.modelfile import check_model_file, model_loader
from triage.shipped_model import SHA256 as SHIPPED_SHA256

if TYPE_CHECKING:  # the model brings numpy: imported where a model is loaded
    from triage.model import CategoryModel

_PACKAGE = Path(__file__).resolve().parent
REPO_ROOT = _PACKAGE.parent
"""The source checkout's root (meaningful only when running from one)."""


def bundled(*parts: str) -> Path:
    """A bundled file or folder: inside the installed package, else in the source checkout."""
    installed = _PACKAGE.joinpath(*parts)
    return installed if installed.exists() else REPO_ROOT.joinpath(*parts)


DEFAULT_MODEL = bundled("models", "default.npz")
CORPUS_DIR = bundled("data", "corpus")
HOLDOUT_DIR = bundled("data", "holdout")


def load_shipped() -> tuple[CategoryModel, dict]:
    """The shipped model, checked against the digest compiled into the package."""
    return model_loader(DEFAULT_MODEL, SHIPPED_SHA256)()


def is_model_name(value: str) -> bool:
    """True for a name ``triage models`` lists (``default``, ``model-20261124T231431Z``)
    rather than a path: no directory, no file suffix."""
    from triage.registry import NAME_PATTERN

    return "/" not in value and not value.endswith((".npz", ".joblib")) and NAME_PATTERN.fullmatch(value) is not None


def resolve_model(path: str | Path | None, registry=None) -> tuple[CategoryModel, dict]:
    """The model a run uses, and its card: :func:`choose_model`'s, loaded."""
    return choose_model(path, registry)()


def choose_model(path: str | Path | None, registry=None) -> Callable[[], tuple[CategoryModel, dict]]:
    """Which model a run uses, as a function that loads it (with its card): the one the
    user named (``--model``, ``[model] path``), by path or by a name ``triage models``
    lists; else the active model of ``registry`` (a :class:`triage.registry.Registry`; a
    broken one is an error, not a fallback); else the shipped one.

    What can be checked without reading the model is checked now (ModelError: a missing
    file, a name the registry never saved, an ``active.json`` that names no model), so a
    run that ends up loading nothing still reports a broken choice.

    A file the user names is checked against its card only: naming it is the user's
    decision, and the format runs no code. Registry and shipped models must match a
    digest kept outside the models folder."""
    if path and registry is not None and is_model_name(str(path)):
        from triage.registry import SHIPPED

        return load_shipped if str(path) == SHIPPED else registry.loader(str(path))
    if path:
        return model_loader(check_model_file(path))
    if registry is not None:
        active = registry.active_name()
        if active is not None:
            return registry.loader(active)
    return load_shipped
