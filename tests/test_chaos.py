"""The proving ground, part 2 (issue 11, finding 10): crashes while mail arrives.

``triage run`` works a folder on the test Dovecot while a feeder APPENDs customer mail;
the test SIGKILLs triage at seeded random moments (a quarter in its start-up, the rest
once it is connected: mid-pass or idling), and a few times Dovecot too, and starts them
again. At the end every message in
the folder carries triage's labels, exactly the ones the state remembers for it, and
the state holds one row per UID: nothing unlabelled, nothing triaged twice. Nothing was
marked ``\\Seen``, moved or deleted.

Bounded: 12 kills of triage, 3 of them with Dovecot, 240 messages, a few minutes at
most (about a minute here); deterministic seeds; 127.0.0.1 only. Runs in ``make test``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import signal
import threading
import time
from collections import Counter

from dovecot import Dovecot
from test_imap_service import Box, box, message, password_env, services, write_config  # noqa: F401  (fixtures)

from triage.history import History
from triage.imap.labeler import keyword_for


SEED = 20261124
MESSAGES = 240
KILLS = 12
DOVECOT_KILLS = (3, 7, 10)
"""The kills at which Dovecot goes down too."""


class Feeder(threading.Thread):
    """APPENDs ``count`` customer messages with random pauses, riding out Dovecot's
    crashes (an APPEND cut by one may or may not have been stored: the test compares
    with what the folder holds, not with this list)."""

    def __init__(self, dovecot: Dovecot, folder: str, count: int, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.dovecot, self.folder, self.count, self.rng = dovecot, folder, count, rng
        # Bursts: most messages right after the one before, then a pause of about a second.
        self.pauses = [0.0 if rng.random() < 0.8 else rng.expovariate(1.0) for _ in range(count)]
        self.uids: list[int] = []
        self.failures = 0

    def run(self) -> None:
        for i, pause in enumerate(self.pauses):
            time.sleep(pause)
            raw = message(f"chaos{i}", sender=f"customer{i % 60}@customers.example")[1]
            while True:
                try:
                    with self.dovecot.client() as client:
                        answer = client.append(self.folder, raw)
                    self.uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", answer).group(1)))
                    break
                except Exception:  # Dovecot is down: try again shortly
                    self.failures += 1
                    time.sleep(0.2)


def wait_for(service, text: str, after: int = 0, timeout: float = 10.0) -> int:
    """:meth:`ServiceProcess.wait_for_log`, raising TimeoutError when the text does not
    come in time (and AssertionError, as there, when the service exits on its own)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [i for i, m in enumerate(service.messages()[after:], after) if text in m]
        if found:
            return found[0]
        if service.process.poll() is not None:
            raise AssertionError(f"the service exited ({service.process.returncode}) waiting for {text!r}: "
                                 + "\n".join(service.messages()[-20:]))
        if time.monotonic() > deadline:
            raise TimeoutError(text)
        time.sleep(0.01)


def folder_flags(dovecot: Dovecot, folder: str) -> dict[int, set[str]]:
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        answer = client.fetch(uids, ["FLAGS"]) if uids else {}
    return {uid: {f.decode() for f in data[b"FLAGS"]} - {"\\Recent"} for uid, data in answer.items()}


def triage_keywords(flags: set[str]) -> set[str]:
    return {flag for flag in flags if flag.lower().startswith("triage_")}


def test_sigkills_of_triage_and_dovecot_while_mail_arrives_label_every_message_exactly_once(
        box: Box, dovecot: Dovecot, services) -> None:
    rng = random.Random(SEED)
    config = write_config(box.config, dovecot, box.folder, imap={"batch_size": 3},
                          service={"reconnect_min_seconds": 0.05, "reconnect_max_seconds": 0.3})
    with dovecot.client() as client:
        folders_before = {name for _, _, name in client.list_folders()}
    feeder = Feeder(dovecot, box.folder, MESSAGES, rng)
    feeder.start()
    started = time.monotonic()
    killed_at: Counter[str] = Counter()
    try:
        for kill in range(KILLS):
            service = services(config)
            if kill % 4 == 3:  # in its start-up
                time.sleep(rng.uniform(0.2, 1.5))
            else:  # once it works: just after a batch (mid-pass, most likely), or any time
                # (After Dovecot's own crash a lock it left may hold the folder for a while;
                # triage keeps reconnecting meanwhile and is killed doing that.)
                with contextlib.suppress(TimeoutError):
                    mark = wait_for(service, "connected to", timeout=60)
                    if kill % 2 == 0:
                        wait_for(service, "triaged", after=mark, timeout=10)  # none came: killed idling
                time.sleep(rng.uniform(0.0, 0.1) if kill % 2 == 0 else rng.uniform(0.0, 2.5))
            service.process.send_signal(signal.SIGKILL)
            assert service.process.wait(10) == -signal.SIGKILL, "\n".join(service.messages()[-20:])  # ours, no crash
            for reader in service._readers:
                reader.join(5)
            log = service.messages()
            killed_at["start-up" if not any("connected to" in m for m in log) else
                      "idling" if log and "idling on" in log[-1] else "mid-pass"] += 1
            if kill in DOVECOT_KILLS:
                dovecot.stop()
                time.sleep(rng.uniform(0.1, 1.0))
                dovecot.start()
        feeder.join(timeout=300)
        assert not feeder.is_alive()

        service = services(config)  # the last one runs a whole pass, and until everything is labelled
        service.wait_for_log("idling on", timeout=240)
        service.wait_until(lambda: all(triage_keywords(f) for f in folder_flags(dovecot, box.folder).values()),
                           "every message labelled", timeout=240)
        assert service.stop() == 0
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nDovecot's log:\n{dovecot.log_tail(40)}") from None
    finally:
        if not dovecot._listening(dovecot.port):  # the session's other tests need it
            dovecot.start()

    flags = folder_flags(dovecot, box.folder)
    assert set(feeder.uids) <= set(flags) and len(flags) >= MESSAGES  # nothing deleted or moved
    assert not any({"\\Seen", "\\Deleted"} & f for f in flags.values())
    with History(box.state) as history:
        rows = history.db.execute("SELECT uid, labels FROM messages WHERE mailbox = ?", (box.folder,)).fetchall()
    per_uid = Counter(uid for uid, _ in rows)
    assert set(per_uid) == set(flags)  # every message triaged ...
    assert max(per_uid.values()) == 1, [uid for uid, n in per_uid.items() if n > 1]  # ... once
    for uid, labels in rows:  # and carries exactly what the state says it does
        assert triage_keywords(flags[uid]) == {keyword_for(label) for label in json.loads(labels)}, uid
    with dovecot.client() as client:
        assert {name for _, _, name in client.list_folders()} == folders_before  # no folder made or moved to
    print(f"\nchaos: {len(flags)} messages, {KILLS} kills of triage ({len(DOVECOT_KILLS)} with Dovecot; "
          f"{dict(killed_at)}), {feeder.failures} APPENDs retried, {time.monotonic() - started:.0f} s")
