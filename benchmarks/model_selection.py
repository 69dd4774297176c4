"""Compare candidate category models as the shipped one is chosen: 5-fold cross-validation
on data/corpus with no writer on both sides of a fold (thresholds tuned on those
out-of-fold scores), then the model fitted on the whole corpus with those thresholds
scored on data/holdout and data/holdout2, each written by other hands and never trained
on. Scores are as the product decides (machine-sent mail and thank-yous get no
category). Prints a Markdown table; the README and docs/model_selection.md quote it.

With ``--embeddings`` it adds the candidate issue 9 proposed: wordllama's static 256-d
embeddings (MIT, shipped inside its wheel; loaded from the package's own folder, never
downloaded), mean-pooled per message and appended to the TF-IDF features. wordllama is
not a dependency of triage: ``pip install wordllama`` into the venv first.

    .venv/bin/python benchmarks/model_selection.py [--embeddings]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from triage import CATEGORIES
from triage.evaluation import evaluate, label_metrics, texts_and_targets, without_rule_exceptions
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embeddings", action="store_true", help="add the wordllama candidates (needs wordllama)")
    args = parser.parse_args()
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
        cv = label_metrics(targets, without_rule_exceptions(corpus.examples, predicted))
        model = export_model(build_pipeline(kind).fit(texts, targets), thresholds)
        held, held2 = evaluate(model, holdout), evaluate(model, holdout2)
        seconds = time.perf_counter() - started
        per_label = " | ".join(f"{cv['labels'][c]['f1']:.3f}" for c in CATEGORIES)
        print(f"| {kind} | {cv['macro_f1']:.3f} | {per_label} | {held['macro_f1']:.3f} | {held2['macro_f1']:.3f} "
              f"| {seconds:.0f} |", flush=True)
    shuffled = out_of_fold_scores(texts, targets, "lr_word_char")
    thresholds = tune_thresholds(targets, shuffled)
    predicted = np.column_stack([shuffled[:, c] >= thresholds[label] for c, label in enumerate(CATEGORIES)]).astype(int)
    cv = label_metrics(targets, without_rule_exceptions(corpus.examples, predicted))
    per_label = " | ".join(f"{cv['labels'][c]['f1']:.3f}" for c in CATEGORIES)
    print(f"| lr_word_char, shuffled folds (a writer on both sides; for comparison) | {cv['macro_f1']:.3f} | "
          f"{per_label} | | | |", flush=True)
    if args.embeddings:
        for weight in (1.0, 2.0):
            embedding_candidate(texts, targets, groups, corpus, holdout, holdout2, weight)
    return 0


def embedding_candidate(texts, targets, groups, corpus, holdout, holdout2, weight: float) -> None:
    """lr_word_char with wordllama's mean-pooled sentence vector (unit length, times
    ``weight``) appended, chosen and scored exactly as the rows above; plus its cost."""
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.model_selection import GroupKFold

    embed = _wordllama_transformer(weight)
    if embed is None:
        print("| lr_word_char + wordllama | skipped: `pip install wordllama` first |")
        return

    def pipeline():
        base = build_pipeline("lr_word_char")
        features = FeatureUnion(base.named_steps["features"].transformer_list + [("embedding", embed)])
        return Pipeline([("features", features), ("classify", base.named_steps["classify"])])

    started = time.perf_counter()
    oof = np.zeros(targets.shape)
    for train, test in GroupKFold(n_splits=5).split(texts, targets, groups):
        fitted = pipeline().fit([texts[i] for i in train], targets[train])
        oof[test] = fitted.predict_proba([texts[i] for i in test])
    thresholds = tune_thresholds(targets, oof)

    def decided(scores, examples):
        predicted = np.column_stack([scores[:, c] >= thresholds[label] for c, label in enumerate(CATEGORIES)])
        return without_rule_exceptions(examples, predicted.astype(int))

    cv = label_metrics(targets, decided(oof, corpus.examples))
    full = pipeline().fit(texts, targets)
    held = [label_metrics(texts_and_targets(s.examples)[1],
                          decided(full.predict_proba(texts_and_targets(s.examples)[0]), s.examples))
            for s in (holdout, holdout2)]
    seconds = time.perf_counter() - started
    clock = time.perf_counter()
    full.predict_proba(texts[:500])
    per_message = (time.perf_counter() - clock) / 500 * 1000
    per_label = " | ".join(f"{cv['labels'][c]['f1']:.3f}" for c in CATEGORIES)
    print(f"| lr_word_char + wordllama (weight {weight:g}) | {cv['macro_f1']:.3f} | {per_label} | "
          f"{held[0]['macro_f1']:.3f} | {held[1]['macro_f1']:.3f} | {seconds:.0f} ({per_message:.2f} ms/msg) |",
          flush=True)


def _wordllama_transformer(weight: float):
    """A scikit-learn transformer: wordllama's 256-d token embeddings of the first 1,000
    characters, mean-pooled and scaled to unit length times ``weight``; None without
    wordllama."""
    try:
        import scipy.sparse as sparse
        import wordllama
        from safetensors.numpy import load_file
        from sklearn.base import BaseEstimator, TransformerMixin
        from tokenizers import Tokenizer
    except ImportError:
        return None
    root = Path(wordllama.__file__).parent
    table = load_file(str(root / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"].astype(np.float32)
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))

    class Embedding(BaseEstimator, TransformerMixin):
        def __init__(self, weight: float = 1.0) -> None:
            self.weight = weight

        def fit(self, texts, targets=None):
            return self

        def transform(self, texts):
            vectors = np.zeros((len(texts), table.shape[1]))
            for row, encoded in enumerate(tokenizer.encode_batch([t[:1000] for t in texts],
                                                                 add_special_tokens=False)):
                if encoded.ids:
                    mean = table[encoded.ids].mean(axis=0)
                    vectors[row] = mean / (np.linalg.norm(mean) + 1e-9)
            return sparse.csr_matrix(vectors * self.weight)

    return Embedding(weight)


if __name__ == "__main__":
    sys.exit(main())
