"""Do other writers' voices make the model better on a writer it never read?
Leave-one-writer-out over the nine held-out sets.

data/corpus is written by this project's writers; data/holdout, data/holdout2 …
data/holdout9 are each one other, independent writer. For each held-out set k this
trains B_k on data/corpus plus every held-out set except k — with exactly what
`make model` uses: the same estimator, features, cross-validated threshold tuning
(grouped by writer, so each held-out set is one group) and tone model — and scores on
set k, which B_k never read:

- A, the shipped model (models/default.npz, trained on data/corpus alone), and
- B_k,

as the product decides (:func:`triage.evaluation.evaluate`: macro-F1 and per-category
precision, recall and F1), plus frustration F1 at 0.5. The difference B_k − A on set k
is what training on other writers buys on an unseen one; its mean and spread over the
nine sets is the estimate. Only aggregate scores are printed, never a message.

Each result is written to --out as soon as it is known (a rerun skips the sets already
there, so an interrupted run resumes); --save-models DIR also writes each B_k
(B_holdoutK.npz with its card), e.g. for benchmarks/noncustomer_check.py --model.
Six to ten minutes a set on the project's 2-core machine.

    .venv/bin/python benchmarks/writer_holdout.py [--sets holdout,holdout2,…] [--out FILE]
        [--save-models DIR] [--model FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from triage import CATEGORIES
from triage.evaluation import evaluate
from triage.labeled import FOLDERS, LabeledSet, build_labeled, load_labeled
from triage.model import load_model, save_model
from triage.sources.local import read_local
from triage.training import tone_metrics, train_model

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
WRITERS = ("holdout", *(f"holdout{k}" for k in range(2, 10)))
"""The held-out sets, one independent writer each."""


def load_together(roots: Sequence[Path]) -> LabeledSet:
    """Several labeled folders as one set (deduplicated by Message-ID, one content hash)."""
    return build_labeled([(name, read_local(root / name)) for root in roots for name in FOLDERS
                          if (root / name).is_dir()])


def scores(model, labeled: LabeledSet) -> dict:
    """What :func:`evaluate` says of ``model`` on ``labeled``, plus frustration F1 at 0.5."""
    return {**evaluate(model, labeled), "tone": tone_metrics(model.tone, labeled)}


def leave_out(name: str, baseline, save_dir: Path | None) -> dict:
    """Train B on data/corpus + every held-out set but ``name``; score it and ``baseline``
    on ``name``."""
    started = time.monotonic()
    training = load_together([DATA / "corpus", *(DATA / other for other in WRITERS if other != name)])
    unseen = load_labeled(DATA / name)
    model, card = train_model(training, progress=lambda step: print(f"  {name}: {step}", flush=True),
                              source=f"data/corpus + held-out sets but {name}")
    if save_dir is not None:
        save_model(model, save_dir / f"B_{name}.npz", card)
    return {"set": name, "messages": len(unseen.examples), "trained_on": len(training.examples),
            "A": scores(baseline, unseen), "B": scores(model, unseen),
            "B_cross_validation": card["cross_validation"]["macro_f1"], "B_thresholds": model.thresholds,
            "seconds": round(time.monotonic() - started)}


def summary(results: list[dict]) -> str:
    """The table A vs B_k per set, and the mean, spread and wins of B − A."""
    head = ["set", "n", "A macro", "B macro", "B−A"] + [f"{c[:6]} A/B" for c in CATEGORIES] + \
        ["P A/B", "R A/B", "tone A/B"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        a, b = r["A"], r["B"]
        cells = [r["set"], str(r["messages"]), f"{a['macro_f1']:.3f}", f"{b['macro_f1']:.3f}",
                 f"{b['macro_f1'] - a['macro_f1']:+.3f}"]
        cells += [f"{a['labels'][c]['f1']:.3f}/{b['labels'][c]['f1']:.3f}" for c in CATEGORIES]
        cells += [f"{a['macro_precision']:.3f}/{b['macro_precision']:.3f}",
                  f"{a['macro_recall']:.3f}/{b['macro_recall']:.3f}",
                  f"{a['tone']['f1']:.3f}/{b['tone']['f1']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if results:
        macro = [r["B"]["macro_f1"] - r["A"]["macro_f1"] for r in results]
        tone = [r["B"]["tone"]["f1"] - r["A"]["tone"]["f1"] for r in results]
        spread = statistics.stdev(macro) if len(macro) > 1 else 0.0
        lines.append("")
        lines.append(f"B − A macro-F1 over {len(macro)} sets: mean {statistics.mean(macro):+.4f}, "
                     f"sd {spread:.4f}, min {min(macro):+.3f}, max {max(macro):+.3f}; "
                     f"B better on {sum(d > 0 for d in macro)}, equal on {sum(d == 0 for d in macro)}")
        lines.append(f"A mean macro-F1 {statistics.mean(r['A']['macro_f1'] for r in results):.4f}, "
                     f"B mean {statistics.mean(r['B']['macro_f1'] for r in results):.4f}")
        lines.append(f"B − A frustration F1: mean {statistics.mean(tone):+.4f}, min {min(tone):+.3f}, "
                     f"max {max(tone):+.3f}; B better on {sum(d > 0 for d in tone)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(WRITERS), help="held-out sets to leave out, comma-separated")
    parser.add_argument("--out", default=str(ROOT / "build" / "writer_holdout.json"), help="results (JSON)")
    parser.add_argument("--save-models", metavar="DIR", help="also write each B_k here")
    parser.add_argument("--model", default=str(ROOT / "models" / "default.npz"), help="model A (the shipped one)")
    parser.add_argument("--summary-only", action="store_true", help="print the table of --out; train nothing")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [n for n in names if n not in WRITERS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(WRITERS)}")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else []
    if not args.summary_only:
        baseline, _ = load_model(args.model)
        save_dir = Path(args.save_models) if args.save_models else None
        for name in names:
            if any(r["set"] == name for r in results):
                continue
            # Another process may have finished sets meanwhile: reread before appending.
            result = leave_out(name, baseline, save_dir)
            results = json.loads(out.read_text()) if out.exists() else []
            results.append(result)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=1) + "\n")
            print(f"{name}: A {result['A']['macro_f1']:.3f}, B {result['B']['macro_f1']:.3f} "
                  f"({result['seconds']} s)", flush=True)
    results = sorted((r for r in results if r["set"] in names), key=lambda r: WRITERS.index(r["set"]))
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
