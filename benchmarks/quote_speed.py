"""How long finding the sender's newest words takes, per message, on one core.

Bodies are parsed first (triage.parsing.parse_message, untimed); then
triage.quotes.newest_words runs over every body, a few rounds, and the best round is
reported in microseconds per message. Two mixes, reported apart:

- realistic mail: a folder of .eml files, such as the 2–20 KB synthetic support mail of
  ``imapload.py --dump DIR --count 2000 --seed 7`` (about a third replies with history);
- the corpus: every .eml of data/corpus and the sample inbox (about 1 KB each).

Usage (from the repository root):

    .venv/bin/python benchmarks/quote_speed.py [--mail DIR] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from triage.errors import MessageParseError
from triage.message import RawMail
from triage.modelstore import REPO_ROOT
from triage.parsing import parse_message
from triage.quotes import newest_words


def bodies_of(files: list[Path]) -> list[str]:
    """The plain-text bodies of the readable messages among ``files``."""
    bodies = []
    for path in files:
        try:
            bodies.append(parse_message(RawMail(path.read_bytes(), "bench", path.name)).body_text)
        except MessageParseError:
            continue
    return bodies


def microseconds_per_message(bodies: list[str], rounds: int) -> tuple[float, float]:
    """Best and median round, in µs per body."""
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for body in bodies:
            newest_words(body)
        timings.append((time.perf_counter() - started) / len(bodies) * 1e6)
    return min(timings), statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mail", type=Path, help="a folder of .eml files (realistic mail)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    mixes = []
    if args.mail:
        mixes.append((f"realistic ({args.mail})", sorted(args.mail.rglob("*.eml"))))
    corpus = sorted((REPO_ROOT / "data" / "corpus").rglob("*.eml")) + sorted(
        p for p in (REPO_ROOT / "samples").rglob("*") if p.is_file())
    mixes.append(("corpus (data/corpus + samples)", corpus))
    for name, files in mixes:
        bodies = bodies_of(files)
        size = statistics.median(len(b) for b in bodies)
        best, median = microseconds_per_message(bodies, args.rounds)
        print(f"{name}: {len(bodies)} bodies, median {size / 1000:.1f} k chars; "
              f"newest_words {best:.0f} µs/message (best of {args.rounds}; median round {median:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
