"""Train and measure models: cross-validation, per-label thresholds, held-out scores, cards.

Everything here is a pure function of labeled examples; writing files is left to the
caller (``triage train`` and ``scripts/build_default_model.py``).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from triage import CATEGORIES, __version__, rules
from triage.labeled import Example, LabeledSet
from triage.model import DEFAULT_ESTIMATOR, CategoryModel, build_pipeline
from triage.priority import asks_for_nothing
from triage.tone import CueWeights, ToneModel, tone_features, word_tone_classifier

Progress = Callable[[str], None]
"""Called with a short description as each training step starts."""

_THRESHOLD_GRID = np.round(np.arange(0.20, 0.81, 0.025), 3)


def texts_and_targets(examples: Sequence[Example], labels: Sequence[str] = CATEGORIES) -> tuple[list[str], np.ndarray]:
    """Model input texts and the 0/1 target matrix (rows: examples, columns: labels)."""
    texts = [e.message.classifier_text for e in examples]
    targets = np.array([[int(label in e.categories) for label in labels] for e in examples], dtype=int)
    return texts, targets


def out_of_fold_scores(texts: list[str], targets: np.ndarray, kind: str = DEFAULT_ESTIMATOR, folds: int = 5,
                       seed: int = 7, progress: Progress | None = None) -> np.ndarray:
    """Probabilities for every example from a model that never saw it (k-fold)."""
    scores = np.zeros(targets.shape, dtype=float)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(texts), start=1):
        if progress:
            progress(f"cross-validation fold {fold}/{folds}")
        pipeline = build_pipeline(kind).fit([texts[i] for i in train], targets[train])
        scores[test] = pipeline.predict_proba([texts[i] for i in test])
    return scores


def tune_thresholds(targets: np.ndarray, scores: np.ndarray, labels: Sequence[str] = CATEGORIES) -> dict[str, float]:
    """Per label, the probability cut-off that maximises F1 on out-of-fold scores (0.2–0.8)."""
    thresholds = {}
    for column, label in enumerate(labels):
        f1s = [_f1(targets[:, column], scores[:, column] >= t) for t in _THRESHOLD_GRID]
        best = max(f1s)
        # Among near-ties prefer the cut-off closest to 0.5: less fitted to this corpus.
        candidates = [t for t, f in zip(_THRESHOLD_GRID, f1s) if f >= best - 0.005]
        thresholds[label] = float(min(candidates, key=lambda t: abs(t - 0.5)))
    return thresholds


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
                            labels: Sequence[str] = CATEGORIES) -> np.ndarray:
    """Apply the per-message rules the engine applies after the model: mail that asks
    for nothing (automated mail, pitches, plain thank-yous) has no category, and a
    category the message says it is not asking for is dropped (:func:`triage.rules.asked`).
    Scores then measure what the product decides, not the bare model."""
    kept = predicted.copy()
    for row, example in enumerate(examples):
        if asks_for_nothing(example.message):
            kept[row] = 0
        elif kept[row].any():
            decided = [label for column, label in enumerate(labels) if kept[row, column]]
            asked = set(rules.asked(example.message.classifier_text, decided))
            kept[row] = [int(label in asked) for label in labels]
    return kept


def evaluate(model: CategoryModel, labeled: LabeledSet) -> dict:
    """Score a trained model, as the engine uses it, on labeled mail it did not train on."""
    texts, targets = texts_and_targets(labeled.examples, model.labels)
    predicted = np.array([[int(label in model.decide(s)) for label in model.labels] for s in model.scores(texts)],
                         dtype=int).reshape(len(texts), len(model.labels))
    return label_metrics(targets, without_rule_exceptions(labeled.examples, predicted, model.labels), model.labels)


def train_model(labeled: LabeledSet, *, kind: str = DEFAULT_ESTIMATOR, holdout: LabeledSet | None = None,
                folds: int = 5, progress: Progress | None = None, source: str = "",
                inherit_tone: tuple[ToneModel, dict] | None = None) -> tuple[CategoryModel, dict]:
    """Cross-validate, tune thresholds on the out-of-fold scores, fit on everything, and
    measure on ``holdout`` when given. Returns the model and its card (without file hash).

    The tone model is fitted too when the examples carry frustration annotations;
    otherwise (a team's own labeled mail) ``inherit_tone`` — a tone model and its card,
    usually the shipped model's — is carried over."""
    texts, targets = texts_and_targets(labeled.examples)
    missing = [label for column, label in enumerate(CATEGORIES) if targets[:, column].sum() < folds]
    if missing:
        raise ValueError(f"too few examples to train {', '.join(missing)} (need at least {folds} each)")
    oof = out_of_fold_scores(texts, targets, kind, folds, progress=progress)
    thresholds = tune_thresholds(targets, oof)
    cv_predicted = np.column_stack([oof[:, c] >= thresholds[label] for c, label in enumerate(CATEGORIES)]).astype(int)
    cv_predicted = without_rule_exceptions(labeled.examples, cv_predicted)
    if not can_fit_tone(labeled) and inherit_tone is None:
        raise ValueError("no frustration annotations to fit tone on, and no tone model to carry over")
    if progress:
        progress("fitting the final model on all examples")
    pipeline = build_pipeline(kind).fit(texts, targets)
    if can_fit_tone(labeled):
        if progress:
            progress("fitting the tone model")
        tone, tone_card = fit_tone(labeled, folds, kind=kind, features=pipeline.named_steps["features"])
    else:
        tone, tone_card = inherit_tone[0], {**inherit_tone[1], "inherited": True}
    model = CategoryModel(pipeline, CATEGORIES, thresholds, tone)
    card = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "triage_version": __version__,
        "python_version": platform.python_version(),
        "estimator": kind,
        "data": {"source": source, "sha256": labeled.sha256, "counts": labeled.counts(), "skipped": labeled.skipped},
        "cross_validation": {"folds": folds, **label_metrics(targets, cv_predicted)},
    }
    if holdout is not None:
        if progress:
            progress("scoring the held-out set")
        card["holdout"] = {"sha256": holdout.sha256, "counts": holdout.counts(), **evaluate(model, holdout)}
        if can_fit_tone(holdout, minimum=1):
            tone_card = {**tone_card, "holdout": tone_metrics(tone, holdout)}
    card["tone"] = tone_card
    return model, card


def annotated_tone(labeled: LabeledSet) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 frustrated targets of the human-written examples annotated for tone."""
    annotated = [e for e in labeled.examples if e.frustrated is not None and not e.message.automated]
    return [e.message.classifier_text for e in annotated], np.array([int(bool(e.frustrated)) for e in annotated])


def can_fit_tone(labeled: LabeledSet, minimum: int = 20) -> bool:
    """True when there are enough examples annotated frustrated and not to fit tone."""
    _, y = annotated_tone(labeled)
    return int(y.sum()) >= minimum and int(len(y) - y.sum()) >= minimum


def fit_tone(labeled: LabeledSet, folds: int = 5, seed: int = 7, *, kind: str = DEFAULT_ESTIMATOR,
             features=None) -> tuple[ToneModel, dict]:
    """Fit the tone model (words + cues) on annotated examples; k-fold F1 at 0.5 of the blend.

    The word model reads the features of a category pipeline of ``kind``: ``features``,
    the fitted features step of the category model the tone model will travel with, so
    a message is vectorised once for both (each cross-validation fold fits its own)."""
    texts, y = annotated_tone(labeled)
    if len(set(y)) < 2:
        raise ValueError("the tone model needs examples annotated both frustrated and not")
    cue_features = np.array([tone_features(t) for t in texts])
    blended = np.zeros(len(y))
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts):
        fold_features = build_pipeline(kind).named_steps["features"].fit([texts[i] for i in train])
        fold = _tone_model([texts[i] for i in train], cue_features[train], y[train], fold_features)
        blended[test] = fold.scores([texts[i] for i in test])
    if features is None:
        features = build_pipeline(kind).named_steps["features"].fit(texts)
    tone = _tone_model(texts, cue_features, y, features)
    metrics = label_metrics(y[:, None], (blended >= 0.5).astype(int)[:, None], ["frustrated"])["labels"]["frustrated"]
    return tone, {"cross_validation": {"folds": folds, **metrics}, "annotated": int(len(y)),
                  "word_share": tone.word_share, "cue_weights": tone.cues.as_dict()}


def _tone_model(texts: list[str], cue_features: np.ndarray, y: np.ndarray, features) -> ToneModel:
    """Tone weights fitted on ``texts``, the word model over the already fitted ``features``."""
    cues = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000).fit(cue_features, y)
    words = Pipeline([("features", features), ("classify", word_tone_classifier().fit(features.transform(texts), y))])
    return ToneModel(words, CueWeights(tuple(float(w) for w in cues.coef_[0]), float(cues.intercept_[0])))


def tone_metrics(tone: ToneModel, labeled: LabeledSet, threshold: float = 0.5) -> dict:
    """Precision/recall/F1 of the tone score at ``threshold`` on annotated examples."""
    texts, y = annotated_tone(labeled)
    guess = (np.array(tone.scores(texts)) >= threshold).astype(int)
    return label_metrics(y[:, None], guess[:, None], ["frustrated"])["labels"]["frustrated"]


def _f1(truth: np.ndarray, guess: np.ndarray) -> float:
    truth, guess = truth.astype(bool), guess.astype(bool)
    tp = (truth & guess).sum()
    denominator = 2 * tp + (~truth & guess).sum() + (truth & ~guess).sum()
    return float(2 * tp / denominator) if denominator else 0.0
