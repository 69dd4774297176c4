"""Which languages a labeled corpus is written in, which of them a model trained on it
covers, and what detecting a language costs next to the model.

Detects the language of every message's classifier text (subject and newest words), prints
messages per language and category, the covered set (triage.language.coverage), and
CPU microseconds per message for detection and for the shipped model's scoring. With
--cross-validate it also trains 5-fold out-of-fold models (a few minutes) and prints the
macro-F1 per language: the evidence behind the coverage thresholds. Usage:

    .venv/bin/python benchmarks/languages.py [--corpus data/corpus] [--cross-validate]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from triage import CATEGORIES
from triage.labeled import load_labeled
from triage.language import coverage, detect, tally
from triage.modelstore import REPO_ROOT, resolve_model
from triage.training import label_metrics, out_of_fold_scores, texts_and_targets, tune_thresholds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(REPO_ROOT / "data" / "corpus"))
    parser.add_argument("--cross-validate", action="store_true")
    args = parser.parse_args()
    examples = load_labeled(args.corpus).examples
    texts = [e.message.classifier_text for e in examples]
    codes = [detect(text).code for text in texts]

    pairs = list(zip(codes, (e.categories for e in examples)))
    others = Counter(code for code, categories in pairs if not categories)
    print(f"{'language':8} {'messages':>8} " + " ".join(f"{c:>12}" for c in CATEGORIES) + f" {'other':>6}")
    for code, counts in sorted(tally(pairs).items(), key=lambda item: -item[1].messages):
        print(f"{code:8} {counts.messages:8} " + " ".join(f"{counts.per_category[c]:12}" for c in CATEGORIES)
              + f" {others[code]:6}")
    print(f"covered: {', '.join(sorted(coverage(pairs)))}")

    detect_us = _cpu_seconds(lambda: [detect(text) for text in texts]) / len(texts) * 1e6
    model, _ = resolve_model(None)
    human = [True] * len(texts)
    model_us = _cpu_seconds(lambda: [model.scores_and_tone(texts[i:i + 200], human[i:i + 200])
                                     for i in range(0, len(texts), 200)], rounds=1) / len(texts) * 1e6
    print(f"detect: {detect_us:.1f} µs/message; model scoring: {model_us:.0f} µs/message (CPU time, one core)")

    if args.cross_validate:
        _per_language_quality(examples, codes)
    return 0


def _cpu_seconds(run, rounds: int = 3) -> float:
    """The best of a few rounds of CPU time: the machine may be shared."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def _per_language_quality(examples, codes: list[str]) -> None:
    texts, targets = texts_and_targets(examples)
    scores = out_of_fold_scores(texts, targets, progress=print)
    thresholds = tune_thresholds(targets, scores)
    predicted = (scores >= np.array([thresholds[c] for c in CATEGORIES])).astype(int)
    languages = np.array(codes)
    print("out-of-fold macro-F1 per language (categories' F1/support):")
    for code, n in Counter(codes).most_common():
        if n < 10:
            print(f"  {code:4} {n:5} messages  (too few to score)")
            continue
        rows = languages == code
        metrics = label_metrics(targets[rows], predicted[rows])
        detail = " ".join(f"{label}={m['f1']:.2f}/{m['support']}" for label, m in metrics["labels"].items())
        print(f"  {code:4} {n:5} messages  macro-F1 {metrics['macro_f1']:.3f}  {detail}")


if __name__ == "__main__":
    raise SystemExit(main())
