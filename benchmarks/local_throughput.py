"""End-to-end speed and peak memory of `triage once` over a local Maildir, no server.

Builds a Maildir of N messages in a temp dir (the corpus cycled, each copy with its own
Message-ID), runs `triage once --format jsonl` on it as a subprocess, and prints
messages per second and the peak resident memory. Compare --messages 10000 and 50000
to see that memory does not grow with the mailbox.

    .venv/bin/python benchmarks/local_throughput.py --messages 10000 [--workers 0]
"""

from __future__ import annotations

import argparse
import itertools
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_MSGID = re.compile(rb"^Message-ID:[^\n]*\n", re.IGNORECASE | re.MULTILINE)


def build_maildir(target: Path, count: int) -> int:
    """Write ``count`` messages into ``target`` (a Maildir); returns the bytes written."""
    (target / "cur").mkdir(parents=True)
    (target / "new").mkdir()
    sources = sorted((ROOT / "data").rglob("*.eml"))
    written = 0
    for index, source in enumerate(itertools.islice(itertools.cycle(sources), count)):
        raw = _MSGID.sub(b"", source.read_bytes(), count=1)
        raw = f"Message-ID: <bench-{index}@triage.bench>\n".encode() + raw
        (target / "cur" / f"{index}.bench:2,S").write_bytes(raw)
        written += len(raw)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=0, help="0 = one per core, 1 = single process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        maildir = Path(tmp) / "inbox"
        size = build_maildir(maildir, args.messages)
        config = Path(tmp) / "triage.toml"
        config.write_text(f"[triage]\nworkers = {args.workers}\n")
        command = [sys.executable, "-m", "triage", "once", str(maildir), "--format", "jsonl", "--config", str(config),
                   "--state", str(Path(tmp) / "state.db"), "--support-address", "support@example.com"]
        started = time.perf_counter()
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        rows = result.stdout.count(b"\n")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{args.messages} messages ({size / 1e6:.1f} MB), workers={args.workers or 'one per core'}: "
          f"{rows} rows in {seconds:.1f} s = {args.messages / seconds:.0f} msg/s end to end; "
          f"peak RSS of the largest triage process {peak_mb:.0f} MB; exit {result.returncode}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
