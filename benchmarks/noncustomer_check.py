"""Mail no customer wrote, through `triage once` as a user runs it: is it automated, and
does it stay without a category?

data/noncustomer holds one folder per kind (bounce, feedback, autoreply, list,
newsletter, notification, feed, spam, cjk, b2b); each message says whether a machine sent
it (``X-Expect-Automated: yes|no``). The odd-numbered files are the development half,
the even-numbered ones the held-out half: tune on the first, only report the second.

For each kind and half, the files are copied to a temporary folder and triaged by
``python -m triage once FOLDER --format jsonl`` with a fresh state file, the shipped
model and an empty config (no support addresses): exactly what a new user's first run
decides. Printed per kind: messages, automated (and how many the files expect), rows
with any category but ``other``, and every miss. Then the issue's targets (issue 9):
no category on at least 98 % of non-customer mail, every delivery and feedback report
automated.

A person's post to a mailing list counts as automated by design ("mailing list": see
triage/automated.py); the files call list posts not automated, so they are counted
apart, not as misses.

    .venv/bin/python benchmarks/noncustomer_check.py [--half dev|held-out|both] [--model FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "noncustomer"
REPORTS = ("bounce", "feedback")
"""Kinds every message of which must be automated (the issue's second target)."""
NO_CATEGORY_TARGET = 0.98
HALVES = {"dev": 1, "held-out": 0}
"""Half name -> the remainder of the file number modulo 2."""
_NUMBER = re.compile(r"-(\d+)\.eml$")


@dataclass
class Kind:
    """What `triage once` decided on one kind's files of one half."""

    name: str
    messages: int = 0
    expected_automated: int = 0
    automated: int = 0
    hits: int = 0
    agree: int = 0
    categorised: int = 0
    list_posts: int = 0
    misses: list[str] = field(default_factory=list)


def files_of(kind_dir: Path, half: str) -> list[Path]:
    """The kind's .eml files of one half (odd numbers: dev; even: held-out)."""
    remainder = HALVES[half]
    return sorted(p for p in kind_dir.glob("*.eml") if int(_NUMBER.search(p.name).group(1)) % 2 == remainder)


def expectations(path: Path) -> tuple[str, bool]:
    """(Message-ID, whether the file says a machine sent it)."""
    headers = BytesHeaderParser().parsebytes(path.read_bytes())
    expected = str(headers.get("X-Expect-Automated", "")).strip().lower() == "yes"
    return str(headers.get("Message-ID", "")).strip(), expected


def triage_once(files: list[Path], workdir: Path, model: str | None = None) -> list[dict]:
    """The JSON rows `triage once` prints for ``files`` (fresh state, empty config; the
    shipped model unless ``model`` names another)."""
    folder = workdir / "mail"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    config = workdir / "empty.toml"
    config.write_text("")
    state = workdir / "state.db"
    state.unlink(missing_ok=True)
    command = [sys.executable, "-m", "triage", "once", str(folder), "--format", "jsonl", "--config", str(config),
               "--state", str(state), "--now", "2026-06-01T00:00:00+00:00", *(["--model", model] if model else [])]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"triage once failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def check_kind(kind_dir: Path, half: str, workdir: Path, model: str | None = None) -> Kind:
    files = files_of(kind_dir, half)
    by_id = {message_id: (path.name, expected) for path in files for message_id, expected in [expectations(path)]}
    rows = triage_once(files, workdir, model)
    kind = Kind(kind_dir.name, messages=len(files))
    seen = set()
    for row in rows:
        name, expected = by_id.get(row["message_id"], (row["message_id"], None))
        seen.add(name)
        reason = _automated_reason(row)
        categories = [c for c in row["categories"] if c != "other"]
        kind.expected_automated += bool(expected)
        kind.automated += row["automated"]
        kind.hits += row["automated"] and bool(expected)
        kind.categorised += bool(categories)
        list_post = row["automated"] and not expected and reason == "mailing list"
        kind.list_posts += list_post
        if row["automated"] == expected:
            kind.agree += 1
        elif not list_post:
            kind.misses.append(f"{name}: expected {'automated' if expected else 'a person'}, got "
                               f"{'automated (' + reason + ')' if row['automated'] else 'not automated'}; "
                               f"from {row['from']}: {row['subject'][:60]!r}")
        if categories:
            kind.misses.append(f"{name}: category {','.join(categories)}; "
                               f"{'automated' if row['automated'] else 'not automated'}; {row['subject'][:60]!r}")
    for path in files:
        if path.name not in seen:
            kind.misses.append(f"{path.name}: no row")
    return kind


def _automated_reason(row: dict) -> str:
    """The automated reason as the row states it ("automated (bounce)")."""
    for reason in row.get("reasons", []):
        match = re.fullmatch(r"automated \((.+)\)", reason)
        if match:
            return match.group(1)
    return ""


def report(half: str, kinds: list[Kind]) -> bool:
    """Print one half's figures; True when both targets are met."""
    print(f"\n## {half} half ({'odd' if HALVES[half] else 'even'}-numbered files)\n")
    print("| kind | messages | automated / expected | agree | list posts (by design) | with a category |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in kinds:
        print(f"| {k.name} | {k.messages} | {k.automated} / {k.expected_automated} | {k.agree} | {k.list_posts} "
              f"| {k.categorised} |")
    total = sum(k.messages for k in kinds)
    no_category = 1 - sum(k.categorised for k in kinds) / total
    reports = [k for k in kinds if k.name in REPORTS]
    reports_automated = sum(k.automated for k in reports)
    reports_total = sum(k.messages for k in reports)
    expected = sum(k.expected_automated for k in kinds)
    found = sum(k.hits for k in kinds)
    print(f"\nno category: {no_category:.1%} of {total} (target >= {NO_CATEGORY_TARGET:.0%})"
          f" {'met' if no_category >= NO_CATEGORY_TARGET else 'NOT met'}")
    print(f"delivery and feedback reports automated: {reports_automated} of {reports_total}"
          f" {'met' if reports_automated == reports_total else 'NOT met'}")
    print(f"automated where the files expect it: {found} of {expected}; agreement with the files "
          f"{sum(k.agree for k in kinds)} of {total}, plus {sum(k.list_posts for k in kinds)} list posts by design")
    misses = [m for k in kinds for m in k.misses]
    if misses:
        print("\nmisses:")
        for miss in misses:
            print(f"- {miss}")
    return no_category >= NO_CATEGORY_TARGET and reports_automated == reports_total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half", choices=("dev", "held-out", "both"), default="both")
    parser.add_argument("--model", help="a model file to check instead of the shipped one (a candidate)")
    args = parser.parse_args()
    halves = ["dev", "held-out"] if args.half == "both" else [args.half]
    kind_dirs = sorted(p for p in DATA.iterdir() if p.is_dir())
    started = time.perf_counter()
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        for half in halves:
            kinds = [check_kind(d, half, Path(tmp), args.model) for d in kind_dirs]
            met &= report(half, kinds)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
