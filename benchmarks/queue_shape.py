"""The shape of the queue on a backlog: how many waiting conversations are P1, and
whether frustrated customers come before calm questions.

Builds a Maildir of a mixed support backlog — customers writing over the last --days
days, some writing again while they wait, the team answering most of the older
conversations and fewer of the recent ones, machine-sent mail in between — from the
held-out mail (data/holdout, data/holdout2: text the model never trained on), runs
`triage once` over it with --now, and reads the queue back with `triage report`.
Prints, from one run:

- waiting conversations and their share per priority (P1 must stay scarce: ≤ 20 %);
- frustrated vs calm: of every pair (a frustrated customer's conversation, a calm
  no-category question), how many rank the frustrated one strictly first;
- the same for the demo inbox (samples/inbox).

    .venv/bin/python benchmarks/queue_shape.py [--messages 2000] [--days 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
TEAM = "help@shop.example"
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_DROP = re.compile(rb"(?im)^(from|to|date|message-id|in-reply-to|references|subject|x-corpus-[\w-]+):[^\n]*\n(?:[ \t][^\n]*\n)*")


def texts() -> list[bytes]:
    """The held-out mail, as sources of customers' words (headers are rewritten)."""
    files = sorted({p.name: p for d in ("holdout", "holdout2") for p in (ROOT / "data" / d).rglob("*.eml")}.values())
    return [p.read_bytes() for p in files]


def message(raw: bytes, *, sender: str, to: str, subject: str, date: datetime, message_id: str,
            in_reply_to: str | None = None) -> bytes:
    head, _, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw else raw.partition(b"\r\n\r\n")
    head = _DROP.sub(b"", head.replace(b"\r\n", b"\n") + b"\n")
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {format_datetime(date)}",
             f"Message-ID: {message_id}"] + ([f"In-Reply-To: {in_reply_to}"] if in_reply_to else [])
    return ("\n".join(lines) + "\n").encode() + head.rstrip(b"\n") + b"\n\n" + body.replace(b"\r\n", b"\n")


def subject_of(raw: bytes) -> str:
    match = re.search(rb"(?im)^subject:[ \t]*(.*)$", raw)
    return match.group(1).decode("utf-8", "replace").strip() if match else ""


def build(folder: Path, count: int, days: int, rng: random.Random) -> int:
    """Write the backlog; returns how many messages."""
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    sources = texts()
    written = n = 0
    while written < count:
        n += 1
        customer = f"Customer {n} <c{n}@mail.example>"
        start = NOW - timedelta(days=rng.uniform(0, days))
        raw = rng.choice(sources)
        subject = subject_of(raw) or "Question"
        first_id = f"<c{n}-1@mail.example>"
        mails = [message(raw, sender=customer, to=TEAM, subject=subject, date=start, message_id=first_id)]
        age_days = (NOW - start).days
        answered = rng.random() < (0.85 if age_days > 7 else 0.4)
        when = start
        if answered:
            when += timedelta(hours=rng.uniform(2, 72))
            if when < NOW:
                mails.append(message(b"\n\nThanks for getting in touch, this is sorted now.\n", sender=f"Sam <{TEAM}>",
                                     to=f"c{n}@mail.example", subject=f"Re: {subject}", date=when,
                                     message_id=f"<t{n}@shop.example>", in_reply_to=first_id))
        for k in range(2, 2 + rng.choice([0, 0, 0, 1, 1, 2])):  # writing again, answered or not
            when += timedelta(hours=rng.uniform(6, 120))
            if when >= NOW:
                break
            mails.append(message(rng.choice(sources), sender=customer, to=TEAM, subject=f"Re: {subject}", date=when,
                                 message_id=f"<c{n}-{k}@mail.example>", in_reply_to=first_id))
        for i, data in enumerate(mails):
            (folder / "cur" / f"{n}.{i}.bench:2,S").write_bytes(data)
            written += 1
    return written


def queue(folder: Path, state: Path) -> list[dict]:
    """Run `triage once` over the folder, then `triage report --format json`."""
    python = sys.executable
    subprocess.run([python, "-m", "triage", "once", str(folder), "--state", str(state), "--now", NOW.isoformat(),
                    "--support-address", TEAM, "--support-address", "help@larkspur.example", "--format", "jsonl"],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    report = subprocess.run([python, "-m", "triage", "report", "--state", str(state), "--now", NOW.isoformat(),
                             "--format", "json"], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(report.stdout)


def shape(rows: list[dict]) -> dict:
    """Priority shares and the frustrated-before-calm pair count of a report."""
    total = len(rows) or 1
    shares = {p: sum(r["priority"] == p for r in rows) / total for p in (1, 2, 3, 4)}
    rank = {r["thread_id"]: i for i, r in enumerate(rows)}
    frustrated = [r for r in rows if r["frustrated"]]
    calm = [r for r in rows if not r["frustrated"] and r["categories"] == ["other"]]
    pairs = [(f, c) for f in frustrated for c in calm]
    ahead = sum(rank[f["thread_id"]] < rank[c["thread_id"]] for f, c in pairs)
    return {"waiting": len(rows), "shares": shares, "pairs": len(pairs), "frustrated_first": ahead,
            "overdue": sum(r["overdue"] for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        count = build(tmp / "backlog", args.messages, args.days, random.Random(args.seed))
        results[f"backlog of {count} messages over {args.days} days"] = shape(queue(tmp / "backlog", tmp / "b.db"))
        results["demo inbox (samples/inbox)"] = shape(queue(ROOT / "samples" / "inbox", tmp / "d.db"))
    print("| inbox | waiting conversations | P1 | P2 | P3 | overdue | frustrated ranked before calm questions |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        s = r["shares"]
        print(f"| {name} | {r['waiting']} | {s[1]:.0%} | {s[2]:.0%} | {s[3]:.0%} | {r['overdue']} | "
              f"{r['frustrated_first']} of {r['pairs']} pairs |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
