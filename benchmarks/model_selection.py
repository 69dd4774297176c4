"""Compare candidate category models as the shipped one is chosen: 5-fold cross-validation
on data/corpus with no writer on both sides of a fold (thresholds tuned on those
out-of-fold scores), then the model fitted on the whole corpus with those thresholds
scored on data/holdout and data/holdout2, each written by other hands and never trained
on. Scores are as the product decides (machine-sent mail and thank-yous get no
category). Prints a Markdown table; the README and docs/model_selection.md quote it.

    .venv/bin/python benchmarks/model_selection.py
"""

from __future__ import annotations

import re
import sys
import time

import numpy as np

from triage import CATEGORIES
from triage.evaluation import evaluate, label_metrics, texts_and_targets
from triage.labeled import load_labeled
from triage.modelstore import CORPUS_DIR, HOLDOUT_DIR
from triage.training import (ESTIMATORS, build_pipeline, export_model, out_of_fold_scores, tune_thresholds,
                             writer_of)

HOLDOUT2_DIR = HOLDOUT_DIR.with_name("holdout2")


KEYWORD_RULES = {
    "refund": re.compile(r"refund|money back|reimburs|reembolso|erstattung|rembours|rimborso|terugbetal", re.I),
    "cancellation": re.compile(r"cancel|unsubscribe|terminate|close my account|kündig|baja|résili|disdetta|opzeg", re.I),
    "fee_dispute": re.compile(r"charged twice|double charge|overcharg|wrong charge|unauthori[sz]ed|dispute|fee|chargeback",
                              re.I),
    "follow_up": re.compile(r"follow(ing)? up|any update|still waiting|no (reply|response)|second time|third time"
                            r"|haven'?t heard|wrote (to you )?(last|on)|again", re.I),
}
"""The kind of hand-written rules triage must beat: one keyword pattern per category."""


def keyword_rules(labeled) -> dict:
    """Scores of KEYWORD_RULES on labeled mail, for comparison."""
    texts, targets = texts_and_targets(labeled.examples)
    predicted = np.array([[int(bool(KEYWORD_RULES[c].search(t))) for c in CATEGORIES] for t in texts])
    return label_metrics(targets, predicted)


def main() -> int:
    corpus, holdout, holdout2 = load_labeled(CORPUS_DIR), load_labeled(HOLDOUT_DIR), load_labeled(HOLDOUT2_DIR)
    texts, targets = texts_and_targets(corpus.examples)
    groups = [writer_of(e) for e in corpus.examples]
    print(f"corpus: {len(texts)} messages by {len(set(groups))} writers {corpus.counts()}; holdout: "
          f"{len(holdout.examples)}; holdout2: {len(holdout2.examples)}\n")
    print("| model | CV macro-F1 | " + " | ".join(f"CV {c}" for c in CATEGORIES)
          + " | holdout macro-F1 | holdout2 macro-F1 | fit s |")
    print("|---|---|" + "---|" * len(CATEGORIES) + "---|---|---|")
    rules = [keyword_rules(labeled) for labeled in (corpus, holdout, holdout2)]
    per_label = " | ".join(f"{rules[0]['labels'][c]['f1']:.3f}" for c in CATEGORIES)
    print(f"| keyword rules (baseline) | {rules[0]['macro_f1']:.3f} | {per_label} | {rules[1]['macro_f1']:.3f} | "
          f"{rules[2]['macro_f1']:.3f} | 0 |")
    for kind in ESTIMATORS:
        started = time.perf_counter()
        oof = out_of_fold_scores(texts, targets, kind, groups=groups)
        thresholds = tune_thresholds(targets, oof)
        predicted = np.column_stack([oof[:, c] >= thresholds[label] for c, label in enumerate(CATEGORIES)]).astype(int)
        cv = label_metrics(targets, predicted)
        model = export_model(build_pipeline(kind).fit(texts, targets), thresholds)
        held, held2 = evaluate(model, holdout), evaluate(model, holdout2)
        seconds = time.perf_counter() - started
        per_label = " | ".join(f"{cv['labels'][c]['f1']:.3f}" for c in CATEGORIES)
        print(f"| {kind} | {cv['macro_f1']:.3f} | {per_label} | {held['macro_f1']:.3f} | {held2['macro_f1']:.3f} "
              f"| {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
