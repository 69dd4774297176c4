"""How long each word rule of :mod:`triage.rules` takes per message, on real-looking text.

Reads the labeled folders given (default: data/corpus), then times every rule over every
message's classifier text ("subject\\nnewest words"; the acknowledgement reads the newest
words, needs_no_reply the newest words and the subject), best of --repeats passes, on one
core. Each rule's cache of prepared text is cleared before each pass, so a rule pays for
lower-casing its text as it would when called alone.

The machine's own speed is printed beside them: one ``\\b``-led regex pass over the same
lower-cased texts (what a single-alternation rule cannot beat), so figures from a busy
machine can be read as multiples of it. Usage:

    .venv/bin/python benchmarks/rules_speed.py [--data DIR ...] [--repeats 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from triage import rules
from triage.labeled import load_labeled
from triage.modelstore import REPO_ROOT


def best_microseconds(call: Callable[..., object], arguments: Sequence[tuple], repeats: int) -> float:
    """The fastest of ``repeats`` passes over all arguments, in µs per call."""
    best = float("inf")
    for _ in range(repeats):
        rules._prepare.cache_clear()
        started = time.perf_counter()
        for argument in arguments:
            call(*argument)
        best = min(best, (time.perf_counter() - started) / len(arguments) * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", help="a labeled folder (repeatable); default data/corpus")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    messages = [example.message for folder in (args.data or [REPO_ROOT / "data" / "corpus"])
                for example in load_labeled(folder).examples]
    if not messages:
        print("no messages", file=sys.stderr)
        return 1
    texts = [(m.classifier_text,) for m in messages]
    floor = re.compile(r"\bzzq")
    cases: dict[str, tuple[Callable[..., object], Sequence[tuple]]] = {
        "floor: lower + one \\b regex pass": (lambda text: floor.search(text.lower()), texts),
        "threat": (rules.threat, texts),
        "acknowledgement": (rules.acknowledgement, [(m.newest_text,) for m in messages]),
        "needs_no_reply": (rules.needs_no_reply, [(m.newest_text, m.subject) for m in messages]),
        "negated": (rules.negated, texts),
        "chasing": (rules.chasing, texts),
    }
    lengths = [len(text) for (text,) in texts]
    print(f"{len(messages)} messages, classifier text {statistics.mean(lengths):.0f} characters on average "
          f"(median {statistics.median(lengths):.0f}, max {max(lengths)})")
    results = {name: best_microseconds(call, arguments, args.repeats) for name, (call, arguments) in cases.items()}
    unit = results["floor: lower + one \\b regex pass"]
    for name, microseconds in results.items():
        print(f"{name:34} {microseconds:6.1f} µs per call  ({microseconds / unit:.1f}× the floor)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
