"""Rebuild the shipped model from the bundled corpus: `make model`.

Trains the category model (cross-validated thresholds), scores it on the held-out set it
never sees, fits the tone weights, and writes triage/models/default.joblib, its card and
tone.json. Deterministic for a given corpus and library versions.
"""

from __future__ import annotations

import json
import sys

from triage.labeled import load_labeled
from triage.model import save_model
from triage.modelstore import CORPUS_DIR, DEFAULT_MODEL, HOLDOUT_DIR, PACKAGE_MODELS
from triage.progress import step_printer
from triage.tone import TONE_WEIGHTS
from triage.training import fit_tone, tone_metrics, train_model


def main() -> int:
    progress = step_printer()
    progress(f"reading {CORPUS_DIR} and {HOLDOUT_DIR}")
    corpus, holdout = load_labeled(CORPUS_DIR), load_labeled(HOLDOUT_DIR)
    progress("fitting the tone weights")
    tone, tone_card = fit_tone(corpus)
    tone_card["holdout"] = tone_metrics(tone, holdout)
    TONE_WEIGHTS.write_text(json.dumps({**tone.to_json(), "card": tone_card}, indent=2) + "\n", encoding="utf-8")
    model, card = train_model(corpus, holdout=holdout, progress=progress, source="data/corpus")
    card["tone"] = tone_card
    card = save_model(model, DEFAULT_MODEL, card)
    cv, ho = card["cross_validation"], card["holdout"]
    print(f"wrote {DEFAULT_MODEL.relative_to(PACKAGE_MODELS.parent.parent)}: cross-validated macro-F1 "
          f"{cv['macro_f1']:.3f}, held-out macro-F1 {ho['macro_f1']:.3f}; tone F1 cv "
          f"{tone_card['cross_validation']['f1']:.3f}, held-out {tone_card['holdout']['f1']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
