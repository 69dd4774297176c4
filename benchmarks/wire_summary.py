"""Where a wire trace's time went, per kind of IMAP command (see ``benchmarks/wiretrace``).

For each kind (``UID STORE +``, ``UID FETCH (BODY…``, ``NOOP``…): how many were sent, the
round trips' wall time (sum, mean, p95; pipelined commands overlap, so their walls add up
to more than the time passed) and Dovecot's own time for them (the first figure of its
``(a + b + c secs)``; the last is its sync of the folder at the command's end, which on a
big Maildir with mail arriving is a re-read of the folder, nearly all of ``a``).

    .venv/bin/python benchmarks/wire_summary.py /tmp/wire.txt
"""

from __future__ import annotations

import argparse
import re
import signal
from collections import defaultdict
from pathlib import Path

SENT = re.compile(r"([\d.]+) > (\S+) (.*)")
ANSWERED = re.compile(r"([\d.]+) < (\S+) (?:OK|NO|BAD) .*\(([\d.]+) \+ [\d.]+(?: \+ ([\d.]+))? secs\)")


def kind_of(command: str) -> str:
    """A command line's kind: its name, with what tells its cost apart (STORE + or -,
    what a FETCH asks for, a SEARCH by UID, by MODSEQ or by MODSEQ and ANSWERED)."""
    words = command.split()
    if not words:
        return "?"
    name = " ".join(words[:2]) if words[0].upper() == "UID" and len(words) > 1 else words[0]
    if name.upper() == "UID STORE":
        return f"{name} {'+' if '+FLAGS' in command.upper() else '-' if '-FLAGS' in command.upper() else ''}".rstrip()
    if name.upper() == "UID FETCH" and "(" in command:
        return f"{name} ({command.split('(', 1)[1][:14]}"
    if name.upper() == "UID SEARCH" and len(words) > 2:
        return f"{name} {words[2]}" + (" ANSWERED" if "ANSWERED" in command else "")
    return name


def summarise(lines: list[str]) -> list[tuple[str, int, list[float], float, float]]:
    """(kind, count, walls, Dovecot's time, Dovecot's sync time) per kind, the
    costliest (by wall) first."""
    sent: dict[str, tuple[float, str]] = {}
    walls: dict[str, list[float]] = defaultdict(list)
    server: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for line in lines:
        if found := SENT.match(line):
            sent[found[2]] = (float(found[1]), kind_of(found[3]))
        elif (found := ANSWERED.match(line)) and found[2] in sent:
            started, kind = sent.pop(found[2])
            walls[kind].append(float(found[1]) - started)
            server[kind][0] += float(found[3])
            server[kind][1] += float(found[4] or 0)
    return sorted(((kind, len(w), sorted(w), *server[kind]) for kind, w in walls.items()), key=lambda r: -sum(r[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", type=Path)
    args = parser.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # piped into head: stop quietly
    rows = summarise(args.trace.read_text(errors="replace").splitlines())
    print(f"{'command':32s} {'count':>6s} {'wall s':>8s} {'mean ms':>8s} {'p95 ms':>8s} {'Dovecot s':>10s} {'its sync s':>10s}")
    for kind, count, walls, spent, sync in rows:
        p95 = walls[min(len(walls) - 1, int(len(walls) * 0.95))]
        print(f"{kind:32s} {count:6d} {sum(walls):8.2f} {sum(walls) / count * 1000:8.1f} {p95 * 1000:8.1f} "
              f"{spent:10.2f} {sync:10.2f}")


if __name__ == "__main__":
    main()
