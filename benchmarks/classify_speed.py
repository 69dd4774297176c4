"""How fast triage decides, without a server: parsing, and the model (categories and tone
from one vectorisation, as the engine runs it), timed apart; the tone model's own share
is timed too (its lexicon and cues over the text, its word model over the shared features).

Reads every .eml of data/corpus (repeated to at least --messages), then times each stage
on one core, in CPU seconds of this process (steady on a shared machine, where wall
time is not; the work is single-threaded). Usage:

    .venv/bin/python benchmarks/classify_speed.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from triage.message import RawMail
from triage.modelstore import REPO_ROOT, resolve_model
from triage.parsing import parse_message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    files = sorted((REPO_ROOT / "data" / "corpus").rglob("*.eml"))
    raws = [RawMail(f.read_bytes(), "bench", f.name) for f in itertools.islice(itertools.cycle(files), args.messages)]
    model, _ = resolve_model(None)
    tone = model.tone
    model.scores(["warm up"])

    started = time.process_time()
    messages = [parse_message(r) for r in raws]
    parse_s = time.process_time() - started

    texts = [m.classifier_text for m in messages]
    human = [not m.automated for m in messages]
    started = time.process_time()
    for start in range(0, len(texts), 200):
        model.scores_and_tone(texts[start:start + 200], human[start:start + 200])
    model_s = time.process_time() - started

    batches = [texts[start:start + 200] for start in range(0, len(texts), 200)]
    shared = tone.shares_features_with(model.features)
    features = [model.features.transform(batch) if shared else None for batch in batches]
    started = time.process_time()
    for batch, matrix in zip(batches, features):
        tone.scores(batch, matrix)
    tone_s = time.process_time() - started

    n = len(raws)
    mb = sum(len(r.raw) for r in raws) / 1e6
    print(f"{n} messages ({mb:.1f} MB) from {len(files)} distinct files, one core")
    for stage, seconds in (("parse (mail-parser + quote strip)", parse_s),
                           ("categories + tone (batches of 200)", model_s),
                           ("  of which tone alone", tone_s), ("parse + categories + tone", parse_s + model_s)):
        print(f"  {stage:<36} {n / seconds:>8.0f} msg/s  {1e6 * seconds / n:>6.0f} µs/msg  ({seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
