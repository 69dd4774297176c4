"""Where models live and which one a run uses.

The shipped default model sits in the package (``triage/models/default.joblib`` with its
card). When the installed scikit-learn differs from the one that wrote it, the default
is retrained once from the bundled corpus into the user's cache instead of unpickling an
incompatible file; a model the user named is never silently replaced: that is an error.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import sklearn

from triage.errors import ModelError
from triage.model import CategoryModel, VersionMismatch, load_model, save_model

log = logging.getLogger(__name__)

PACKAGE_MODELS = Path(__file__).parent / "models"
DEFAULT_MODEL = PACKAGE_MODELS / "default.joblib"
REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO_ROOT / "data" / "corpus"
HOLDOUT_DIR = REPO_ROOT / "data" / "holdout"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/triage`` (``~/.cache/triage``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "triage"


def resolve_model(path: str | Path | None, registry_dir: str | Path | None = None) -> tuple[CategoryModel, dict]:
    """Load the named model; else the active model of the registry in ``registry_dir``
    (see :mod:`triage.registry`; card checks apply, a broken one is an error, not a
    fallback); else the default one (retrained for this scikit-learn if needed)."""
    if path:
        return load_model(path)
    if registry_dir is not None:
        from triage.registry import Registry

        active = Registry(registry_dir).active_path()
        if active is not None:
            return load_model(active)
    try:
        return load_model(DEFAULT_MODEL)
    except VersionMismatch as exc:
        return _default_for_this_sklearn(exc)


def _default_for_this_sklearn(reason: VersionMismatch) -> tuple[CategoryModel, dict]:
    cached = cache_dir() / f"default-sklearn-{sklearn.__version__}.joblib"
    if cached.is_file():
        try:
            return load_model(cached)
        except ModelError as exc:
            log.warning("ignoring cached model: %s", exc)
    if not CORPUS_DIR.is_dir():
        raise ModelError(f"{reason}; the bundled corpus ({CORPUS_DIR}) is not here to retrain from") from None
    log.warning("%s — retraining the default model from %s once (cached in %s)", reason, CORPUS_DIR, cached)
    from triage.labeled import load_labeled
    from triage.training import train_model

    model, card = train_model(load_labeled(CORPUS_DIR), source=str(CORPUS_DIR))
    card = save_model(model, cached, card)
    return model, card
