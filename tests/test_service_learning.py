"""Issue 5 end to end: the running service (``python -m triage run`` in a subprocess,
against the test Dovecot) learns from people's label changes and picks up a new active
model without a restart.

Which model decided a message is read from its JSON Lines row: the ``scores`` of a row
are the deciding model's probabilities for the message's text, so they are compared with
what each candidate model computes offline for the same text (a fingerprint, to the
fourth decimal the rows carry). The labels on the server are checked as well.

The made-up product word of tests/test_learning.py does the teaching: the team's shop
calls a refund a "Zorblax credit", which the shipped model does not read as a refund.

Durations on a 2-core machine: the retraining test ~75 s alone, ~125 s while other test
runs share the CPU (the service retrains on the whole bundled corpus, as in production:
~65 s of it alone); the rollback test ~15 s (5 s of it training a small model); the
relabelling test ~2 s.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from dovecot import Dovecot
from helpers import eml
from test_imap_service import Box, box, password_env, services, write_config  # noqa: F401  (fixtures)
from test_learning import zorblax_mail

from triage import CATEGORIES
from triage.cli import main
from triage.config import Config
from triage.corrections import CorrectionStore, corrections_since
from triage.imap.labeler import keyword_for
from triage.labeled import LabeledSet, load_labeled
from triage.learning import is_held_out, retrain
from triage.message import RawMail
from triage.model import CategoryModel, load_model
from triage.modelstore import CORPUS_DIR, HOLDOUT_DIR, resolve_model
from triage.parsing import parse_message
from triage.registry import Registry

REFUND = keyword_for("triage/refund")
CATEGORY_KEYWORDS = {keyword_for(f"triage/{c}") for c in CATEGORIES}
DATE = "Mon, 23 Nov 2026 09:30:00 +0000"


def zorblax_message(message_id: str, text: str, sender: str) -> bytes:
    """A customer message whose subject and body are a :func:`zorblax_mail` text."""
    subject, _, body = text.partition("\n")
    return eml(sender=sender, to="support@example.com", subject=subject, body=body, date=DATE,
               message_id=message_id).replace(b"\n", b"\r\n")


def zorblax_messages(prefix: str, count: int, seed: int, ids: list[str] | None = None) -> dict[str, bytes]:
    """Message-ID -> raw bytes of ``count`` Zorblax messages from different customers."""
    rng = random.Random(seed)
    ids = ids or [f"<{prefix}-{i}@customers.example>" for i in range(count)]
    return {mid: zorblax_message(mid, zorblax_mail(rng), f"{prefix}{i}@customers.example")
            for i, mid in enumerate(ids)}


def scores_of(model: CategoryModel, raws: list[bytes]) -> list[dict[str, float]]:
    """What ``model`` says of each message, computed here, outside the service."""
    texts = [parse_message(RawMail(raw, "offline", str(i))).classifier_text for i, raw in enumerate(raws)]
    return model.scores(texts)


def same_scores(row: dict, expected: dict[str, float]) -> bool:
    """True when a row's scores are ``expected`` (rows carry four decimals)."""
    return row["scores"].keys() == expected.keys() and all(abs(row["scores"][k] - v) <= 2e-4
                                                            for k, v in expected.items())


def decided_by(rows: list[dict], raws: dict[str, bytes], model: CategoryModel) -> list[str]:
    """The Message-IDs among ``rows`` whose scores are ``model``'s for their text."""
    expected = scores_of(model, [raws[row["message_id"]] for row in rows])
    return [row["message_id"] for row, scores in zip(rows, expected) if same_scores(row, scores)]


def refund_share(rows: list[dict]) -> float:
    return sum("refund" in row["categories"] for row in rows) / len(rows)


def flags_of(dovecot: Dovecot, folder: str, uids: list[int]) -> dict[int, set[str]]:
    """Every message's flags and keywords, read in one FETCH."""
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        answer = client.fetch(uids, ["FLAGS"])
    return {uid: {flag.decode() for flag in answer[uid][b"FLAGS"]} for uid in uids}


def shipped_model() -> CategoryModel:
    return resolve_model(None)[0]


# -- (a) corrections -> retraining in the service -> reload -> the new model decides -----------


def ids_with_held_out(count: int, held: int) -> list[str]:
    """``count`` Message-IDs of which exactly ``held`` fall on the held-out side of the
    corrections split (fixed per Message-ID), so the retraining both learns from the
    corrections and is measured on some of them."""
    ids = [f"<zorblax-{i}@customers.example>" for i in range(200)]
    return [m for m in ids if is_held_out(m)][:held] + [m for m in ids if not is_held_out(m)][:count - held]


def relabel_as_refunds(dovecot: Dovecot, folder: str, uids: list[int]) -> None:
    """What a team member's mail client does (another connection): each message's
    category keywords replaced by ``triage_refund`` alone, in one STORE per message."""
    with dovecot.client() as client:
        client.select_folder(folder)
        for uid in uids:
            flags = {f.decode() for f in client.get_flags([uid])[uid]} - {"\\Recent"}
            client.set_flags([uid], sorted(flags - CATEGORY_KEYWORDS | {REFUND}))


def test_several_messages_relabelled_between_two_passes_are_all_recorded(box: Box) -> None:
    """The common case: a person fixes a few messages at once, one pass finds them all.
    (Recording the second correction must not wait for the pass's own write lock on the
    state file: it used to, 30 s, and then the pass failed with "database is locked".)"""
    raws = zorblax_messages("several", 3, seed=7)
    uids = {mid: box.append(raw) for mid, raw in raws.items()}
    code, rows, _ = box.once()
    assert code == 0 and len(rows) == 3
    changed = [mid for mid in raws if next(r for r in rows if r["message_id"] == mid)["categories"] != ["refund"]]
    assert len(changed) >= 2

    relabel_as_refunds(box.dovecot, box.folder, [uids[mid] for mid in raws])
    code, rows, err = box.once()

    assert code == 0 and rows == [], err
    recorded = corrections_since(box.state)
    assert sorted(c.message_id for c in recorded) == sorted(changed)
    assert all(c.after == ("refund",) for c in recorded)
    assert box.once()[0] == 0 and len(corrections_since(box.state)) == len(changed)  # stored labels updated


@pytest.mark.slow  # trains models for minutes; CI runs it (make test-slow)
def test_the_service_retrains_after_enough_corrections_and_decides_new_mail_with_the_new_model(
        box: Box, services) -> None:
    """A person relabels Zorblax mail as refunds in their client; after
    ``retrain_after_corrections`` of them the service retrains on its own, activates the
    new model (not worse on the held-out mail) and reloads: the same phrasing that was no
    refund before is one now, decided by the new model."""
    threshold, taught = 8, 10
    write_config(box.config, box.dovecot, box.folder, model={"retrain_after_corrections": threshold},
                 service={"idle_seconds": 2.0})  # a pass (and so a look for corrections) at least every 2 s
    shipped = shipped_model()
    registry = Registry.for_state(box.state)
    corrected = zorblax_messages("zorblax", taught, seed=11, ids=ids_with_held_out(taught, held=3))
    probe_text = "Zorblax credit\nHi, could you put a Zorblax credit through for order 48213? Thanks.\n\nMarta"
    before_id, after_id = "<probe-before@customers.example>", "<probe-after@customers.example>"
    probes = {before_id: zorblax_message(before_id, probe_text, "marta@customers.example"),
              after_id: zorblax_message(after_id, probe_text, "marta.b@customers.example")}
    raws = {**corrected, **probes}

    service = services(box.config)
    service.wait_for_log("idling on")
    uids = {mid: box.append(raw) for mid, raw in [*corrected.items(), (before_id, probes[before_id])]}
    service.wait_until(lambda: len(service.rows) == taught + 1, "the Zorblax mail triaged")

    # Before: the shipped model decides, and Zorblax mail is no refund to it.
    rows = {row["message_id"]: row for row in service.rows}
    assert registry.active_name() is None
    assert sorted(decided_by(list(rows.values()), raws, shipped)) == sorted(rows)
    assert "refund" not in rows[before_id]["categories"]
    assert REFUND not in box.flags(uids[before_id])
    already = [mid for mid in corrected if rows[mid]["categories"] == ["refund"]]
    assert len(already) <= taught - threshold, f"the shipped model already calls {already} refunds"

    # A team member's mail client files them all as refunds only.
    mark = len(service.log)
    relabel_as_refunds(box.dovecot, box.folder, [uids[mid] for mid in corrected])

    start = service.wait_for_log("new corrections: retraining", after=mark, timeout=30)
    # The retraining runs in the background: mail arriving meanwhile is triaged at once,
    # by the model still active.
    during_id = "<during@customers.example>"
    box.append(zorblax_message(during_id, "Refund please\nPlease refund order 55120, it arrived broken.", "li@ex.org"))
    service.wait_until(lambda: any(r["message_id"] == during_id for r in service.rows), "mail during the retraining",
                       timeout=15)
    assert not any("wrote model-" in m for m in service.messages()[start:]), "triaged only after the retraining"
    wrote = service.wait_for_log("wrote model-", after=start, timeout=600)  # retraining: 2-4 min here
    summary = service.messages()[wrote]
    assert "now active" in summary, summary
    # The child activates the model, then logs "wrote": the service may reload in between.
    reloaded = service.wait_for_log("reloaded", after=start, timeout=60)
    service.wait_for_log("idling on", after=reloaded)

    recorded = corrections_since(box.state)
    assert {c.message_id for c in recorded} == set(corrected) - set(already)
    assert all(c.source == "label-change" and c.after == ("refund",) for c in recorded)
    name = registry.active_name()
    assert name is not None and f"wrote {name} " in summary
    # The service may notice the new active model before the retraining's own log line
    # reaches the log (two processes, one stderr): between the start and the reload.
    assert any(m.startswith(f"the active model is now {name} (was default)") for m in service.messages()[start:reloaded])
    card = registry.entries()[-1].card
    assert card["corrections"]["learned"] and card["activation"]["compared_with"] == "default"
    assert card["corrections"]["trained_on"] + card["corrections"]["held_out"] == len(recorded)
    new = resolve_model(None, Registry.for_state(box.state))[0]

    # After: the same phrasing, appended now, is a refund, on the server too.
    uids[after_id] = box.append(probes[after_id])
    service.wait_until(lambda: len(service.rows) == taught + 3, "the probe after the retraining")
    row = service.rows[-1]
    assert row["message_id"] == after_id
    assert decided_by([row], raws, new) == [after_id] and decided_by([row], raws, shipped) == []
    assert "refund" in row["categories"]
    assert REFUND in box.flags(uids[after_id])

    assert service.stop() == 0
    assert sum("new corrections: retraining" in m for m in service.messages()) == 1  # nothing left to learn


# -- (b) `triage models --rollback` while the service runs ------------------------------------


@pytest.fixture(scope="module")
def zorblax_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry model that reads Zorblax mail as refunds: a small slice of the corpus
    plus 20 corrections, quick to train (seconds). Returns its ``.npz`` file."""
    state = tmp_path_factory.mktemp("zorblax") / "state.db"
    corpus, holdout = load_labeled(CORPUS_DIR), load_labeled(HOLDOUT_DIR)
    rng = random.Random(3)
    with CorrectionStore(state) as store:
        for n in range(20):
            store.record(message_id=f"<taught-{n}@team.example>", before=[], after=["refund"], source="label-change",
                         text=zorblax_mail(rng))
    outcome = retrain(Config(), state, source=LabeledSet(corpus.examples[::10], corpus.sha256, 0),
                      source_name="small", holdout=LabeledSet(holdout.examples[::5], holdout.sha256, 0),
                      kind="lr_word")
    return outcome.entry.path


def install(model_file: Path, state: Path) -> str:
    """Add a model file to the registry beside ``state`` (which records its digest, so a
    copied file alone would be refused) and make it active."""
    return Registry.for_state(state).add(*load_model(model_file), activate=True).name


def test_a_rollback_while_the_service_runs_decides_the_next_mail_with_the_rolled_back_model(
        box: Box, services, dovecot: Dovecot, zorblax_model: Path, capsys) -> None:
    """``triage models --rollback default`` while the service idles, no SIGHUP: the very
    next mail is decided by the shipped model. The mail comes as one batch big enough for
    the analysis worker processes, which were forked holding the old model: the reload
    must replace them, not only the in-process model."""
    workers, batch = 2, 70  # from triage.analysis.PARALLEL_FROM (64) on, a batch goes to the workers
    write_config(box.config, box.dovecot, box.folder, model={"retrain_after_corrections": 0},
                 triage={"workers": workers}, imap={"batch_size": 100})
    name = install(zorblax_model, box.state)
    taught = resolve_model(None, Registry.for_state(box.state))[0]
    shipped = shipped_model()
    first = zorblax_messages("first", batch, seed=21)
    second = zorblax_messages("second", batch, seed=22)
    # Staged in another folder and COPYed in one command, so each lot arrives (and is
    # fetched) as one batch.
    staging = f"{box.folder}-staging"
    dovecot.create_folder(staging)
    staged = {mid: dovecot.append(staging, raw) for mid, raw in [*first.items(), *second.items()]}

    def deliver(lot: dict[str, bytes]) -> None:
        with dovecot.client() as client:
            client.select_folder(staging, readonly=True)
            client.copy([staged[mid] for mid in lot], box.folder)

    deliver(first)
    service = services(box.config, "-v")  # -vv: debug, where the analysis workers are logged
    service.wait_until(lambda: len(service.rows) == batch, "the first lot")
    mark = service.wait_for_log("idling on")
    assert sorted(decided_by(service.rows, first, taught)) == sorted(first)
    assert refund_share(service.rows) >= 0.9

    capsys.readouterr()
    assert main(["models", "--rollback", "default", "--config", str(box.config)]) == 0
    assert "active model: default" in capsys.readouterr().out
    deliver(second)  # at once: no SIGHUP, no waiting for the service to notice
    service.wait_until(lambda: len(service.rows) == 2 * batch, "the second lot")

    rows = service.rows[batch:]
    assert {row["message_id"] for row in rows} == set(second)
    assert sorted(decided_by(rows, second, shipped)) == sorted(second)
    assert decided_by(rows, second, taught) == []
    assert refund_share(rows) <= 0.2
    uids = [row["uid"] for row in service.rows]
    on_server = flags_of(dovecot, box.folder, uids)
    for row in service.rows:
        assert (REFUND in on_server[row["uid"]]) == ("refund" in row["categories"]), row["message_id"]

    log = service.messages()
    assert f"the active model is now default (was {name}): reloading" in log[mark:]
    assert any(m.startswith("reloaded ") and m.endswith("; model default") for m in log[mark:])
    started = [i for i, m in enumerate(log) if m == f"started {workers} analysis workers"]
    assert len(started) == 2 and started[0] < mark < started[1]  # a fresh pool after the reload
    assert service.stop() == 0

