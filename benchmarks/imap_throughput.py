"""How fast triage works a real IMAP mailbox, against the floors set by its libraries.

Loads N messages (the .eml files under data/, cycled, each with a unique Message-ID) into
a throwaway Dovecot (tests/dovecot.py) and prints, from one run:

- the raw fetch floor: a bare imapclient loop fetching every body with BODY.PEEK[] in
  batches of the same size triage uses;
- the parse floor: that loop plus mailparser.parse_from_bytes on every message, in one
  process — the least any triage built on these libraries can cost;
- triage's own end-to-end rate: ``triage once`` over IMAP with a fresh state file,
  labels written, rows to a file; its startup (an empty pass) is timed apart too;
- triage's peak memory: the max RSS of its largest process (os.wait4);
- both ratios, and the latency from APPEND to labels stored while ``triage run`` IDLEs
  (median of --latency-samples; Dovecot itself takes about 0.5 s to wake IDLE).

Usage (needs dovecot-imapd; as root the mail processes run as ``nobody``):

    .venv/bin/python benchmarks/imap_throughput.py [--messages 10000] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import mailparser
from imapclient import IMAPClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from dovecot import PASSWORD, PASSWORD_ENV, Dovecot, find_dovecot, sample_message  # noqa: E402

FOLDER = "bench"
_MESSAGE_ID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")


# -- the mailbox ------------------------------------------------------------------------


def corpus_messages(count: int) -> Iterator[bytes]:
    """``count`` messages from data/**/*.eml, cycled, each with its own Message-ID."""
    files = sorted((ROOT / "data").rglob("*.eml"))
    if not files:
        raise SystemExit("no .eml files under data/")
    for i, path in enumerate(itertools.islice(itertools.cycle(files), count)):
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        head, sep, body = raw.partition(b"\n\n")
        head = _MESSAGE_ID.sub(b"", head + b"\n").rstrip(b"\n")
        yield b"Message-ID: <bench-%d@triage.invalid>\n" % i + head + sep + body


def load_maildir(dovecot: Dovecot, count: int) -> int:
    """Write ``count`` messages straight into the folder's Maildir (``cur/``, unseen), owned
    by the mail user; much faster than APPEND. Returns the bytes written."""
    dovecot.create_folder(FOLDER)
    maildir = dovecot.maildir(FOLDER)
    owner = maildir.stat()
    total = 0
    stamp = int(time.time())
    for i, raw in enumerate(corpus_messages(count)):
        path = maildir / "cur" / f"{stamp}.M{i}P{os.getpid()}.bench,S={len(raw)}:2,"
        path.write_bytes(raw)
        os.chown(path, owner.st_uid, owner.st_gid)
        total += len(raw)
    return total


def warm_up(dovecot: Dovecot) -> list[int]:
    """Let Dovecot index the new files (and the page cache fill) before anything is timed."""
    with dovecot.client() as client:
        client.select_folder(FOLDER, readonly=True)
        uids = sorted(client.search("ALL"))
        for start in range(0, len(uids), 1000):
            client.fetch(uids[start:start + 1000], ["RFC822.SIZE", "FLAGS", "INTERNALDATE"])
    return uids


# -- the floors -------------------------------------------------------------------------


def fetch_floor(dovecot: Dovecot, uids: list[int], batch_size: int, parse: bool) -> float:
    """Seconds for a bare imapclient loop over every body (and mail-parser on each)."""
    started = time.perf_counter()
    with dovecot.client() as client:
        client.select_folder(FOLDER, readonly=True)
        for start in range(0, len(uids), batch_size):
            answer = client.fetch(uids[start:start + batch_size], ["BODY.PEEK[]"])
            if parse:
                for data in answer.values():
                    mailparser.parse_from_bytes(data[b"BODY[]"])
    return time.perf_counter() - started


# -- triage -----------------------------------------------------------------------------


def write_config(dovecot: Dovecot, workdir: Path, batch_size: int) -> Path:
    config = workdir / "triage.toml"
    config.write_text(
        f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.port}\nsecurity = "plain"\nusername = "support"\n'
        f'password_env = "{PASSWORD_ENV}"\nfolder = "{FOLDER}"\nbatch_size = {batch_size}\n'
        f'[state]\npath = "{workdir / "state.db"}"\n'
    )
    return config


def triage_env() -> dict[str, str]:
    return {**os.environ, PASSWORD_ENV: PASSWORD}


def timed_once(config: Path, state: Path, rows: Path) -> tuple[float, int]:
    """(wall seconds, max RSS in KiB of the largest process) of one ``triage once``."""
    with rows.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "triage", "once", "--config", str(config),
                                    "--state", str(state), "--format", "jsonl"], stdout=out, env=triage_env())
        _, status, usage = os.wait4(process.pid, 0)  # reaps it with its rusage (workers included)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
    if process.returncode != 0:
        raise SystemExit(f"triage once failed with status {process.returncode}")
    return seconds, usage.ru_maxrss


class Service:
    """``triage run`` in the background; :meth:`wait_for` reads its JSON log."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "triage", "run", "--config", str(config), "-v", "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=triage_env())
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(json.loads(line)["message"])

    def wait_for(self, text: str, after: int = 0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines[after:]):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"triage run: no {text!r} in its log:\n" + "\n".join(self.lines[-10:]))
            time.sleep(0.005)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def labelled(watcher: IMAPClient, uid: int) -> bool:
    """True once the message carries a triage keyword (NOOP first: the session must see it)."""
    watcher.noop()
    flags = watcher.fetch([uid], ["FLAGS"]).get(uid, {}).get(b"FLAGS", ())
    return any(flag.lower().startswith(b"triage_") for flag in flags)


def idle_latencies(dovecot: Dovecot, config: Path, samples: int) -> list[float]:
    """Seconds from APPEND to the first triage keyword on the message, under IDLE."""
    service = Service(config)
    latencies = []
    try:
        service.wait_for("idling on")
        with dovecot.client() as watcher:
            watcher.select_folder(FOLDER, readonly=True)
            for _ in range(samples):
                mark = len(service.lines)
                started = time.monotonic()
                uid = dovecot.append(FOLDER, sample_message(f"<idle-{uuid.uuid4().hex}@triage.invalid>"))
                while not labelled(watcher, uid):
                    if time.monotonic() - started > 30:
                        raise SystemExit(f"UID {uid} not labelled within 30 s")
                    time.sleep(0.005)
                latencies.append(time.monotonic() - started)
                service.wait_for("idling on", after=mark)
    finally:
        service.stop()
    return latencies


# -- the report -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the mailbox (default 10000)")
    parser.add_argument("--batch-size", type=int, default=500, help="messages per FETCH, as imap.batch_size")
    parser.add_argument("--latency-samples", type=int, default=10, help="APPENDs timed under IDLE (default 10)")
    args = parser.parse_args()
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # it warns about every part type it skips
    binary = find_dovecot()
    if binary is None:
        raise SystemExit("Dovecot is not installed (apt-get install dovecot-imapd)")

    dovecot = Dovecot(binary)
    dovecot.start()
    try:
        with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
            workdir = Path(tmp)
            started = time.perf_counter()
            size = load_maildir(dovecot, args.messages)
            uids = warm_up(dovecot)
            n = len(uids)
            print(f"{n} messages ({size / 1e6:.1f} MB) loaded into Dovecot in {time.perf_counter() - started:.1f} s; "
                  f"batches of {args.batch_size}; {os.cpu_count()} cores")

            raw_s = fetch_floor(dovecot, uids, args.batch_size, parse=False)
            parse_s = fetch_floor(dovecot, uids, args.batch_size, parse=True)

            config = write_config(dovecot, workdir, args.batch_size)
            dovecot.create_folder("empty")
            empty = workdir / "empty.toml"
            empty.write_text(config.read_text().replace(f'folder = "{FOLDER}"', 'folder = "empty"'))
            startup_s, _ = timed_once(empty, workdir / "empty.db", workdir / "empty.jsonl")
            triage_s, rss_kib = timed_once(config, workdir / "state.db", workdir / "rows.jsonl")
            rows = sum(1 for _ in (workdir / "rows.jsonl").open())
            latencies = idle_latencies(dovecot, config, args.latency_samples)
    finally:
        dovecot.close()

    raw_rate, parse_rate, triage_rate = n / raw_s, n / parse_s, n / triage_s
    steady_rate = n / max(triage_s - startup_s, 1e-9)
    print(f"  {'raw fetch floor (imapclient, BODY.PEEK[])':<48} {raw_rate:>8.0f} msg/s  ({raw_s:.1f} s)")
    print(f"  {'parse floor (+ mailparser.parse_from_bytes)':<48} {parse_rate:>8.0f} msg/s  ({parse_s:.1f} s)")
    print(f"  {'triage once, end to end (labels written)':<48} {triage_rate:>8.0f} msg/s  ({triage_s:.1f} s, "
          f"{rows} rows)")
    print(f"  {'  without its startup (an empty pass)':<48} {steady_rate:>8.0f} msg/s  ({startup_s:.1f} s startup)")
    print(f"  {'triage / raw fetch floor':<48} {triage_rate / raw_rate:>8.3f}")
    print(f"  {'triage / parse floor':<48} {triage_rate / parse_rate:>8.3f}")
    print(f"  {'triage peak memory (max RSS, largest process)':<48} {rss_kib / 1024:>8.0f} MiB")
    print(f"  {'APPEND → labels stored under IDLE':<48} {statistics.median(latencies):>8.2f} s median "
          f"(min {min(latencies):.2f}, max {max(latencies):.2f}, {len(latencies)} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
