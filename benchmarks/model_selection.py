"""Compare candidate category models by 5-fold cross-validation on data/corpus and by
their score on data/holdout (never trained on). Prints a Markdown table; the README and
docs/model_selection.md quote its output.

    .venv/bin/python benchmarks/model_selection.py
"""

from __future__ import annotations

import sys
import time

import numpy as np

from triage import CATEGORIES
from triage.labeled import load_labeled
from triage.model import ESTIMATORS, CategoryModel, build_pipeline
from triage.modelstore import CORPUS_DIR, HOLDOUT_DIR
from triage.training import evaluate, label_metrics, out_of_fold_scores, texts_and_targets, tune_thresholds


def main() -> int:
    corpus, holdout = load_labeled(CORPUS_DIR), load_labeled(HOLDOUT_DIR)
    texts, targets = texts_and_targets(corpus.examples)
    print(f"corpus: {len(texts)} messages {corpus.counts()}; holdout: {len(holdout.examples)} messages {holdout.counts()}\n")
    print("| model | CV macro-F1 | " + " | ".join(f"CV {c}" for c in CATEGORIES) + " | held-out macro-F1 | fit s |")
    print("|---|---|" + "---|" * len(CATEGORIES) + "---|---|")
    for kind in ESTIMATORS:
        started = time.perf_counter()
        oof = out_of_fold_scores(texts, targets, kind)
        thresholds = tune_thresholds(targets, oof)
        predicted = np.column_stack([oof[:, c] >= thresholds[label] for c, label in enumerate(CATEGORIES)]).astype(int)
        cv = label_metrics(targets, predicted)
        model = CategoryModel(build_pipeline(kind).fit(texts, targets), CATEGORIES, thresholds)
        held = evaluate(model, holdout)
        seconds = time.perf_counter() - started
        per_label = " | ".join(f"{cv['labels'][c]['f1']:.3f}" for c in CATEGORIES)
        print(f"| {kind} | {cv['macro_f1']:.3f} | {per_label} | {held['macro_f1']:.3f} | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
