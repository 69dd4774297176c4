"""The naive peer triage is measured against: what a 28-line script does, on one core.

It fetches every message of an IMAP folder with ``BODY.PEEK[]`` in batches of 500, parses
each with ``mailparser.parse_from_bytes``, classifies subject + text with TF-IDF over word
1-2-grams and a logistic regression trained on ``data/corpus`` (one class per message: the
corpus folder it sits in), and writes the answer back with one ``STORE +FLAGS`` per
predicted category per batch (keywords ``naive_<category>``, which triage never reads as
its own). One process, BLAS held to one thread. No threading, no state, no
frustration, no priorities, no history: the floor any real triage should beat.

The core is :func:`train` and :func:`run` (the 28 lines); the rest is the command line.
Training is timed apart from the pass (``train_seconds``); ``rate`` is messages per
second of the pass alone: fetch, parse, classify, store (``cpu_seconds``: its CPU time).

    TRIAGE_BENCH_PASSWORD=... .venv/bin/python benchmarks/naive_baseline.py --port 10143 \\
        --folder bench [--user support] [--password-env TRIAGE_BENCH_PASSWORD] [--json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core: before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import mailparser  # noqa: E402
from imapclient import IMAPClient  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


# -- the 28 lines -------------------------------------------------------------------------


def text_of(mail) -> str:
    return (mail.subject or "") + "\n" + ("\n".join(mail.text_plain) or mail.body or "")


def train(corpus: Path):
    texts, labels = [], []
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.eml")):
            texts.append(text_of(mailparser.parse_from_bytes(path.read_bytes())))
            labels.append(folder.name)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(max_iter=1000))
    return model.fit(texts, labels)


def run(client: IMAPClient, folder: str, model, batch_size: int = 500) -> int:
    client.select_folder(folder)
    uids = sorted(client.search("ALL"))
    for start in range(0, len(uids), batch_size):
        fetched = client.fetch(uids[start:start + batch_size], ["BODY.PEEK[]"])
        ids = list(fetched)
        texts = [text_of(mailparser.parse_from_bytes(fetched[uid][b"BODY[]"])) for uid in ids]
        by_label = defaultdict(list)
        for uid, label in zip(ids, model.predict(texts)):
            by_label[label].append(uid)
        for label, group in by_label.items():  # one STORE per category per batch
            client.add_flags(group, [f"naive_{label}"])
    return len(uids)


# -- the command line ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="support")
    parser.add_argument("--password-env", default="TRIAGE_BENCH_PASSWORD", help="environment variable with the password")
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    password = os.environ.get(args.password_env)
    if password is None:
        parser.error(f"set {args.password_env} to the IMAP password")

    started = time.perf_counter()
    model = train(args.corpus)
    train_seconds = time.perf_counter() - started
    client = IMAPClient(args.host, args.port, ssl=False, timeout=120)
    try:
        client.login(args.user, password)
        started, cpu = time.perf_counter(), time.process_time()
        count = run(client, args.folder, model, args.batch_size)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - the figures are what matters here
            pass
    result = {"messages": count, "seconds": round(seconds, 3), "rate": round(count / seconds, 1) if seconds else None,
              "cpu_seconds": round(cpu, 3), "train_seconds": round(train_seconds, 2)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"naive baseline: {count} messages in {seconds:.1f} s = {result['rate']} msg/s "
              f"(training on {args.corpus.name}: {train_seconds:.1f} s, not counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
