"""The category classifier: features, estimator, decision thresholds, and safe persistence.

A model file is a joblib pickle, and a pickle is code: it is loaded only when the model
card beside it (``NAME.card.json``) names its exact sha256 and the scikit-learn version
that wrote it matches the one installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from triage import CATEGORIES
from triage.errors import ModelError
from triage.textprep import NormalisedHead, normalise
from triage.tone import ToneModel
from triage.vectorizers import WordCachedCharTfidf

log = logging.getLogger(__name__)

ESTIMATORS = ("lr_word", "lr_word_char", "svm_word_char")
DEFAULT_ESTIMATOR = "lr_word_char"
CHAR_NGRAM_CHARS = 1000


def build_pipeline(kind: str = DEFAULT_ESTIMATOR) -> Pipeline:
    """A fresh, untrained text -> multi-label pipeline of the named kind.

    ``lr_word``: word 1-2-grams + logistic regression; ``lr_word_char`` adds character
    3-5-grams of the first 1,000 characters (robust to typos, inflection and a few
    non-English words; 2-5-grams of everything scored the same and ran at half the speed);
    ``svm_word_char``: the same features with a sigmoid-calibrated linear SVM.
    """
    word = TfidfVectorizer(preprocessor=normalise, ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=40_000)
    if kind == "lr_word":
        features = word
    else:
        char = WordCachedCharTfidf(preprocessor=NormalisedHead(CHAR_NGRAM_CHARS), ngram_range=(3, 5), min_df=2,
                                   sublinear_tf=True, max_features=60_000)
        features = FeatureUnion([("word", word), ("char", char)])
    if kind in ("lr_word", "lr_word_char"):
        base = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    elif kind == "svm_word_char":
        base = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), method="sigmoid", cv=3)
    else:
        raise ValueError(f"unknown estimator {kind!r}; known: {', '.join(ESTIMATORS)}")
    return Pipeline([("features", features), ("classify", OneVsRestClassifier(base))])


@dataclass
class CategoryModel:
    """A trained pipeline, the per-label probability thresholds that turn scores into
    categories, and the tone model that travels with it (one file, one card, one hash)."""

    pipeline: Pipeline
    labels: tuple[str, ...] = CATEGORIES
    thresholds: dict[str, float] = field(default_factory=lambda: {name: 0.5 for name in CATEGORIES})
    tone: ToneModel | None = None

    @property
    def features(self):
        """The fitted step that turns texts into the classifier's feature matrix."""
        return self.pipeline.steps[0][1]

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Category -> probability for each text."""
        if not texts:
            return []
        return self._scores(self.features.transform(list(texts)))

    def scores_and_tone(self, texts: Sequence[str], tone_wanted: Sequence[bool]) -> tuple[list[dict[str, float]], list[float]]:
        """Category scores for every text, and the tone of those where ``tone_wanted``
        (0.0 elsewhere), vectorising each text once when the tone model shares this
        model's features. Needs :attr:`tone`."""
        if self.tone is None:
            raise ModelError("this model carries no tone model")
        texts = list(texts)
        if not texts:
            return [], []
        matrix = self.features.transform(texts)
        rows = [i for i, wanted in enumerate(tone_wanted) if wanted]
        shared = self.tone.shares_features_with(self.features)
        tones = self.tone.scores([texts[i] for i in rows], matrix[rows] if shared and rows else None)
        by_row = dict(zip(rows, tones))
        return self._scores(matrix), [by_row.get(i, 0.0) for i in range(len(texts))]

    def _scores(self, matrix) -> list[dict[str, float]]:
        probabilities = self.pipeline.steps[-1][1].predict_proba(matrix)
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row)} for row in np.atleast_2d(probabilities)]

    def decide(self, scores: dict[str, float]) -> list[str]:
        """The categories whose probability reaches its threshold, in canonical order."""
        return [label for label in self.labels if scores.get(label, 0.0) >= self.thresholds.get(label, 0.5)]


def card_path(model_path: str | Path) -> Path:
    """``models/default.joblib`` -> ``models/default.card.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name.removesuffix(".joblib") + ".card.json")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: CategoryModel, path: str | Path, card: dict) -> dict:
    """Write the model and its card; the card gains the file's sha256 and library versions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)
    card = {
        **card,
        "file": path.name,
        "sha256": file_sha256(path),
        "sklearn_version": sklearn.__version__,
        "labels": list(model.labels),
        "thresholds": model.thresholds,
    }
    card_path(path).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return card


def read_card(path: str | Path) -> dict:
    """The card of a model file; ModelError when it is missing or unreadable."""
    card_file = card_path(path)
    try:
        return json.loads(card_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no model card at {card_file}; refusing to load an unknown model file") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_file}: unreadable model card ({exc})") from None


class VersionMismatch(ModelError):
    """The model was written by another scikit-learn version than the one installed."""


def load_model(path: str | Path) -> tuple[CategoryModel, dict]:
    """Load a model whose card vouches for it: sha256 and scikit-learn version must match."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    card = read_card(path)
    actual = file_sha256(path)
    if card.get("sha256") != actual:
        raise ModelError(f"{path}: sha256 {actual[:12]}… does not match its card ({str(card.get('sha256'))[:12]}…); "
                         "the file was changed or replaced, refusing to load it")
    if card.get("sklearn_version") != sklearn.__version__:
        raise VersionMismatch(f"{path}: trained with scikit-learn {card.get('sklearn_version')}, "
                              f"but {sklearn.__version__} is installed; retrain it with `triage train`")
    model = joblib.load(path)
    if not isinstance(model, CategoryModel) or model.tone is None:
        raise ModelError(f"{path}: not a triage model")
    return model, card
