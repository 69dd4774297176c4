"""The least a labeller that waits for new mail can do: the floor of new-mail latency.

One connection, IDLE on the folder; on EXISTS it leaves IDLE, asks for the UIDs above the
last one it handled (``UID SEARCH``), fetches them with ``BODY.PEEK[]``, parses each with
mail-parser, and stores one keyword on all of them with a single ``STORE +FLAGS.SILENT``
(``triage_floor``, which the benchmarks' keyword watcher counts as a label), then IDLEs
again. No threading, no state, no classification, no sweep: any real labeller on the same
server does at least this, so its APPEND -> keyword time under load is what the server
allows. ``benchmarks/latency_under_load.py --floor`` runs it beside triage on the same
mailbox and arrivals.

    TRIAGE_BENCH_PASSWORD=... .venv/bin/python benchmarks/idle_floor.py --port 10143 --folder bench
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import mailparser
from imapclient import IMAPClient

KEYWORD = "triage_floor"


def serve(client: IMAPClient, folder: str, stop: list[bool]) -> None:
    """Label every message that arrives in ``folder`` until ``stop[0]``."""
    client.select_folder(folder)
    last = max(client.search(["ALL"]) or [0])
    while not stop[0]:
        client.idle()
        while not stop[0] and not any(len(r) > 1 and r[1] == b"EXISTS" for r in client.idle_check(timeout=0.5)):
            pass
        client.idle_done()
        new = [uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last]
        if not new:
            continue
        for data in client.fetch(new, ["BODY.PEEK[]"]).values():
            mailparser.parse_from_bytes(data[b"BODY[]"])
        client.add_flags(new, [KEYWORD], silent=True)
        last = max(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="support")
    parser.add_argument("--password-env", default="TRIAGE_BENCH_PASSWORD")
    parser.add_argument("--folder", required=True)
    args = parser.parse_args()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    client = IMAPClient(args.host, port=args.port, ssl=False)
    client.login(args.user, os.environ[args.password_env])
    print("idling", flush=True)
    try:
        serve(client, args.folder, stop)
    finally:
        client.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main())
