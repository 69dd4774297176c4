"""Measure a model on labeled mail as the engine uses it: per-category precision, recall
and F1, macro averages. Pure numpy (no scikit-learn), so ``triage eval`` and the
retraining's comparison need no training library.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from triage import CATEGORIES, rules
from triage.labeled import Example, LabeledSet
from triage.language import detect, is_covered, sure_categories
from triage.model import CategoryModel
from triage.priority import asks_for_nothing


def texts_and_targets(examples: Sequence[Example], labels: Sequence[str] = CATEGORIES) -> tuple[list[str], np.ndarray]:
    """Model input texts and the 0/1 target matrix (rows: examples, columns: labels)."""
    texts = [e.message.classifier_text for e in examples]
    targets = np.array([[int(label in e.categories) for label in labels] for e in examples], dtype=int)
    return texts, targets


def label_metrics(targets: np.ndarray, predicted: np.ndarray, labels: Sequence[str] = CATEGORIES) -> dict:
    """Precision, recall, F1 and support per label, plus macro averages and exact-match rate."""
    result: dict = {"labels": {}}
    for column, label in enumerate(labels):
        truth, guess = targets[:, column].astype(bool), predicted[:, column].astype(bool)
        tp, fp, fn = int((truth & guess).sum()), int((~truth & guess).sum()), int((truth & ~guess).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result["labels"][label] = {"precision": round(precision, 3), "recall": round(recall, 3),
                                   "f1": round(f1, 3), "support": int(truth.sum())}
    for metric in ("precision", "recall", "f1"):
        result[f"macro_{metric}"] = round(float(np.mean([m[metric] for m in result["labels"].values()])), 3)
    result["exact_match"] = round(float((targets == predicted).all(axis=1).mean()), 3) if len(targets) else 0.0
    result["messages"] = int(len(targets))
    return result


def without_rule_exceptions(examples: Sequence[Example], predicted: np.ndarray,
                            labels: Sequence[str] = CATEGORIES, languages: Collection[str] | None = None,
                            scores: np.ndarray | None = None) -> np.ndarray:
    """Apply the per-message rules the engine applies after the model: mail that asks
    for nothing (automated mail, pitches, plain thank-yous) has no category, nor has mail
    in a language outside ``languages`` (when given) — but for the categories the model
    is sure of in a Latin-script one, when its ``scores`` (probabilities, a row per
    example and a column per label) are given (:func:`triage.language.sure_categories`)
    — and a category the message says it is not asking for is dropped
    (:func:`triage.rules.asked`). Scores then measure what the product decides, not the
    bare model."""
    kept = predicted.copy()
    for row, example in enumerate(examples):
        language = None if languages is None else detect(example.message.classifier_text)
        if asks_for_nothing(example.message):
            kept[row] = 0
            continue
        if language is not None and not is_covered(language, languages):
            sure = set() if scores is None else set(sure_categories(
                language.code, {label: float(scores[row, column]) for column, label in enumerate(labels)}))
            kept[row] = [int(label in sure) for label in labels]
        if kept[row].any():
            decided = [label for column, label in enumerate(labels) if kept[row, column]]
            asked = set(rules.asked(example.message.classifier_text, decided))
            kept[row] = [int(label in asked) for label in labels]
    return kept


def evaluate(model: CategoryModel, labeled: LabeledSet) -> dict:
    """Score a trained model, as the engine uses it, on labeled mail it did not train on."""
    texts, targets = texts_and_targets(labeled.examples, model.labels)
    scores = model.scores(texts)
    predicted = np.array([[int(label in model.decide(s)) for label in model.labels] for s in scores],
                         dtype=int).reshape(len(texts), len(model.labels))
    probabilities = np.array([[s[label] for label in model.labels] for s in scores],
                             dtype=float).reshape(len(texts), len(model.labels))
    return label_metrics(targets, without_rule_exceptions(labeled.examples, predicted, model.labels, model.languages,
                                                          probabilities), model.labels)
