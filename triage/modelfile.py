"""A model's files, named and checked without reading the model: ``NAME.npz``, its card
``NAME.card.json``, digests, and the old pickle format that is refused. Apart from
:mod:`triage.model` (which would bring numpy), so the registry and a start that loads no
model can use them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from triage.errors import ModelError

if TYPE_CHECKING:
    from triage.model import CategoryModel

SUFFIX = ".npz"
LEGACY_SUFFIX = ".joblib"


def model_path(directory: str | Path, name: str) -> Path:
    """``directory/NAME.npz``."""
    return Path(directory) / f"{name}{SUFFIX}"


def card_path(model_file: str | Path) -> Path:
    """``models/default.npz`` -> ``models/default.card.json`` (``.joblib`` files alike)."""
    model_file = Path(model_file)
    stem = model_file.name.removesuffix(SUFFIX).removesuffix(LEGACY_SUFFIX)
    return model_file.with_name(stem + ".card.json")


def sha256_of(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def read_card(path: str | Path) -> dict:
    """The card of a model file; ModelError when it is missing or unreadable."""
    card_file = card_path(path)
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no model card at {card_file}; refusing to load an unknown model file") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_file}: unreadable model card ({exc})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_file}: unreadable model card (not a JSON object)")
    return card


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to the disk before returning: a model the
    registry points at must survive a power cut (written and never flushed, a new file
    can come back empty, and its digest then stops every start)."""
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def sync_folder(path: Path) -> None:
    """Flush the entries of the folder ``path`` (a new or renamed file's name) to the disk."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def legacy_error(path: str | Path) -> ModelError:
    """The error for a model in the old pickle format, which is never loaded."""
    return ModelError(f"{path}: a model in the old pickle format ({LEGACY_SUFFIX}), which triage no longer loads "
                      "(loading a pickle can run code); retrain it with `triage train`")


def check_model_file(path: str | Path) -> Path:
    """``path`` (``~`` expanded) when it names an existing model file in the current
    format; ModelError for a missing file or one in the old pickle format."""
    path = Path(path).expanduser()
    if path.suffix == LEGACY_SUFFIX:
        raise legacy_error(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    return path


def model_loader(path: Path, expected_sha256: str | None = None) -> Callable[[], tuple[CategoryModel, dict]]:
    """:func:`triage.model.load_model` of ``path`` for later: triage.model, and numpy
    with it, are imported only when the model is read."""
    def load() -> tuple[CategoryModel, dict]:
        from triage.model import load_model

        return load_model(path, expected_sha256)

    return load
