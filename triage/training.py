"""Train and measure models with scikit-learn: cross-validation, per-label thresholds,
held-out scores, cards; then export what was learned to triage's own model form
(:mod:`triage.model`), which scores without scikit-learn.

Everything here is a pure function of labeled examples; writing files is left to the
caller (``triage train`` and ``scripts/build_default_model.py``). This is the only module
that imports scikit-learn, and only training imports it.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from triage import CATEGORIES, __version__
from triage.evaluation import evaluate, label_metrics, texts_and_targets, without_rule_exceptions
from triage.features import TOKEN_PATTERN, CharWbTfidf, Features, WordTfidf
from triage.heads import LinearHeads
from triage.labeled import Example, LabeledSet
from triage.language import coverage, detect, tally
from triage.model import CategoryModel
from triage.textprep import NormalisedHead, normalise
from triage.tone import WORD_SHARE, CueWeights, ToneModel, blend, tone_features

Progress = Callable[[str], None]
"""Called with a short description as each training step starts."""

_THRESHOLD_GRID = np.round(np.arange(0.20, 0.81, 0.025), 3)

ESTIMATORS = ("lr_word", "lr_word_char", "svm_word_char")
DEFAULT_ESTIMATOR = "lr_word_char"
CHAR_NGRAM_CHARS = 1000


def build_pipeline(kind: str = DEFAULT_ESTIMATOR) -> Pipeline:
    """A fresh, untrained text -> multi-label scikit-learn pipeline of the named kind.

    ``lr_word``: word 1-2-grams + logistic regression; ``lr_word_char`` adds character
    3-5-grams of the first 1,000 characters (robust to typos, inflection and a few
    non-English words; 2-5-grams of everything scored the same and ran at half the speed);
    ``svm_word_char``: the same features with a sigmoid-calibrated linear SVM.
    """
    word = TfidfVectorizer(preprocessor=normalise, ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=40_000)
    if kind == "lr_word":
        features = word
    else:
        char = TfidfVectorizer(preprocessor=NormalisedHead(CHAR_NGRAM_CHARS), analyzer="char_wb", ngram_range=(3, 5),
                               min_df=2, sublinear_tf=True, max_features=60_000)
        features = FeatureUnion([("word", word), ("char", char)])
    if kind in ("lr_word", "lr_word_char"):
        base = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    elif kind == "svm_word_char":
        base = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), method="sigmoid", cv=3)
    else:
        raise ValueError(f"unknown estimator {kind!r}; known: {', '.join(ESTIMATORS)}")
    return Pipeline([("features", features), ("classify", OneVsRestClassifier(base))])


def word_tone_classifier() -> LogisticRegression:
    """The untrained estimator of the word model for tone."""
    return LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)


# -- export: scikit-learn objects -> triage's model form -----------------------------------

def export_vectorizer(name: str, vectorizer: TfidfVectorizer, weight: float = 1.0) -> WordTfidf | CharWbTfidf:
    """A fitted ``TfidfVectorizer`` of the kind :func:`build_pipeline` makes, as a block.
    ValueError for settings the blocks do not reproduce."""
    preprocessor = vectorizer.preprocessor
    if preprocessor is normalise:
        head = None
    elif isinstance(preprocessor, NormalisedHead):
        head = preprocessor.chars
    else:
        raise ValueError(f"{name}: unsupported preprocessor {preprocessor!r}")
    unsupported = {"tokenizer": None, "stop_words": None, "binary": False, "norm": "l2", "use_idf": True,
                   "input": "content", "token_pattern": TOKEN_PATTERN}
    for setting, expected in unsupported.items():
        if getattr(vectorizer, setting) != expected:
            raise ValueError(f"{name}: {setting}={getattr(vectorizer, setting)!r} is not supported")
    kinds = {"word": WordTfidf, "char_wb": CharWbTfidf}
    if vectorizer.analyzer not in kinds:
        raise ValueError(f"{name}: analyzer {vectorizer.analyzer!r} is not supported")
    terms = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        terms[column] = term
    return kinds[vectorizer.analyzer](name=name, terms=terms, idf=np.asarray(vectorizer.idf_, dtype=np.float64),
                                      ngram_range=tuple(vectorizer.ngram_range),
                                      sublinear_tf=bool(vectorizer.sublinear_tf), head_chars=head, weight=weight)


def export_features(step) -> Features:
    """The fitted features step of a :func:`build_pipeline` pipeline (a vectorizer or a
    ``FeatureUnion`` of vectorizers) as feature blocks."""
    if isinstance(step, TfidfVectorizer):
        return Features((export_vectorizer("word", step),))
    weights = step.transformer_weights or {}
    return Features(tuple(export_vectorizer(name, part, float(weights.get(name, 1.0)))
                          for name, part in step.transformer_list if part not in ("drop", None)))


def _members(estimator) -> list[tuple[np.ndarray, float, float, float]]:
    """(coef, intercept, scale, shift) of each logistic member of a binary estimator."""
    if isinstance(estimator, LogisticRegression):
        return [(estimator.coef_[0], float(estimator.intercept_[0]), 1.0, 0.0)]
    if isinstance(estimator, CalibratedClassifierCV) and estimator.method == "sigmoid":
        members = []
        for calibrated in estimator.calibrated_classifiers_:
            svm, [calibrator] = calibrated.estimator, calibrated.calibrators
            members.append((svm.coef_[0], float(svm.intercept_[0]), -float(calibrator.a_), -float(calibrator.b_)))
        return members
    if hasattr(estimator, "y_"):  # scikit-learn's stand-in for a label with one class only
        always = float(np.ravel(estimator.y_)[0])
        return [(None, 50.0 if always else -50.0, 1.0, 0.0)]
    raise ValueError(f"cannot export {type(estimator).__name__}")


def export_heads(estimators: Sequence, width: int) -> LinearHeads:
    """Binary estimators (one per output) as linear heads over ``width`` feature columns."""
    columns, intercepts, scales, shifts, outputs = [], [], [], [], []
    for output, estimator in enumerate(estimators):
        for coef, intercept, scale, shift in _members(estimator):
            columns.append(np.zeros(width) if coef is None else np.asarray(coef, dtype=np.float64))
            intercepts.append(intercept)
            scales.append(scale)
            shifts.append(shift)
            outputs.append(output)
    return LinearHeads(np.ascontiguousarray(np.column_stack(columns)), np.array(intercepts), np.array(scales),
                       np.array(shifts), np.array(outputs, dtype=np.int64), len(estimators))


@dataclass(frozen=True)
class FittedFeatures:
    """A fitted scikit-learn features step and the same features exported."""

    step: object
    exported: Features

    @classmethod
    def of(cls, step) -> FittedFeatures:
        return cls(step, export_features(step))


def export_model(pipeline: Pipeline, thresholds: dict[str, float], tone: ToneModel | None = None,
                 labels: Sequence[str] = CATEGORIES, features: Features | None = None) -> CategoryModel:
    """A fitted :func:`build_pipeline` pipeline as a :class:`CategoryModel`; ``features``
    are its features step already exported (so a tone model can share them)."""
    features = features or export_features(pipeline.named_steps["features"])
    heads = export_heads(pipeline.named_steps["classify"].estimators_, features.width)
    return CategoryModel(features, heads, tuple(labels), dict(thresholds), tone)


def writer_of(example: Example) -> str:
    """Who wrote an example, as far as can be told: the corpus's Message-ID prefix
    (``<r4a-017.…>`` → ``r4a``, ``<H9-229.…>`` → ``h9``: one writer each, in any case),
    else the sender's address."""
    match = _WRITER.match(example.message.message_id)
    return match.group(1).lower() if match else example.message.sender


_WRITER = re.compile(r"<([a-z]{1,4}\d{0,2}[a-z]?)-\d{1,5}\.", re.IGNORECASE)


def out_of_fold_scores(texts: list[str], targets: np.ndarray, kind: str = DEFAULT_ESTIMATOR, folds: int = 5,
                       seed: int = 7, progress: Progress | None = None,
                       groups: Sequence[str] | None = None) -> np.ndarray:
    """Probabilities for every example from a model that never saw it (k-fold). With
    ``groups`` (who wrote each example) no writer is on both sides of a fold: the scores
    are then what the model does on a hand it never read, as it will in the world."""
    scores = np.zeros(targets.shape, dtype=float)
    if groups is not None and len(set(groups)) >= folds:
        splits = GroupKFold(n_splits=folds).split(texts, targets, groups)
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts)
    for fold, (train, test) in enumerate(splits, start=1):
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
        # Among near-ties prefer the lowest cut-off: text unlike the corpus scores lower,
        # so what the world costs is recall (measured: docs/model_selection.md).
        candidates = [t for t, f in zip(_THRESHOLD_GRID, f1s) if f >= best - 0.005]
        thresholds[label] = float(min(candidates))
    return thresholds


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
    oof = out_of_fold_scores(texts, targets, kind, folds, progress=progress,
                             groups=[writer_of(e) for e in labeled.examples])
    thresholds = tune_thresholds(targets, oof)
    cv_predicted = np.column_stack([oof[:, c] >= thresholds[label] for c, label in enumerate(CATEGORIES)]).astype(int)
    languages, languages_card = covered_languages(labeled)
    cv_predicted = without_rule_exceptions(labeled.examples, cv_predicted, languages=languages, scores=oof)
    human = np.array([not e.message.automated for e in labeled.examples])
    if not can_fit_tone(labeled) and inherit_tone is None:
        raise ValueError("no frustration annotations to fit tone on, and no tone model to carry over")
    if progress:
        progress("fitting the final model on all examples")
    pipeline = build_pipeline(kind).fit(texts, targets)
    features = FittedFeatures.of(pipeline.named_steps["features"])
    if can_fit_tone(labeled):
        if progress:
            progress("fitting the tone model")
        tone, tone_card = fit_tone(labeled, folds, kind=kind, features=features)
    else:
        tone, tone_card = inherit_tone[0], {**inherit_tone[1], "inherited": True}
    model = export_model(pipeline, thresholds, tone, features=features.exported)
    model.languages = languages
    card = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "triage_version": __version__,
        "python_version": platform.python_version(),
        "sklearn_version": sklearn.__version__,
        "estimator": kind,
        "data": {"source": source, "sha256": labeled.sha256, "messages": len(labeled.examples),
                 "counts": labeled.counts(), "skipped": labeled.skipped},
        # Scored on the mail that reaches the queue as a customer's: machine-delivered
        # examples (alerts forwarding tweets) train the words but never get a category.
        "cross_validation": {"folds": folds, **label_metrics(targets[human], cv_predicted[human])},
    }
    if holdout is not None:
        if progress:
            progress("scoring the held-out set")
        card["holdout"] = {"sha256": holdout.sha256, "counts": holdout.counts(), **evaluate(model, holdout)}
        if can_fit_tone(holdout, minimum=1):
            tone_card = {**tone_card, "holdout": tone_metrics(tone, holdout)}
    card["tone"] = tone_card
    card["languages"] = languages_card
    return model, card


def covered_languages(labeled: LabeledSet) -> tuple[frozenset[str], dict]:
    """The languages the examples give the model enough data for (:func:`triage.language.coverage`),
    and the tally behind it, for the card."""
    pairs = [(detect(e.message.classifier_text).code, e.categories) for e in labeled.examples]
    covered = coverage(pairs)
    table = {code: {"messages": t.messages, **dict(t.per_category)} for code, t in sorted(tally(pairs).items())}
    return covered, {"covered": sorted(covered), "tally": table}


def annotated_tone(labeled: LabeledSet) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 frustrated targets of the examples annotated for tone — machine-
    delivered ones too: a tweet forwarded by a social-listening service is a person's
    words, and a bounce's calm is a calm to learn."""
    annotated = [e for e in labeled.examples if e.frustrated is not None]
    return [e.message.classifier_text for e in annotated], np.array([int(bool(e.frustrated)) for e in annotated])


def can_fit_tone(labeled: LabeledSet, minimum: int = 20) -> bool:
    """True when there are enough examples annotated frustrated and not to fit tone."""
    _, y = annotated_tone(labeled)
    return int(y.sum()) >= minimum and int(len(y) - y.sum()) >= minimum


def fit_tone(labeled: LabeledSet, folds: int = 5, seed: int = 7, *, kind: str = DEFAULT_ESTIMATOR,
             features: FittedFeatures | None = None) -> tuple[ToneModel, dict]:
    """Fit the tone model (words + cues) on annotated examples; k-fold F1 at 0.5 of the blend.

    The word model reads the features of a category pipeline of ``kind``: ``features``,
    the fitted features of the category model the tone model will travel with, so a
    message is vectorised once for both (each cross-validation fold fits its own)."""
    texts, y = annotated_tone(labeled)
    if len(set(y)) < 2:
        raise ValueError("the tone model needs examples annotated both frustrated and not")
    cue_features = np.array([tone_features(t) for t in texts])
    blended = np.zeros(len(y))
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts):
        fold_features = build_pipeline(kind).named_steps["features"].fit([texts[i] for i in train])
        cues, words = _fit_tone_parts(fold_features.transform([texts[i] for i in train]), cue_features[train], y[train])
        word_scores = words.predict_proba(fold_features.transform([texts[i] for i in test]))[:, 1]
        blended[test] = blend(word_scores, [cues.score(texts[i]) for i in test], WORD_SHARE)
    if features is None:
        features = FittedFeatures.of(build_pipeline(kind).named_steps["features"].fit(texts))
    cues, words = _fit_tone_parts(features.step.transform(texts), cue_features, y)
    tone = ToneModel(features.exported, export_heads([words], features.exported.width), cues)
    metrics = label_metrics(y[:, None], (blended >= 0.5).astype(int)[:, None], ["frustrated"])["labels"]["frustrated"]
    return tone, {"cross_validation": {"folds": folds, **metrics}, "annotated": int(len(y)),
                  "word_share": tone.word_share, "cue_weights": tone.cues.as_dict()}


def _fit_tone_parts(matrix, cue_features: np.ndarray, y: np.ndarray) -> tuple[CueWeights, LogisticRegression]:
    """The cue weights and the fitted word classifier, from the texts' feature ``matrix``."""
    cues = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000).fit(cue_features, y)
    words = word_tone_classifier().fit(matrix, y)
    return CueWeights(tuple(float(w) for w in cues.coef_[0]), float(cues.intercept_[0])), words


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
