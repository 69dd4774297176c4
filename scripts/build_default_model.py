"""Rebuild the shipped model from the bundled corpus: `make model`.

Trains the category model (cross-validated thresholds) and the tone model on
data/corpus, scores both on data/holdout (never trained on), and writes
triage/models/default.joblib with its card. Deterministic for a given corpus and
library versions.
"""

from __future__ import annotations

import sys

from triage.labeled import load_labeled
from triage.model import save_model
from triage.modelstore import CORPUS_DIR, DEFAULT_MODEL, HOLDOUT_DIR, REPO_ROOT
from triage.progress import step_printer
from triage.training import train_model


def main() -> int:
    progress = step_printer()
    progress(f"reading {CORPUS_DIR.relative_to(REPO_ROOT)} and {HOLDOUT_DIR.relative_to(REPO_ROOT)}")
    corpus, holdout = load_labeled(CORPUS_DIR), load_labeled(HOLDOUT_DIR)
    model, card = train_model(corpus, holdout=holdout, progress=progress, source="data/corpus")
    card = save_model(model, DEFAULT_MODEL, card)
    cv, held, tone = card["cross_validation"], card["holdout"], card["tone"]
    print(f"wrote {DEFAULT_MODEL.relative_to(REPO_ROOT)}: categories macro-F1 {cv['macro_f1']:.3f} cross-validated, "
          f"{held['macro_f1']:.3f} held-out; frustration F1 {tone['cross_validation']['f1']:.3f} cross-validated, "
          f"{tone['holdout']['f1']:.3f} held-out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
