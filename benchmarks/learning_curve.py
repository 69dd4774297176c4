"""How much a team's corrections teach the model: macro-F1 on the team's own held-out
mail before and after 20, 50 and 100 corrections, averaged over a few seeds. Prints a
Markdown table; docs/learning_curve.md quotes its output.

    .venv/bin/python benchmarks/learning_curve.py [--team holdout|own-words] [--seeds 3] [--sizes 20 50 100]
                                                  [--order random|mistakes-first]

The team (``--team``):

- ``holdout``: data/holdout as it is, mail written apart from the training corpus by
  other hands (docs/CORPUS_GUIDE.md): a team whose customers write much like the corpus.
- ``own-words``: the same mail, but the customers use the shop's own words: every
  "refund" is a "zorblax" (refunded -> zorblaxed) and every "cancel" a "quib"
  (cancellation -> quiblation), made-up words the corpus never uses. A strong,
  simulated vocabulary shift on real messages.

For each seed the team's mail is split at random into a pool of corrections (half) and
the team's test set (the other half). "Before" is the shipped model (trained on
data/corpus alone); "after N" retrains exactly as `triage train --with-corrections`
does: the first N messages of the pool become corrections carrying their true
categories, one in five of them is held out for the activation check (so about 0.8 N
are learned from), and a correction replaces the corpus's label of the same message.

``--order random`` takes pool messages in random order (mail filed into training
folders); ``mistakes-first`` first takes the ones the shipped model gets wrong (label
changes: people fix what they see is wrong), then random ones.

The activation rule is not simulated here: its bundled held-out set, data/holdout, is
this benchmark's team mail.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone

from triage.corrections import Correction
from triage.labeled import Example, LabeledSet, load_labeled
from triage.learning import make_split, train_candidate
from triage.modelstore import CORPUS_DIR, HOLDOUT_DIR, resolve_model
from triage.evaluation import evaluate

WHEN = datetime(2026, 11, 1, tzinfo=timezone.utc)
OWN_WORDS = {"refund": "zorblax", "cancel": "quib"}
"""The team's shop's own words: a word stem -> its made-up replacement."""
_STEMS = re.compile("|".join(OWN_WORDS), re.IGNORECASE)


def in_own_words(example: Example) -> Example:
    """``example`` with its stems replaced as :data:`OWN_WORDS` says (capitals kept)."""
    def swap(text: str) -> str:
        def one(match: re.Match) -> str:
            word = OWN_WORDS[match.group(0).lower()]
            return word.upper() if match.group(0).isupper() else word.capitalize() if match.group(0)[0].isupper() else word
        return _STEMS.sub(one, text)

    m = example.message
    message = replace(m, subject=swap(m.subject), newest_text=swap(m.newest_text), body_text=swap(m.body_text))
    return Example(message, example.categories, example.frustrated)


def as_correction(n: int, example: Example) -> Correction:
    """A team member's correction of ``example``: its true categories, and its text."""
    message = example.message
    return Correction(n, message.message_id, WHEN, (), tuple(sorted(example.categories)), "training-folder",
                      message.classifier_text, message.automated)


def order_pool(pool: list[Example], shipped, how: str, rng: random.Random) -> list[Example]:
    """The order in which the team corrects the pool's messages."""
    pool = pool[:]
    rng.shuffle(pool)
    if how == "random":
        return pool
    decided = [set(shipped.decide(s)) for s in shipped.scores([e.message.classifier_text for e in pool])]
    wrong = [e for e, d in zip(pool, decided) if d != e.categories]
    return wrong + [e for e in pool if e not in wrong]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--team", choices=("holdout", "own-words"), default="holdout")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--order", choices=("random", "mistakes-first"), default="random")
    args = parser.parse_args()

    corpus, team = load_labeled(CORPUS_DIR), load_labeled(HOLDOUT_DIR)
    if args.team == "own-words":
        team = LabeledSet([in_own_words(e) for e in team.examples], "own-words", 0)
    shipped, _ = resolve_model(None)
    half = len(team.examples) // 2
    if max(args.sizes) > half:
        parser.error(f"the pool holds {half} messages; sizes must not exceed that")
    results: dict[int, list[float]] = {0: []}
    exact: dict[int, list[float]] = {0: []}
    learned: dict[int, list[int]] = {}
    started = time.perf_counter()
    for seed in range(args.seeds):
        rng = random.Random(seed)
        examples = team.examples[:]
        rng.shuffle(examples)
        pool, test_examples = examples[:half], examples[half:]
        test = LabeledSet(test_examples, f"team-test-{seed}", 0)
        before = evaluate(shipped, test)
        results[0].append(before["macro_f1"])
        exact[0].append(before["exact_match"])
        ordered = order_pool(pool, shipped, args.order, rng)
        for size in args.sizes:
            corrections = [as_correction(n, e) for n, e in enumerate(ordered[:size], start=1)]
            split = make_split(corpus, corrections, None)
            model, _ = train_candidate(split, source_name="data/corpus")
            after = evaluate(model, test)
            results.setdefault(size, []).append(after["macro_f1"])
            exact.setdefault(size, []).append(after["exact_match"])
            learned.setdefault(size, []).append(len(split.trained))
            print(f"seed {seed}: {size:>3} corrections ({len(split.trained)} learned): macro-F1 "
                  f"{before['macro_f1']:.3f} -> {after['macro_f1']:.3f}  [{time.perf_counter() - started:.0f} s]",
                  file=sys.stderr, flush=True)

    print(f"Team: {args.team} (data/holdout, {len(team.examples)} messages), per seed {half} in the pool of corrections and "
          f"{len(team.examples) - half} in the team's test set; {args.seeds} seeds; order: {args.order}.\n")
    print("| corrections | learned from (mean) | team macro-F1 (mean ± sd) | change | exact match (mean) | per seed |")
    print("|---|---|---|---|---|---|")
    base = statistics.mean(results[0])
    for size in [0, *args.sizes]:
        scores = results[size]
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        label = "0 (shipped model)" if size == 0 else str(size)
        taught = f"{statistics.mean(learned[size]):.1f}" if size else "0"
        change = "–" if size == 0 else f"{statistics.mean(scores) - base:+.3f}"
        print(f"| {label} | {taught} | {statistics.mean(scores):.3f} ± {spread:.3f} | {change} | "
              f"{statistics.mean(exact[size]):.3f} | {' '.join(f'{s:.3f}' for s in scores)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
