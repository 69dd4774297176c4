"""The least a labeller that waits for new mail can do: the floor of new-mail latency.

One connection, IDLE on the folder; on EXISTS it leaves IDLE, asks for the UIDs above the
last one it handled (``UID SEARCH``), fetches them with ``BODY.PEEK[]``, parses each with
mail-parser, and stores one keyword on all of them with a single ``STORE +FLAGS.SILENT``
(``triage_floor``, which the benchmarks' keyword watcher counts as a label); then it looks
again (mail that arrived meanwhile was announced in the answers to those commands, and
IDLE announces only what is new after it starts), and IDLEs when nothing is new. No
threading, no state, no classification, no sweep: any real labeller on the same server
does at least this, so its APPEND -> keyword time under load is what the server allows.
``benchmarks/latency_under_load.py --floor`` runs it beside triage on the same mailbox and
arrivals.

``--label-sets N`` makes it a labeller whose messages do not all get the same labels: the
new messages are split into N groups (by UID) and each group gets its own keywords
(``triage_floor`` and ``triage_floor_set<i>``), one STORE a group, sent in one write. A
STORE is one keyword set on a set of messages, so a labeller needs one per distinct set
of labels in a pass; on a busy Maildir each command costs the server a look at the
folder, and under load that, not the messages written, is most of a pass.

    TRIAGE_BENCH_PASSWORD=... .venv/bin/python benchmarks/idle_floor.py --port 10143 --folder bench [--label-sets 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import mailparser
from imapclient import IMAPClient
from imapclient.imapclient import join_message_ids, seq_to_parenstr

KEYWORD = "triage_floor"


def serve(client: IMAPClient, folder: str, stop: list[bool], label_sets: int = 1) -> None:
    """Label every message that arrives in ``folder`` until ``stop[0]``, with
    ``label_sets`` different keyword sets a pass (see the module docstring)."""
    client.select_folder(folder)
    last = max(client.search(["ALL"]) or [0])
    new: list[int] = []
    announced = client._imap.untagged_responses  # EXISTS the answers of its commands carried
    while not stop[0]:
        if not new and not announced.pop("EXISTS", None):
            client.idle()
            while not stop[0] and not any(len(r) > 1 and r[1] == b"EXISTS" for r in client.idle_check(timeout=0.5)):
                pass
            client.idle_done()
        announced.pop("EXISTS", None)
        # Mail the server announces in the SEARCH's answer, after the SEARCH ran, is not in
        # its result and would not wake the IDLE either: looked for again at once.
        new = [uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last]
        if not new:
            continue
        for data in client.fetch(new, ["BODY.PEEK[]"]).values():
            mailparser.parse_from_bytes(data[b"BODY[]"])
        store(client, new, label_sets)
        last = max(new)


def store(client: IMAPClient, uids: list[int], label_sets: int) -> None:
    """One STORE of ``triage_floor`` on ``uids``, or with ``label_sets`` > 1 one STORE per
    group of them (by UID), each with its own second keyword, sent in one write and then
    answered (as triage sends its label sets: Dovecot reads at most four commands ahead,
    and one it has not read when the first ends waits for another look at the folder)."""
    if label_sets <= 1:
        client.add_flags(uids, [KEYWORD], silent=True)
        return
    groups: dict[int, list[int]] = {}
    for uid in uids:
        groups.setdefault(uid % label_sets, []).append(uid)
    imap = client._imap
    written: list[bytes] = []
    imap.send = written.append  # collect the command lines: all of them go in one write, as triage's
    try:
        tags = [imap._command("UID", "STORE", join_message_ids(group), "+FLAGS.SILENT",
                              seq_to_parenstr([KEYWORD, f"{KEYWORD}_set{i}"]))
                for i, group in sorted(groups.items())]
    finally:
        del imap.send
    imap.send(b"".join(written))
    for tag in tags:
        status, text = imap._command_complete("UID", tag)
        imap.untagged_responses.pop("FETCH", None)
        if status != "OK":
            raise SystemExit(f"STORE refused: {status} {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="support")
    parser.add_argument("--password-env", default="TRIAGE_BENCH_PASSWORD")
    parser.add_argument("--folder", required=True)
    parser.add_argument("--label-sets", type=int, default=1,
                        help="keyword sets a pass, one STORE each (default 1: one STORE on all new mail)")
    args = parser.parse_args()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    client = IMAPClient(args.host, port=args.port, ssl=False)
    client.login(args.user, os.environ[args.password_env])
    print("idling", flush=True)
    try:
        serve(client, args.folder, stop, args.label_sets)
    finally:
        client.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main())
